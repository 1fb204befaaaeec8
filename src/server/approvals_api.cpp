#include "server/approvals_api.h"

#include <fmt/format.h>

#include "approvals/approvals.h"
#include "identity/registry.h"

namespace writ::server {
namespace {

constexpr std::chrono::milliseconds kMaxWait{std::chrono::minutes(5)};
constexpr std::chrono::milliseconds kDefaultWait{std::chrono::seconds(30)};

Result<json::Value> OptionalObjectBody(const Request& request) {
  if (request.body.empty()) return json::Value(json::Object{});
  WRIT_ASSIGN_OR_RETURN(json::Value body, ParseJsonBody(request));
  if (!body.is_object()) return Fail(Code::kInvalidArgument, "request body must be a JSON object");
  return body;
}

Result<std::string> StringMember(const json::Value& body, std::string_view key) {
  const json::Value* value = body.Find(key);
  if (value == nullptr || value->is_null()) return std::string();
  if (!value->is_string() || value->as_string().size() > 1024) {
    return Fail(Code::kInvalidArgument, fmt::format("`{}` must be a string of at most 1024 bytes", key));
  }
  return value->as_string();
}

// The wait's time limit: the body's `timeout` (default kDefaultWait), at most kMaxWait; Unix socket
// only. Errors: kUnauthenticated (TCP); kInvalidArgument (bad body or duration).
Result<std::chrono::milliseconds> WaitTimeout(const Request& request) {
  if (request.peer.transport != Transport::kUnix) {
    return Fail(Code::kUnauthenticated, "waiting on an approval is offered on the Unix socket only");
  }
  WRIT_ASSIGN_OR_RETURN(const json::Value body, OptionalObjectBody(request));
  WRIT_ASSIGN_OR_RETURN(const std::string timeout_text, StringMember(body, "timeout"));
  std::chrono::milliseconds timeout = kDefaultWait;
  if (!timeout_text.empty()) {
    WRIT_ASSIGN_OR_RETURN(timeout, ParseDuration(timeout_text));
  }
  return std::min(timeout, kMaxWait);
}

constexpr std::string_view kResource = "approvals";  // Writ::Admin::"approvals"

// The human who decides: the one mapped to the caller's uid (RequireAdmin gives "uid:<n>" otherwise),
// if the admin policies permit `action` ("approval:grant" or "approval:deny") on approval `id`.
// Whether that human may decide this request is then up to the user policy set (approvals module).
Result<std::string> Approver(const Request& request, const AdminAccess& admin, identity::Registry& registry,
                             std::string_view action, std::string_view id) {
  WRIT_ASSIGN_OR_RETURN(std::string author,
                        AuthorizeAdmin(request, admin, registry, {action, kResource, json::Object{{"id", id}}}));
  if (author.rfind("uid:", 0) == 0) {
    return Fail(Code::kPermissionDenied, "approvers must be registered humans: map your uid to a human (identity create --kind human --uid)");
  }
  return author;
}

class ApprovalsApi {
 public:
  ApprovalsApi(approvals::Approvals& approvals, identity::Registry& registry, const AdminAccess& admin)
      : approvals_(approvals), registry_(registry), admin_(admin) {}

  Result<Response> List(const Request& request) {
    WRIT_RETURN_IF_ERROR(AuthorizeAdmin(request, admin_, registry_, {"approval:read", kResource, json::Value()}));
    std::optional<approvals::State> state;
    if (const auto name = request.query.Get("state"); name && !name->empty()) {
      bool found = false;
      for (auto s : {approvals::State::kPending, approvals::State::kGranted, approvals::State::kDenied,
                     approvals::State::kExpired, approvals::State::kUsed}) {
        if (approvals::StateName(s) == *name) state = s, found = true;
      }
      if (!found) return Fail(Code::kInvalidArgument, "`state` must be pending, granted, denied, expired or used");
    }
    json::Array items;
    for (const auto& approval : approvals_.List(state)) items.push_back(approvals::ToJson(approval));
    return JsonResponse(200, json::Object{{"approvals", std::move(items)}});
  }

  Result<Response> Get(const Request& request) {
    WRIT_RETURN_IF_ERROR(AuthorizeAdmin(request, admin_, registry_, {"approval:read", kResource, json::Value()}));
    WRIT_ASSIGN_OR_RETURN(const auto approval, approvals_.Get(std::string(request.Param("id"))));
    return JsonResponse(200, approvals::ToJson(approval));
  }

  Result<Response> Decide(const Request& request, bool grant) {
    const std::string id(request.Param("id"));
    WRIT_ASSIGN_OR_RETURN(const std::string approver,
                          Approver(request, admin_, registry_, grant ? "approval:grant" : "approval:deny", id));
    WRIT_ASSIGN_OR_RETURN(const json::Value body, OptionalObjectBody(request));
    WRIT_ASSIGN_OR_RETURN(const std::string reason, StringMember(body, "reason"));
    WRIT_ASSIGN_OR_RETURN(const std::string ttl_text, StringMember(body, "for"));
    std::chrono::milliseconds ttl{0};
    if (!ttl_text.empty()) {
      WRIT_ASSIGN_OR_RETURN(ttl, ParseDuration(ttl_text));
    }
    WRIT_ASSIGN_OR_RETURN(const auto approval, grant ? approvals_.Grant(id, approver, ttl, reason)
                                                     : approvals_.Deny(id, approver, reason));
    return JsonResponse(200, approvals::ToJson(approval));
  }

  // Long-polls without holding an I/O thread: the approvals module answers through the Responder.
  void Wait(const Request& request, Responder respond) {
    auto timeout = WaitTimeout(request);
    if (!timeout) return respond(Fail(timeout.error()));
    approvals_.WaitAsync(std::string(request.Param("id")), *timeout, [respond](Result<approvals::Approval> approval) {
      if (!approval) return respond(Fail(approval.error()));
      respond(JsonResponse(200, approvals::ToJson(*approval)));
    });
  }

 private:
  approvals::Approvals& approvals_;
  identity::Registry& registry_;
  const AdminAccess& admin_;
};

}  // namespace

void AddApprovalsRoutes(Router& router, approvals::Approvals& approvals, identity::Registry& registry,
                        const AdminAccess& admin) {
  auto api = std::make_shared<ApprovalsApi>(approvals, registry, admin);
  router.Get("/v1/approvals", [api](const Request& request) { return api->List(request); });
  router.Get("/v1/approvals/{id}", [api](const Request& request) { return api->Get(request); });
  router.Post("/v1/approvals/{id}/grant", [api](const Request& request) { return api->Decide(request, true); });
  router.Post("/v1/approvals/{id}/deny", [api](const Request& request) { return api->Decide(request, false); });
  router.AddAsync("POST", "/v1/approvals/{id}/wait", [api](const Request& request, Responder respond) { api->Wait(request, std::move(respond)); });
}

}  // namespace writ::server
