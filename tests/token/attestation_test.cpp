#include "token/attestation.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ::token {
namespace {

using ::testing::HasSubstr;

PeerCredentials Self() {
  return {.pid = static_cast<int32_t>(::getpid()), .uid = static_cast<uint32_t>(::geteuid()),
          .gid = static_cast<uint32_t>(::getegid())};
}

TEST(AttestationTest, InspectsTheCallingProcess) {
  auto facts = InspectProcess(Self(), BootTimeNow());
  ASSERT_THAT(facts, IsOk());
  EXPECT_EQ(facts->exe_path, std::filesystem::canonical("/proc/self/exe").string());
  EXPECT_EQ(facts->exe_sha256, HashFile("/proc/self/exe", true).value());
  EXPECT_EQ(facts->exe_sha256.size(), 64u);
}

TEST(AttestationTest, ProcessStartedAfterTheRequestIsAReusedPid) {
  EXPECT_THAT(InspectProcess(Self(), 0), FailsWith(Code::kPermissionDenied, HasSubstr("pid reused")));
}

TEST(AttestationTest, CredentialsOtherThanTheSocketsAreRefused) {
  PeerCredentials peer = Self();
  peer.uid += 1;
  EXPECT_THAT(InspectProcess(peer, BootTimeNow()), FailsWith(Code::kPermissionDenied));
}

TEST(AttestationTest, ExitedProcessIsRefused) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  PeerCredentials peer = Self();
  peer.pid = child;
  EXPECT_THAT(InspectProcess(peer, BootTimeNow()), FailsWith(Code::kPermissionDenied));
}

identity::Identity Agent(std::string name, identity::Selectors selectors) {
  identity::Identity agent;
  agent.name = std::move(name);
  agent.selectors = std::move(selectors);
  return agent;
}

TEST(AttestationTest, ExactlyOneAgentMustMatch) {
  const ProcessFacts facts{.pid = 10, .uid = 1000, .gid = 100, .exe_path = "/usr/bin/agent", .exe_sha256 = std::string(64, 'a')};
  const auto by_exe = Agent("by-exe", {.exe_path = "/usr/bin/agent", .exe_sha256 = std::string(64, 'a')});
  const auto wrong_hash = Agent("wrong-hash", {.exe_path = "/usr/bin/agent", .exe_sha256 = std::string(64, 'b')});
  const auto by_uid = Agent("by-uid", {.uid = 1000});
  const auto no_selectors = Agent("no-selectors", {});
  EXPECT_EQ(MatchAgent({by_exe, wrong_hash, no_selectors}, facts).value().name, "by-exe");
  EXPECT_THAT(MatchAgent({wrong_hash, no_selectors}, facts),
              FailsWith(Code::kPermissionDenied, HasSubstr("no registered agent matches")));
  EXPECT_THAT(MatchAgent({by_exe, by_uid}, facts), FailsWith(Code::kFailedPrecondition, HasSubstr("by-exe, by-uid")));
}

}  // namespace
}  // namespace writ::token
