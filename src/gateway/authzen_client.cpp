#include "gateway/authzen_client.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/log.h"
#include "gateway/unix_http.h"

namespace writ::gateway {
namespace {

constexpr std::string_view kAgentType = "Writ::Agent";
constexpr std::string_view kToolType = "Writ::Tool";
constexpr std::string_view kToolServerType = "Writ::ToolServer";
constexpr std::string_view kCallAction = R"(Writ::Action::"mcp:call")";
// writd answers a wait after at most this long; longer waits are several requests.
constexpr std::chrono::milliseconds kMaxWaitPerRequest{std::chrono::minutes(5)};
constexpr std::chrono::milliseconds kWaitSlack{5'000};

json::Value Subject(std::string_view agent) {
  json::Value subject;
  subject.Set("type", kAgentType);
  subject.Set("id", agent);
  return subject;
}

json::Value Resource(std::string_view server, std::string_view tool) {
  json::Value parent;
  parent.Set("type", kToolServerType);
  parent.Set("id", server);
  json::Value entity_ref;
  entity_ref.Set("__entity", std::move(parent));
  json::Value properties;
  properties.Set("server", std::move(entity_ref));
  properties.Set("name", tool);
  json::Value resource;
  resource.Set("type", kToolType);
  resource.Set("id", fmt::format("{}/{}", server, tool));
  resource.Set("properties", std::move(properties));
  return resource;
}

json::Value Action() {
  json::Value action;
  action.Set("name", kCallAction);
  return action;
}

std::vector<std::string> Strings(const json::Value* array) {
  std::vector<std::string> out;
  if (array == nullptr || !array->is_array()) return out;
  for (const json::Value& item : array->as_array()) {
    if (item.is_string()) out.push_back(item.as_string());
  }
  return out;
}

// A Decision from an AuthZEN decision object {"decision":bool,"context":{...}}.
Decision ToDecision(const json::Value& answer) {
  Decision decision;
  const json::Value* allowed = answer.Find("decision");
  const json::Value* context = answer.Find("context");
  if (context != nullptr && context->is_object()) {
    decision.policies = Strings(context->Find("policies"));
    if (const json::Value* reason = context->Find("reason"); reason != nullptr && reason->is_string()) {
      decision.reason = reason->as_string();
    }
  }
  if (allowed != nullptr && allowed->is_bool() && allowed->as_bool()) {
    decision.verdict = Verdict::kAllow;
    return decision;
  }
  if (context != nullptr) {
    const json::Value* required = context->Find("approval_required");
    const json::Value* approval = context->Find("approval");
    const json::Value* id = approval != nullptr ? approval->Find("id") : nullptr;
    if (required != nullptr && required->is_bool() && required->as_bool() && id != nullptr && id->is_string()) {
      decision.verdict = Verdict::kApprovalRequired;
      decision.approval_id = id->as_string();
      if (decision.reason.empty()) decision.reason = "approval required";
      return decision;
    }
  }
  decision.verdict = Verdict::kDeny;
  if (decision.reason.empty()) decision.reason = "denied by policy";
  return decision;
}

Error ReplyError(const HttpReply& reply, std::string_view what) {
  std::string message;
  if (const json::Value* error = reply.body.Find("error"); error != nullptr) {
    if (const json::Value* text = error->Find("message"); text != nullptr && text->is_string()) {
      message = text->as_string();
    }
  }
  if (message.empty()) message = fmt::format("HTTP status {}", reply.status);
  const Code code = reply.status == 404 ? Code::kNotFound : Code::kUnavailable;
  return Error{code, fmt::format("writd refused {}: {}", what, message)};
}

// Posts queued outcomes to writd from its own thread (see the header).
class OutcomeSender {
 public:
  OutcomeSender(HttpTransport& transport, const AuthzenClientOptions& options)
      : transport_(transport), options_(options), thread_([this] { Run(); }) {}

  ~OutcomeSender() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      flush_deadline_ = std::chrono::steady_clock::now() + options_.outcome_flush_timeout;
    }
    changed_.notify_all();
    thread_.join();
  }

  // `item`: one outcome as JSON text (OutcomeItemText).
  void Add(std::string item, std::string correlation_id, std::string token) {
    {
      std::lock_guard lock(mu_);
      if (queue_.size() < options_.max_queued_outcomes) {
        queue_.push_back(Queued{std::move(item), std::move(correlation_id), std::move(token)});
        // Wake the sender only when it waits for a first outcome or for a full batch: not one
        // wake-up per call.
        if (queue_.size() == 1 || queue_.size() == options_.max_outcome_batch) changed_.notify_all();
        return;
      }
    }
    Lost(correlation_id, "too many outcomes waiting for writd");
  }

 private:
  struct Queued {
    std::string item;  // JSON text
    std::string correlation_id;
    std::string token;  // the call's token; a batch shares one
  };

  static void Lost(std::string_view correlation_id, std::string_view why) {
    log::Error("mcp call outcome not recorded in the ledger", {{"correlation_id", correlation_id}, {"error", why}});
  }

  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything was sent
      changed_.wait_for(lock, options_.outcome_linger,
                        [this] { return stopping_ || queue_.size() >= options_.max_outcome_batch; });
      // The first outcome's token, and every queued outcome of that token (in order) up to a batch.
      const std::string token = queue_.front().token;
      std::vector<Queued> items;
      std::deque<Queued> others;
      while (!queue_.empty()) {
        if (queue_.front().token == token && items.size() < options_.max_outcome_batch) {
          items.push_back(std::move(queue_.front()));
        } else {
          others.push_back(std::move(queue_.front()));
        }
        queue_.pop_front();
      }
      queue_.swap(others);
      lock.unlock();
      Send(items, token);
      lock.lock();
    }
  }

  // Posts one batch, retrying with a growing delay; on giving up, logs each outcome as lost.
  void Send(const std::vector<Queued>& items, std::string_view token) {
    std::string text = R"({"outcomes":[)";
    for (size_t index = 0; index < items.size(); ++index) {
      if (index > 0) text += ',';
      text += items[index].item;
    }
    text += "]}";
    std::string why;
    auto delay = options_.outcome_retry_delay;
    for (int attempt = 1; attempt <= options_.outcome_attempts; ++attempt) {
      auto reply = transport_("POST", "/v1/mcp/outcomes", text, options_.decision_timeout, "", token);
      if (reply && reply->status == 202) return;
      if (reply && reply->status == 401 && !token.empty()) {
        // The calls ran under a token that was valid then; record them under the proxy's own credentials.
        log::Warn("mcp call outcomes: the agent's token is no longer accepted; sent without it",
                  {{"outcomes", static_cast<int64_t>(items.size())}});
        token = {};
        --attempt;
        continue;
      }
      why = reply ? ReplyError(*reply, "the call outcomes").message : reply.error().message;
      // A 4xx will not get better by asking again.
      if (reply && reply->status >= 400 && reply->status < 500) break;
      if (attempt == options_.outcome_attempts || !SleepUnlessPastDeadline(delay)) break;
      delay *= 2;
    }
    for (const Queued& item : items) Lost(item.correlation_id, why);
  }

  // False when the client is being destroyed and the flush deadline would pass.
  bool SleepUnlessPastDeadline(std::chrono::milliseconds delay) {
    std::unique_lock lock(mu_);
    const auto until = std::chrono::steady_clock::now() + delay;
    if (stopping_ && until > flush_deadline_) return false;
    changed_.wait_until(lock, until, [this, until] { return stopping_ && until > flush_deadline_; });
    return !(stopping_ && until > flush_deadline_);
  }

  HttpTransport& transport_;
  const AuthzenClientOptions& options_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Queued> queue_;       // guarded by mu_
  bool stopping_ = false;          // guarded by mu_
  std::chrono::steady_clock::time_point flush_deadline_;  // guarded by mu_; set with stopping_
  std::thread thread_;             // last: starts once the members above exist
};

class AuthzenClient final : public DecisionClient {
 public:
  AuthzenClient(HttpTransport transport, AuthzenClientOptions options)
      : transport_(std::move(transport)), options_(options), outcomes_(transport_, options_) {}

  Result<Decision> Decide(const ToolCall& call) override {
    const std::string body = EvaluationRequestText(call);
    WRIT_ASSIGN_OR_RETURN(const HttpReply reply, transport_("POST", "/access/v1/evaluation", body,
                                                            options_.decision_timeout, call.correlation_id, call.token));
    if (reply.status != 200 || !reply.body.is_object()) return Fail(ReplyError(reply, "the decision"));
    return ToDecision(reply.body);
  }

  Result<Decision> DecideWatching(const ToolCall& call, WhileDeciding& watch) override {
    if (!options_.transport_serves_watch) return DecisionClient::DecideWatching(call, watch);
    ScopedReadableWatch scope(watch.fd, &watch.on_readable);
    return Decide(call);
  }

  Result<std::vector<Decision>> DecideList(std::string_view agent, std::string_view server,
                                           const std::vector<std::string>& tools, std::string_view token) override {
    std::vector<Decision> decisions;
    decisions.reserve(tools.size());
    for (size_t begin = 0; begin < tools.size(); begin += options_.max_list_batch) {
      const size_t end = std::min(tools.size(), begin + options_.max_list_batch);
      json::Value body;
      body.Set("subject", Subject(agent));
      body.Set("action", Action());
      json::Value context;
      context.Set("tools_list", true);
      body.Set("context", std::move(context));
      json::Value items = json::Array{};
      for (size_t index = begin; index < end; ++index) {
        json::Value item;
        item.Set("resource", Resource(server, tools[index]));
        items.Append(std::move(item));
      }
      body.Set("evaluations", std::move(items));
      WRIT_ASSIGN_OR_RETURN(const HttpReply reply,
                            transport_("POST", "/access/v1/evaluations", json::Serialize(body),
                                       options_.decision_timeout, "", token));
      const json::Value* answers = reply.body.Find("evaluations");
      if (reply.status != 200 || answers == nullptr || !answers->is_array() ||
          answers->as_array().size() != end - begin) {
        return Fail(ReplyError(reply, "the tools/list decisions"));
      }
      for (const json::Value& answer : answers->as_array()) decisions.push_back(ToDecision(answer));
    }
    return decisions;
  }

  Result<ApprovalState> WaitForApproval(const ToolCall& call, std::string_view approval_id,
                                        std::chrono::milliseconds timeout) override {
    const auto slice = std::min(timeout, kMaxWaitPerRequest);
    json::Value body;
    body.Set("timeout", fmt::format("{}ms", std::max<int64_t>(slice.count(), 1)));
    const std::string path = fmt::format("/v1/approvals/{}/wait", approval_id);
    WRIT_ASSIGN_OR_RETURN(const HttpReply reply,
                          transport_("POST", path, json::Serialize(body), slice + kWaitSlack, "", call.token));
    if (reply.status != 200) return Fail(ReplyError(reply, fmt::format("the wait on approval `{}`", approval_id)));
    const json::Value* state = reply.body.Find("state");
    const std::string name = state != nullptr && state->is_string() ? state->as_string() : "";
    if (name == "granted" || name == "used") return ApprovalState::kGranted;
    if (name == "denied") return ApprovalState::kDenied;
    if (name == "expired") return ApprovalState::kExpired;
    return ApprovalState::kPending;
  }

  void RecordOutcome(const ToolCall& call, const CallOutcome& outcome) override {
    outcomes_.Add(OutcomeItemText(call, outcome), call.correlation_id, call.token);
  }

 private:
  HttpTransport transport_;
  AuthzenClientOptions options_;
  OutcomeSender outcomes_;  // last: its thread uses the members above and is joined first
};

}  // namespace

json::Value EvaluationRequest(const ToolCall& call) {
  json::Value body;
  body.Set("subject", Subject(call.agent));
  body.Set("action", Action());
  body.Set("resource", Resource(call.server, call.tool));
  json::Value context;
  context.Set("args", call.arguments.is_null() ? json::Value(json::Object{}) : call.arguments);
  context.Set("correlation_id", call.correlation_id);
  body.Set("context", std::move(context));
  return body;
}

std::string EvaluationRequestText(const ToolCall& call) {
  const std::string resource_id = fmt::format("{}/{}", call.server, call.tool);
  json::Writer writer;
  writer.BeginObject();
  writer.Key("subject").BeginObject().Key("type").String(kAgentType).Key("id").String(call.agent).EndObject();
  writer.Key("action").BeginObject().Key("name").String(kCallAction).EndObject();
  writer.Key("resource").BeginObject().Key("type").String(kToolType).Key("id").String(resource_id);
  writer.Key("properties").BeginObject().Key("server").BeginObject().Key("__entity").BeginObject();
  writer.Key("type").String(kToolServerType).Key("id").String(call.server).EndObject().EndObject();
  writer.Key("name").String(call.tool).EndObject().EndObject();
  writer.Key("context").BeginObject().Key("args");
  if (!call.arguments_json.empty()) {
    writer.Raw(call.arguments_json);
  } else if (call.arguments.is_null()) {
    writer.BeginObject().EndObject();
  } else {
    writer.Json(call.arguments);
  }
  writer.Key("correlation_id").String(call.correlation_id).EndObject();
  writer.EndObject();
  return writer.Take();
}

std::string OutcomeItemText(const ToolCall& call, const CallOutcome& outcome) {
  json::Writer writer;
  writer.BeginObject();
  writer.Key("correlation_id").String(call.correlation_id);
  writer.Key("agent").String(call.agent);
  writer.Key("server").String(call.server);
  writer.Key("tool").String(call.tool);
  writer.Key("status").String(outcome.status);
  writer.Key("is_error").Bool(outcome.is_error);
  writer.Key("duration_us").Int(static_cast<int64_t>(outcome.duration.count()));
  if (!outcome.approval_id.empty()) writer.Key("approval_id").String(outcome.approval_id);
  writer.EndObject();
  return writer.Take();
}

std::unique_ptr<DecisionClient> NewAuthzenClient(HttpTransport transport, AuthzenClientOptions options) {
  return std::make_unique<AuthzenClient>(std::move(transport), options);
}

}  // namespace writ::gateway
