#include "server/daemon.h"

#include <unistd.h>

#include <atomic>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/client.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::server {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

Config TestConfig(const TempDir& dir) {
  auto config = ParseConfig("", {.data_dir = dir.file("data"), .listen_unix = {}, .listen_tcp = "127.0.0.1:0"});
  EXPECT_THAT(config, IsOk());
  config->threads = 2;
  config->log_level = log::Level::kWarn;
  return *config;
}

TEST(DaemonTest, ServesHealthAndRegisteredRoutes) {
  TempDir dir;
  auto daemon = Daemon::Open(TestConfig(dir));
  ASSERT_THAT(daemon, IsOk());
  Daemon& writd = **daemon;
  writd.router().Get("/v1/whoami", [&writd](const Request& request) -> Result<Response> {
    return JsonResponse(200, json::Object{{"admin", writd.IsAdmin(request.peer)}});
  });
  ASSERT_THAT(writd.Start(), IsOk());
  ASSERT_NE(writd.tcp_port(), 0);

  Client over_unix({.unix_socket = writd.config().listen_unix, .timeout = 5s});
  EXPECT_EQ(over_unix.Request("GET", "/healthz")->body, R"({"status":"ok"})");
  EXPECT_EQ(over_unix.Request("GET", "/readyz")->status, 200);
  EXPECT_EQ(over_unix.Request("GET", "/v1/whoami")->body, R"({"admin":true})");

  Client over_tcp({.unix_socket = "", .tcp_port = writd.tcp_port(), .timeout = 5s});
  EXPECT_EQ(over_tcp.Request("GET", "/healthz")->status, 200);
  EXPECT_EQ(over_tcp.Request("GET", "/v1/whoami")->body, R"({"admin":false})");  // TCP is never local admin
  writd.Stop();
  EXPECT_FALSE(std::filesystem::exists(writd.config().listen_unix));
}

TEST(DaemonTest, ReadinessChecksTurnReadyzTo503) {
  TempDir dir;
  auto daemon = Daemon::Open(TestConfig(dir));
  ASSERT_THAT(daemon, IsOk());
  std::atomic<bool> store_up{true};
  (*daemon)->AddReadinessCheck([&]() -> Status {
    if (store_up.load()) return Ok();
    return Fail(Code::kUnavailable, "store is down");
  });
  ASSERT_THAT((*daemon)->Start(), IsOk());
  Client client({.unix_socket = (*daemon)->config().listen_unix, .timeout = 5s});
  EXPECT_EQ(client.Request("GET", "/readyz")->status, 200);
  store_up = false;
  auto response = client.Request("GET", "/readyz");
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 503);
  EXPECT_THAT(response->body, HasSubstr("store is down"));
  EXPECT_EQ(client.Request("GET", "/healthz")->status, 200);  // alive, just not ready
}

TEST(DaemonTest, AdminUidsComeFromTheConfig) {
  TempDir dir;
  Config config = TestConfig(dir);
  config.admin_uids = {::getuid() + 1};
  auto daemon = Daemon::Open(config);
  ASSERT_THAT(daemon, IsOk());
  Peer peer{.transport = Transport::kUnix, .uid = ::getuid() + 1, .gid = 0, .pid = 1, .address = ""};
  EXPECT_TRUE((*daemon)->IsAdmin(peer));
  peer.uid = ::getuid();
  EXPECT_FALSE((*daemon)->IsAdmin(peer));
  peer.uid.reset();
  EXPECT_FALSE((*daemon)->IsAdmin(peer));
}

TEST(DaemonTest, SecondDaemonOnTheSameDirIsRefused) {
  TempDir dir;
  auto first = Daemon::Open(TestConfig(dir));
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(Daemon::Open(TestConfig(dir)), FailsWith(Code::kFailedPrecondition, HasSubstr("another writd")));
}

}  // namespace
}  // namespace writ::server
