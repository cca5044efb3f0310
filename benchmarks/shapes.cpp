// SPDX-License-Identifier: Apache-2.0
// Shapes generation speed: samples (pixels + caption + labels) per second on
// one thread, at 32×32 and 64×64. Prints one JSON line per image size.
//
//     bench_shapes [samples=50000]

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <fresco/data/shapes.hpp>

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 50000;
  for (int64_t image_size : {32, 64}) {
    fresco::data::Shapes data({.image_size = image_size, .size = n, .seed = 1});
    double checksum = 0;  // keeps the work observable
    for (int64_t i = 0; i < 1000 && i < n; ++i) checksum += data.sample(i).pixels[0];  // warm-up
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; ++i) {
      const auto s = data.sample(i);
      checksum += s.pixels[static_cast<size_t>(i) % s.pixels.size()] + static_cast<double>(s.caption.size());
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "{\"benchmark\": \"shapes_generation\", \"image_size\": %lld, \"samples\": %lld, \"seconds\": %.4f, "
        "\"samples_per_second\": %.0f, \"threads\": 1, \"checksum\": %.3f}\n",
        static_cast<long long>(image_size), static_cast<long long>(n), seconds, static_cast<double>(n) / seconds,
        checksum);
  }
  return 0;
}
