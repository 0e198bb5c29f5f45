// JSON output: nlohmann::ordered_json keeps keys in insertion order, so the
// output is stable enough to diff and script against. Every verb's JSON
// starts with "schema": 1; addresses are hex strings, sizes integers (bytes).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace heapwalk::report {

using Json = nlohmann::ordered_json;
inline constexpr int kJsonSchema = 1;

// Pretty-printed, invalid UTF-8 from the dump replaced (never throws).
std::string to_text(const Json& json);

}  // namespace heapwalk::report
