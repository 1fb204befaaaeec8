#include "gateway/authzen_client.h"

#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ::gateway {
namespace {

struct Sent {
  std::string method;
  std::string path;
  json::Value body;
  std::chrono::milliseconds timeout;
};

// Answers every request with `reply` (or fails with `error`) and remembers what was sent.
HttpTransport Scripted(std::vector<Sent>* sent, std::string reply_json, int status = 200,
                       std::optional<Error> error = std::nullopt) {
  return [=](std::string_view method, std::string_view path, std::string_view body_text,
             std::chrono::milliseconds timeout, std::string_view request_id, std::string_view) -> Result<HttpReply> {
    const json::Value body = body_text.empty() ? json::Value() : json::Parse(body_text).value();
    if (!request_id.empty()) {
      EXPECT_EQ(request_id, "c-1");
    }
    sent->push_back({std::string(method), std::string(path), body, timeout});
    if (error) return Fail(*error);
    return HttpReply{.status = status, .body = json::Parse(reply_json).value()};
  };
}

ToolCall ReadFile() {
  json::Value args;
  args.Set("path", "/srv/project/a.txt");
  return {.agent = "triage-bot", .server = "fs", .tool = "read_file", .arguments = args, .correlation_id = "c-1"};
}

TEST(AuthzenClientTest, RequestNamesAgentToolServerArgumentsAndCorrelationId) {
  const json::Value body = EvaluationRequest(ReadFile());
  EXPECT_EQ(json::Serialize(body),
            R"({"subject":{"type":"Writ::Agent","id":"triage-bot"},"action":{"name":"Writ::Action::\"mcp:call\""},)"
            R"("resource":{"type":"Writ::Tool","id":"fs/read_file","properties":{"server":{"__entity":)"
            R"({"type":"Writ::ToolServer","id":"fs"}},"name":"read_file"}},)"
            R"("context":{"args":{"path":"/srv/project/a.txt"},"correlation_id":"c-1"}})");
}

TEST(AuthzenClientTest, TheRequestTextDecideSendsIsTheRequestBody) {
  ToolCall call = ReadFile();
  EXPECT_EQ(EvaluationRequestText(call), json::Serialize(EvaluationRequest(call)));
  call.tool = "we\"ird/\u00e9";
  // Arguments already written by the proxy are sent as they are: the same bytes.
  ToolCall written = call;
  written.arguments_json = json::Serialize(call.arguments);
  EXPECT_EQ(EvaluationRequestText(written), EvaluationRequestText(call));
  call.arguments = json::Value();  // no arguments: an empty object
  EXPECT_EQ(EvaluationRequestText(call), json::Serialize(EvaluationRequest(call)));
  EXPECT_NE(EvaluationRequestText(call).find(R"("args":{})"), std::string::npos);
}

TEST(AuthzenClientTest, AllowDenyAndApprovalAnswers) {
  std::vector<Sent> sent;
  auto allow = NewAuthzenClient(Scripted(&sent, R"({"decision":true,"context":{"policies":["p1"]}})"));
  auto decision = allow->Decide(ReadFile());
  ASSERT_TRUE(decision.has_value());
  EXPECT_EQ(decision->verdict, Verdict::kAllow);
  EXPECT_EQ(decision->policies, std::vector<std::string>{"p1"});
  EXPECT_EQ(sent.at(0).path, "/access/v1/evaluation");

  auto deny = NewAuthzenClient(Scripted(&sent, R"({"decision":false,"context":{"policies":["f"],"reason":"no"}})"));
  decision = deny->Decide(ReadFile());
  ASSERT_TRUE(decision.has_value());
  EXPECT_EQ(decision->verdict, Verdict::kDeny);
  EXPECT_EQ(decision->reason, "no");

  auto approval = NewAuthzenClient(Scripted(
      &sent, R"({"decision":false,"context":{"approval_required":true,"approval":{"id":"a-9","state":"pending"}}})"));
  decision = approval->Decide(ReadFile());
  ASSERT_TRUE(decision.has_value());
  EXPECT_EQ(decision->verdict, Verdict::kApprovalRequired);
  EXPECT_EQ(decision->approval_id, "a-9");

  // An approval flag without an id cannot be waited on: deny.
  auto broken = NewAuthzenClient(Scripted(&sent, R"({"decision":false,"context":{"approval_required":true}})"));
  decision = broken->Decide(ReadFile());
  ASSERT_TRUE(decision.has_value());
  EXPECT_EQ(decision->verdict, Verdict::kDeny);
}

TEST(AuthzenClientTest, UnreachableOrErroringWritdIsAnErrorNotADecision) {
  std::vector<Sent> sent;
  auto down = NewAuthzenClient(Scripted(&sent, "null", 200, Error{Code::kUnavailable, "writd is not running"}));
  EXPECT_THAT(down->Decide(ReadFile()), FailsWith(Code::kUnavailable));
  auto failing = NewAuthzenClient(Scripted(&sent, R"({"error":{"code":"internal","message":"boom"}})", 500));
  auto decision = failing->Decide(ReadFile());
  ASSERT_FALSE(decision.has_value());
  EXPECT_EQ(decision.error().message, "writd refused the decision: boom");
}

TEST(AuthzenClientTest, ListDecisionsUseOneBatchInOrder) {
  std::vector<Sent> sent;
  auto client = NewAuthzenClient(Scripted(
      &sent, R"({"evaluations":[{"decision":true},{"decision":false},{"decision":false,"context":{"approval_required":true,"approval":{"id":"x"}}}]})"));
  auto decisions = client->DecideList("bot", "fs", {"a", "b", "c"}, "");
  ASSERT_TRUE(decisions.has_value());
  ASSERT_EQ(decisions->size(), 3u);
  EXPECT_EQ((*decisions)[0].verdict, Verdict::kAllow);
  EXPECT_EQ((*decisions)[1].verdict, Verdict::kDeny);
  EXPECT_EQ((*decisions)[2].verdict, Verdict::kApprovalRequired);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].path, "/access/v1/evaluations");
  EXPECT_EQ(sent[0].body.Find("evaluations")->as_array().size(), 3u);
  // A batch answer of the wrong length is not trusted.
  EXPECT_FALSE(client->DecideList("bot", "fs", {"a", "b"}, "").has_value());
}

TEST(AuthzenClientTest, WaitMapsApprovalStates) {
  std::vector<Sent> sent;
  for (const auto& [state, want] : std::vector<std::pair<std::string, ApprovalState>>{
           {"granted", ApprovalState::kGranted}, {"denied", ApprovalState::kDenied},
           {"expired", ApprovalState::kExpired}, {"pending", ApprovalState::kPending}}) {
    auto client = NewAuthzenClient(Scripted(&sent, R"({"id":"a","state":")" + state + R"("})"));
    auto got = client->WaitForApproval(ToolCall{}, "a", std::chrono::milliseconds(1500));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, want) << state;
  }
  EXPECT_EQ(sent.back().path, "/v1/approvals/a/wait");
  EXPECT_EQ(sent.back().body.Find("timeout")->as_string(), "1500ms");
  EXPECT_GT(sent.back().timeout, std::chrono::milliseconds(1500));
}

// Outcome requests, sent from the client's own thread.
struct OutcomeLog {
  std::mutex mu;
  std::vector<json::Value> bodies;
  int attempts = 0;
};

// Answers `status` (or fails when not `reachable`), each request once `gate` is ready.
HttpTransport OutcomeTransport(OutcomeLog* log, int status, bool reachable = true,
                               std::shared_future<void> gate = std::shared_future<void>()) {
  return [=](std::string_view, std::string_view path, std::string_view body_text, std::chrono::milliseconds,
             std::string_view, std::string_view) -> Result<HttpReply> {
    const json::Value body = json::Parse(body_text).value();
    if (gate.valid()) gate.wait();
    std::lock_guard lock(log->mu);
    EXPECT_EQ(path, "/v1/mcp/outcomes");
    ++log->attempts;
    if (!reachable) return Fail(Code::kUnavailable, "writd is not running");
    log->bodies.push_back(body);
    return HttpReply{.status = status};
  };
}

TEST(AuthzenClientTest, OutcomesArePostedWithEverythingTheLedgerNeeds) {
  OutcomeLog log;
  {
    auto client = NewAuthzenClient(OutcomeTransport(&log, 202));
    client->RecordOutcome(ReadFile(), {.status = "ok", .is_error = true, .duration = std::chrono::microseconds(42),
                                       .approval_id = "a-1"});
    client->RecordOutcome(ReadFile(), {.status = "denied"});
  }  // destruction sends what is queued
  std::vector<std::string> items;
  for (const json::Value& body : log.bodies) {
    for (const json::Value& item : body.Find("outcomes")->as_array()) items.push_back(json::Serialize(item));
  }
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0], R"({"correlation_id":"c-1","agent":"triage-bot","server":"fs","tool":"read_file","status":"ok",)"
                      R"("is_error":true,"duration_us":42,"approval_id":"a-1"})");
  EXPECT_EQ(items[1], R"({"correlation_id":"c-1","agent":"triage-bot","server":"fs","tool":"read_file",)"
                      R"("status":"denied","is_error":false,"duration_us":0})");
}

TEST(AuthzenClientTest, OutcomesAreRetriedWhileWritdIsDownThenGivenUp) {
  OutcomeLog log;
  {
    auto client = NewAuthzenClient(OutcomeTransport(&log, 202, /*reachable=*/false),
                                   {.outcome_attempts = 3, .outcome_retry_delay = std::chrono::milliseconds(1)});
    client->RecordOutcome(ReadFile(), {.status = "ok"});
  }
  EXPECT_EQ(log.attempts, 3);
}

TEST(AuthzenClientTest, RefusedOutcomesAreNotRetried) {
  OutcomeLog log;
  {
    auto client = NewAuthzenClient(OutcomeTransport(&log, 400), {.outcome_retry_delay = std::chrono::milliseconds(1)});
    client->RecordOutcome(ReadFile(), {.status = "ok"});
  }
  EXPECT_EQ(log.attempts, 1);
}

TEST(AuthzenClientTest, OutcomesBeyondTheQueueLimitAreDroppedNotBlocking) {
  OutcomeLog log;
  std::promise<void> writd_answers;
  {
    auto client = NewAuthzenClient(OutcomeTransport(&log, 202, true, writd_answers.get_future().share()),
                                   {.max_outcome_batch = 2, .max_queued_outcomes = 4});
    for (int i = 0; i < 1000; ++i) client->RecordOutcome(ReadFile(), {.status = "ok"});  // returns at once
    writd_answers.set_value();
  }
  size_t sent = 0;
  for (const json::Value& body : log.bodies) {
    EXPECT_LE(body.Find("outcomes")->as_array().size(), 2u);
    sent += body.Find("outcomes")->as_array().size();
  }
  EXPECT_GE(sent, 4u);
  EXPECT_LE(sent, 6u);  // the batch in flight and the queue; the rest was logged as lost
}

}  // namespace
}  // namespace writ::gateway
