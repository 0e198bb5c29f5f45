// The sample programs' executables, for tests of --binary (ELF symbols,
// DWARF types). Built from samples/go/<name> with the `go` on PATH the way
// samples/make.sh builds them (-trimpath, CGO_ENABLED=0, no GOFLAGS or
// GOEXPERIMENT, GOPROXY=off) into the build directory.
//
// A Go build is reproducible: the same Go (the samples' dumps say go1.19.8,
// Debian 12's golang-go) gives the executable that wrote the committed dump,
// with the same data/bss addresses. When the fresh executable does not match
// the committed dump (another Go, another layout: match_binary says so), the
// test uses a dump the fresh executable writes instead (run as make.sh runs
// it: empty environment, GOMAXPROCS=2), with its own truth file, cached in
// the build directory next to the executable.
#pragma once

#include <filesystem>
#include <string>

namespace heapwalk::test {

struct SampleBuild {
  std::filesystem::path exe;    // empty when there is none (why_not says why)
  std::filesystem::path dump;   // the dump exe matches: committed or regenerated
  std::filesystem::path truth;  // that dump's truth file
  bool regenerated = false;     // dump/truth were written by this build
  std::string why_not;
};

// Once per process and sample; later calls return the cached result.
const SampleBuild& sample_build(const std::string& name);

}  // namespace heapwalk::test
