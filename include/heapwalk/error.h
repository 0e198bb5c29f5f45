// Errors and exit codes: part of heapwalk's interface, scripts depend on them.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace heapwalk {

// Process exit codes, documented in README.md. Never renumber.
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,        // bad command line
  kExitBadInput = 2,     // unreadable, unknown or malformed input
  kExitCheckFailed = 3,  // reserved: a `heapwalk check` rule failed
};

// Malformed or unreadable input. Carries where in the (decompressed) input the
// problem was found so that the CLI can print `heapwalk: FILE: offset 0x..: message`.
// `offset` is kNoOffset when the problem is not tied to a byte (e.g. open failed).
class InputError : public std::runtime_error {
 public:
  static constexpr uint64_t kNoOffset = ~uint64_t{0};

  InputError(std::string file, uint64_t offset, const std::string& message)
      : std::runtime_error(message), file_(std::move(file)), offset_(offset) {}

  const std::string& file() const { return file_; }
  uint64_t offset() const { return offset_; }

  // "FILE: offset 0x1f (31): message" or "FILE: message".
  std::string describe() const;

 private:
  std::string file_;
  uint64_t offset_;
};

// A command-line mistake: exit code kExitUsage.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace heapwalk
