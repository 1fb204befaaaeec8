// End to end: a real writd, driven through the real `writ` CLI and raw HTTP on its Unix socket.
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration/writd_fixture.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ {
namespace {

using ::testing::HasSubstr;
using testing::RunShell;
using testing::RunningWritd;

class IdentityApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writd_ = std::make_unique<RunningWritd>(dir_.path() / "data");
    ASSERT_TRUE(writd_->Start()) << "writd did not start";
  }

  testing::CommandResult Writ(const std::string& arguments) {
    return RunShell(std::string(WRIT_CLI_BINARY) + " " + arguments, writd_->socket());
  }

  // POSTs raw bytes and returns (status, error code or "").
  std::pair<int, std::string> PostRaw(std::string_view target, std::string_view content_type, std::string_view body) {
    auto client = writd_->Client();
    auto response = client.RequestRaw("POST", target, content_type, body);
    if (!response) return {0, response.error().ToString()};
    auto error = response->AsError();
    return {response->status, error ? std::string(CodeName(error->code)) : ""};
  }

  writ::TempDir dir_;
  std::unique_ptr<RunningWritd> writd_;
};

TEST_F(IdentityApiTest, NewcomerCreatesAnAgentSuspendsItAndSeesItsHistory) {
  auto human = Writ("identity create alice --kind human --uid " + std::to_string(::getuid()));
  ASSERT_EQ(human.exit_code, 0) << human.output;
  auto agent = Writ("identity create triage-bot --owner alice --tier high --label team=sre --max-ttl 10m");
  ASSERT_EQ(agent.exit_code, 0) << agent.output;
  EXPECT_THAT(agent.output, HasSubstr("spiffe://writ.local/agent/triage-bot"));

  auto suspended = Writ("identity suspend triage-bot --reason 'odd traffic'");
  ASSERT_EQ(suspended.exit_code, 0) << suspended.output;
  EXPECT_THAT(suspended.output, HasSubstr("suspended"));

  auto history = Writ("identity history triage-bot");
  ASSERT_EQ(history.exit_code, 0) << history.output;
  EXPECT_THAT(history.output, HasSubstr("create"));
  EXPECT_THAT(history.output, HasSubstr("suspend"));
  EXPECT_THAT(history.output, HasSubstr("odd traffic"));
  EXPECT_THAT(history.output, HasSubstr("alice"));  // the author is the human mapped to our uid

  auto list = Writ("-o json identity list --state suspended");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  auto parsed = json::Parse(list.output);
  ASSERT_THAT(parsed, IsOk()) << list.output;
  ASSERT_EQ(parsed->Find("items")->as_array().size(), 1u);
  EXPECT_EQ(parsed->Find("items")->as_array()[0].Find("name")->as_string(), "triage-bot");

  ASSERT_EQ(Writ("identity revoke triage-bot").exit_code, 0);
  auto illegal = Writ("identity resume triage-bot");
  EXPECT_EQ(illegal.exit_code, 1);
  EXPECT_THAT(illegal.output, HasSubstr("cannot go from `revoked` to `active`"));
}

TEST_F(IdentityApiTest, CliErrorsAreOneSentence) {
  auto unknown_owner = Writ("identity create bot --owner nobody");
  EXPECT_EQ(unknown_owner.exit_code, 1);
  EXPECT_EQ(unknown_owner.output, "writ: owner `nobody` is not a registered human; create it first with kind `human`\n");
  auto missing = Writ("identity get ghost");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.output, "writ: agent `ghost` not found\n");
  auto usage = Writ("identity create");
  EXPECT_EQ(usage.exit_code, 2);
}

TEST_F(IdentityApiTest, BadInputGetsAClearFourHundred) {
  EXPECT_EQ(PostRaw("/v1/identities", "application/json", "{\"kind\":"), (std::pair<int, std::string>{400, "invalid_argument"}));
  EXPECT_EQ(PostRaw("/v1/identities", "application/json", "[1,2]"), (std::pair<int, std::string>{400, "invalid_argument"}));
  EXPECT_EQ(PostRaw("/v1/identities", "application/json", R"({"kind":"agent","name":"x","owner":"a","extra":1})"),
            (std::pair<int, std::string>{400, "invalid_argument"}));
  EXPECT_EQ(PostRaw("/v1/identities", "application/json", R"({"kind":"human","name":"../etc"})"),
            (std::pair<int, std::string>{400, "invalid_argument"}));
  EXPECT_EQ(PostRaw("/v1/identities", "application/json", std::string(200, '[') + std::string(200, ']')),
            (std::pair<int, std::string>{400, "invalid_argument"}));
  EXPECT_EQ(PostRaw("/v1/identities", "text/plain", "{}").first, 415);
  // A body over the 1 MiB default: curl (a real peer that reads an early answer) sees 413.
  {
    const std::string big = dir_.file("big.json");
    std::ofstream(big) << std::string(2 << 20, ' ');
    auto curl = RunShell("curl -s -o /dev/null -w '%{http_code}' --unix-socket " + writd_->socket() +
                             " -H 'Content-Type: application/json' --data-binary @" + big + " http://writd/v1/identities",
                         writd_->socket());
    EXPECT_EQ(curl.output, "413");
  }
  EXPECT_EQ(PostRaw("/v1/identities/agent/x/explode", "application/json", "{}"), (std::pair<int, std::string>{404, "not_found"}));
  // writd is still serving after all of that.
  EXPECT_EQ(Writ("status").exit_code, 0);
}

TEST_F(IdentityApiTest, AcknowledgedWritesSurviveKillDashNine) {
  ASSERT_EQ(Writ("identity create alice --kind human").exit_code, 0);
  auto client = writd_->Client();
  constexpr int kAgents = 25;
  for (int index = 0; index < kAgents; ++index) {
    json::Value body;
    body.Set("kind", "agent");
    body.Set("name", "bot-" + std::to_string(index));
    body.Set("owner", "alice");
    auto response = client.Request("POST", "/v1/identities", body);
    ASSERT_THAT(response, IsOk());
    ASSERT_EQ(response->status, 201) << response->body;
  }
  // Kill right after the last acknowledgement: no chance to flush anything more.
  writd_->Kill(SIGKILL);
  ASSERT_TRUE(writd_->Start());
  auto list = Writ("-o json identity list --limit 1000");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_EQ(json::Parse(list.output)->Find("items")->as_array().size(), static_cast<size_t>(kAgents));
}

// A fresh, private data dir under `dir` whose admin policy set (admin.cedar) is `policies`.
std::filesystem::path DataDirWithAdminPolicy(const writ::TempDir& dir, const std::string& policies) {
  const auto data = dir.path() / "data";
  std::filesystem::create_directories(data);
  std::filesystem::permissions(data, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace);
  std::ofstream(data / "admin.cedar") << policies;
  return data;
}

// The admin policy set in <data-dir>/admin.cedar governs identity, token and key administration.
TEST(AdminPolicyEndToEndTest, ForbiddenActionsAreA403NamingThePolicyAndAreAudited) {
  writ::TempDir dir;
  const auto data = DataDirWithAdminPolicy(dir, R"(@id("local-administrators")
permit (principal in Writ::Group::"administrators", action, resource);
@id("bob-may-not-revoke")
forbid (principal == Writ::Human::"bob", action == Writ::Action::"identity:revoke", resource);
@id("no-key-rotation")
forbid (principal, action == Writ::Action::"keys:rotate", resource);
@id("no-admin-issue")
forbid (principal, action == Writ::Action::"token:issue", resource) when { context.agent == "bot" };
)");
  RunningWritd writd(data);
  ASSERT_TRUE(writd.Start()) << "writd did not start";
  const auto writ = [&](const std::string& arguments) {
    return RunShell(std::string(WRIT_CLI_BINARY) + " " + arguments, writd.socket());
  };
  // Our uid maps to the human bob: bob may create and suspend, not revoke.
  ASSERT_EQ(writ("identity create bob --kind human --uid " + std::to_string(::getuid())).exit_code, 0);
  ASSERT_EQ(writ("identity create bot --owner bob").exit_code, 0);
  ASSERT_EQ(writ("identity suspend bot").exit_code, 0);
  auto revoke = writ("identity revoke bot --reason 'try'");
  EXPECT_EQ(revoke.exit_code, 1);
  EXPECT_THAT(revoke.output, HasSubstr("`bob-may-not-revoke`"));
  auto client = writd.Client();
  auto raw = client.Request("POST", "/v1/identities/agent/bot/revoke", json::Value(json::Object{}));
  ASSERT_THAT(raw, IsOk());
  EXPECT_EQ(raw->status, 403);
  EXPECT_THAT(raw->body, HasSubstr("permission_denied"));
  EXPECT_THAT(writ("-o json identity get bot").output, HasSubstr("\"suspended\""));  // unchanged

  auto rotate = client.Request("POST", "/v1/keys/rotate", json::Value(json::Object{}));
  ASSERT_THAT(rotate, IsOk());
  EXPECT_EQ(rotate->status, 403);
  EXPECT_THAT(rotate->body, HasSubstr("no-key-rotation"));
  auto keys = client.Request("GET", "/v1/keys");
  ASSERT_THAT(keys, IsOk());
  EXPECT_EQ(keys->status, 200);  // reading keys is still allowed

  auto issue = client.Request("POST", "/v1/token", json::Value(json::Object{{"agent", "bot"}}));
  ASSERT_THAT(issue, IsOk());
  EXPECT_EQ(issue->status, 403);
  EXPECT_THAT(issue->body, HasSubstr("no-admin-issue"));
  auto revoke_tokens = client.Request("POST", "/v1/revoke", json::Value(json::Object{{"agent", "bot"}}));
  ASSERT_THAT(revoke_tokens, IsOk());
  EXPECT_EQ(revoke_tokens->status, 200) << revoke_tokens->body;  // token:revoke is not forbidden

  auto events = writ("-o json audit query --kind decision");
  ASSERT_EQ(events.exit_code, 0) << events.output;
  const json::Value parsed = json::Parse(events.output).value();
  std::vector<std::string> denied;
  for (const auto& event : parsed.Find("items")->as_array()) {
    EXPECT_EQ(event.Find("decision")->as_string(), "deny");
    EXPECT_EQ(event.Find("actor")->as_string(), R"(Writ::Human::"bob")");
    denied.push_back(event.Find("action")->as_string() + " " + json::Serialize(*event.Find("policy_ids")));
  }
  EXPECT_THAT(denied, ::testing::UnorderedElementsAre(R"(Writ::Action::"identity:revoke" ["bob-may-not-revoke"])",
                                             R"(Writ::Action::"identity:revoke" ["bob-may-not-revoke"])",
                                             R"(Writ::Action::"keys:rotate" ["no-key-rotation"])",
                                             R"(Writ::Action::"token:issue" ["no-admin-issue"])"));
}

// Reading the ledger's events is an admin action too: a policy can forbid it to one human (403,
// recorded), while export, left permitted, still works and shows the recorded denial.
TEST(AdminPolicyEndToEndTest, AuditReadCanBeForbiddenByTheAdminPolicy) {
  writ::TempDir dir;
  const auto data = DataDirWithAdminPolicy(dir, R"(@id("local-administrators")
permit (principal in Writ::Group::"administrators", action, resource);
@id("bob-may-not-read-audit")
forbid (principal == Writ::Human::"bob", action == Writ::Action::"audit:read", resource);
)");
  RunningWritd writd(data);
  ASSERT_TRUE(writd.Start()) << "writd did not start";
  auto client = writd.Client();
  auto before = client.Request("GET", "/v1/audit/events");  // no human bob yet: the default permit applies
  ASSERT_THAT(before, IsOk());
  EXPECT_EQ(before->status, 200) << before->body;
  ASSERT_EQ(RunShell(std::string(WRIT_CLI_BINARY) + " identity create bob --kind human --uid " +
                         std::to_string(::getuid()),
                     writd.socket())
                .exit_code,
            0);
  auto events = client.Request("GET", "/v1/audit/events");
  ASSERT_THAT(events, IsOk());
  EXPECT_EQ(events->status, 403);
  EXPECT_THAT(events->body, HasSubstr("bob-may-not-read-audit"));
  auto exported = client.Request("GET", "/v1/audit/export");
  ASSERT_THAT(exported, IsOk());
  EXPECT_EQ(exported->status, 200) << exported->body;
  EXPECT_THAT(exported->body, HasSubstr("bob-may-not-read-audit"));
}

TEST(CliWithoutDaemonTest, SaysWritdIsNotRunningInOneSentence) {
  writ::TempDir dir;
  auto result = RunShell(std::string(WRIT_CLI_BINARY) + " identity list", dir.file("nothing.sock"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.output, HasSubstr("writd is not running"));
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
}

}  // namespace
}  // namespace writ
