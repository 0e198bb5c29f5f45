// The CLI's plug-in point: one Verb per file under src/cli/, listed once in
// verbs.cc. `heapwalk <verb> [options] FILE...` calls run() with the words
// after the verb. A verb returns an ExitCode; it may throw UsageError (exit 1)
// or InputError (exit 2) and main() prints them.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace heapwalk::cli {

struct Verb {
  const char* name;
  const char* summary;  // one line for `heapwalk --help`
  int (*run)(const std::vector<std::string>& args);
};

std::span<const Verb> verbs();

// Each verb's entry point (defined in its own file).
int run_summary(const std::vector<std::string>& args);
int run_unreachable(const std::vector<std::string>& args);
int run_histogram(const std::vector<std::string>& args);
int run_top(const std::vector<std::string>& args);
int run_dominators(const std::vector<std::string>& args);
int run_goroutines(const std::vector<std::string>& args);
int run_paths(const std::vector<std::string>& args);
int run_check(const std::vector<std::string>& args);
int run_diff(const std::vector<std::string>& args);
int run_cycles(const std::vector<std::string>& args);

}  // namespace heapwalk::cli
