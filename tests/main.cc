#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdlib>

int main(int argc, char* argv[]) {
  // The CLI runs that tests make use the analysis cache like a user's would,
  // but in the build tree, never in the developer's ~/.cache.
  ::setenv("HEAPWALK_CACHE_DIR", HEAPWALK_BUILD_DIR "/test-cache", 0);
  return Catch::Session().run(argc, argv);
}
