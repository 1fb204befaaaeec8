// Approval flow end to end on a real writd: an approval-required call creates a pending request,
// `writ approvals grant` lets the next matching call through once, then it is denied again; a
// suspended agent is denied whatever the policies say; policy versions roll back.
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration/writd_fixture.h"
#include "testing/temp_dir.h"

namespace writ {
namespace {

using ::testing::HasSubstr;
using testing::RunShell;
using testing::RunningWritd;

class ApprovalsFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writd_ = std::make_unique<RunningWritd>(dir_.path() / "data");
    ASSERT_TRUE(writd_->Start()) << "writd did not start";
    client_ = std::make_unique<server::Client>(server::ClientOptions{.unix_socket = writd_->socket()});
  }

  testing::CommandResult Writ(const std::string& arguments) {
    return RunShell(std::string(WRIT_CLI_BINARY) + " " + arguments, writd_->socket());
  }

  json::Value Evaluate(const std::string& tool) {
    json::Value request = json::Object{
        {"subject", json::Object{{"type", "Writ::Agent"}, {"id", "triage-bot"}}},
        {"action", json::Object{{"name", "Writ::Action::\"mcp:call\""}}},
        {"resource", json::Object{{"type", "Writ::Tool"}, {"id", tool}}},
        {"context", json::Object{{"args", json::Object{{"repo", "writ"}}}}}};
    auto response = client_->Request("POST", "/access/v1/evaluation", request);
    EXPECT_TRUE(response.has_value());
    if (!response) return json::Value();
    EXPECT_EQ(response->status, 200) << response->body;
    auto parsed = response->Json();
    return parsed ? *parsed : json::Value();
  }

  static bool Decision(const json::Value& answer) {
    const json::Value* decision = answer.Find("decision");
    return decision != nullptr && decision->is_bool() && decision->as_bool();
  }

  TempDir dir_;
  std::unique_ptr<RunningWritd> writd_;
  std::unique_ptr<server::Client> client_;
};

TEST_F(ApprovalsFlowTest, PendingThenGrantedOnceThenDeniedAgain) {
  ASSERT_EQ(Writ("identity create sre --kind group").exit_code, 0);
  auto human = Writ("identity create alice --kind human --group sre --uid " + std::to_string(::getuid()));
  ASSERT_EQ(human.exit_code, 0) << human.output;
  ASSERT_EQ(Writ("identity create triage-bot --owner alice --tier high").exit_code, 0);
  auto applied = Writ("policy apply tests/integration/authzen/approvals --activate --reason 'approval flow'");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;

  EXPECT_TRUE(Decision(Evaluate("github/list_issues")));
  EXPECT_FALSE(Decision(Evaluate("github/create_issue")));  // nothing permits it

  const json::Value first = Evaluate("github/delete_repo");
  EXPECT_FALSE(Decision(first));
  const json::Value* approval = first.Find("context") ? first.Find("context")->Find("approval") : nullptr;
  ASSERT_NE(approval, nullptr) << json::Serialize(first);
  const std::string id = approval->Find("id")->as_string();
  // Asking again finds the same pending request.
  const json::Value again = Evaluate("github/delete_repo");
  EXPECT_EQ(again.Find("context")->Find("approval")->Find("id")->as_string(), id);

  auto list = Writ("approvals list --state pending");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_THAT(list.output, HasSubstr(id));

  // A PEP long-polls; with a short timeout it sees the request still pending.
  auto waited = client_->Request("POST", "/v1/approvals/" + id + "/wait", json::Value(json::Object{{"timeout", "10ms"}}));
  ASSERT_TRUE(waited.has_value());
  EXPECT_THAT(waited->body, HasSubstr("\"pending\""));

  auto grant = Writ("approvals grant " + id + " --reason 'planned cleanup'");
  ASSERT_EQ(grant.exit_code, 0) << grant.output;
  EXPECT_THAT(grant.output, HasSubstr("granted"));

  EXPECT_TRUE(Decision(Evaluate("github/delete_repo")));   // once
  const json::Value after = Evaluate("github/delete_repo");  // then a new request
  EXPECT_FALSE(Decision(after));
  const std::string second_id = after.Find("context")->Find("approval")->Find("id")->as_string();
  EXPECT_NE(second_id, id);
  auto deny = Writ("approvals deny " + second_id + " --reason 'not today'");
  ASSERT_EQ(deny.exit_code, 0) << deny.output;
  auto regrant = Writ("approvals grant " + second_id);
  EXPECT_NE(regrant.exit_code, 0);  // already denied
  EXPECT_FALSE(Decision(Evaluate("github/delete_repo")));

  // A suspended agent is denied whatever the policies say.
  ASSERT_EQ(Writ("identity suspend triage-bot --reason test").exit_code, 0);
  const json::Value suspended = Evaluate("github/list_issues");
  EXPECT_FALSE(Decision(suspended));
  EXPECT_THAT(json::Serialize(suspended), HasSubstr("suspended"));
}

TEST_F(ApprovalsFlowTest, WaitingPepsNeverStallWritd) {
  // writd serves on two I/O threads: more PEPs long-polling than threads must not hold them.
  ASSERT_EQ(Writ("identity create sre --kind group").exit_code, 0);
  ASSERT_EQ(Writ("identity create alice --kind human --group sre --uid " + std::to_string(::getuid())).exit_code, 0);
  ASSERT_EQ(Writ("identity create triage-bot --owner alice --tier high").exit_code, 0);
  ASSERT_EQ(Writ("policy apply tests/integration/authzen/approvals --activate --reason waits").exit_code, 0);
  const json::Value pending = Evaluate("github/delete_repo");
  const std::string id = pending.Find("context")->Find("approval")->Find("id")->as_string();

  constexpr int kWaiters = 6;
  std::vector<std::string> answers(kWaiters);
  std::vector<std::thread> waiters;
  for (int n = 0; n < kWaiters; ++n) {
    waiters.emplace_back([&, n] {
      server::Client client({.unix_socket = writd_->socket(), .timeout = std::chrono::seconds(60)});
      auto waited = client.Request("POST", "/v1/approvals/" + id + "/wait", json::Value(json::Object{{"timeout", "45s"}}));
      answers[n] = waited ? waited->body : "transport error: " + waited.error().message;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto asked = std::chrono::steady_clock::now();
  EXPECT_TRUE(Decision(Evaluate("github/list_issues")));  // answered while six PEPs wait
  auto grant = Writ("approvals grant " + id + " --reason 'release the waiters'");
  EXPECT_EQ(grant.exit_code, 0) << grant.output;  // not ASSERT: the waiters must be joined first
  for (auto& waiter : waiters) waiter.join();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(20));
  for (const std::string& answer : answers) EXPECT_THAT(answer, HasSubstr("\"granted\"")) << answer;
}

TEST_F(ApprovalsFlowTest, PolicyVersionsListShowDiffActivateRollback) {
  ASSERT_EQ(Writ("policy apply tests/integration/authzen/certification --activate").exit_code, 0);
  ASSERT_EQ(Writ("policy apply tests/integration/authzen/search --reason second").exit_code, 0);
  auto list = Writ("policy list");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_THAT(list.output, HasSubstr("second"));
  auto diff = Writ("policy diff 1 2");
  ASSERT_EQ(diff.exit_code, 0) << diff.output;
  EXPECT_THAT(diff.output, HasSubstr("+@id(\"search-owner\")"));
  EXPECT_THAT(diff.output, HasSubstr("-@id(\"cert-read\")"));
  ASSERT_EQ(Writ("policy activate 2 --reason go").exit_code, 0);
  auto show = Writ("-o json policy show 2");
  ASSERT_EQ(show.exit_code, 0);
  EXPECT_THAT(show.output, HasSubstr("\"active\": true"));
  auto rollback = Writ("policy rollback --reason oops");
  ASSERT_EQ(rollback.exit_code, 0) << rollback.output;
  auto after = Writ("-o json policy list");
  EXPECT_THAT(after.output, HasSubstr("\"active\": 1"));
  // A set with a policy lacking @id is refused with the file and line.
  const std::string bad_dir = (dir_.path() / "bad").string();
  std::filesystem::create_directories(bad_dir);
  std::FILE* file = std::fopen((bad_dir + "/p.cedar").c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("permit (principal, action, resource);\n", file);
  std::fclose(file);
  auto bad = Writ("policy apply " + bad_dir);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.output, HasSubstr("p.cedar:1:1"));
}

}  // namespace
}  // namespace writ
