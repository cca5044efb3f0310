// SPDX-License-Identifier: Apache-2.0
// fresco/progress.hpp: durations, progress lines, and the progress_bar callback on a stream that is not a terminal.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <fresco/progress.hpp>

#include "support/check.hpp"

using namespace fresco;

namespace {

// The lines written to `f` so far.
std::vector<std::string> lines_of(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::vector<std::string> out;
  std::string line;
  for (int c; (c = std::fgetc(f)) != EOF;) {
    if (c == '\n') {
      out.push_back(line);
      line.clear();
    } else {
      line += static_cast<char>(c);
    }
  }
  if (!line.empty()) out.push_back(line);
  std::fseek(f, 0, SEEK_END);
  return out;
}

}  // namespace

TEST_CASE("format_duration", "[progress]") {
  CHECK(format_duration(0) == "0:00");
  CHECK(format_duration(7.9) == "0:07");
  CHECK(format_duration(750) == "12:30");
  CHECK(format_duration(3599) == "59:59");
  CHECK(format_duration(3600) == "1:00:00");
  CHECK(format_duration(3723) == "1:02:03");
  CHECK(format_duration(-5) == "0:00");
  CHECK(format_duration(NAN) == "0:00");
}

TEST_CASE("format_progress", "[progress]") {
  Progress p{.stage = "gan", .step = 400, .total = 1000, .elapsed = 10, .fraction = 0.4, .eta = 15,
             .values = {{"d", 1.234}, {"g", 0.567}}};
  CHECK(format_progress(p) == "gan [########............]  40% step 400/1000 | d 1.234 g 0.567 | 0:10 elapsed, ETA 0:15");
  p.done = true;   // no ETA on the last report
  p.fraction = 1;
  CHECK(format_progress(p) == "gan [####################] 100% step 400/1000 | d 1.234 g 0.567 | 0:10 elapsed");
  Progress unknown{.stage = "align", .step = 3};
  CHECK(format_progress(unknown) == "align [....................]   0% step 3 | 0:00 elapsed");
  Progress message{.stage = "pretrain", .message = "resumed from run at step 500"};
  CHECK(format_progress(message) == "pretrain: resumed from run at step 500");
}

TEST_CASE("progress_bar writes a line per interval, every message and the final report", "[progress]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  {
    ProgressCallback bar = progress_bar(f, /*interval_seconds=*/3600);
    for (int64_t s = 1; s <= 50; ++s) bar({.stage = "pretrain", .step = s, .total = 100, .fraction = s / 100.0});
    CHECK(lines_of(f).size() == 1);   // the first report; the others fall within the interval
    bar({.stage = "pretrain", .step = 50, .total = 100, .message = "checkpoint written"});
    bar({.stage = "pretrain", .step = 51, .total = 100, .fraction = 0.51});
    bar({.stage = "pretrain", .step = 100, .total = 100, .fraction = 1, .done = true});
    const auto lines = lines_of(f);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].rfind("pretrain [", 0) == 0);
    CHECK(lines[0].find("step 1/100") != std::string::npos);
    CHECK(lines[1] == "pretrain: checkpoint written");
    CHECK(lines[2].find("100% step 100/100") != std::string::npos);
    for (const auto& l : lines) CHECK(l.find('\r') == std::string::npos);   // not a terminal: no redrawing
  }
  {
    // A short interval: a new line once it has passed, not at every update.
    std::FILE* g = std::tmpfile();
    REQUIRE(g != nullptr);
    ProgressCallback bar = progress_bar(g, /*interval_seconds=*/0.2);
    bar({.stage = "classifier", .step = 1});
    bar({.stage = "classifier", .step = 2});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    bar({.stage = "classifier", .step = 3});
    bar({.stage = "classifier", .step = 4});
    const auto lines = lines_of(g);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("step 1") != std::string::npos);
    CHECK(lines[1].find("step 3") != std::string::npos);
    std::fclose(g);
  }
  std::fclose(f);
}
