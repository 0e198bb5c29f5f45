// The suite itself: every TEST_CASE must run under ctest. catch_discover_tests
// registers each test by name, and CMake splits lists on ';': a name holding
// one becomes a ctest entry that matches no test case and passes without
// running anything (this hid two tests until it was caught).
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "support/paths.h"

TEST_CASE("suite: every test case name is one ctest can run (no semicolon, no bracket)",
          "[suite]") {
  namespace fs = std::filesystem;
  const std::regex test_case(R"re(TEST_CASE\(\s*"((?:[^"\\]|\\.)*)")re");
  int names = 0;
  for (const auto& e : fs::directory_iterator(heapwalk::test::source_dir() / "tests")) {
    if (e.path().extension() != ".cc") continue;
    const std::string text = heapwalk::test::read_file(e.path());
    for (std::sregex_iterator it(text.begin(), text.end(), test_case), end; it != end; ++it) {
      const std::string name = (*it)[1];
      INFO(e.path().filename().string() << ": " << name);
      CHECK(name.find(';') == std::string::npos);
      CHECK(name.find('[') == std::string::npos);
      ++names;
    }
  }
  CHECK(names > 100);
}
