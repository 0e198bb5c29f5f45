// The progress line: drawn only on terminals, off with HEAPWALK_NO_PROGRESS,
// and saying the phase, the percent done and the rate.
#include <pty.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "heapwalk/progress.h"

using namespace heapwalk;

TEST_CASE("progress: silent unless the stream is a terminal", "[progress]") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  CHECK(ProgressMeter::for_terminal(file) == nullptr);
  std::fclose(file);

  int master = -1, slave = -1;
  REQUIRE(openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
  std::FILE* tty = fdopen(slave, "w");
  REQUIRE(tty != nullptr);
  unsetenv("HEAPWALK_NO_PROGRESS");
  CHECK(ProgressMeter::for_terminal(tty) != nullptr);
  setenv("HEAPWALK_NO_PROGRESS", "1", 1);
  CHECK(ProgressMeter::for_terminal(tty) == nullptr);
  setenv("HEAPWALK_NO_PROGRESS", "0", 1);
  CHECK(ProgressMeter::for_terminal(tty) != nullptr);
  unsetenv("HEAPWALK_NO_PROGRESS");
  std::fclose(tty);
  close(master);
}

TEST_CASE("progress: the line names the phase, the percent and the rate", "[progress]") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  {
    ProgressMeter meter(file);
    meter.phase("parse", 1000);
    CHECK(meter.line() == "parse 0%");  // nothing done: no rate yet
    meter.advance_to(450);
    const std::string line = meter.line();
    CHECK(line.rfind("parse 45%", 0) == 0);
    meter.advance_to(5000);  // past the total (a phase that overshoots) caps at 100%
    CHECK(meter.line().rfind("parse 100%", 0) == 0);
    meter.phase("resolve pointers", 200, 0);  // objects: a percent, no MB/s
    meter.advance_to(50);
    CHECK(meter.line() == "resolve pointers 25%");
    meter.phase("sort objects", 0, 0);
    CHECK(meter.line() == "sort objects");
  }
  std::fclose(file);
}
