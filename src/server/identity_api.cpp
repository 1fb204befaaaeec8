#include "server/identity_api.h"

#include <charconv>

#include <fmt/format.h>

#include "identity/codec.h"
#include "identity/registry.h"

namespace writ::server {
namespace {

using identity::Kind;
using identity::Registry;

constexpr int64_t kDefaultPageSize = 100;
constexpr std::string_view kResource = "identities";  // Writ::Admin::"identities"

// Splits the writ-level members ("reason", "expected_version") from the identity fields.
struct ChangeRequest {
  json::Value fields = json::Object{};
  std::string reason;
  std::optional<int64_t> expected_version;
};

Result<ChangeRequest> SplitChangeRequest(const json::Value& body) {
  if (!body.is_object()) {
    return Fail(Code::kInvalidArgument, fmt::format("request body must be a JSON object, not {}", json::TypeName(body.type())));
  }
  ChangeRequest request;
  for (const auto& [key, value] : body.as_object()) {
    if (key == "reason") {
      if (!value.is_string()) return Fail(Code::kInvalidArgument, "field `reason` must be a string");
      request.reason = value.as_string();
    } else if (key == "expected_version") {
      if (!value.is_int()) return Fail(Code::kInvalidArgument, "field `expected_version` must be an integer");
      request.expected_version = value.as_int();
    } else {
      request.fields.Set(key, value);
    }
  }
  return request;
}

Result<json::Value> OptionalBody(const Request& request) {
  if (request.body.empty()) return json::Value(json::Object{});
  return ParseJsonBody(request);
}

Result<int64_t> ParseLimit(std::optional<std::string_view> text) {
  if (!text) return kDefaultPageSize;
  int64_t limit = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
  if (ec != std::errc() || end != text->data() + text->size()) {
    return Fail(Code::kInvalidArgument, fmt::format("query parameter `limit` must be an integer, not `{}`", text->substr(0, 32)));
  }
  return limit;
}

Result<identity::State> TransitionTarget(std::string_view name) {
  if (name == "suspend") return identity::State::kSuspended;
  if (name == "resume") return identity::State::kActive;
  if (name == "revoke") return identity::State::kRevoked;
  if (name == "retire") return identity::State::kRetired;
  return Fail(Code::kNotFound, fmt::format("no lifecycle action `{}`; use suspend, resume, revoke or retire", name.substr(0, 32)));
}

class IdentityApi {
 public:
  IdentityApi(Registry& registry, const AdminAccess& access) : registry_(registry), access_(access) {}

  Result<Response> Create(const Request& request) {
    // Administrators only before the body is read; then the policies, which see the new identity.
    WRIT_ASSIGN_OR_RETURN(const std::string author, RequireAdmin(request, access_, registry_));
    WRIT_ASSIGN_OR_RETURN(const json::Value body, ParseJsonBody(request));
    WRIT_ASSIGN_OR_RETURN(const ChangeRequest change, SplitChangeRequest(body));
    WRIT_ASSIGN_OR_RETURN(identity::Identity spec, identity::ParseCreateRequest(change.fields));
    WRIT_RETURN_IF_ERROR(AuthorizeAdminAs(author, access_, {"identity:create", kResource, Target(spec.kind, spec.name)}));
    WRIT_ASSIGN_OR_RETURN(const identity::Identity created, registry_.CreateIdentity(std::move(spec), {author, change.reason}));
    return JsonResponse(201, identity::ToJson(created));
  }

  Result<Response> List(const Request& request) {
    WRIT_RETURN_IF_ERROR(AuthorizeAdmin(request, access_, registry_, {"identity:read", kResource, json::Value()}));
    identity::ListOptions options;
    const auto kind = request.query.Get("kind");
    if (kind) {
      WRIT_ASSIGN_OR_RETURN(options.kind, identity::ParseKind(*kind));
    }
    if (const auto state = request.query.Get("state")) {
      WRIT_ASSIGN_OR_RETURN(options.state, identity::ParseState(*state));
    }
    if (const auto tier = request.query.Get("tier")) {
      WRIT_ASSIGN_OR_RETURN(options.tier, identity::ParseTier(*tier));
    }
    if (const auto owner = request.query.Get("owner")) options.owner = std::string(*owner);
    if (const auto after = request.query.Get("after")) options.after = std::string(*after);
    WRIT_ASSIGN_OR_RETURN(options.limit, ParseLimit(request.query.Get("limit")));
    WRIT_ASSIGN_OR_RETURN(const auto identities, registry_.List(options));
    json::Value items = json::Array{};
    for (const auto& found : identities) items.Append(identity::ToJson(found));
    json::Value body;
    body.Set("items", std::move(items));
    // A full page may have more after it; the cursor is the last name shown.
    body.Set("next", static_cast<int64_t>(identities.size()) == options.limit ? json::Value(identities.back().name)
                                                                            : json::Value());
    return JsonResponse(200, body);
  }

  Result<Response> Get(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const Kind kind, identity::ParseKind(request.Param("kind")));
    WRIT_RETURN_IF_ERROR(Admin(request, "identity:read", kind, request.Param("name")));
    WRIT_ASSIGN_OR_RETURN(const auto found, registry_.Get(kind, std::string(request.Param("name"))));
    return JsonResponse(200, identity::ToJson(found));
  }

  Result<Response> Update(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const Kind kind, identity::ParseKind(request.Param("kind")));
    WRIT_ASSIGN_OR_RETURN(const std::string author, Admin(request, "identity:update", kind, request.Param("name")));
    WRIT_ASSIGN_OR_RETURN(const json::Value body, ParseJsonBody(request));
    WRIT_ASSIGN_OR_RETURN(const ChangeRequest change, SplitChangeRequest(body));
    WRIT_ASSIGN_OR_RETURN(const auto patch, identity::ParsePatch(kind, change.fields));
    WRIT_ASSIGN_OR_RETURN(const auto updated, registry_.Update(kind, std::string(request.Param("name")), patch,
                                                               {author, change.reason}, change.expected_version));
    return JsonResponse(200, identity::ToJson(updated));
  }

  Result<Response> Transition(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const Kind kind, identity::ParseKind(request.Param("kind")));
    WRIT_ASSIGN_OR_RETURN(const identity::State to, TransitionTarget(request.Param("transition")));
    const std::string action = fmt::format("identity:{}", request.Param("transition"));
    WRIT_ASSIGN_OR_RETURN(const std::string author, Admin(request, action, kind, request.Param("name")));
    WRIT_ASSIGN_OR_RETURN(const json::Value body, OptionalBody(request));
    WRIT_ASSIGN_OR_RETURN(const ChangeRequest change, SplitChangeRequest(body));
    if (!change.fields.as_object().empty() || change.expected_version) {
      return Fail(Code::kInvalidArgument, "a lifecycle action takes only an optional `reason`");
    }
    WRIT_ASSIGN_OR_RETURN(const auto moved,
                          registry_.Transition(kind, std::string(request.Param("name")), to, {author, change.reason}));
    return JsonResponse(200, identity::ToJson(moved));
  }

  Result<Response> History(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const Kind kind, identity::ParseKind(request.Param("kind")));
    WRIT_RETURN_IF_ERROR(Admin(request, "identity:read", kind, request.Param("name")));
    WRIT_ASSIGN_OR_RETURN(const auto versions, registry_.History(kind, std::string(request.Param("name"))));
    json::Value items = json::Array{};
    for (const auto& version : versions) {
      json::Value item;
      item.Set("version", version.identity.version);
      item.Set("change", version.change);
      item.Set("author", version.author);
      item.Set("reason", version.reason);
      item.Set("changed_at", FormatRfc3339(version.changed_at));
      item.Set("identity", identity::ToJson(version.identity));
      items.Append(std::move(item));
    }
    json::Value body;
    body.Set("items", std::move(items));
    return JsonResponse(200, body);
  }

 private:
  // The admin check for `action` on the identity `kind`/`name` (context `kind`, `name`). Returns the author.
  Result<std::string> Admin(const Request& request, std::string_view action, Kind kind, std::string_view name) {
    return AuthorizeAdmin(request, access_, registry_, {action, kResource, Target(kind, name)});
  }
  static json::Value Target(Kind kind, std::string_view name) {
    return json::Object{{"kind", identity::KindName(kind)}, {"name", name}};
  }

  Registry& registry_;
  const AdminAccess& access_;
};

}  // namespace

void AddIdentityRoutes(Router& router, Registry& registry, const AdminAccess& access) {
  // Shared by the handlers below; lives as long as the router holds them.
  auto api = std::make_shared<IdentityApi>(registry, access);
  router.Post("/v1/identities", [api](const Request& request) { return api->Create(request); });
  router.Get("/v1/identities", [api](const Request& request) { return api->List(request); });
  router.Get("/v1/identities/{kind}/{name}", [api](const Request& request) { return api->Get(request); });
  router.Patch("/v1/identities/{kind}/{name}", [api](const Request& request) { return api->Update(request); });
  router.Post("/v1/identities/{kind}/{name}/{transition}", [api](const Request& request) { return api->Transition(request); });
  router.Get("/v1/identities/{kind}/{name}/history", [api](const Request& request) { return api->History(request); });
}

}  // namespace writ::server
