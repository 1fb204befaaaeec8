// writd end to end: the real binary in a temp data dir, driven over both listeners.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration/writd_process.h"
#include "server/client.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::WritdProcess;
using namespace std::chrono_literals;

constexpr auto kStartLimit = 20s;

class WritdTest : public ::testing::Test {
 protected:
  std::string data_dir() const { return dir_.file("data"); }
  std::string socket_path() const { return dir_.file("data") + "/writd.sock"; }

  // Starts writd on the temp data dir with an ephemeral TCP port; waits until /healthz answers
  // on the Unix socket and the log names the TCP port.
  std::unique_ptr<WritdProcess> StartWritd(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--data-dir", data_dir(), "--listen-tcp", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = std::make_unique<WritdProcess>(args, dir_.file("writd.log"));
    const auto deadline = std::chrono::steady_clock::now() + kStartLimit;
    server::Client client({.unix_socket = socket_path(), .timeout = 2s});
    while (std::chrono::steady_clock::now() < deadline) {
      if (process->WaitExit(0ms)) break;
      auto response = client.Request("GET", "/healthz");
      std::smatch match;
      const std::string log = process->Log();
      if (response && response->status == 200 &&
          std::regex_search(log, match, std::regex(R"re("tcp":"127\.0\.0\.1:(\d+)")re"))) {
        tcp_port_ = static_cast<uint16_t>(std::stoi(match[1]));
        return process;
      }
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "writd did not start; log:\n" << process->Log();
    return process;
  }

  TempDir dir_;
  uint16_t tcp_port_ = 0;
};

TEST_F(WritdTest, HealthzOverBothListenersAndCleanSigterm) {
  auto writd = StartWritd();
  ASSERT_TRUE(writd->running());
  ASSERT_NE(tcp_port_, 0);

  server::Client over_unix({.unix_socket = socket_path(), .timeout = 5s});
  auto health = over_unix.Request("GET", "/healthz");
  ASSERT_THAT(health, IsOk());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, R"({"status":"ok"})");
  auto ready = over_unix.Request("GET", "/readyz");
  ASSERT_THAT(ready, IsOk());
  EXPECT_EQ(ready->status, 200);

  server::Client over_tcp({.unix_socket = "", .tcp_port = tcp_port_, .timeout = 5s});
  auto tcp_health = over_tcp.Request("GET", "/healthz");
  ASSERT_THAT(tcp_health, IsOk());
  EXPECT_EQ(tcp_health->status, 200);

  struct stat info {};
  ASSERT_EQ(::stat(data_dir().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(socket_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0660u);

  writd->Signal(SIGTERM);
  EXPECT_EQ(writd->WaitExit(20s), 0) << writd->Log();
  EXPECT_FALSE(std::filesystem::exists(socket_path()));
  EXPECT_THAT(writd->Log(), HasSubstr("writd stopped"));
  EXPECT_THAT(over_unix.Request("GET", "/healthz"),
              FailsWith(Code::kUnavailable, "writd is not running: cannot connect to " + socket_path()));
}

TEST_F(WritdTest, SigintAlsoStopsCleanlyAndConfigFileIsRead) {
  std::ofstream(dir_.file("writd.yaml")) << "limits:\n  max_body_bytes: 64\nlog:\n  level: info\n";
  auto writd = StartWritd({"--config", dir_.file("writd.yaml")});
  ASSERT_TRUE(writd->running());
  server::Client client({.unix_socket = socket_path(), .timeout = 5s});
  auto too_big = client.RequestRaw("POST", "/healthz", "application/json", std::string(100, ' '));
  ASSERT_THAT(too_big, IsOk());
  EXPECT_EQ(too_big->status, 413);  // the file's limit, not the 1 MiB default
  writd->Signal(SIGINT);
  EXPECT_EQ(writd->WaitExit(20s), 0) << writd->Log();
  EXPECT_FALSE(std::filesystem::exists(socket_path()));
}

TEST_F(WritdTest, SecondWritdOnTheSameDataDirRefuses) {
  auto first = StartWritd();
  ASSERT_TRUE(first->running());
  WritdProcess second({"--data-dir", data_dir(), "--listen-tcp", "127.0.0.1:0"}, dir_.file("second.log"));
  EXPECT_EQ(second.WaitExit(20s), 1);
  EXPECT_THAT(second.Log(), HasSubstr("another writd (pid " + std::to_string(first->pid()) + ")"));
  // The first one is unharmed.
  server::Client client({.unix_socket = socket_path(), .timeout = 5s});
  EXPECT_EQ(client.Request("GET", "/healthz")->status, 200);
}

TEST_F(WritdTest, RefusesWorldWritableDataDir) {
  ASSERT_EQ(::mkdir(data_dir().c_str(), 0700), 0);
  ASSERT_EQ(::chmod(data_dir().c_str(), 0777), 0);
  WritdProcess writd({"--data-dir", data_dir(), "--listen-tcp", ""}, dir_.file("writd.log"));
  EXPECT_EQ(writd.WaitExit(20s), 1);
  EXPECT_THAT(writd.Log(), HasSubstr("writable by group or others"));
  EXPECT_FALSE(std::filesystem::exists(socket_path()));
}

TEST_F(WritdTest, UnknownConfigKeyIsNamed) {
  std::ofstream(dir_.file("writd.yaml")) << "limits:\n  max_body: 5\n";
  WritdProcess writd({"--config", dir_.file("writd.yaml"), "--data-dir", data_dir()}, dir_.file("writd.log"));
  EXPECT_EQ(writd.WaitExit(20s), 1);
  EXPECT_THAT(writd.Log(), HasSubstr("unknown key `limits.max_body`"));
}

TEST_F(WritdTest, AccessLogHasNoSecrets) {
  auto writd = StartWritd();
  ASSERT_TRUE(writd->running());
  server::Client client({.unix_socket = socket_path(), .timeout = 5s});
  server::Headers headers;
  headers.Add("Authorization", "Bearer secret-token-value");
  auto response = client.RequestRaw("POST", "/nowhere?token=secret-query", "application/json",
                                    R"({"password":"secret-body"})", headers);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 404);
  writd->Signal(SIGTERM);
  ASSERT_EQ(writd->WaitExit(20s), 0);
  const std::string log = writd->Log();
  EXPECT_THAT(log, HasSubstr(R"("path":"/nowhere")"));
  EXPECT_THAT(log, HasSubstr(R"("status":404)"));
  EXPECT_THAT(log, Not(HasSubstr("secret")));
}

}  // namespace
}  // namespace writ
