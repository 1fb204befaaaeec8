#include "gateway/interceptor.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "common/ids.h"
#include "common/log.h"

namespace writ::gateway {
namespace {

constexpr size_t kMaxSpliceDepth = 128;

std::string ToolLabel(const ToolCall& call) { return fmt::format("{}/{}", call.server, call.tool); }

json::Value CorrelationData(const ToolCall& call) {
  json::Value data;
  data.Set("correlation_id", call.correlation_id);
  return data;
}

std::chrono::microseconds Since(Interceptor::SteadyClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Interceptor::SteadyClock::now() - start);
}

}  // namespace

std::string JsonRpcError(const json::Value& id, int code, std::string_view message, json::Value data) {
  json::Writer writer;
  writer.BeginObject().Key("jsonrpc").String("2.0").Key("id").Json(id).Key("error").BeginObject();
  writer.Key("code").Int(code).Key("message").String(message);
  if (!data.is_null()) writer.Key("data").Json(data);
  writer.EndObject().EndObject();
  return writer.Take();
}

CallCheck Interceptor::CheckCall(std::string_view agent, const json::Value& message, const json::Value& id,
                                 std::string_view token, WhileDeciding* watch) const {
  CallCheck check;
  const json::Value* params = message.Find("params");
  const json::Value* name = params != nullptr ? params->Find("name") : nullptr;
  if (name == nullptr || !name->is_string() || name->as_string().empty()) {
    check.reply = JsonRpcError(id, kJsonRpcInvalidParams, "writ: tools/call needs a string `params.name`");
    return check;
  }
  const json::Value* arguments = params->Find("arguments");
  if (arguments != nullptr && !arguments->is_null() && !arguments->is_object()) {
    check.reply = JsonRpcError(id, kJsonRpcInvalidParams, "writ: tools/call `params.arguments` must be an object");
    return check;
  }
  ToolCall call{.agent = std::string(agent),
                .server = options_.server_name,
                .tool = name->as_string(),
                .arguments = arguments != nullptr && arguments->is_object() ? *arguments : json::Value(json::Object{}),
                .correlation_id = NewUuidV7(),
                .token = std::string(token)};
  call.arguments_json = json::Serialize(call.arguments);  // measured here, sent as is with the decision
  if (const size_t size = call.arguments_json.size(); size > options_.max_argument_bytes) {
    check.reply = Denied(id, call,
                         Decision{.reason = fmt::format("arguments of {} bytes exceed the decision limit of {} bytes",
                                                        size, options_.max_argument_bytes)},
                         "denied");
    return check;
  }
  auto decision = watch != nullptr ? options_.decisions->DecideWatching(call, *watch) : options_.decisions->Decide(call);
  if (!decision) {
    log::Error("no decision: tools/call refused",
               {{"correlation_id", call.correlation_id}, {"tool", ToolLabel(call)}, {"error", decision.error().message}});
    check.reply = JsonRpcError(id, kJsonRpcInternalError,
                               fmt::format("writ: no decision for tool `{}`, so it was not called: {}", ToolLabel(call),
                                           decision.error().message),
                               CorrelationData(call));
    return check;
  }
  if (decision->verdict == Verdict::kApprovalRequired) {
    log::Info("tools/call waits for approval", {{"correlation_id", call.correlation_id},
                                                {"tool", ToolLabel(call)},
                                                {"approval_id", decision->approval_id}});
    check.next = CallCheck::Next::kAwaitApproval;
    check.call = std::move(call);
    check.decision = std::move(*decision);
    return check;
  }
  if (decision->verdict == Verdict::kAllow) {
    check.next = CallCheck::Next::kForward;
  } else {
    check.reply = Denied(id, call, *decision, "denied");
  }
  check.call = std::move(call);
  check.decision = std::move(*decision);
  return check;
}

std::optional<CallCheck> Interceptor::AwaitApproval(CallCheck check, const json::Value& id,
                                                    const std::function<bool()>& abandoned) const {
  const ToolCall& call = check.call;
  const Decision& decision = check.decision;
  const auto deadline = SteadyClock::now() + options_.approval_timeout;
  const auto reply = [&check](std::string text) {
    check.next = CallCheck::Next::kReply;
    check.reply = std::move(text);
    return std::optional<CallCheck>(std::move(check));
  };
  while (true) {
    if (abandoned()) {
      CancelCall(call, decision.approval_id);
      return std::nullopt;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) {
      return reply(Denied(id, call, decision,
                          fmt::format("no approval within {}s (approval `{}`)",
                                      std::chrono::duration_cast<std::chrono::seconds>(options_.approval_timeout).count(),
                                      decision.approval_id)));
    }
    auto state = options_.decisions->WaitForApproval(call, decision.approval_id, std::min(left, options_.approval_poll));
    if (!state) {
      json::Value data = CorrelationData(call);
      data.Set("approval_id", decision.approval_id);
      return reply(JsonRpcError(id, kJsonRpcInternalError,
                                fmt::format("writ: lost track of approval `{}` for tool `{}`, so it was not called: {}",
                                            decision.approval_id, ToolLabel(call), state.error().message),
                                std::move(data)));
    }
    switch (*state) {
      case ApprovalState::kPending:
        continue;
      case ApprovalState::kDenied:
        return reply(Denied(id, call, decision, fmt::format("approval `{}` was denied", decision.approval_id)));
      case ApprovalState::kExpired:
        return reply(Denied(id, call, decision, fmt::format("approval `{}` expired", decision.approval_id)));
      case ApprovalState::kGranted:
        break;
    }
    if (abandoned()) {
      CancelCall(call, decision.approval_id);
      return std::nullopt;
    }
    auto again = options_.decisions->Decide(call);  // consumes the grant; a policy change still wins
    if (!again) {
      return reply(JsonRpcError(id, kJsonRpcInternalError,
                                fmt::format("writ: no decision for tool `{}` after approval, so it was not called: {}",
                                            ToolLabel(call), again.error().message)));
    }
    if (again->verdict != Verdict::kAllow) {
      again->approval_id = decision.approval_id;
      return reply(Denied(id, call, *again, "denied after approval"));
    }
    check.next = CallCheck::Next::kForward;
    return check;
  }
}

std::string Interceptor::Denied(const json::Value& id, const ToolCall& call, const Decision& decision,
                                std::string_view message) const {
  options_.decisions->RecordOutcome(call, {.status = "denied", .approval_id = decision.approval_id});
  log::Info("tools/call denied",
            {{"correlation_id", call.correlation_id}, {"tool", ToolLabel(call)}, {"reason", decision.reason}});
  json::Value data = CorrelationData(call);
  data.Set("decision", "deny");
  data.Set("reason", decision.reason);
  json::Value policies = json::Array{};
  for (const std::string& policy : decision.policies) policies.Append(policy);
  data.Set("policies", std::move(policies));
  if (!decision.approval_id.empty()) data.Set("approval_id", decision.approval_id);
  std::string text = fmt::format("writ: tools/call `{}` for agent `{}` {}", ToolLabel(call), call.agent, message);
  if (!decision.reason.empty() && message == "denied") text += fmt::format(": {}", decision.reason);
  if (!decision.policies.empty()) text += fmt::format(" (policies: {})", fmt::join(decision.policies, ", "));
  return JsonRpcError(id, kJsonRpcDenied, text, std::move(data));
}

std::string Interceptor::FinishCall(const ToolCall& call, SteadyClock::time_point forwarded, json::Value message,
                                    std::string_view approval_id) const {
  FinishedCall finished = StampParsed(call, forwarded, std::move(message), approval_id);
  options_.decisions->RecordOutcome(call, finished.outcome);  // a queue push (DecisionClient's contract): no delay
  return std::move(finished.message);
}

FinishedCall Interceptor::StampParsed(const ToolCall& call, SteadyClock::time_point forwarded, json::Value message,
                                      std::string_view approval_id) const {
  CallOutcome outcome{.status = "error", .duration = Since(forwarded), .approval_id = std::string(approval_id)};
  if (message.is_object()) {
    for (json::Member& member : message.mutable_object()) {
      if (member.first != "result" || !member.second.is_object()) continue;
      outcome.status = "ok";
      const json::Value* is_error = member.second.Find("isError");
      outcome.is_error = is_error != nullptr && is_error->is_bool() && is_error->as_bool();
      json::Value meta;
      if (const json::Value* existing = member.second.Find("_meta"); existing != nullptr && existing->is_object()) {
        meta = *existing;
      }
      meta.Set(std::string(kCorrelationMetaKey), call.correlation_id);
      member.second.Set("_meta", std::move(meta));
    }
  }
  return {json::Serialize(message), std::move(outcome)};
}

std::string Interceptor::FinishCallRaw(const ToolCall& call, SteadyClock::time_point forwarded,
                                       std::string_view message, const std::vector<RawMember>& members,
                                       std::string_view approval_id) const {
  FinishedCall finished = StampCall(call, forwarded, message, members, approval_id);
  options_.decisions->RecordOutcome(call, finished.outcome);
  return std::move(finished.message);
}

FinishedCall Interceptor::StampCall(const ToolCall& call, SteadyClock::time_point forwarded, std::string_view message,
                                    const std::vector<RawMember>& members, std::string_view approval_id) const {
  const auto unchanged = [&] {
    return FinishedCall{std::string(message), {.status = "error", .duration = Since(forwarded),
                                               .approval_id = std::string(approval_id)}};
  };
  const auto whole = [&] {
    auto parsed = json::Parse(message, {.max_bytes = message.size() + 1, .max_depth = kMaxSpliceDepth});
    // ScanObject accepted it; json::Parse is stricter (nested duplicate keys, lone surrogates).
    if (!parsed) return unchanged();
    return StampParsed(call, forwarded, std::move(*parsed), approval_id);
  };
  const RawMember* result = FindMember(members, "result");
  if (result == nullptr || result->value.front() != '{') return unchanged();
  auto fields = ScanObject(result->value, kMaxSpliceDepth);
  if (!fields) return whole();
  CallOutcome outcome{.status = "ok", .duration = Since(forwarded), .approval_id = std::string(approval_id)};
  if (const RawMember* is_error = FindMember(*fields, "isError")) outcome.is_error = is_error->value == "true";
  // Where the correlation id goes: before the closing brace of `_meta`, or of `result` with a new `_meta`.
  std::string_view into = result->value;
  bool empty = fields->empty();
  if (const RawMember* meta = FindMember(*fields, "_meta")) {
    if (meta->value.front() != '{') return whole();
    auto meta_fields = ScanObject(meta->value, kMaxSpliceDepth);
    if (!meta_fields || FindMember(*meta_fields, kCorrelationMetaKey) != nullptr) return whole();
    into = meta->value;
    empty = meta_fields->empty();
  }
  const size_t at = static_cast<size_t>(into.data() - message.data()) + into.size() - 1;  // the closing brace
  std::string out;
  out.reserve(message.size() + 96);
  out.append(message.substr(0, at));
  if (!empty) out += ',';
  if (into.data() == result->value.data()) out += "\"_meta\":{";
  json::AppendQuoted(out, kCorrelationMetaKey);
  out += ':';
  json::AppendQuoted(out, call.correlation_id);
  if (into.data() == result->value.data()) out += '}';
  out.append(message.substr(at));
  return {std::move(out), std::move(outcome)};
}

void Interceptor::RecordOutcome(const ToolCall& call, const CallOutcome& outcome) const {
  options_.decisions->RecordOutcome(call, outcome);
}

void Interceptor::FailCall(const ToolCall& call, SteadyClock::time_point forwarded, std::string_view approval_id) const {
  options_.decisions->RecordOutcome(
      call, {.status = "failed", .duration = Since(forwarded), .approval_id = std::string(approval_id)});
}

void Interceptor::CancelCall(const ToolCall& call, std::string_view approval_id) const {
  options_.decisions->RecordOutcome(call, {.status = "cancelled", .approval_id = std::string(approval_id)});
}

std::string Interceptor::FilterList(std::string_view agent, const json::Value& id, json::Value message,
                                    std::string_view token) const {
  json::Value* tools = nullptr;
  if (message.is_object()) {
    for (json::Member& member : message.mutable_object()) {
      if (member.first != "result" || !member.second.is_object()) continue;
      for (json::Member& field : member.second.mutable_object()) {
        if (field.first == "tools" && field.second.is_array()) tools = &field.second;
      }
    }
  }
  if (tools == nullptr) return json::Serialize(message);
  std::vector<std::string> names;
  for (const json::Value& tool : tools->as_array()) {
    const json::Value* name = tool.Find("name");
    names.push_back(name != nullptr && name->is_string() ? name->as_string() : std::string());
  }
  auto decisions = options_.decisions->DecideList(agent, options_.server_name, names, token);
  if (!decisions) {
    return JsonRpcError(id, kJsonRpcInternalError,
                        fmt::format("writ: cannot decide which tools of `{}` to list: {}", options_.server_name,
                                    decisions.error().message));
  }
  json::Array kept;
  json::Array& all = tools->mutable_array();
  for (size_t index = 0; index < all.size() && index < decisions->size(); ++index) {
    if (!names[index].empty() && (*decisions)[index].verdict != Verdict::kDeny) kept.push_back(std::move(all[index]));
  }
  *tools = json::Value(std::move(kept));
  return json::Serialize(message);
}

}  // namespace writ::gateway
