// SPDX-License-Identifier: Apache-2.0
// Writes the seed corpora of the fuzz targets: small valid files of every format,
// one directory per target (make_corpus <dir>, e.g. tests/fuzz/corpus). The files
// are made from the tiny models of tiny_parts.hpp, so they match the targets' fixed
// optimizer and trainers.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include <zlib.h>

#include <fresco/eval/classifier.hpp>
#include <fresco/eval/retrieval.hpp>
#include <fresco/gan/text_to_image.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/image.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/vq/text_to_image.hpp>
#include <fresco/vq/text_to_video.hpp>

#include "fuzz/fuzz_util.hpp"
#include "fuzz/tiny_parts.hpp"

using namespace fresco;
namespace fs = std::filesystem;

namespace {

fs::path root;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void put(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(root / target);
  std::ofstream(root / target / name, std::ios::binary) << bytes;
}

/// Runs `save(path)` on a scratch file and returns its bytes.
template <class F>
std::string saved(F&& save) {
  const std::string path = (fuzz::scratch_dir() / "seed.safetensors").string();
  save(path);
  std::string bytes = slurp(path);
  fs::remove(path);
  return bytes;
}

std::string gzip(const std::string& bytes) {
  const std::string path = (fuzz::scratch_dir() / "seed.gz").string();
  gzFile f = gzopen(path.c_str(), "wb9");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  std::string out = slurp(path);
  fs::remove(path);
  return out;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_corpus <dir>\n";
    return 2;
  }
  root = argv[1];
  const text::BpeTokenizer tok = testing::tiny_tokenizer();

  put("safetensors", "two_tensors.safetensors", saved([](const std::string& p) {
        io::save_safetensors({{"a", arange(6).reshape({2, 3})}, {"b", ones({4})}}, p, {{"k", "v"}});
      }));
  const Tensor img = rand({3, 4, 4});
  put("image", "rgb.png", io::encode_image(img, "png"));
  put("image", "rgb.jpg", io::encode_image(img, "jpg"));
  put("image", "grey.png", io::encode_image(rand({1, 3, 2}), "png"));
  // IDX: unsigned bytes (0x08), 3 dimensions 2 x 2 x 2, then the 8 values; and gzipped.
  const std::string idx = std::string("\0\0\x08\x03", 4) + be32(2) + be32(2) + be32(2) + "\x01\x02\x03\x04\x05\x06\x07\x08";
  put("idx", "images.idx", idx);
  put("idx", "images.idx.gz", gzip(idx));
  put("idx", "labels.idx.gz", gzip(std::string("\0\0\x08\x01", 4) + be32(3) + std::string("\x00\x01\x09", 3)));

  put("tokenizer", "tiny.json", tok.to_json());
  put("gpt", "tiny.safetensors", saved([&](const std::string& p) { text::save_gpt(text::Gpt(testing::tiny_gpt_config()), tok, p); }));
  put("gan_model", "tiny.safetensors", saved([&](const std::string& p) {
        gan::TextToImage::from_parts(tok, text::Gpt(testing::tiny_gpt_config()),
                                     gan::Generator(testing::tiny_generator_config()))
            .save(p);
      }));
  const vq::ImageTokenizer image_tokenizer(fuzz::tiny_image_tokenizer_config());
  put("image_tokenizer", "tiny.safetensors", saved([&](const std::string& p) { image_tokenizer.save(p); }));
  put("vq_model", "tiny.safetensors", saved([&](const std::string& p) {
        vq::save_text_to_image(p, tok, vq::ImageGpt(fuzz::tiny_image_gpt_config()), image_tokenizer);
      }));
  put("vq_model", "tiny_video.safetensors", saved([&](const std::string& p) {
        auto config = fuzz::tiny_image_gpt_config();
        config.frames = 2;
        vq::save_text_to_video(p, tok, vq::ImageGpt(config), image_tokenizer);
      }));
  const eval::Classifier scene(fuzz::tiny_classifier_config()), cell(fuzz::tiny_classifier_config());
  put("judges", "classifier.safetensors", saved([&](const std::string& p) { scene.save(p); }));
  put("judges", "judges.safetensors", saved([&](const std::string& p) { eval::save_judges(scene, cell, p); }));
  const eval::ImageTextEncoder encoder(
      {.image = {.channels = 3, .image_size = 16, .heads = {}, .width = 2, .feature_dim = 4},
       .gpt = {.vocab_size = 259, .context = 8, .d_model = 8, .heads = 2, .layers = 1},
       .embed_dim = 4},
      tok);
  put("judges", "retrieval.safetensors", saved([&](const std::string& p) { encoder.save(p); }));

  // Captions: the first byte picks the format (even TSV, odd JSONL).
  put("captions", "captions.tsv", std::string("\0", 1) + "a.png\ta grey square\nb.png\ta dark box\r\n\na.png\tagain\n");
  put("captions", "captions.jsonl",
      "\x01{\"file\": \"a.png\", \"caption\": \"a grey square\"}\n{\"file\": \"b.png\", \"caption\": \"a \\u00e9 box\"}\n");

  fuzz::TinyOptimizer opt;
  put("optimizer", "adam.safetensors", saved([&](const std::string& p) { io::save(opt.adam, p); }));

  fuzz::TinyTrainers trainers;
  put("checkpoint", "gan.ckpt", std::string(1, '\0') + saved([&](const std::string& p) { trainers.gan->save_checkpoint(p); }));
  put("checkpoint", "vq.ckpt", "\x01" + saved([&](const std::string& p) { trainers.vq->save_checkpoint(p); }));
  put("checkpoint", "image_gpt.ckpt",
      "\x02" + saved([&](const std::string& p) { trainers.image_gpt_trainer->save_checkpoint(p); }));
  fs::remove_all(fuzz::scratch_dir());
  std::cout << "make_corpus: wrote the seeds under " << root.string() << "\n";
  return 0;
}
