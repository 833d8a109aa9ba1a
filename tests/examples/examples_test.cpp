// SPDX-License-Identifier: Apache-2.0
// examples_test.cpp — the package as a C++ developer uses it: this build is installed to
// a temporary prefix, examples/ is configured as a project of its own against it
// (find_package(swarmkeeper)), built, and each program run against a private server
// (cluster.cpp against a private 3-master cluster). The tree also builds as a subproject.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <utility>
#include <vector>

#include "support/cli_runner.hpp"
#include "support/redis_fixture.hpp"

namespace swarmkeeper {
namespace {

namespace fs = std::filesystem;

struct Shell {
  int code = -1;
  std::string out;
};
Shell sh(const std::string& cmd) {
  Shell r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class ExamplesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
#ifdef SWARMKEEPER_SANITIZED
    return;  // the installed libraries carry the sanitizers; the release build checks the package
#endif
    dir_ = fs::temp_directory_path() / ("swarmkeeper-examples-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string prefix = (dir_ / "prefix").string(), build = (dir_ / "build").string();
    auto install = sh("cmake --install " SWARMKEEPER_BUILD_DIR " --prefix " + prefix);
    if (install.code != 0) {
      failure_ = "install: " + install.out;
      return;
    }
    auto configure = sh("cmake -S " SWARMKEEPER_SOURCE_DIR "/examples -B " + build +
                        " -G Ninja -DCMAKE_PREFIX_PATH=" + prefix +
                        " -DCMAKE_CXX_COMPILER_LAUNCHER=$(command -v ccache || true)");
    if (configure.code != 0) {
      failure_ = "configure: " + configure.out;
      return;
    }
    auto built = sh("cmake --build " + build);
    if (built.code != 0) failure_ = "build: " + built.out;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  void SetUp() override {
#ifdef SWARMKEEPER_SANITIZED
    GTEST_SKIP() << "checked in the release build";
#endif
    ASSERT_TRUE(failure_.empty()) << failure_;
  }
  static Shell run_example(const std::string& name, const std::string& url) {
    return sh("timeout -s KILL 60 " + (dir_ / "build" / name).string() + " '" + url + "'");
  }
  static fs::path dir_;
  static std::string failure_;
};
fs::path ExamplesTest::dir_;
std::string ExamplesTest::failure_;

TEST_F(ExamplesTest, EveryExampleBuildsAgainstTheInstalledPackageAndRuns) {
  auto server = testing::start_server();
  ASSERT_TRUE(server);
  const std::string url = "redis://127.0.0.1:" + std::to_string(server->port());
  auto get_set = run_example("get_set", url);
  EXPECT_EQ(get_set.code, 0) << get_set.out;
  EXPECT_NE(get_set.out.find(R"(example:task:1 = {"status":"done"})"), std::string::npos) << get_set.out;
  auto pipeline = run_example("pipeline", url);
  EXPECT_EQ(pipeline.code, 0) << pipeline.out;
  EXPECT_NE(pipeline.out.find("after the transaction = 43"), std::string::npos) << pipeline.out;
  auto cache = run_example("cache", url);
  EXPECT_EQ(cache.code, 0) << cache.out;
  EXPECT_NE(cache.out.find(R"(user:42 = {"name":"Ada"})"), std::string::npos)
      << cache.out;  // (L1 hits vary: the own write's invalidation may race the first load)
  auto monitor = run_example("monitor", url);
  EXPECT_EQ(monitor.code, 0) << monitor.out;
  auto cluster = RedisCluster::start();
  ASSERT_TRUE(cluster) << cluster.error().message();
  auto on_cluster =
      run_example("cluster", "redis+cluster://127.0.0.1:" + std::to_string((*cluster)->nodes()[0]->port()));
  EXPECT_EQ(on_cluster.code, 0) << on_cluster.out;
  EXPECT_NE(on_cluster.out.find("1 2 3"), std::string::npos) << on_cluster.out;
}

// With no server there, every example says why and exits 1: none hangs (an open client
// keeps its pool reconnecting, so an example that skipped close() on a failure never
// returned from io.run()). The pool gives up on a command after its 10 s acquire timeout.
TEST_F(ExamplesTest, WithNoServerEveryExampleSaysWhyAndExits) {
  const std::vector<std::pair<std::string, std::string>> runs = {{"get_set", "redis://127.0.0.1:1"},
                                                                 {"pipeline", "redis://127.0.0.1:1"},
                                                                 {"cache", "redis://127.0.0.1:1"},
                                                                 {"monitor", "redis://127.0.0.1:1"},
                                                                 {"cluster", "redis+cluster://127.0.0.1:1"}};
  std::vector<std::future<Shell>> results;
  for (const auto& run : runs)  // (Clang 14 cannot capture a structured binding)
    results.push_back(std::async(std::launch::async, [run] { return run_example(run.first, run.second); }));
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto r = results[i].get();
    EXPECT_EQ(r.code, 1) << runs[i].first << " (137: killed after 60 s, it hung): " << r.out;
    EXPECT_NE(r.out.find("127.0.0.1:1"), std::string::npos)
        << runs[i].first << " names where it could not connect: " << r.out;
  }
}

// A pkg-config user finds it too, wherever it was installed: get_set.cpp compiled and
// linked with nothing but `pkg-config --cflags --libs swarmkeeper`, and run.
TEST_F(ExamplesTest, PkgConfigDescribesTheInstalledPackage) {
  const std::string pc = (dir_ / "prefix" / "lib" / "pkgconfig").string();
  auto v = sh("PKG_CONFIG_PATH=" + pc + " pkg-config --modversion swarmkeeper");
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_EQ(v.out, SWARMKEEPER_PROJECT_VERSION "\n");
  auto cflags = sh("PKG_CONFIG_PATH=" + pc + " pkg-config --cflags swarmkeeper");
  EXPECT_NE(cflags.out.find("-DBOOST_ASIO_SEPARATE_COMPILATION"), std::string::npos) << cflags.out;
  EXPECT_NE(cflags.out.find((dir_ / "prefix").string()), std::string::npos)
      << "the prefix it was installed to: " << cflags.out;
  const std::string exe = (dir_ / "get_set_pc").string();
  auto built = sh("$(command -v ccache || true) c++ " SWARMKEEPER_SOURCE_DIR "/examples/get_set.cpp -o " +
                  exe + " $(PKG_CONFIG_PATH=" + pc + " pkg-config --cflags --libs swarmkeeper)");
  ASSERT_EQ(built.code, 0) << built.out;
  auto server = testing::start_server();
  ASSERT_TRUE(server);
  auto ran = sh("timeout -s KILL 60 " + exe + " redis://127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(ran.code, 0) << ran.out;
  EXPECT_FALSE(fs::exists(dir_ / "prefix" / "include" / "swarmkeeper" / "redis_process.hpp"))
      << "the private redis-server helper is not part of the package";
}

// The tree taken into another project with add_subdirectory (tests/subproject): the
// swarmkeeper:: names exist there, no test target comes along, and get_set.cpp and
// monitor.cpp build against it; get_set then runs.
TEST_F(ExamplesTest, TheTreeBuildsAsASubprojectOfAnotherProject) {
  auto server = testing::start_server();
  ASSERT_TRUE(server);
  const std::string build = SWARMKEEPER_BUILD_DIR "-subproject";
  auto r =
      sh("bash " SWARMKEEPER_SOURCE_DIR "/tests/subproject/check_subproject.sh " SWARMKEEPER_SOURCE_DIR " " +
         build + " redis://127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(R"(example:task:1 = {"status":"done"})"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace swarmkeeper
