// Bookkeeping for corpus tests that compare heapwalk's verdicts with what a
// real Go program recorded about its own objects (the truth files).
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "heapwalk/snapshot.h"

namespace heapwalk::test {

// "0xc000012000" as %p prints it.
inline uint64_t parse_address(const std::string& text) { return std::stoull(text, nullptr, 16); }

// Counts tracked objects and every disagreement (with the first few
// described), so that one CHECK at the end reports them all.
class Verdicts {
 public:
  explicit Verdicts(std::string dump) : dump_(std::move(dump)) {}

  void object() { ++objects_; }
  void expect(bool ok, const std::string& what) {
    ++checks_;
    if (ok) return;
    ++disagreements_;
    if (messages_.size() < 20) messages_.push_back(what);
  }
  uint64_t objects() const { return objects_; }
  uint64_t checks() const { return checks_; }
  uint64_t disagreements() const { return disagreements_; }
  std::string report() const {
    std::ostringstream out;
    out << dump_ << ": " << objects_ << " tracked objects checked (" << checks_ << " verdicts), "
        << disagreements_ << " disagreements";
    for (const auto& m : messages_) out << "\n  " << m;
    return out.str();
  }

 private:
  std::string dump_;
  uint64_t objects_ = 0, checks_ = 0, disagreements_ = 0;
  std::vector<std::string> messages_;
};

}  // namespace heapwalk::test
