// SPDX-License-Identifier: Apache-2.0
// Legend: B batch, D code dim, H W grid, N = B·H·W positions, K codes.
#include <fresco/vq/quantizer.hpp>

#include <cmath>
#include <limits>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/loss.hpp>
#include <fresco/ops/matmul.hpp>
#include <fresco/ops/reduce.hpp>
#include <fresco/ops/shape.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco::vq {

namespace {

// z [B, D, H, W] -> [N, D], contiguous and outside the graph.
Tensor positions(const Tensor& z) {
  NoGradGuard guard;
  const int64_t d = z.size(1);
  return z.detach().permute({0, 2, 3, 1}).contiguous().reshape({-1, d});
}

// z [B, D, H, W] scaled to unit length along D (differentiable).
Tensor unit_channels(const Tensor& z) { return z / sqrt(sum(z * z, {1}, true) + 1e-12f); }

// Each row of [K, D] scaled to unit length, in place.
void normalize_rows(float* rows, int64_t count, int64_t dim) {
  for (int64_t k = 0; k < count; ++k) {
    double norm = 0;
    for (int64_t j = 0; j < dim; ++j) norm += double(rows[k * dim + j]) * rows[k * dim + j];
    const double scale = norm > 0 ? 1.0 / std::sqrt(norm) : 0.0;
    for (int64_t j = 0; j < dim; ++j) rows[k * dim + j] = static_cast<float>(rows[k * dim + j] * scale);
  }
}

float perplexity(const std::vector<int64_t>& ids, int64_t codes) {
  std::vector<double> count(static_cast<size_t>(codes), 0.0);
  for (int64_t id : ids) count[static_cast<size_t>(id)] += 1;
  double entropy = 0;
  for (double c : count)
    if (c > 0) {
      const double p = c / static_cast<double>(ids.size());
      entropy -= p * std::log(p);
    }
  return static_cast<float>(std::exp(entropy));
}

}  // namespace

VectorQuantizer::VectorQuantizer(int64_t codes, int64_t dim, QuantizerOptions options)
    : codes_(codes), dim_(dim), options_(options), restart_seed_(options.seed) {
  FRESCO_CHECK(codes >= 2 && dim >= 1, "VectorQuantizer: need at least 2 codes of dim >= 1, got {} codes of dim {}",
               codes, dim);
  FRESCO_CHECK(options.commitment >= 0 && options.decay >= 0 && options.decay < 1 && options.epsilon > 0 &&
                   options.dead_threshold >= 0,
               "VectorQuantizer: need commitment >= 0, decay in [0, 1), epsilon > 0 and dead_threshold >= 0, got {}, "
               "{}, {} and {}",
               options.commitment, options.decay, options.epsilon, options.dead_threshold);
  // Small codes around zero (as VQGAN's uniform(-1/K, 1/K)); codes the data never reaches are
  // restarted at its vectors, so the codebook soon sits where the encoder's outputs are.
  std::vector<float> init(static_cast<size_t>(codes * dim));
  fresco::Generator gen(mix_seed(options.seed, 0xC0DEB00Cull));
  for (auto& v : init) v = (2.f * gen.uniform() - 1.f) / static_cast<float>(codes);
  if (options.normalize) normalize_rows(init.data(), codes, dim);
  codebook = register_buffer("codebook", tensor(init, {codes, dim}));
  // No code has been seen yet: the first training step restarts every code the batch does not
  // use at one of its vectors, which starts the codebook where the encoder's outputs are.
  cluster_size = register_buffer("cluster_size", zeros({codes}));
  embed_sum = register_buffer("embed_sum", tensor(std::move(init), {codes, dim}));
  updates = register_buffer("updates", zeros({1}));
}

std::vector<int64_t> VectorQuantizer::nearest(const Tensor& z) const {
  FRESCO_CHECK_SHAPE(z.dim() == 4 && z.size(1) == dim_, "VectorQuantizer: expected z [B, {}, H, W], got {}", dim_,
                     shape_str(z.shape()));
  NoGradGuard guard;
  return nearest_rows(positions(options_.normalize ? unit_channels(z) : z));
}

std::vector<int64_t> VectorQuantizer::nearest_rows(const Tensor& flat) const {
  NoGradGuard guard;
  const int64_t n = flat.size(0);
  // ‖z − e‖² = ‖z‖² − 2 z·e + ‖e‖²; ‖z‖² is the same for every code of a row.
  const std::vector<float> dots = matmul(flat, codebook.transpose(0, 1)).to_vector();   // [N, K]
  const float* e = codebook.data();
  std::vector<double> norm(static_cast<size_t>(codes_), 0.0);
  for (int64_t k = 0; k < codes_; ++k)
    for (int64_t j = 0; j < dim_; ++j) norm[static_cast<size_t>(k)] += double(e[k * dim_ + j]) * e[k * dim_ + j];
  std::vector<int64_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < codes_; ++k) {
      const double dist = norm[static_cast<size_t>(k)] - 2.0 * dots[static_cast<size_t>(i * codes_ + k)];
      if (dist < best) best = dist, ids[static_cast<size_t>(i)] = k;
    }
  }
  return ids;
}

Tensor VectorQuantizer::lookup(const std::vector<int64_t>& ids, int64_t batch, int64_t height, int64_t width) const {
  FRESCO_CHECK(batch >= 1 && height >= 1 && width >= 1 &&
                   static_cast<int64_t>(ids.size()) == batch * height * width,
               "VectorQuantizer::lookup: {} ids for a grid of {} x {} x {}", ids.size(), batch, height, width);
  for (size_t i = 0; i < ids.size(); ++i)
    FRESCO_CHECK(ids[i] >= 0 && ids[i] < codes_, "VectorQuantizer::lookup: id {} at position {} is not in [0, {})",
                 ids[i], i, codes_);
  NoGradGuard guard;
  return index_select(codebook, 0, ids).reshape({batch, height, width, dim_}).permute({0, 3, 1, 2}).contiguous();
}

Quantized VectorQuantizer::forward(const Tensor& z) {
  FRESCO_CHECK_SHAPE(z.dim() == 4 && z.size(1) == dim_, "VectorQuantizer: expected z [B, {}, H, W], got {}", dim_,
                     shape_str(z.shape()));
  const Tensor u = options_.normalize ? unit_channels(z) : z;
  const Tensor flat = positions(u);   // [N, D], read by the search and the update
  Quantized out;
  out.ids = nearest_rows(flat);
  const Tensor q = lookup(out.ids, z.size(0), z.size(2), z.size(3));   // the codes before this step's update
  out.codes = u + (q - u).detach();
  out.commitment_loss = mse_loss(u, q) * options_.commitment;
  out.perplexity = perplexity(out.ids, codes_);
  if (is_training()) out.restarted = update_codebook(flat.to_vector(), out.ids);
  return out;
}

void VectorQuantizer::set_process_group(std::shared_ptr<dist::ProcessGroup> group) {
  group_ = std::move(group);
  restart_seed_ = options_.seed;
  if (group_ && group_->world_size() > 1) {  // the same restarts everywhere, whatever each replica was seeded with
    std::string seed = std::to_string(restart_seed_);
    group_->broadcast(seed, 0);
    restart_seed_ = std::stoull(seed);
  }
}

int64_t VectorQuantizer::update_codebook(const std::vector<float>& local_flat, const std::vector<int64_t>& ids) {
  NoGradGuard guard;
  const size_t k_count = static_cast<size_t>(codes_), d = static_cast<size_t>(dim_);
  std::vector<double> stats(k_count * (d + 1), 0.0);   // the counts n_k, then the sums Σ_{i→k} z_i
  double* count = stats.data();
  double* sum = stats.data() + k_count;
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto k = static_cast<size_t>(ids[i]);
    count[k] += 1;
    for (size_t j = 0; j < d; ++j) sum[k * d + j] += local_flat[i * d + j];
  }
  // Several processes: the global batch's statistics.
  const bool distributed = group_ && group_->world_size() > 1;
  if (distributed) group_->all_reduce(stats, dist::ReduceOp::Sum);
  // N_k ← γ N_k + (1 − γ) n_k;  m_k ← γ m_k + (1 − γ) Σ_{i→k} z_i;  e_k = m_k / Ñ_k with the counts
  // smoothed Ñ_k = (N_k + ε) / (Σ N + K ε) · Σ N.
  const double g = options_.decay;
  float* size = cluster_size.data();
  float* m = embed_sum.data();
  float* e = codebook.data();
  double total = 0;
  for (size_t k = 0; k < k_count; ++k) {
    size[k] = static_cast<float>(g * size[k] + (1 - g) * count[k]);
    total += size[k];
    for (size_t j = 0; j < d; ++j) m[k * d + j] = static_cast<float>(g * m[k * d + j] + (1 - g) * sum[k * d + j]);
  }
  for (size_t k = 0; k < k_count; ++k) {
    const double smoothed = (size[k] + options_.epsilon) / (total + codes_ * double(options_.epsilon)) * total;
    for (size_t j = 0; j < d; ++j) e[k * d + j] = static_cast<float>(m[k * d + j] / smoothed);
  }
  if (options_.normalize) normalize_rows(e, codes_, dim_);
  // Dead codes restart at random vectors of this batch, as if each had been assigned one; with
  // several processes, of rank 0's share of it (the same decision everywhere: the counts are global).
  bool any_dead = false;
  for (size_t k = 0; k < k_count && options_.dead_threshold > 0; ++k) any_dead = any_dead || size[k] < options_.dead_threshold;
  std::vector<float> rank0_flat;
  if (distributed && any_dead) {
    Tensor shared = tensor(local_flat, {static_cast<int64_t>(local_flat.size())});
    group_->broadcast(shared, 0);
    rank0_flat = shared.to_vector();
  }
  const std::vector<float>& flat = distributed ? rank0_flat : local_flat;
  const auto n = static_cast<int64_t>(flat.size() / d);
  int64_t restarted = 0;
  fresco::Generator pick(mix_seed(restart_seed_, static_cast<uint64_t>(updates.data()[0])));
  for (size_t k = 0; k < k_count && any_dead; ++k) {
    if (size[k] >= options_.dead_threshold) continue;
    const auto r = static_cast<size_t>(pick.below(static_cast<uint64_t>(n)));
    for (size_t j = 0; j < d; ++j) e[k * d + j] = m[k * d + j] = flat[r * d + j];
    size[k] = 1.f;
    ++restarted;
  }
  updates.data()[0] += 1;
  return restarted;
}

}  // namespace fresco::vq
