#include "server/token_api.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/log.h"
#include "identity/registry.h"
#include "store/token_store.h"
#include "token/attestation.h"
#include "token/delegation.h"
#include "token/dpop.h"
#include "token/issuer.h"
#include "token/key_ring.h"
#include "token/revocation.h"
#include "token/verifier.h"

namespace writ::server {

struct TokenService::Impl {
  identity::Registry* registry = nullptr;
  std::unique_ptr<token::KeyRing> keys;
  std::unique_ptr<token::Revocations> revocations;
  std::unique_ptr<token::Issuer> issuer;
  std::unique_ptr<token::Verifier> verifier;
  std::unique_ptr<token::Exchanger> exchanger;
  std::unique_ptr<token::DpopVerifier> dpop;
  std::chrono::seconds interval{30};
  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::thread maintenance;

  void Maintain() {
    std::unique_lock lock(mu);
    while (!wake.wait_for(lock, interval, [this] { return stopping; })) {
      lock.unlock();
      if (auto rotated = keys->RotateIfDue(); !rotated) {
        log::Error("signing key rotation failed", {{"error", rotated.error().message}});
      }
      if (auto pruned = revocations->Prune(); !pruned) {
        log::Warn("pruning revocations failed", {{"error", pruned.error().message}});
      }
      lock.lock();
    }
  }
};

TokenService::TokenService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TokenService::~TokenService() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->maintenance.joinable()) impl_->maintenance.join();
}

Result<std::unique_ptr<TokenService>> TokenService::Open(store::TokenStore& store, identity::Registry& registry,
                                                         const TokenServiceOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->registry = &registry;
  // A rotation is due at most one interval late: check often enough for short periods.
  impl->interval = options.maintenance_interval.value_or(
      std::clamp(options.token.rotation_period / 4, std::chrono::seconds(1), std::chrono::seconds(30)));
  const TokenConfig& config = options.token;
  impl->dpop = std::make_unique<token::DpopVerifier>(token::DpopOptions{.require_nonce = config.dpop_nonce});
  WRIT_ASSIGN_OR_RETURN(std::string master_key, token::LoadOrCreateMasterKey(options.data_dir + "/master.key"));
  WRIT_ASSIGN_OR_RETURN(impl->keys, token::KeyRing::Open(store, std::move(master_key),
                                                         {.algorithm = config.algorithm,
                                                          .rotation_period = config.rotation_period,
                                                          .overlap = config.overlap}));
  WRIT_ASSIGN_OR_RETURN(impl->revocations, token::Revocations::Open(store));
  token::RevokeOnDeactivation(registry, *impl->revocations);
  const std::string issuer = config.issuer.empty() ? fmt::format("spiffe://{}", options.trust_domain) : config.issuer;
  impl->issuer = std::make_unique<token::Issuer>(*impl->keys, registry,
                                                 token::IssuerOptions{.issuer = issuer,
                                                                      .default_audience = config.default_audience,
                                                                      .default_ttl = config.default_ttl});
  impl->verifier = std::make_unique<token::Verifier>(
      *impl->keys, *impl->revocations, registry,
      token::VerifierOptions{.issuer = issuer, .trust_domain = options.trust_domain, .max_skew = config.max_clock_skew});
  impl->exchanger = std::make_unique<token::Exchanger>(*impl->verifier, *impl->keys, registry,
                                                       token::ExchangeOptions{.issuer = issuer});
  Impl* raw = impl.get();
  impl->maintenance = std::thread([raw] { raw->Maintain(); });
  return std::unique_ptr<TokenService>(new TokenService(std::move(impl)));
}

token::KeyRing& TokenService::keys() { return *impl_->keys; }
token::Issuer& TokenService::issuer() { return *impl_->issuer; }
token::Verifier& TokenService::verifier() { return *impl_->verifier; }
token::Revocations& TokenService::revocations() { return *impl_->revocations; }
identity::Registry& TokenService::registry() { return *impl_->registry; }
token::Exchanger& TokenService::exchanger() { return *impl_->exchanger; }
token::DpopVerifier& TokenService::dpop() { return *impl_->dpop; }

namespace {

constexpr std::string_view kTokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";
constexpr std::string_view kJwtTokenType = "urn:ietf:params:oauth:token-type:jwt";
constexpr std::chrono::seconds kMaxSpiffeRefreshHint{300};

// Request parameters from a form-encoded or JSON body; JSON arrays become repeated parameters.
Result<QueryParams> ReadParams(const Request& request) {
  QueryParams params;
  if (request.body.empty()) return params;
  const auto content_type = request.headers.Get("Content-Type");
  if (content_type && IsJsonContentType(*content_type)) {
    WRIT_ASSIGN_OR_RETURN(const json::Value body, ParseJsonBody(request));
    if (!body.is_object()) return Fail(Code::kInvalidArgument, "request body must be a JSON object");
    for (const auto& [key, value] : body.as_object()) {
      if (value.is_string()) {
        params.Add(key, value.as_string());
      } else if (value.is_int()) {
        params.Add(key, std::to_string(value.as_int()));
      } else if (value.is_array()) {
        for (const json::Value& item : value.as_array()) {
          if (!item.is_string()) return Fail(Code::kInvalidArgument, fmt::format("`{}` must hold strings", key));
          params.Add(key, item.as_string());
        }
      } else if (!value.is_null()) {
        return Fail(Code::kInvalidArgument, fmt::format("`{}` must be a string", key));
      }
    }
    return params;
  }
  if (content_type && content_type->substr(0, 33) == "application/x-www-form-urlencoded") {
    return ParseQuery(request.body);
  }
  return Fail(Code::kInvalidArgument, "send application/x-www-form-urlencoded or application/json");
}

std::string Param(const QueryParams& params, std::string_view name) {
  return std::string(params.Get(name).value_or(""));
}

// "300", "300s", "5m", "1h".
Result<std::optional<std::chrono::seconds>> ParseTtl(std::string_view text) {
  if (text.empty()) return std::optional<std::chrono::seconds>();
  int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && end == text.data() + text.size()) return std::optional(std::chrono::seconds(seconds));
  WRIT_ASSIGN_OR_RETURN(const auto duration, ParseDuration(text));
  return std::optional(std::chrono::duration_cast<std::chrono::seconds>(duration));
}

Response TokenRejected(const token::TokenError& error) {
  const Error as_error = error.ToError();
  Response response = ErrorResponse(HttpStatusFor(as_error.code), as_error.code, as_error.message);
  response.headers.Set("WWW-Authenticate",
                       fmt::format("Bearer error=\"invalid_token\", error_description=\"{}\"", token::TokenErrorName(error.kind)));
  return response;
}

class TokenApi {
 public:
  TokenApi(TokenService& service, const AdminAccess& access) : service_(service), access_(access) {}

  Result<Response> Jwks(const Request&) {
    Response response = JsonResponse(200, service_.keys().Jwks());
    response.headers.Set("Cache-Control", "max-age=60");
    return response;
  }

  Result<Response> SpiffeBundle(const Request&) {
    const json::Value jwks = service_.keys().Jwks();
    json::Value keys = json::Array{};
    if (const json::Value* list = jwks.Find("keys"); list != nullptr && list->is_array()) {
      for (json::Value key : list->as_array()) {
        key.Set("use", "jwt-svid");
        keys.Append(std::move(key));
      }
    }
    json::Value bundle;
    bundle.Set("keys", std::move(keys));
    bundle.Set("spiffe_sequence", service_.keys().sequence());
    // Refresh at least twice per rotation period, so a short period is followed too.
    const auto& key_options = service_.keys().options();
    const auto hint = std::clamp(key_options.rotation_period / 2, std::chrono::seconds(1), kMaxSpiffeRefreshHint);
    bundle.Set("spiffe_refresh_hint", static_cast<int64_t>(hint.count()));
    return JsonResponse(200, bundle);
  }

  Result<Response> IssueToken(const Request& request) {
    const int64_t arrived = token::BootTimeNow();
    WRIT_ASSIGN_OR_RETURN(const QueryParams params, ReadParams(request));
    const std::string grant_type = Param(params, "grant_type");
    if (grant_type == kTokenExchangeGrant) return Exchange(params);
    if (!grant_type.empty()) {
      return Fail(Code::kInvalidArgument, fmt::format("unsupported grant_type `{}`", grant_type.substr(0, 64)));
    }
    token::IssueRequest issue;
    for (const std::string_view audience : params.GetAll("audience")) issue.audience.emplace_back(audience);
    WRIT_ASSIGN_OR_RETURN(issue.ttl, ParseTtl(Param(params, "ttl")));
    issue.task = Param(params, "task");
    issue.scope = Param(params, "scope");
    issue.agent = Param(params, "agent");
    if (const auto proof = request.headers.Get("DPoP")) {
      // RFC 9449: a proof at the token endpoint binds the token to the proof's key.
      const std::string url = fmt::format("http://{}{}", request.headers.Get("Host").value_or("localhost"), request.path);
      auto thumbprint = service_.dpop().Verify({*proof, "POST", url, ""});
      if (!thumbprint && thumbprint.error().kind == token::TokenErrorKind::kDpopUseNonce) {
        return UseDpopNonce(thumbprint.error());
      }
      if (!thumbprint) {
        return Fail(Code::kInvalidArgument, "invalid_dpop_proof: " + thumbprint.error().message);
      }
      issue.dpop_jkt = std::move(*thumbprint);
    }
    std::string method;
    Result<token::IssuedToken> issued = Fail(Code::kInternal, "not issued");
    if (!issue.agent.empty()) {
      WRIT_ASSIGN_OR_RETURN(const std::string author,
                            AuthorizeAdmin(request, access_, service_.registry(),
                                           {"token:issue", "tokens", json::Object{{"agent", issue.agent}}}));
      method = "admin:" + author;
      issued = service_.issuer().Issue(issue);
    } else {
      if (request.peer.transport != Transport::kUnix || !request.peer.pid || !request.peer.uid || !request.peer.gid) {
        return Fail(Code::kPermissionDenied, "attestation needs a caller on the Unix socket; administrators may name an `agent`");
      }
      const token::PeerCredentials peer{*request.peer.pid, *request.peer.uid, *request.peer.gid};
      const std::string child = Param(params, "pid");
      Result<token::ProcessFacts> facts = Fail(Code::kInternal, "not inspected");
      if (!child.empty()) {
        int32_t child_pid = 0;
        const auto [end, ec] = std::from_chars(child.data(), child.data() + child.size(), child_pid);
        if (ec != std::errc() || end != child.data() + child.size()) return Fail(Code::kInvalidArgument, "`pid` must be an integer");
        facts = token::InspectChildProcess(peer, child_pid, arrived);
      } else {
        facts = token::InspectProcess(peer, arrived);
      }
      if (!facts) {
        log::Warn("attestation refused", {{"pid", int64_t{peer.pid}}, {"uid", int64_t{peer.uid}}, {"error", facts.error().message}});
        return Fail(std::move(facts).error());
      }
      auto agent = token::AttestAgent(service_.registry(), *facts);
      if (!agent) {
        log::Warn("attestation refused", {{"pid", int64_t{facts->pid}}, {"uid", int64_t{facts->uid}},
                                          {"exe", facts->exe_path}, {"error", agent.error().message}});
        return Fail(std::move(agent).error());
      }
      issue.agent = agent->name;
      method = fmt::format("attested:pid={}", facts->pid);
      issued = service_.issuer().IssueFor(*agent, issue);
    }
    if (!issued) return Fail(std::move(issued).error());
    log::Info("token issued", {{"jti", issued->claims.jti}, {"agent", issue.agent}, {"kid", issued->kid},
                               {"exp", issued->claims.exp}, {"by", method}});
    Response response = TokenResponse(*issued, issue.agent);
    // RFC 9449 §8.2: a fresh nonce with every answer, so the client's next proof has one.
    if (service_.dpop().requires_nonce()) response.headers.Set("DPoP-Nonce", service_.dpop().IssueNonce());
    return response;
  }

  // RFC 9449 §8: 400 with the OAuth error `use_dpop_nonce` and a nonce to retry with.
  Response UseDpopNonce(const token::TokenError& error) {
    json::Value body;
    body.Set("error", "use_dpop_nonce");
    body.Set("error_description", error.message);
    Response response = JsonResponse(400, body);
    response.headers.Set("DPoP-Nonce", service_.dpop().IssueNonce());
    response.headers.Set("Cache-Control", "no-store");
    return response;
  }

  // RFC 8693: subject_token (the delegating agent's), actor_token (the acting agent's own),
  // optional audience, scope, ttl. Both token types must be jwt or access_token.
  Result<Response> Exchange(const QueryParams& params) {
    token::ExchangeRequest exchange;
    exchange.subject_token = Param(params, "subject_token");
    exchange.actor_token = Param(params, "actor_token");
    if (exchange.subject_token.empty() || exchange.actor_token.empty()) {
      return Fail(Code::kInvalidArgument, "token exchange needs `subject_token` and `actor_token`");
    }
    for (const std::string_view name : {"subject_token_type", "actor_token_type"}) {
      const std::string type = Param(params, name);
      if (type != kJwtTokenType && type != "urn:ietf:params:oauth:token-type:access_token") {
        return Fail(Code::kInvalidArgument, fmt::format("`{}` must be {} or an access_token", name, kJwtTokenType));
      }
    }
    for (const std::string_view audience : params.GetAll("audience")) exchange.audience.emplace_back(audience);
    exchange.scope = Param(params, "scope");
    WRIT_ASSIGN_OR_RETURN(exchange.ttl, ParseTtl(Param(params, "ttl")));
    WRIT_ASSIGN_OR_RETURN(const token::IssuedToken issued, service_.exchanger().Exchange(exchange));
    const std::string agent = token::AgentNameFromSpiffeId(issued.claims.sub, service_.registry().trust_domain());
    log::Info("token exchanged", {{"jti", issued.claims.jti}, {"sub", issued.claims.sub},
                                  {"actor", token::CurrentActor(issued.claims)}, {"kid", issued.kid}});
    return TokenResponse(issued, agent);
  }

  Response TokenResponse(const token::IssuedToken& issued, const std::string& agent) {
    json::Value body;
    body.Set("access_token", issued.token);
    body.Set("token_type", issued.claims.cnf_jkt.empty() ? "Bearer" : "DPoP");
    body.Set("issued_token_type", kJwtTokenType);
    body.Set("expires_in", issued.claims.exp - issued.claims.iat);
    body.Set("agent", agent);
    body.Set("jti", issued.claims.jti);
    body.Set("kid", issued.kid);
    if (!issued.claims.scope.empty()) body.Set("scope", issued.claims.scope);
    body.Set("claims", token::ClaimsToJson(issued.claims));
    Response response = JsonResponse(200, body);
    response.headers.Set("Cache-Control", "no-store");
    return response;
  }

  Result<Response> Introspect(const Request& request) {
    if (request.peer.transport != Transport::kUnix) {
      return Fail(Code::kUnauthenticated, "introspection is served on the Unix socket; verify offline with the JWKS");
    }
    WRIT_ASSIGN_OR_RETURN(const QueryParams params, ReadParams(request));
    const std::string token_value = Param(params, "token");
    if (token_value.empty()) return Fail(Code::kInvalidArgument, "`token` is required");
    const std::string audience = Param(params, "audience");
    auto verified = audience.empty() ? service_.verifier().VerifyAnyAudience(token_value)
                                     : service_.verifier().Verify(token_value, audience);
    json::Value body;
    if (!verified) {
      if (verified.error().kind == token::TokenErrorKind::kUnavailable) return TokenRejected(verified.error());
      body.Set("active", false);
      return JsonResponse(200, body);
    }
    body = token::ClaimsToJson((*verified)->claims);
    body.Set("active", true);
    body.Set("token_type", "Bearer");
    body.Set("username", (*verified)->agent);
    body.Set("kid", (*verified)->kid);
    return JsonResponse(200, body);
  }

  Result<Response> Revoke(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const QueryParams params, ReadParams(request));
    const std::string token_value = Param(params, "token");
    const std::string jti = Param(params, "jti");
    const std::string agent = Param(params, "agent");
    json::Value body = json::Object{};
    if (!token_value.empty()) {
      // RFC 7009: holding the token is the authority to revoke it; invalid tokens get 200 too.
      auto claims = service_.verifier().VerifySignatureOnly(token_value);
      if (claims) {
        WRIT_RETURN_IF_ERROR(service_.revocations().RevokeJti(claims->jti, claims->sub,
                                                             TimePoint(std::chrono::seconds(claims->exp))));
        body.Set("revoked", claims->jti);
      }
      return JsonResponse(200, body);
    }
    if (jti.empty() && agent.empty()) return Fail(Code::kInvalidArgument, "send `token`, `jti` or `agent`");
    WRIT_ASSIGN_OR_RETURN(const std::string author,
                          AuthorizeAdmin(request, access_, service_.registry(),
                                         {"token:revoke", "tokens", json::Object{{"jti", jti}, {"agent", agent}}}));
    if (!jti.empty()) {
      if (jti.size() > 128) return Fail(Code::kInvalidArgument, "`jti` is too long");
      // The token is unknown here: keep the revocation for the longest lifetime any token may have.
      WRIT_RETURN_IF_ERROR(service_.revocations().RevokeJti(jti, "", SystemClock().Now() + identity::kMaxTokenTtlCap));
      body.Set("revoked", jti);
    } else {
      WRIT_ASSIGN_OR_RETURN(const identity::Identity identity, service_.registry().Get(identity::Kind::kAgent, agent));
      WRIT_RETURN_IF_ERROR(service_.revocations().RevokeSubject(identity.spiffe_id));
      body.Set("revoked_agent", identity.name);
    }
    log::Info("revocation by an administrator", {{"by", author}, {"jti", jti}, {"agent", agent}});
    return JsonResponse(200, body);
  }

  Result<Response> ListKeys(const Request& request) {
    WRIT_RETURN_IF_ERROR(AuthorizeAdmin(request, access_, service_.registry(), {"keys:read", "keys", json::Value()}));
    json::Value keys = json::Array{};
    for (const auto& key : service_.keys().Keys()) {
      json::Value item;
      item.Set("kid", key->kid);
      item.Set("alg", token::AlgFor(key->public_key.algorithm()));
      item.Set("sequence", key->sequence);
      item.Set("created_at", FormatRfc3339(key->created_at));
      item.Set("state", key->retired_at ? "retired" : "active");
      if (key->retired_at) {
        item.Set("retired_at", FormatRfc3339(*key->retired_at));
        item.Set("verifies_until", FormatRfc3339(*service_.keys().ValidUntil(*key)));
      }
      keys.Append(std::move(item));
    }
    json::Value body;
    body.Set("keys", std::move(keys));
    return JsonResponse(200, body);
  }

  Result<Response> RotateKeys(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const std::string author,
                          AuthorizeAdmin(request, access_, service_.registry(), {"keys:rotate", "keys", json::Value()}));
    WRIT_ASSIGN_OR_RETURN(const std::string kid, service_.keys().Rotate());
    log::Info("signing key rotated by an administrator", {{"by", author}, {"kid", kid}});
    json::Value body;
    body.Set("kid", kid);
    body.Set("sequence", service_.keys().sequence());
    return JsonResponse(200, body);
  }

 private:
  TokenService& service_;
  const AdminAccess& access_;
};

}  // namespace

void AddTokenRoutes(Router& router, TokenService& service, const AdminAccess& access) {
  auto api = std::make_shared<TokenApi>(service, access);
  const RouteOptions any_body{.json_body = false};
  router.Get("/.well-known/jwks.json", [api](const Request& request) { return api->Jwks(request); });
  router.Get("/.well-known/spiffe-bundle", [api](const Request& request) { return api->SpiffeBundle(request); });
  router.Add("POST", "/v1/token", [api](const Request& request) { return api->IssueToken(request); }, any_body);
  router.Add("POST", "/v1/introspect", [api](const Request& request) { return api->Introspect(request); }, any_body);
  router.Add("POST", "/v1/revoke", [api](const Request& request) { return api->Revoke(request); }, any_body);
  router.Get("/v1/keys", [api](const Request& request) { return api->ListKeys(request); });
  router.Post("/v1/keys/rotate", [api](const Request& request) { return api->RotateKeys(request); });
}

}  // namespace writ::server
