// heapwalk <verb> [options] FILE: dispatch to a verb, and turn errors into
// the documented exit codes and one clear line on stderr.
#include <cstring>
#include <iostream>
#include <new>

#include "heapwalk/error.h"
#include "heapwalk/report/format.h"
#include "huge_pages.h"
#include "verb.h"

namespace {

void print_usage(std::ostream& out) {
  out << "usage: heapwalk <verb> [options] FILE\n"
         "       heapwalk <verb> --help | --help | --version\n\n"
         "heapwalk reads a Go heap dump (runtime/debug.WriteHeapDump, plain or zstd)\n"
         "and tells what keeps its memory alive.\n\nVerbs:\n";
  for (const auto& verb : heapwalk::cli::verbs()) {
    std::string name = verb.name;
    out << "  " << name << std::string(name.size() < 13 ? 13 - name.size() : 1, ' ') << verb.summary
        << "\n";
  }
  out << "\nExit codes: 0 ok, 1 usage error, 2 unreadable or malformed input, 3 a check failed.\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace heapwalk;
  cli::remember_argv(argv);  // huge_pages.h: a verb may re-execute heapwalk once
  std::ios::sync_with_stdio(false);
  if (argc < 2) {
    print_usage(std::cerr);
    return kExitUsage;
  }
  std::string first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage(std::cout);
    return kExitOk;
  }
  if (first == "--version") {
    std::cout << "heapwalk " << HEAPWALK_VERSION << "\n";
    return kExitOk;
  }
  for (const auto& verb : cli::verbs()) {
    if (first != verb.name) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    try {
      return verb.run(args);
    } catch (const UsageError& e) {
      std::cerr << "heapwalk: " << report::safe_text(e.what()) << "\n"
                << "Try 'heapwalk " << verb.name << " --help'.\n";
      return kExitUsage;
    } catch (const InputError& e) {
      std::cerr << "heapwalk: " << report::safe_text(e.describe()) << "\n";
      return kExitBadInput;
    } catch (const std::bad_alloc&) {
      std::cerr << "heapwalk: out of memory\n";
      return kExitBadInput;
    } catch (const std::exception& e) {
      std::cerr << "heapwalk: internal error: " << report::safe_text(e.what()) << "\n";
      return kExitBadInput;
    }
  }
  std::cerr << "heapwalk: unknown verb '" << report::safe_text(first) << "'\n\n";
  print_usage(std::cerr);
  return kExitUsage;
}
