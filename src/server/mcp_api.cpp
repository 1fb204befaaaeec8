#include "server/mcp_api.h"

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cedar/value.h"
#include "common/log.h"
#include "ledger/ledger.h"

namespace writ::server {
namespace {

constexpr size_t kMaxIdLength = 128;
constexpr size_t kMaxNameLength = 256;
constexpr int64_t kMaxDurationUs = int64_t{7} * 24 * 3600 * 1'000'000;  // a week: anything longer is a bug
constexpr std::array<std::string_view, 5> kStatuses = {"ok", "error", "failed", "denied", "cancelled"};
constexpr std::string_view kCallAction = R"(Writ::Action::"mcp:call")";

Result<std::string> BoundedString(json::ObjectReader& reader, std::string_view key, size_t max_length) {
  WRIT_ASSIGN_OR_RETURN(std::string value, reader.RequiredString(key));
  if (value.empty() || value.size() > max_length) {
    return Fail(Code::kInvalidArgument, fmt::format("outcome `{}` must have 1 to {} characters", key, max_length));
  }
  return value;
}

// One outcome item as a ledger event. `expected_agent`, when set, is the agent of the caller's token.
Result<ledger::Event> OutcomeEvent(const json::Value& item, const std::optional<std::string>& expected_agent) {
  json::ObjectReader reader(item, "outcome");
  WRIT_RETURN_IF_ERROR(reader.CheckIsObject());
  WRIT_ASSIGN_OR_RETURN(const std::string correlation_id, BoundedString(reader, "correlation_id", kMaxIdLength));
  WRIT_ASSIGN_OR_RETURN(const std::string agent, BoundedString(reader, "agent", kMaxNameLength));
  WRIT_ASSIGN_OR_RETURN(const std::string server, BoundedString(reader, "server", kMaxNameLength));
  WRIT_ASSIGN_OR_RETURN(const std::string tool, BoundedString(reader, "tool", kMaxNameLength));
  WRIT_ASSIGN_OR_RETURN(const std::string status, reader.RequiredString("status"));
  WRIT_ASSIGN_OR_RETURN(const auto is_error, reader.OptionalBool("is_error"));
  WRIT_ASSIGN_OR_RETURN(const auto duration_us, reader.OptionalInt("duration_us"));
  WRIT_ASSIGN_OR_RETURN(const auto approval_id, reader.OptionalString("approval_id"));
  WRIT_RETURN_IF_ERROR(reader.RejectUnknown());
  if (std::find(kStatuses.begin(), kStatuses.end(), status) == kStatuses.end()) {
    return Fail(Code::kInvalidArgument, fmt::format("outcome `status` `{}` is not one of ok, error, failed, denied, "
                                                    "cancelled",
                                                    status.substr(0, 32)));
  }
  if (duration_us && (*duration_us < 0 || *duration_us > kMaxDurationUs)) {
    return Fail(Code::kInvalidArgument, "outcome `duration_us` must be between 0 and a week");
  }
  if (approval_id && approval_id->size() > kMaxIdLength) {
    return Fail(Code::kInvalidArgument, fmt::format("outcome `approval_id` must have at most {} characters", kMaxIdLength));
  }
  if (server.find('/') != std::string::npos) return Fail(Code::kInvalidArgument, "outcome `server` must not contain `/`");
  if (expected_agent && agent != *expected_agent) {
    return Fail(Code::kPermissionDenied,
                fmt::format("a token of agent `{}` cannot report calls of agent `{}`", *expected_agent, agent));
  }
  ledger::Event event;
  event.kind = ledger::EventKind::kToolCallOutcome;
  event.actor = cedar::ToString({"Writ::Agent", agent});
  event.subject = event.actor;
  event.action = std::string(kCallAction);
  event.resource = cedar::ToString({"Writ::Tool", fmt::format("{}/{}", server, tool)});
  event.correlation_id = correlation_id;
  event.details = json::Object{{"status", status}, {"is_error", is_error.value_or(false)}};
  if (duration_us) event.details.Set("duration_us", *duration_us);
  if (approval_id) event.details.Set("approval_id", *approval_id);
  return event;
}

// Collects the errors of AppendAsync calls refused while the request is still being handled, so
// they reach the caller; a failure after the answer (the ledger's store broke) is logged.
class Appends {
 public:
  void Done(const Result<ledger::Receipt>& receipt, const std::string& correlation_id) {
    if (receipt) return;
    std::lock_guard lock(mu_);
    if (answered_) {
      log::Error("mcp call outcome not recorded in the ledger",
                 {{"correlation_id", correlation_id}, {"error", receipt.error().message}});
    } else if (!error_) {
      error_ = receipt.error();
    }
  }

  // Marks the request answered. Returns the first error seen until now.
  std::optional<Error> Answer() {
    std::lock_guard lock(mu_);
    answered_ = true;
    return error_;
  }

 private:
  std::mutex mu_;
  bool answered_ = false;
  std::optional<Error> error_;
};

class McpApi {
 public:
  McpApi(ledger::Ledger& ledger, const PdpAccess& pdp) : ledger_(ledger), pdp_(pdp) {}

  Result<Response> Outcomes(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const std::optional<std::string> token_agent, Authenticate(request));
    WRIT_ASSIGN_OR_RETURN(const json::Value body, ParseJsonBody(request));
    json::ObjectReader reader(body, "request");
    WRIT_RETURN_IF_ERROR(reader.CheckIsObject());
    const json::Value* items = reader.Optional("outcomes");
    WRIT_RETURN_IF_ERROR(reader.RejectUnknown());
    if (items == nullptr || !items->is_array() || items->as_array().empty() ||
        items->as_array().size() > kMaxOutcomesPerRequest) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("`outcomes` must be an array of 1 to {} outcomes", kMaxOutcomesPerRequest));
    }
    // Check every item before appending any, so a bad request records nothing.
    std::vector<ledger::Event> events;
    events.reserve(items->as_array().size());
    for (const json::Value& item : items->as_array()) {
      WRIT_ASSIGN_OR_RETURN(ledger::Event event, OutcomeEvent(item, token_agent));
      events.push_back(std::move(event));
    }
    const size_t count = events.size();
    // Queued, not waited for: the events are committed with the ledger's next batch (under strict
    // audit they share the decisions' fsync), and no I/O thread waits for a disk here.
    auto appends = std::make_shared<Appends>();
    for (ledger::Event& event : events) {
      std::string correlation_id = event.correlation_id;
      ledger_.AppendAsync(std::move(event), [appends, correlation_id](Result<ledger::Receipt> receipt) {
        appends->Done(receipt, correlation_id);
      });
    }
    if (auto error = appends->Answer()) return Fail(std::move(*error));
    return JsonResponse(202, json::Object{{"accepted", static_cast<int64_t>(count)}});
  }

 private:
  // The agent of the caller's writ token, or nullopt for a Unix-socket peer without one.
  Result<std::optional<std::string>> Authenticate(const Request& request) const {
    const auto header = request.headers.Get("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (header && header->substr(0, kBearer.size()) == kBearer) {
      if (!pdp_.verify_token) return Fail(Code::kUnauthenticated, "this writd does not accept writ tokens");
      WRIT_ASSIGN_OR_RETURN(const json::Value caller, pdp_.verify_token(header->substr(kBearer.size())));
      const json::Value* agent = caller.Find("agent");
      if (agent == nullptr || !agent->is_string()) return Fail(Code::kUnauthenticated, "the token names no agent");
      return std::optional<std::string>(agent->as_string());
    }
    if (request.peer.transport == Transport::kUnix && request.peer.uid) return std::optional<std::string>();
    return Fail(Code::kUnauthenticated, "reporting MCP call outcomes needs `Authorization: Bearer <writ token>`");
  }

  ledger::Ledger& ledger_;
  const PdpAccess& pdp_;
};

}  // namespace

void AddMcpRoutes(Router& router, ledger::Ledger& ledger, const PdpAccess& pdp) {
  auto api = std::make_shared<McpApi>(ledger, pdp);
  router.Post("/v1/mcp/outcomes", [api](const Request& request) { return api->Outcomes(request); });
}

}  // namespace writ::server
