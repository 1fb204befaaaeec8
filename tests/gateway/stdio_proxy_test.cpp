// The stdio proxy with a fake DecisionClient and a tiny scripted server (python3): the unit view
// of what tests/gateway/node/*.test.mjs check with the real reference servers.
#include "gateway/stdio_proxy.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace writ::gateway {
namespace {

// Decides by tool name; approval requests are granted or denied by the test.
class FakeDecisions final : public DecisionClient {
 public:
  std::map<std::string, Verdict> rules;
  bool unreachable = false;
  std::string held_tool;  // decisions for this tool wait until Release()

  Result<Decision> Decide(const ToolCall& call) override {
    std::unique_lock lock(mu_);
    calls_.push_back(call);
    if (call.tool == held_tool) cv_.wait(lock, [this] { return released_; });
    if (unreachable) return Fail(Code::kUnavailable, "writd is not running");
    auto rule = rules.find(call.tool);
    if (rule == rules.end()) return Decision{.verdict = Verdict::kDeny, .reason = "no permit", .policies = {"default"}};
    if (rule->second == Verdict::kApprovalRequired && granted_) {
      granted_ = false;
      return Decision{.verdict = Verdict::kAllow};
    }
    return Decision{.verdict = rule->second, .reason = "rule", .policies = {"p-" + call.tool}, .approval_id = "ap-1"};
  }
  Result<std::vector<Decision>> DecideList(std::string_view, std::string_view,
                                           const std::vector<std::string>& tools, std::string_view) override {
    std::vector<Decision> out;
    for (const std::string& tool : tools) {
      out.push_back({.verdict = rules.count(tool) > 0 ? rules[tool] : Verdict::kDeny});
    }
    return out;
  }
  Result<ApprovalState> WaitForApproval(const ToolCall&, std::string_view, std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return answer_ != ApprovalState::kPending; });
    const ApprovalState state = answer_;
    if (state == ApprovalState::kGranted) granted_ = true;
    answer_ = ApprovalState::kPending;
    return state;
  }
  void RecordOutcome(const ToolCall& call, const CallOutcome& outcome) override {
    std::lock_guard lock(mu_);
    outcomes_.emplace_back(call.correlation_id, outcome.status);
    cv_.notify_all();
  }
  // The outcomes once there are `count` of them (or after 10 s, what there is).
  std::vector<std::pair<std::string, std::string>> WaitForOutcomes(size_t count) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return outcomes_.size() >= count; });
    return outcomes_;
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  void Answer(ApprovalState state) {
    std::lock_guard lock(mu_);
    answer_ = state;
    cv_.notify_all();
  }
  std::vector<std::pair<std::string, std::string>> outcomes() {
    std::lock_guard lock(mu_);
    return outcomes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ToolCall> calls_;
  std::vector<std::pair<std::string, std::string>> outcomes_;
  ApprovalState answer_ = ApprovalState::kPending;
  bool granted_ = false;
  bool released_ = false;
};

// Answers tools/call with the tool name and arguments; tools/list with three tools.
constexpr const char* kServer = R"PY(
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if "id" not in m: continue
    if m.get("method") == "tools/call":
        r = {"content": [{"type": "text", "text": m["params"]["name"]}], "_meta": {"server": 1}}
    elif m.get("method") == "tools/list":
        r = {"tools": [{"name": n, "inputSchema": {"type": "object"}} for n in ("read", "write", "delete")]}
    else:
        r = {}
    print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": r}), flush=True)
)PY";

class StdioProxyTest : public ::testing::Test {
 protected:
  void Start(std::chrono::milliseconds approval_timeout = std::chrono::seconds(10)) {
    ASSERT_EQ(::pipe2(to_proxy_, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(from_proxy_, O_CLOEXEC), 0);
    options_ = {.agent = "bot", .server_name = "srv", .command = {"python3", "-c", kServer},
                .decisions = &decisions_, .approval_timeout = approval_timeout,
                .approval_poll = std::chrono::milliseconds(50)};
    proxy_ = std::thread([this] { exit_code_ = RunStdioProxy(options_, to_proxy_[0], from_proxy_[1]); });
  }
  void TearDown() override {
    if (to_proxy_[1] >= 0) ::close(to_proxy_[1]);
    if (proxy_.joinable()) proxy_.join();
    for (int fd : {to_proxy_[0], from_proxy_[0], from_proxy_[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }
  void Send(const std::string& line) {
    const std::string text = line + "\n";
    ASSERT_EQ(::write(to_proxy_[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  json::Value Receive() {
    std::string line;
    char ch = 0;
    while (::read(from_proxy_[0], &ch, 1) == 1 && ch != '\n') line += ch;
    auto parsed = json::Parse(line);
    EXPECT_TRUE(parsed.has_value()) << line;
    return parsed ? *parsed : json::Value();
  }
  static std::string Call(int id, const std::string& tool) {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":"tools/call","params":{"name":")" + tool +
           R"(","arguments":{"x":1}}})";
  }

  FakeDecisions decisions_;
  StdioProxyOptions options_;
  int to_proxy_[2] = {-1, -1};
  int from_proxy_[2] = {-1, -1};
  std::thread proxy_;
  Result<int> exit_code_ = 0;
};

TEST_F(StdioProxyTest, AllowedCallIsForwardedAndTaggedWithItsCorrelationId) {
  decisions_.rules = {{"read", Verdict::kAllow}};
  Start();
  Send(Call(1, "read"));
  const json::Value answer = Receive();
  EXPECT_EQ(json::Serialize(*answer.Find("id")), "1");
  const json::Value* meta = answer.Find("result")->Find("_meta");
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(json::Serialize(*meta->Find("server")), "1");  // the server's own _meta is kept
  const std::string correlation = meta->Find(kCorrelationMetaKey)->as_string();
  ::close(to_proxy_[1]);
  to_proxy_[1] = -1;
  proxy_.join();
  ASSERT_TRUE(exit_code_.has_value());
  EXPECT_EQ(*exit_code_, 0);
  ASSERT_EQ(decisions_.outcomes().size(), 1u);
  EXPECT_EQ(decisions_.outcomes()[0].first, correlation);
  EXPECT_EQ(decisions_.outcomes()[0].second, "ok");
}

TEST_F(StdioProxyTest, DeniedCallGetsMinus32001WithPolicies) {
  Start();
  Send(Call(2, "delete"));
  const json::Value answer = Receive();
  EXPECT_EQ(answer.Find("error")->Find("code")->as_int(), kJsonRpcDenied);
  EXPECT_EQ(json::Serialize(*answer.Find("error")->Find("data")->Find("policies")), R"(["default"])");
  // Never forwarded, and recorded as such under the call's correlation id.
  ASSERT_EQ(decisions_.outcomes().size(), 1u);
  EXPECT_EQ(decisions_.outcomes()[0].first, answer.Find("error")->Find("data")->Find("correlation_id")->as_string());
  EXPECT_EQ(decisions_.outcomes()[0].second, "denied");
}

TEST_F(StdioProxyTest, UnreachableDecisionServiceGetsMinus32603) {
  decisions_.unreachable = true;
  Start();
  Send(Call(3, "read"));
  EXPECT_EQ(Receive().Find("error")->Find("code")->as_int(), kJsonRpcInternalError);
}

TEST_F(StdioProxyTest, ApprovalHoldsTheCallUntilGrantedWhileOtherTrafficFlows) {
  decisions_.rules = {{"write", Verdict::kApprovalRequired}, {"read", Verdict::kAllow}};
  Start();
  Send(Call(4, "write"));
  Send(Call(5, "read"));
  EXPECT_EQ(json::Serialize(*Receive().Find("id")), "5");  // not blocked by the waiting call
  decisions_.Answer(ApprovalState::kGranted);
  const json::Value answer = Receive();
  EXPECT_EQ(json::Serialize(*answer.Find("id")), "4");
  EXPECT_EQ(answer.Find("result")->Find("content")->as_array()[0].Find("text")->as_string(), "write");
}

TEST_F(StdioProxyTest, ASlowDecisionDoesNotHoldUpTheNextCall) {
  decisions_.rules = {{"slow", Verdict::kAllow}, {"read", Verdict::kAllow}};
  decisions_.held_tool = "slow";
  Start();
  Send(Call(11, "slow"));
  Send(Call(12, "read"));
  EXPECT_EQ(json::Serialize(*Receive().Find("id")), "12");
  decisions_.Release();
  EXPECT_EQ(json::Serialize(*Receive().Find("id")), "11");
}

TEST_F(StdioProxyTest, ACallCancelledWhileDecidedIsNotForwarded) {
  decisions_.rules = {{"slow", Verdict::kAllow}, {"read", Verdict::kAllow}};
  decisions_.held_tool = "slow";
  Start();
  Send(Call(13, "slow"));
  Send(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":13}})");
  Send(Call(14, "read"));
  EXPECT_EQ(json::Serialize(*Receive().Find("id")), "14");  // the cancellation was read and relayed first
  decisions_.Release();
  Send(Call(15, "read"));
  EXPECT_EQ(json::Serialize(*Receive().Find("id")), "15");  // nothing came back for 13
  const auto outcomes = decisions_.WaitForOutcomes(3);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(std::count_if(outcomes.begin(), outcomes.end(), [](const auto& o) { return o.second == "cancelled"; }), 1);
}

TEST_F(StdioProxyTest, ApprovalTimeoutFailsTheCall) {
  decisions_.rules = {{"write", Verdict::kApprovalRequired}};
  Start(std::chrono::milliseconds(200));
  Send(Call(6, "write"));
  const json::Value answer = Receive();
  EXPECT_EQ(answer.Find("error")->Find("code")->as_int(), kJsonRpcDenied);
  EXPECT_NE(answer.Find("error")->Find("message")->as_string().find("no approval within"), std::string::npos);
  ASSERT_EQ(decisions_.outcomes().size(), 1u);
  EXPECT_EQ(decisions_.outcomes()[0].second, "denied");
}

TEST_F(StdioProxyTest, ToolsListIsFiltered) {
  decisions_.rules = {{"read", Verdict::kAllow}, {"write", Verdict::kApprovalRequired}};
  Start();
  Send(R"({"jsonrpc":"2.0","id":"l","method":"tools/list"})");
  const json::Value answer = Receive();
  std::vector<std::string> names;
  for (const json::Value& tool : answer.Find("result")->Find("tools")->as_array()) {
    names.push_back(tool.Find("name")->as_string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"read", "write"}));
}

TEST_F(StdioProxyTest, MissingServerProgramIsFailedPrecondition) {
  StdioProxyOptions options{.agent = "bot", .server_name = "srv", .command = {"/no/such/program"},
                            .decisions = &decisions_};
  auto result = RunStdioProxy(options, -1, -1);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Code::kFailedPrecondition);
}

}  // namespace
}  // namespace writ::gateway
