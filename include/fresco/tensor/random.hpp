// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// The random number generator behind randn/rand/dropout/initialisation.
/// Every source of randomness in fresco draws from a `Generator`: the global
/// one (seeded by `manual_seed`) unless a caller passes its own.

#include <cstdint>
#include <vector>

namespace fresco {

/// A small, fast, seedable generator (splitmix64-seeded xoshiro256**).
/// Same seed, same sequence, on every machine.
class Generator {
public:
  explicit Generator(uint64_t seed = 0x5eed) { seed_(seed); }
  /// Restarts the sequence from `seed`.
  void seed_(uint64_t seed);
  /// 64 random bits.
  uint64_t next_u64();
  /// Uniform in [0, 1).
  float uniform();
  /// Standard normal (Box-Muller; the spare value is kept for the next call).
  float normal();
  /// Uniform integer in [0, n). n must be > 0.
  uint64_t below(uint64_t n);

private:
  uint64_t s_[4]{};
  bool has_spare_ = false;
  float spare_ = 0.f;
};

/// The global generator used when no generator is given. Not thread-safe:
/// use it from one thread, or give each thread its own Generator.
Generator& default_generator();

/// A seed for stream `b` of a run seeded by `a` (splitmix64's finaliser of a mix
/// of both): the one way fresco derives independent seeds (per step, per row,
/// per epoch) from a user's seed. Same inputs, same seed, on every machine.
uint64_t mix_seed(uint64_t a, uint64_t b);

/// A random permutation of 0 .. n-1, as torch.randperm: Fisher-Yates, swapping
/// element i with element gen.below(i + 1) for i = n-1 down to 1.
std::vector<int64_t> randperm(int64_t n, Generator& gen);

}  // namespace fresco
