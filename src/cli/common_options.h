// Options every verb that reads a dump shares, and their parsing with
// Boost.Program_options, so that all verbs spell them the same way.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "heapwalk/snapshot.h"

namespace heapwalk::cli {

enum class OutputFormat { kText, kJson, kDot };

struct CommonOptions {
  std::vector<std::string> files;
  OutputFormat format = OutputFormat::kText;
  LoadOptions load;
  bool help = false;
};

// Adds --format, --max-decompressed, --allow-truncated and --help to `desc`
// and declares FILE as the positional argument(s).
class VerbParser {
 public:
  VerbParser(std::string verb, std::string usage, std::vector<OutputFormat> formats = {OutputFormat::kText, OutputFormat::kJson});
  boost::program_options::options_description& options() { return desc_; }
  // Parses args; on --help prints usage and returns false (the verb exits 0).
  // Throws UsageError for unknown options, bad values or a wrong file count.
  bool parse(const std::vector<std::string>& args, CommonOptions& out, size_t min_files = 1,
             size_t max_files = 1);
  boost::program_options::variables_map& values() { return vm_; }

 private:
  std::string verb_, usage_;
  std::vector<OutputFormat> formats_;
  boost::program_options::options_description desc_;
  boost::program_options::variables_map vm_;
  std::string format_text_, max_decompressed_text_;
};

// Parses "512MiB", "1.5GB", "4096": bytes. Throws UsageError.
uint64_t parse_size(const std::string& text);

}  // namespace heapwalk::cli
