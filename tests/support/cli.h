// Running the built heapwalk CLI from tests, and golden files.
//
// The CLI runs with cwd = the source checkout, so tests pass sample paths
// relative to it and outputs hold no machine paths. Goldens live in
// tests/golden/<verb>/<name>; HEAPWALK_UPDATE_GOLDEN=1 rewrites them instead
// of comparing (review with `git diff tests/golden`).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "support/paths.h"

namespace heapwalk::test {

struct CliRun {
  int status = -1;  // exit code; -1 when killed by a signal
  std::string out, err;
};

// 'text' quoted for /bin/sh.
std::string shell_quote(const std::string& text);

// `heapwalk ARGS` (ARGS already shell-quoted where needed), stdout and stderr captured.
CliRun run_heapwalk(const std::string& args);

// `heapwalk ARGS --format json`; requires exit 0 and parses stdout.
nlohmann::json run_heapwalk_json(const std::string& args);

// "samples/go/ctxleak/ctxleak.heapdump.zst" and "ctxleak" for a sample.
std::string relative_dump(const DumpCase& c);
std::string sample_name(const DumpCase& c);

// samples/go/NAME/NAME.truth.json
nlohmann::json sample_truth(const std::string& sample);

bool updating_goldens();

// Compares `actual` with tests/golden/VERB/NAME (or rewrites it), naming the
// first differing line on a mismatch.
void compare_golden(const std::string& verb, const std::string& name, const std::string& actual);

// Runs `heapwalk VERB ARGS SAMPLE` on every sample and compares each text
// output with tests/golden/VERB/<sample>.txt; checks exit 0, empty stderr,
// output starting with the sample's relative path and holding no machine path.
void golden_all_samples(const std::string& verb, const std::string& args);

}  // namespace heapwalk::test
