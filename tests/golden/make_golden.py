#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the golden files of the attention, transformer-block and GPT tests.

usage: /usr/bin/python3 tests/golden/make_golden.py
       (from anywhere; needs PyTorch and numpy: on Debian 12, apt-get install python3-torch
       python3-numpy for the system python; the files in the tree were made with Debian 12's
       python3-torch 1.13.1)

The reference is PyTorch's own layers (torch.nn.MultiheadAttention,
TransformerEncoderLayer/TransformerDecoderLayer with norm_first, Embedding,
LayerNorm, F.cross_entropy), run in float64. Weights and inputs are
drawn from seeded numpy generators, so the files are reproducible. Each file
is a safetensors file (written here by hand, as the format is simple) holding

  param.<name>    the weights, under fresco's parameter names
  input.<name>    the inputs (token ids as I64, masks as F32 with 1 = padding)
  expect.<name>   PyTorch's outputs, and expect.grad.<name> the gradients of the
                  scalar loss sum(out * input.dout) (of the mean cross-entropy
                  for the GPT) w.r.t. inputs and weights

and the sizes in its metadata. The C++ tests load them, copy the weights into
fresco's modules by name, run forward and backward and compare:
  tests/nn/test_attention_golden.cpp    <- tests/nn/data/mha_golden.safetensors
  tests/nn/test_transformer_golden.cpp  <- tests/nn/data/transformer_block_golden.safetensors
  tests/text/test_gpt_golden.cpp        <- tests/text/data/gpt_golden.safetensors
The files are committed: CI does not run this script (it has no PyTorch).

Conventions of fresco mirrored here (read from src/nn/attention.cpp,
src/nn/transformer.cpp, src/text/gpt.cpp):
  - attention is batch first, in_proj_weight [3C, C] (rows q, k, v) as PyTorch,
    scores scaled by 1/sqrt(C/H); causal = an additive -inf above the diagonal;
  - TransformerBlock is pre-LayerNorm (eps 1e-5) with the exact (erf) GELU, no dropout:
      x = x + attn(ln1(x)); [x = x + cross_attn(ln_cross(x), ctx)]; x = x + proj(gelu(fc(ln2(x))))
    which is PyTorch's Transformer{Encoder,Decoder}Layer(norm_first=True, activation="gelu")
    with its submodules renamed (ENCODER_NAMES, DECODER_NAMES below);
  - Gpt: learned positions (wpe), causal blocks, ln_f, LM head tied to wte;
    loss: position t predicts ids[t+1], <|pad|> (258) targets and the last
    position do not count, mean over the counted targets.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
PAD_ID, EOS_ID, BOS_ID = 258, 257, 256


def write_safetensors(path, tensors, metadata):
    """tensors: name -> numpy array (float -> F32, integer -> I64)."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        if np.issubdtype(a.dtype, np.integer):
            raw, dtype = a.astype("<i8").tobytes(), "I64"
        else:
            raw, dtype = a.astype("<f4").tobytes(), "F32"
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    print(f"{os.path.relpath(path, TESTS)}: {len(tensors)} tensors, {8 + len(text) + offset} bytes")


def numpy_of(t):
    # A copy: .numpy() shares the tensor's memory, and zero_grad() zeroes gradients in place.
    return t.detach().cpu().numpy().copy()


class Draw:
    """Seeded values: normal(0, std) or 1 + normal(0, std) (LayerNorm gains)."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def normal(self, shape, std=1.0, mean=0.0):
        return mean + std * self.rng.standard_normal(shape)


def set_params(module, draw, prefix, out, std=0.3, names={}):
    """Draws every parameter of a PyTorch module (LayerNorm gains around 1) and
    records it as param.<prefix><name> under fresco's name (torch's renamed by `names`)."""
    for name, p in module.named_parameters():
        gain = name.split(".")[-1] == "weight" and p.dim() == 1
        value = draw.normal(tuple(p.shape), 0.1 if p.dim() == 1 else std, 1.0 if gain else 0.0)
        with torch.no_grad():
            p.copy_(torch.from_numpy(value))
        out["param." + prefix + renamed(name, names)] = value


def causal_mask(t):
    return torch.triu(torch.full((t, t), -math.inf), diagonal=1)


def mha(embed_dim, heads):
    return torch.nn.MultiheadAttention(embed_dim, heads, batch_first=True)


def attention_golden(path):
    B, T, S, C, H = 2, 5, 3, 8, 2
    draw, out = Draw(1), {}
    attn = mha(C, H)
    set_params(attn, draw, "", out)
    x, q = draw.normal((B, T, C)), draw.normal((B, T, C))
    k, v, ctx = draw.normal((B, S, C)), draw.normal((B, S, C)), draw.normal((B, S, C))
    pad = np.zeros((B, T))
    pad[1, 3:] = 1  # the second row's last two positions are padding
    add_mask = draw.normal((T, S))
    dout = draw.normal((B, T, C))
    out.update({"input.x": x, "input.q": q, "input.k": k, "input.v": v, "input.context": ctx,
                "input.key_padding_mask": pad, "input.attn_mask": add_mask, "input.dout": dout})

    def run(name, qi, ki, vi, grads, **kw):
        attn.zero_grad()
        tq = torch.tensor(qi, requires_grad=True)
        tk = tq if ki is qi else torch.tensor(ki, requires_grad=True)
        tv = tk if vi is ki else torch.tensor(vi, requires_grad=True)
        y, _ = attn(tq, tk, tv, need_weights=False, **kw)
        (y * torch.from_numpy(dout)).sum().backward()
        out["expect." + name] = numpy_of(y)
        tensors = {"q": tq, "k": tk, "v": tv, **dict(attn.named_parameters())}
        for g in grads:
            out[f"expect.grad.{name}.{g}"] = numpy_of(tensors[g].grad)

    params = ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    # Self-attention (fresco's packed path): causal, and with padded keys.
    run("self_causal", x, x, x, ["q"] + params, attn_mask=causal_mask(T))
    run("self_padded", x, x, x, ["q", "in_proj_weight"], key_padding_mask=torch.from_numpy(pad).bool())
    # Cross-attention with k = v (one GEMM for both), and three distinct inputs with an additive mask.
    run("cross", q, ctx, ctx, ["q", "k", "in_proj_weight"])
    run("qkv_masked", q, k, v, ["q", "k", "v", "in_proj_weight"], attn_mask=torch.from_numpy(add_mask))
    write_safetensors(path, out, {"batch": B, "seq": T, "context_seq": S, "embed_dim": C, "heads": H})


# fresco's TransformerBlock is PyTorch's norm_first layer with dropout 0 and the erf GELU:
# without cross-attention a TransformerEncoderLayer, with it a TransformerDecoderLayer
# (self-attention, cross-attention on the memory, MLP). Their submodules under fresco's names:
ENCODER_NAMES = {"norm1": "ln1", "self_attn": "attn", "norm2": "ln2", "linear1": "fc", "linear2": "proj"}
DECODER_NAMES = {"norm1": "ln1", "self_attn": "attn", "norm2": "ln_cross", "multihead_attn": "cross_attn",
                 "norm3": "ln2", "linear1": "fc", "linear2": "proj"}


def torch_block(d, heads, mlp_ratio, cross):
    layer = torch.nn.TransformerDecoderLayer if cross else torch.nn.TransformerEncoderLayer
    return layer(d, heads, dim_feedforward=d * mlp_ratio, dropout=0.0, activation="gelu", layer_norm_eps=1e-5,
                 batch_first=True, norm_first=True)


def renamed(torch_name, names):
    """norm1.weight -> ln1.weight, blocks.0.linear1.bias -> blocks.0.fc.bias with names = ENCODER_NAMES."""
    return ".".join(names.get(part, part) for part in torch_name.split("."))


def transformer_golden(path):
    B, T, S, C, H, R = 2, 5, 3, 8, 2, 2
    draw, out = Draw(2), {}
    x, ctx, dout = draw.normal((B, T, C)), draw.normal((B, S, C)), draw.normal((B, T, C))
    pad, ctx_pad = np.zeros((B, T)), np.zeros((B, S))
    pad[1, 4:] = 1
    ctx_pad[0, 2:] = 1
    out.update({"input.x": x, "input.context": ctx, "input.key_padding_mask": pad,
                "input.context_padding_mask": ctx_pad, "input.dout": dout})
    kpm, ctx_kpm = torch.from_numpy(pad).bool(), torch.from_numpy(ctx_pad).bool()
    # fresco's {.causal = true} block, and a {.cross_attention = true} block (self-attention not causal).
    for name, cross in [("causal", False), ("cross", True)]:
        block, names = torch_block(C, H, R, cross), DECODER_NAMES if cross else ENCODER_NAMES
        set_params(block, draw, name + ".", out, names=names)
        tx, tctx = torch.tensor(x, requires_grad=True), torch.tensor(ctx, requires_grad=True)
        if cross:
            y = block(tx, tctx, tgt_key_padding_mask=kpm, memory_key_padding_mask=ctx_kpm)
        else:
            y = block(tx, src_mask=causal_mask(T), src_key_padding_mask=kpm)
        (y * torch.from_numpy(dout)).sum().backward()
        out[f"expect.{name}"] = numpy_of(y)
        out[f"expect.grad.{name}.x"] = numpy_of(tx.grad)
        if cross:
            out[f"expect.grad.{name}.context"] = numpy_of(tctx.grad)
        for pname, p in block.named_parameters():
            out[f"expect.grad.{name}.{renamed(pname, names)}"] = numpy_of(p.grad)
    write_safetensors(path, out, {"batch": B, "seq": T, "context_seq": S, "d_model": C, "heads": H, "mlp_ratio": R})


class Gpt(torch.nn.Module):
    """fresco's text::Gpt in PyTorch (parameter names as fresco's after renamed(·, ENCODER_NAMES))."""

    def __init__(self, vocab, context, d, heads, layers, mlp_ratio):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(context, d)
        self.blocks = torch.nn.ModuleList(torch_block(d, heads, mlp_ratio, False) for _ in range(layers))
        self.ln_f = torch.nn.LayerNorm(d, eps=1e-5)

    def forward(self, ids):
        h = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for b in self.blocks:
            h = b(h, src_mask=causal_mask(ids.shape[1]))
        return self.ln_f(h) @ self.wte.weight.T  # tied head

    def loss(self, ids):
        logits = self(ids)
        targets = torch.full_like(ids, -100)
        targets[:, :-1] = ids[:, 1:]
        targets[targets == PAD_ID] = -100
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100), logits


def gpt_golden(path):
    V, P, C, H, L, R, B, T = 259, 6, 8, 2, 2, 2, 2, 6
    draw, out = Draw(3), {}
    gpt = Gpt(V, P, C, H, L, R)
    set_params(gpt, draw, "", out, std=0.5, names=ENCODER_NAMES)
    ids = np.array([[BOS_ID, 97, 32, 114, 101, 100],                # "<|bos|>a red"
                    [BOS_ID, 98, 108, EOS_ID, PAD_ID, PAD_ID]])    # "<|bos|>bl<|eos|>" and padding
    out["input.ids"] = ids
    loss, logits = gpt.loss(torch.from_numpy(ids))
    loss.backward()
    out["expect.logits"] = numpy_of(logits)
    out["expect.loss"] = numpy_of(loss)
    for name, p in gpt.named_parameters():
        out["expect.grad." + renamed(name, ENCODER_NAMES)] = numpy_of(p.grad)
    write_safetensors(path, out, {"vocab_size": V, "context": P, "d_model": C, "heads": H, "layers": L,
                                  "mlp_ratio": R, "batch": B, "seq": T})


if __name__ == "__main__":
    attention_golden(os.path.join(TESTS, "nn", "data", "mha_golden.safetensors"))
    transformer_golden(os.path.join(TESTS, "nn", "data", "transformer_block_golden.safetensors"))
    gpt_golden(os.path.join(TESTS, "text", "data", "gpt_golden.safetensors"))
