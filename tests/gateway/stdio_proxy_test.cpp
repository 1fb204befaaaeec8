// The stdio proxy with a fake DecisionClient and a tiny scripted server (python3): the unit view
// of what tests/gateway/node/*.test.mjs check with the real reference servers.
#include "gateway/stdio_proxy.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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
  // With `watches`, behaves like the real client over UnixHttpConnection: while a decision is held,
  // the watched fd is polled and its callback run (once) when it turns readable.
  bool watches = false;
  Result<Decision> DecideWatching(const ToolCall& call, WhileDeciding& watch) override {
    if (!watches) return DecisionClient::DecideWatching(call, watch);
    {
      std::lock_guard lock(mu_);
      ++started_;
      cv_.notify_all();
    }
    bool fired = false;
    while (call.tool == held_tool && !fired) {
      {
        std::lock_guard lock(mu_);
        if (released_) break;
      }
      pollfd fd{watch.fd, POLLIN, 0};
      if (::poll(&fd, 1, 10) > 0) {
        fired = true;
        ++watch_fired;
        watch.on_readable();
      }
    }
    if (!fired && call.tool != held_tool) {  // a quick decision: the client is still looked at once
      pollfd fd{watch.fd, POLLIN, 0};
      if (::poll(&fd, 1, 0) > 0) {
        ++watch_fired;
        watch.on_readable();
      }
    }
    return Decide(call);
  }
  std::atomic<int> watch_fired{0};
  // Waits (at most 10 s) until DecideWatching has begun `count` decisions.
  void WaitForStarted(int count) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return started_ >= count; });
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
  int started_ = 0;
};

// Answers tools/call with the tool name and arguments; tools/list with three tools.
constexpr const char* kServer = R"PY(
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if "id" not in m: continue
    if m.get("method") == "tools/call" and m["params"]["name"] == "raw":
        print(m["params"]["arguments"]["text"], flush=True)  # written as given, byte for byte
        continue
    if m.get("method") == "seen":
        r = {"line": line.rstrip("\n")}  # what reached the server, byte for byte
    elif m.get("method") == "tools/call":
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

TEST_F(StdioProxyTest, WhileACallIsDecidedTheNextIsReadOnlyOnceTheClientSendsIt) {
  decisions_.rules = {{"slow", Verdict::kAllow}, {"read", Verdict::kAllow}};
  decisions_.held_tool = "slow";
  decisions_.watches = true;
  Start();
  Send(Call(16, "read"));  // alone: decided without handing the stream to another thread
  EXPECT_EQ(json::Serialize(*Receive().Find("id")), "16");
  EXPECT_EQ(decisions_.watch_fired, 0);
  Send(Call(17, "slow"));
  decisions_.WaitForStarted(2);
  Send(Call(18, "read"));  // arrives while 17 is decided: the watch hands the stream over
  EXPECT_EQ(json::Serialize(*Receive().Find("id")), "18");
  EXPECT_EQ(decisions_.watch_fired, 1);
  decisions_.Release();
  const json::Value answer = Receive();
  EXPECT_EQ(json::Serialize(*answer.Find("id")), "17");
  // The held call's line was kept across the hand-off: the server got it whole.
  EXPECT_EQ(answer.Find("result")->Find("content")->as_array()[0].Find("text")->as_string(), "slow");
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

TEST_F(StdioProxyTest, MessagesNotInterceptedReachThePeerByteForByte) {
  Start();
  // Spacing, key order and number spelling a re-serialisation would change.
  const std::string request = R"({ "params" : {"z":1,"a":[1.50, 2e3]}, "id" : 21,"method":"seen","jsonrpc":"2.0" })";
  Send(request);
  std::string line;
  char ch = 0;
  while (::read(from_proxy_[0], &ch, 1) == 1 && ch != '\n') line += ch;
  auto answer = json::Parse(line);
  ASSERT_TRUE(answer.has_value()) << line;
  EXPECT_EQ(answer->Find("result")->Find("line")->as_string(), request);
  // A server answer to a forwarded call keeps its bytes too, with only the correlation id added.
  decisions_.rules = {{"raw", Verdict::kAllow}};
  const std::string text = R"({"id":22, "jsonrpc":"2.0","result":{"content":[{"type":"text","text":"1.50 \u00e9"}],"n":1.50}})";
  Send(R"({"jsonrpc":"2.0","id":22,"method":"tools/call","params":{"name":"raw","arguments":{"text":)" +
       json::Serialize(json::Value(text)) + "}}}");
  line.clear();
  while (::read(from_proxy_[0], &ch, 1) == 1 && ch != '\n') line += ch;
  const size_t meta = line.find(R"(,"_meta":{"writ/correlation_id":")");
  ASSERT_NE(meta, std::string::npos) << line;
  EXPECT_EQ(line.substr(0, meta), text.substr(0, text.size() - 2));
  EXPECT_EQ(line.substr(line.size() - 4), "\"}}}");  // the id's closing quote, then _meta, result, message
}

TEST_F(StdioProxyTest, TheCorrelationIdIsAddedToEveryShapeOfResult) {
  decisions_.rules = {{"raw", Verdict::kAllow}};
  Start();
  struct Case {
    std::string result;  // the server's result object
    std::string kept;    // a _meta member that must survive ("" = none)
  };
  const std::vector<Case> cases = {{R"({})", ""},
                                   {R"({"content":[]})", ""},
                                   {R"({"_meta":{}})", ""},
                                   {R"({"_meta":{"server":{"x":[1]}},"isError":true})", "server"},
                                   // A server that writes the key itself does not choose the id.
                                   {R"({"_meta":{"writ/correlation_id":"forged","k":1}})", "k"},
                                   {R"({"_meta":"not an object"})", ""}};
  int id = 30;
  for (const Case& test_case : cases) {
    ++id;
    Send(R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"tools/call","params":{"name":"raw","arguments":{"text":)" +
         json::Serialize(json::Value(R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"result":)" +
                                     test_case.result + "}")) +
         "}}}");
    const json::Value answer = Receive();
    ASSERT_EQ(json::Serialize(*answer.Find("id")), std::to_string(id)) << test_case.result;
    const json::Value* meta = answer.Find("result")->Find("_meta");
    ASSERT_NE(meta, nullptr) << test_case.result;
    const json::Value* correlation = meta->Find(kCorrelationMetaKey);
    ASSERT_NE(correlation, nullptr) << test_case.result;
    EXPECT_NE(correlation->as_string(), "forged");
    EXPECT_EQ(correlation->as_string().size(), 36u);
    if (!test_case.kept.empty()) {
      EXPECT_NE(meta->Find(test_case.kept), nullptr) << test_case.result;
    }
  }
  const auto outcomes = decisions_.WaitForOutcomes(cases.size());
  ASSERT_EQ(outcomes.size(), cases.size());
  for (const auto& outcome : outcomes) EXPECT_EQ(outcome.second, "ok");
}

TEST_F(StdioProxyTest, AnErrorAnswerToACallIsRelayedAsItIs) {
  decisions_.rules = {{"raw", Verdict::kAllow}};
  Start();
  const std::string text = R"({"jsonrpc":"2.0","id":40,"error":{"code":-32000,"message":"boom"}})";
  Send(R"({"jsonrpc":"2.0","id":40,"method":"tools/call","params":{"name":"raw","arguments":{"text":)" +
       json::Serialize(json::Value(text)) + "}}}");
  std::string line;
  char ch = 0;
  while (::read(from_proxy_[0], &ch, 1) == 1 && ch != '\n') line += ch;
  EXPECT_EQ(line, text);
  const auto outcomes = decisions_.WaitForOutcomes(1);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].second, "error");
}

TEST_F(StdioProxyTest, AnIdWrittenDifferentlyByTheServerStillMatchesItsCall) {
  decisions_.rules = {{"read", Verdict::kAllow}};
  Start();
  // Python writes the id back as "a/b": the call must still be recognised (and tagged).
  Send(R"({"jsonrpc":"2.0","id":"a\/b","method":"tools/call","params":{"name":"read","arguments":{}}})");
  const json::Value answer = Receive();
  EXPECT_EQ(answer.Find("id")->as_string(), "a/b");
  ASSERT_NE(answer.Find("result")->Find("_meta")->Find(kCorrelationMetaKey), nullptr);
}

TEST_F(StdioProxyTest, ACallHiddenBehindEscapesOrADuplicateKeyIsStillDecided) {
  Start();  // no rule: every tool is denied
  // An escaped method name is the same method.
  Send(R"({"jsonrpc":"2.0","id":50,"method":"tools\/call","params":{"name":"delete","arguments":{}}})");
  json::Value answer = Receive();
  EXPECT_EQ(answer.Find("error")->Find("code")->as_int(), kJsonRpcDenied);
  // Two `method` members: peers disagree on which counts, so the message is refused, not relayed.
  Send(R"({"jsonrpc":"2.0","id":51,"method":"ping","method":"tools/call","params":{"name":"delete"}})");
  answer = Receive();
  EXPECT_EQ(answer.Find("error")->Find("code")->as_int(), kJsonRpcParseError);
  Send(R"({"jsonrpc":"2.0","id":52,"method":"ping","meth\u006fd":"tools/call","params":{"name":"delete"}})");
  answer = Receive();
  EXPECT_EQ(answer.Find("error")->Find("code")->as_int(), kJsonRpcParseError);
  // Nothing of these reached the server: the next request is answered first.
  Send(R"({"jsonrpc":"2.0","id":53,"method":"ping"})");
  EXPECT_EQ(json::Serialize(*Receive().Find("id")), "53");
}

TEST_F(StdioProxyTest, GarbageFromTheServerIsDroppedAndInvalidClientJsonIsAParseError) {
  decisions_.rules = {{"raw", Verdict::kAllow}};
  Start();
  Send(R"({"jsonrpc":"2.0","id":60,"method":"tools/call","params":{"name":"raw","arguments":{"text":"{\"id\":60,\"result\":{}"}}})");
  Send(R"({"jsonrpc":"2.0","id":61,"method":"ping"})");
  EXPECT_EQ(json::Serialize(*Receive().Find("id")), "61");  // the broken answer to 60 was dropped
  Send(R"({"jsonrpc":"2.0","id":62,"method":"ping",)");
  EXPECT_EQ(Receive().Find("error")->Find("code")->as_int(), kJsonRpcParseError);
  Send(R"([{"jsonrpc":"2.0","id":63,"method":"ping"}])");
  EXPECT_EQ(Receive().Find("error")->Find("code")->as_int(), kJsonRpcInvalidRequest);
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
