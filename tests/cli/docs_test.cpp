// SPDX-License-Identifier: Apache-2.0
// docs_test.cpp — the C++ snippets of README.md and docs/ are copies of examples/ (which
// the test suite builds against the installed package): every line of a ```cpp block,
// but its first comment, appears in one example, in the same order.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace swarmkeeper {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}
std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(trim(l));
  return out;
}

TEST(Docs, EveryCppSnippetIsACopyOfAnExample) {
  const fs::path root = SWARMKEEPER_SOURCE_DIR;
  std::vector<std::vector<std::string>> examples;
  for (const auto& e : fs::directory_iterator(root / "examples"))
    if (e.path().extension() == ".cpp") examples.push_back(lines(read(e.path())));
  ASSERT_GE(examples.size(), 5u);
  std::vector<fs::path> docs = {root / "README.md"};
  for (const auto& e : fs::directory_iterator(root / "docs"))
    if (e.path().extension() == ".md") docs.push_back(e.path());
  int snippets = 0;
  for (const auto& doc : docs) {
    const auto text = lines(read(doc));
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] != "```cpp") continue;
      std::vector<std::string> block;
      for (++i; i < text.size() && text[i] != "```"; ++i)
        if (!text[i].empty() && !(block.empty() && text[i].starts_with("// from examples/")))
          block.push_back(text[i]);
      ++snippets;
      bool found = false;
      for (const auto& ex : examples) {
        bool in_order = !block.empty();
        std::size_t at = 0;
        for (const auto& l : block) {
          while (at < ex.size() && ex[at] != l) ++at;
          if (at == ex.size()) {
            in_order = false;
            break;
          }
          ++at;
        }
        found = found || in_order;
      }
      EXPECT_TRUE(found) << doc.filename() << ": a ```cpp snippet is not a copy of any example:\n"
                         << block.front();
    }
  }
  EXPECT_GE(snippets, 1);
}

}  // namespace
}  // namespace swarmkeeper
