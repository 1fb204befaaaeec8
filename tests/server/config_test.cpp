#include "server/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/data_dir.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::server {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ConfigTest, EmptyTextGivesDefaults) {
  auto config = ParseConfig("", {.data_dir = "/var/lib/writ"});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->data_dir, "/var/lib/writ");
  EXPECT_EQ(config->listen_unix, "/var/lib/writ/writd.sock");
  ASSERT_TRUE(config->listen_tcp.has_value());
  EXPECT_EQ(config->listen_tcp->host, "127.0.0.1");
  EXPECT_EQ(config->listen_tcp->port, 8787);
  EXPECT_EQ(config->max_body_bytes, 1u << 20);
  EXPECT_EQ(config->trust_domain, "writ.local");
  EXPECT_EQ(config->log_level, log::Level::kInfo);
  EXPECT_THAT(config->admin_uids, ElementsAre(static_cast<uint32_t>(::getuid())));
  EXPECT_GE(config->threads, 2);
}

TEST(ConfigTest, ReadsEveryKey) {
  auto config = ParseConfig(R"(
data_dir: /srv/writ
listen:
  unix: /run/writ.sock
  tcp: "[::1]:9000"
limits:
  max_body_bytes: 2048
  max_json_depth: 8
  max_header_bytes: 4096
  max_connections: 10
timeouts:
  read: 5s
  write: 250ms
  shutdown: 1m
threads: 3
admin:
  uids: [1000, 1001]
trust_domain: example.org
log:
  level: debug
  file: /tmp/writd.log
)",
                            {});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->data_dir, "/srv/writ");
  EXPECT_EQ(config->listen_unix, "/run/writ.sock");
  EXPECT_EQ(config->listen_tcp->host, "::1");
  EXPECT_EQ(config->listen_tcp->port, 9000);
  EXPECT_EQ(config->max_body_bytes, 2048u);
  EXPECT_EQ(config->max_json_depth, 8u);
  EXPECT_EQ(config->max_header_bytes, 4096u);
  EXPECT_EQ(config->max_connections, 10u);
  EXPECT_EQ(config->read_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config->write_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(config->shutdown_timeout, std::chrono::minutes(1));
  EXPECT_EQ(config->threads, 3);
  EXPECT_THAT(config->admin_uids, ElementsAre(1000u, 1001u));
  EXPECT_EQ(config->trust_domain, "example.org");
  EXPECT_EQ(config->log_level, log::Level::kDebug);
  EXPECT_EQ(config->log_file, "/tmp/writd.log");
}

TEST(ConfigTest, AuditCommitLingerIsReadAndBounded) {
  EXPECT_EQ(ParseConfig("", {}).value().audit_commit_linger, std::chrono::milliseconds(5));
  EXPECT_EQ(ParseConfig("audit:\n  commit_linger: 20ms\n", {}).value().audit_commit_linger, std::chrono::milliseconds(20));
  EXPECT_EQ(ParseConfig("audit:\n  commit_linger: 0ms\n", {}).value().audit_commit_linger, std::chrono::milliseconds(0));
  EXPECT_THAT(ParseConfig("audit:\n  commit_linger: 2s\n", {}),
              FailsWith(Code::kInvalidArgument, HasSubstr("audit.commit_linger")));
  EXPECT_THAT(ParseConfig("audit:\n  commit_linger: soon\n", {}), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseConfig("audit:\n  linger: 5ms\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("audit.linger")));
}

TEST(ConfigTest, FlagsOverrideTheFile) {
  auto config = ParseConfig("data_dir: /a\nlisten:\n  tcp: 127.0.0.1:1\n",
                            {.data_dir = "/b", .listen_unix = "/tmp/s.sock", .listen_tcp = ""});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->data_dir, "/b");
  EXPECT_EQ(config->listen_unix, "/tmp/s.sock");
  EXPECT_FALSE(config->listen_tcp.has_value());
}

TEST(ConfigTest, UnknownKeysAreNamed) {
  EXPECT_THAT(ParseConfig("data_dir: /a\nlimits:\n  max_bodybytes: 5\n", {}, "writd.yaml"),
              FailsWith(Code::kInvalidArgument,
                        AllOf(HasSubstr("writd.yaml"), HasSubstr("`limits.max_bodybytes`"), HasSubstr("line 3"))));
  EXPECT_THAT(ParseConfig("colour: blue\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("unknown key `colour`")));
  EXPECT_THAT(ParseConfig("admin:\n  gids: [1]\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("`admin.gids`")));
}

TEST(ConfigTest, WrongTypesAreNamed) {
  EXPECT_THAT(ParseConfig("limits:\n  max_body_bytes: lots\n", {}),
              FailsWith(Code::kInvalidArgument, AllOf(HasSubstr("`limits.max_body_bytes`"), HasSubstr("integer"))));
  EXPECT_THAT(ParseConfig("limits: 5\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("`limits` must be a mapping")));
  EXPECT_THAT(ParseConfig("data_dir: [a, b]\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("`data_dir` must be a string")));
  EXPECT_THAT(ParseConfig("admin:\n  uids: 1000\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("list of uids")));
  EXPECT_THAT(ParseConfig("admin:\n  uids: [-1]\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("between")));
  EXPECT_THAT(ParseConfig("timeouts:\n  read: soon\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("duration")));
  EXPECT_THAT(ParseConfig("log:\n  level: loud\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("`log.level`")));
  EXPECT_THAT(ParseConfig("trust_domain: Bad Domain\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("trust_domain")));
  EXPECT_THAT(ParseConfig("threads: 0\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("threads")));
  EXPECT_THAT(ParseConfig("- a\n- b\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("mapping")));
}

TEST(ConfigTest, TokenSectionDefaultsAndEveryKey) {
  auto defaults = ParseConfig("", {});
  ASSERT_THAT(defaults, IsOk());
  EXPECT_EQ(defaults->token.algorithm, crypto::KeyAlgorithm::kEs256);
  EXPECT_EQ(defaults->token.rotation_period, std::chrono::hours(24));
  EXPECT_EQ(defaults->token.overlap, std::chrono::hours(24));
  EXPECT_EQ(defaults->token.default_ttl, std::chrono::minutes(5));
  EXPECT_EQ(defaults->token.max_clock_skew, std::chrono::seconds(30));
  EXPECT_EQ(defaults->token.issuer, "");
  EXPECT_EQ(defaults->token.default_audience, "writ");

  auto config = ParseConfig(R"(
token:
  algorithm: EdDSA
  rotation_period: 7d
  overlap: 2h
  default_ttl: 90s
  max_clock_skew: 0s
  issuer: https://writ.example.org
  default_audience: billing-api
)",
                            {});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->token.algorithm, crypto::KeyAlgorithm::kEd25519);
  EXPECT_EQ(config->token.rotation_period, std::chrono::hours(7 * 24));
  EXPECT_EQ(config->token.overlap, std::chrono::hours(2));
  EXPECT_EQ(config->token.default_ttl, std::chrono::seconds(90));
  EXPECT_EQ(config->token.max_clock_skew, std::chrono::seconds(0));
  EXPECT_EQ(config->token.issuer, "https://writ.example.org");
  EXPECT_EQ(config->token.default_audience, "billing-api");
  EXPECT_EQ(ParseConfig("token:\n  algorithm: Ed25519\n", {})->token.algorithm, crypto::KeyAlgorithm::kEd25519);
}

TEST(ConfigTest, BadTokenValuesAreNamed) {
  const auto fails = [](const std::string& yaml, const std::string& key, const std::string& why) {
    EXPECT_THAT(ParseConfig(yaml, {}), FailsWith(Code::kInvalidArgument, AllOf(HasSubstr(key), HasSubstr(why))))
        << yaml;
  };
  fails("token:\n  algorithm: HS256\n", "`token.algorithm`", "ES256");
  fails("token:\n  algorithm: none\n", "`token.algorithm`", "ES256");
  fails("token:\n  rotation_period: 0s\n", "`token.rotation_period`", "between");
  fails("token:\n  overlap: 500ms\n", "`token.overlap`", "whole seconds");
  fails("token:\n  overlap: 400d\n", "`token.overlap`", "between");
  fails("token:\n  default_ttl: 25h\n", "`token.default_ttl`", "between");
  fails("token:\n  default_ttl: soon\n", "`token.default_ttl`", "duration");
  fails("token:\n  max_clock_skew: 10m\n", "`token.max_clock_skew`", "between");
  fails("token:\n  issuer: \"a b\"\n", "`token.issuer`", "printable");
  fails("token:\n  default_audience: \"\"\n", "`token.default_audience`", "printable");
  fails("token:\n  default_audience: [a]\n", "`token.default_audience`", "string");
  fails("token:\n  ttl: 5m\n", "`token.ttl`", "unknown key");
  fails("token: 5\n", "`token`", "mapping");
}

TEST(ConfigTest, MalformedYamlSaysWhere) {
  EXPECT_THAT(ParseConfig("listen:\n  unix: [unclosed\n", {}, "c.yaml"),
              FailsWith(Code::kInvalidArgument, AllOf(HasSubstr("c.yaml"), HasSubstr("malformed YAML"))));
}

TEST(ConfigTest, BadListenAddresses) {
  EXPECT_THAT(ParseConfig("listen:\n  tcp: localhost\n", {}), FailsWith(Code::kInvalidArgument, HasSubstr("`listen.tcp`")));
  EXPECT_THAT(ParseConfig("", {.listen_tcp = "127.0.0.1:99999"}), FailsWith(Code::kInvalidArgument, HasSubstr("port")));
  EXPECT_THAT(ParseConfig("", {.listen_unix = "", .listen_tcp = ""}),
              FailsWith(Code::kInvalidArgument, HasSubstr("both listeners are disabled")));
}

TEST(HostPortTest, Parses) {
  EXPECT_EQ(ParseHostPort("127.0.0.1:8787")->port, 8787);
  EXPECT_EQ(ParseHostPort("localhost:0")->host, "localhost");
  EXPECT_EQ(ParseHostPort("[::1]:1")->host, "::1");
  EXPECT_THAT(ParseHostPort("::1:80"), FailsWith(Code::kInvalidArgument, HasSubstr("brackets")));
  EXPECT_THAT(ParseHostPort(":80"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseHostPort("host:"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseHostPort("host:8x"), FailsWith(Code::kInvalidArgument));
}

TEST(ConfigTest, LoadConfigReportsMissingFile) {
  TempDir dir;
  EXPECT_THAT(LoadConfig(dir.file("nope.yaml"), {}), FailsWith(Code::kNotFound, HasSubstr("nope.yaml")));
  std::ofstream(dir.file("c.yaml")) << "trust_domain: a.b\n";
  auto config = LoadConfig(dir.file("c.yaml"), {.data_dir = "/x"});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->trust_domain, "a.b");
}

TEST(DataDirTest, CreatesMissingDirectoryPrivate) {
  TempDir dir;
  const std::string path = dir.file("a/b/data");
  ASSERT_THAT(PrepareDataDir(path), IsOk());
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
}

TEST(DataDirTest, RefusesGroupOrWorldWritable) {
  TempDir dir;
  const std::string path = dir.file("data");
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0777), 0);
  EXPECT_THAT(PrepareDataDir(path), FailsWith(Code::kFailedPrecondition, AllOf(HasSubstr("writable"), HasSubstr("chmod 700"))));
  ASSERT_EQ(::chmod(path.c_str(), 0720), 0);
  EXPECT_THAT(PrepareDataDir(path), FailsWith(Code::kFailedPrecondition));
}

TEST(DataDirTest, RefusesAFile) {
  TempDir dir;
  std::ofstream(dir.file("f")) << "x";
  EXPECT_THAT(PrepareDataDir(dir.file("f")), FailsWith(Code::kFailedPrecondition, HasSubstr("not a directory")));
}

TEST(DataDirTest, RefusesDirectoryOfAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  TempDir dir;
  const std::string path = dir.file("data");
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  EXPECT_THAT(PrepareDataDir(path), FailsWith(Code::kFailedPrecondition, HasSubstr("owned by uid 65534")));
}

TEST(DataDirLockTest, SecondLockNamesTheHolder) {
  TempDir dir;
  auto first = DataDirLock::Acquire(dir.path().string());
  ASSERT_THAT(first, IsOk());
  // flock locks belong to the open file description, so a second open in this process conflicts too.
  EXPECT_THAT(DataDirLock::Acquire(dir.path().string()),
              FailsWith(Code::kFailedPrecondition, HasSubstr("pid " + std::to_string(::getpid()))));
  first->reset();
  EXPECT_THAT(DataDirLock::Acquire(dir.path().string()), IsOk());
}

}  // namespace
}  // namespace writ::server
