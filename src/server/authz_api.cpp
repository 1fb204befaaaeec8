#include "server/authz_api.h"

#include <charconv>
#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "authz/admin_guard.h"
#include "authz/authzen.h"
#include "authz/engine.h"
#include "identity/registry.h"

namespace writ::server {
namespace {

constexpr size_t kMaxTokenBytes = 16 << 10;

Result<int64_t> ParseVersion(std::string_view text, std::string_view name) {
  int64_t version = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size() || version < 1) {
    return Fail(Code::kInvalidArgument, fmt::format("{} must be a version number, not `{}`", name, text.substr(0, 32)));
  }
  return version;
}

json::Value VersionJson(const authz::VersionInfo& info, int64_t active) {
  return json::Object{{"version", info.version},          {"content_hash", info.content_hash},
                      {"author", info.author},            {"reason", info.reason},
                      {"created_at", FormatRfc3339(info.created_at)}, {"active", info.version == active}};
}

Result<json::Value> OptionalBody(const Request& request) {
  if (request.body.empty()) return json::Value(json::Object{});
  WRIT_ASSIGN_OR_RETURN(json::Value body, ParseJsonBody(request));
  if (!body.is_object()) return Fail(Code::kInvalidArgument, "request body must be a JSON object");
  return body;
}

Result<std::string> OptionalReason(const json::Value& body) {
  const json::Value* reason = body.Find("reason");
  if (reason == nullptr || reason->is_null()) return std::string();
  if (!reason->is_string() || reason->as_string().size() > 1024) {
    return Fail(Code::kInvalidArgument, "`reason` must be a string of at most 1024 bytes");
  }
  return reason->as_string();
}

// Compares without an early exit, so timing does not reveal how much of the key matched.
bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The answer to an evaluation (or to each item of an evaluations batch) whose decision the ledger
// did not record: deny, whatever was decided. `batch_items`: the number of items when the answer
// was an evaluations batch.
json::Value Unrecorded(std::optional<size_t> batch_items, const Error& error) {
  const json::Value denied = json::Object{
      {"decision", false}, {"context", json::Object{{"reason", "the decision could not be recorded: " + error.message}}}};
  if (!batch_items) return denied;
  return json::Object{{"evaluations", json::Array(*batch_items, denied)}};
}

class AuthzApi {
 public:
  AuthzApi(authz::Engine& engine, authz::ApprovalGate* gate, identity::Registry& registry, const AdminAccess& admin,
           const authz::AdminGuard& guard, const PdpAccess& pdp, AuthzenServing serving)
      : engine_(engine), authzen_(engine, gate), registry_(registry), admin_(admin), guard_(guard), pdp_(pdp),
        serving_(serving) {}

  Result<Response> Authzen(const Request& request, int kind) {
    WRIT_ASSIGN_OR_RETURN(const json::Value answer, AuthzenAnswer(request, kind));
    return JsonResponse(200, answer);
  }

  // Evaluation and evaluations: the decisions are queued in the ledger during the evaluation, and
  // the answer goes out once they are durable (deny if any was refused).
  void AuthzenAsync(const Request& request, int kind, const Responder& respond) {
    const auto started = std::chrono::steady_clock::now();
    std::optional<DecisionRecorder::Deferral> deferral;
    // Only a recorder that defers needs one (strict audit); in batched mode every decision is
    // queued before Decide returns, so the answer goes out at once.
    if (serving_.recorder != nullptr && serving_.recorder->defers()) deferral.emplace(*serving_.recorder);
    Result<json::Value> answer = AuthzenAnswer(request, kind);
    Response response = answer ? JsonResponse(200, *answer) : ErrorResponse(answer.error());
    if (serving_.metrics != nullptr) serving_.metrics->decision.Observe(std::chrono::steady_clock::now() - started);
    if (!deferral) return respond(std::move(response));
    std::optional<size_t> batch_items;
    if (const json::Value* items = answer ? answer->Find("evaluations") : nullptr; items != nullptr && items->is_array()) {
      batch_items = items->as_array().size();
    }
    deferral->Then([respond, response = std::move(response), batch_items](Status recorded) mutable {
      if (!recorded && response.status == 200) response = JsonResponse(200, Unrecorded(batch_items, recorded.error()));
      respond(std::move(response));
    });
  }

  Result<Response> Metrics(const Request& request) const {
    WRIT_RETURN_IF_ERROR(Authenticate(request));
    Response response;
    response.headers.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    response.body = serving_.metrics->RenderPrometheus();
    return response;
  }

 private:
  // AuthZEN: every malformed request is a 400 (the certification scenario), including a wrong
  // Content-Type (the Router would say 415), so these routes check it themselves.
  Result<json::Value> AuthzenAnswer(const Request& request, int kind) {
    WRIT_ASSIGN_OR_RETURN(const json::Value caller, Authenticate(request));
    const auto content_type = request.headers.Get("Content-Type");
    if (!content_type || !IsJsonContentType(*content_type)) {
      return Fail(Code::kInvalidArgument, "Content-Type must be application/json");
    }
    WRIT_ASSIGN_OR_RETURN(const json::Value body, ParseJsonBody(request));
    WRIT_RETURN_IF_ERROR(CheckAgentSubjects(body, caller));
    Result<json::Value> answer = Fail(Code::kInternal, "unreachable");
    switch (kind) {
      case 0: answer = authzen_.Evaluation(body, request.request_id, caller); break;
      case 1: answer = authzen_.Evaluations(body, request.request_id, caller); break;
      case 2: answer = authzen_.Search(authz::SearchKind::kSubject, body, request.request_id, caller); break;
      case 3: answer = authzen_.Search(authz::SearchKind::kResource, body, request.request_id, caller); break;
      default: answer = authzen_.Search(authz::SearchKind::kAction, body, request.request_id, caller); break;
    }
    return answer;
  }

 public:
  Result<Response> Metadata(const Request& request) {
    const auto host = request.headers.Get("Host");
    std::string base = "http://localhost";
    if (host && !host->empty() && host->size() <= 255 && host->find_first_of("/?# \t") == std::string_view::npos) {
      base = fmt::format("http://{}", *host);
    }
    return JsonResponse(200, authz::Authzen::Metadata(base));
  }

  Result<Response> Apply(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const std::string author, Admin(request, "policy:apply"));
    WRIT_ASSIGN_OR_RETURN(const json::Value body, ParseJsonBody(request));
    if (!body.is_object()) return Fail(Code::kInvalidArgument, "request body must be a JSON object");
    const json::Value* files = body.Find("files");
    if (files == nullptr) return Fail(Code::kInvalidArgument, "`files` is required");
    WRIT_ASSIGN_OR_RETURN(const authz::PolicySource source, authz::SourceFromJson(*files));
    WRIT_ASSIGN_OR_RETURN(const std::string reason, OptionalReason(body));
    bool activate = false;
    if (const json::Value* flag = body.Find("activate"); flag != nullptr && !flag->is_null()) {
      if (!flag->is_bool()) return Fail(Code::kInvalidArgument, "`activate` must be a boolean");
      activate = flag->as_bool();
    }
    bool stage = false;
    if (const json::Value* flag = body.Find("stage"); flag != nullptr && !flag->is_null()) {
      if (!flag->is_bool()) return Fail(Code::kInvalidArgument, "`stage` must be a boolean");
      stage = flag->as_bool();
    }
    if (activate && stage) return Fail(Code::kInvalidArgument, "`activate` and `stage` exclude each other");
    if (stage) WRIT_RETURN_IF_ERROR(Admin(request, "policy:stage"));
    WRIT_ASSIGN_OR_RETURN(authz::VersionInfo info, engine_.Apply(source, author, reason));
    if (activate) {
      WRIT_ASSIGN_OR_RETURN(info, engine_.Activate(info.version, author, reason));
    }
    if (stage) {
      WRIT_ASSIGN_OR_RETURN(info, engine_.Stage(info.version, author, reason));
    }
    return JsonResponse(201, VersionJson(info, engine_.active_version()));
  }

  Result<Response> List(const Request& request) {
    WRIT_RETURN_IF_ERROR(Admin(request, "policy:read"));
    WRIT_ASSIGN_OR_RETURN(const auto versions, engine_.List());
    const int64_t active = engine_.active_version();
    json::Array items;
    for (const auto& info : versions) items.push_back(VersionJson(info, active));
    return JsonResponse(200, json::Object{{"active", active}, {"versions", std::move(items)}});
  }

  Result<Response> Show(const Request& request) {
    WRIT_RETURN_IF_ERROR(Admin(request, "policy:read"));
    WRIT_ASSIGN_OR_RETURN(const int64_t version, ParseVersion(request.Param("version"), "the path"));
    WRIT_ASSIGN_OR_RETURN(const auto versions, engine_.List());
    WRIT_ASSIGN_OR_RETURN(const authz::PolicySource source, engine_.Source(version));
    json::Value out;
    for (const auto& info : versions) {
      if (info.version == version) out = VersionJson(info, engine_.active_version());
    }
    out.Set("files", authz::SourceToJson(source));
    return JsonResponse(200, out);
  }

  Result<Response> Diff(const Request& request) {
    WRIT_RETURN_IF_ERROR(Admin(request, "policy:read"));
    const auto from_text = request.query.Get("from");
    const auto to_text = request.query.Get("to");
    if (!from_text || !to_text) return Fail(Code::kInvalidArgument, "query parameters `from` and `to` are required");
    WRIT_ASSIGN_OR_RETURN(const int64_t from, ParseVersion(*from_text, "`from`"));
    WRIT_ASSIGN_OR_RETURN(const int64_t to, ParseVersion(*to_text, "`to`"));
    WRIT_ASSIGN_OR_RETURN(const authz::PolicySource a, engine_.Source(from));
    WRIT_ASSIGN_OR_RETURN(const authz::PolicySource b, engine_.Source(to));
    const std::string diff = authz::DiffSources(a, b, fmt::format("v{}", from), fmt::format("v{}", to));
    return JsonResponse(200, json::Object{{"from", from}, {"to", to}, {"diff", diff}});
  }

  Result<Response> Activate(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const int64_t version, ParseVersion(request.Param("version"), "the path"));
    std::string version_author;
    WRIT_ASSIGN_OR_RETURN(const auto versions, engine_.List());
    for (const auto& info : versions) {
      if (info.version == version) version_author = info.author;
    }
    WRIT_ASSIGN_OR_RETURN(const std::string author,
                          Admin(request, "policy:activate", json::Object{{"version_author", version_author}}));
    WRIT_ASSIGN_OR_RETURN(const json::Value body, OptionalBody(request));
    WRIT_ASSIGN_OR_RETURN(const std::string reason, OptionalReason(body));
    WRIT_ASSIGN_OR_RETURN(const authz::VersionInfo info, engine_.Activate(version, author, reason));
    return JsonResponse(200, VersionJson(info, engine_.active_version()));
  }

  Result<Response> Rollback(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const std::string author, Admin(request, "policy:rollback"));
    WRIT_ASSIGN_OR_RETURN(const json::Value body, OptionalBody(request));
    WRIT_ASSIGN_OR_RETURN(const std::string reason, OptionalReason(body));
    WRIT_ASSIGN_OR_RETURN(const authz::VersionInfo info, engine_.Rollback(author, reason));
    return JsonResponse(200, VersionJson(info, engine_.active_version()));
  }

  // Shadow evaluation: stage a version beside the active one, unstage it, report agree/disagree.
  Result<Response> Stage(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const int64_t version, ParseVersion(request.Param("version"), "the path"));
    WRIT_ASSIGN_OR_RETURN(const std::string author, Admin(request, "policy:stage"));
    WRIT_ASSIGN_OR_RETURN(const json::Value body, OptionalBody(request));
    WRIT_ASSIGN_OR_RETURN(const std::string reason, OptionalReason(body));
    WRIT_RETURN_IF_ERROR(engine_.Stage(version, author, reason));
    return JsonResponse(200, authz::ToJson(engine_.shadow_report()));
  }

  Result<Response> Unstage(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const std::string author, Admin(request, "policy:stage"));
    WRIT_ASSIGN_OR_RETURN(const json::Value body, OptionalBody(request));
    WRIT_ASSIGN_OR_RETURN(const std::string reason, OptionalReason(body));
    WRIT_ASSIGN_OR_RETURN(const authz::ShadowReport report, engine_.Unstage(author, reason));
    return JsonResponse(200, authz::ToJson(report));
  }

  Result<Response> ShadowReport(const Request& request) {
    WRIT_RETURN_IF_ERROR(Admin(request, "policy:read"));
    json::Value body = authz::ToJson(engine_.shadow_report());
    body.Set("active", engine_.active_version());
    return JsonResponse(200, body);
  }

 private:
  // RequireAdmin, then the admin policy set. Returns the author.
  Result<std::string> Admin(const Request& request, std::string_view action, const json::Value& context = json::Value()) {
    WRIT_ASSIGN_OR_RETURN(std::string author, RequireAdmin(request, admin_, registry_));
    WRIT_RETURN_IF_ERROR(guard_.Authorize({.name = author, .is_human = author.rfind("uid:", 0) != 0, .is_administrator = true},
                                          action, "policies", context));
    return author;
  }

  // Who asks: null for a Unix-socket peer or the PDP API key; the token's claims for a writ token.
  // A Unix-socket peer that presents a writ token (`writ mcp` does) is held to it like a TCP caller.
  Result<json::Value> Authenticate(const Request& request) const {
    const bool local = request.peer.transport == Transport::kUnix && request.peer.uid;
    auto header = request.headers.Get("Authorization");
    if (!header) {
      if (local) return json::Value();
      return Fail(Code::kUnauthenticated, "missing Authorization header (PDP API key or writ token)");
    }
    std::string_view presented = *header;
    if (presented.substr(0, 7) == "Bearer ") presented.remove_prefix(7);
    if (!pdp_.api_key.empty() && ConstantTimeEqual(presented, pdp_.api_key)) return json::Value();
    if (pdp_.verify_token && presented.size() <= kMaxTokenBytes && presented.find('.') != std::string_view::npos) {
      return pdp_.verify_token(presented);
    }
    if (local) return json::Value();
    return Fail(Code::kUnauthenticated, "the Authorization header carries neither the PDP API key nor a valid writ token");
  }

  // An agent's token speaks only for that agent: every `Writ::Agent` subject of the request (the
  // default and each item's) must be the token's agent.
  static Status CheckAgentSubjects(const json::Value& body, const json::Value& caller) {
    const json::Value* agent = caller.is_object() ? caller.Find("agent") : nullptr;
    if (agent == nullptr || !agent->is_string() || !body.is_object()) return Ok();
    auto check = [&](const json::Value& holder) -> Status {
      const json::Value* subject = holder.Find("subject");
      const json::Value* type = subject != nullptr && subject->is_object() ? subject->Find("type") : nullptr;
      const json::Value* id = subject != nullptr && subject->is_object() ? subject->Find("id") : nullptr;
      if (type == nullptr || !type->is_string() || type->as_string() != "Writ::Agent") return Ok();
      if (id != nullptr && id->is_string() && id->as_string() == agent->as_string()) return Ok();
      return Fail(Code::kPermissionDenied,
                  fmt::format("a token of agent `{}` can only ask for decisions about that agent", agent->as_string()));
    };
    WRIT_RETURN_IF_ERROR(check(body));
    if (const json::Value* items = body.Find("evaluations"); items != nullptr && items->is_array()) {
      for (const json::Value& item : items->as_array()) {
        if (item.is_object()) WRIT_RETURN_IF_ERROR(check(item));
      }
    }
    return Ok();
  }

  authz::Engine& engine_;
  authz::Authzen authzen_;
  identity::Registry& registry_;
  const AdminAccess& admin_;
  const authz::AdminGuard& guard_;
  const PdpAccess& pdp_;
  const AuthzenServing serving_;
};

}  // namespace

void AddAuthzRoutes(Router& router, authz::Engine& engine, authz::ApprovalGate* gate, identity::Registry& registry,
                    const AdminAccess& admin, const authz::AdminGuard& guard, const PdpAccess& pdp,
                    AuthzenServing serving) {
  auto api = std::make_shared<AuthzApi>(engine, gate, registry, admin, guard, pdp, serving);
  const RouteOptions raw{.json_body = false};
  const char* paths[] = {"/access/v1/evaluation", "/access/v1/evaluations", "/access/v1/search/subject",
                         "/access/v1/search/resource", "/access/v1/search/action"};
  for (int kind = 0; kind < 2; ++kind) {
    router.AddAsync(
        "POST", paths[kind],
        [api, kind](const Request& request, const Responder& respond) { api->AuthzenAsync(request, kind, respond); }, raw);
  }
  for (int kind = 2; kind < 5; ++kind) {
    router.Add("POST", paths[kind], [api, kind](const Request& request) { return api->Authzen(request, kind); }, raw);
  }
  if (serving.metrics != nullptr) {
    router.Get("/metrics", [api](const Request& request) { return api->Metrics(request); });
  }
  router.Get("/.well-known/authzen-configuration", [api](const Request& request) { return api->Metadata(request); });
  router.Post("/v1/policies", [api](const Request& request) { return api->Apply(request); });
  router.Get("/v1/policies", [api](const Request& request) { return api->List(request); });
  router.Get("/v1/policies/diff", [api](const Request& request) { return api->Diff(request); });
  router.Get("/v1/policies/{version}", [api](const Request& request) { return api->Show(request); });
  router.Post("/v1/policies/{version}/activate", [api](const Request& request) { return api->Activate(request); });
  router.Post("/v1/policies/rollback", [api](const Request& request) { return api->Rollback(request); });
  router.Post("/v1/policies/{version}/stage", [api](const Request& request) { return api->Stage(request); });
  router.Post("/v1/policies/unstage", [api](const Request& request) { return api->Unstage(request); });
  router.Get("/v1/policies/shadow", [api](const Request& request) { return api->ShadowReport(request); });
}

}  // namespace writ::server
