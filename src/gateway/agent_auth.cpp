#include "gateway/agent_auth.h"

#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "common/encoding.h"
#include "common/log.h"
#include "crypto/hash.h"
#include "token/dpop.h"

namespace writ::gateway {
namespace {

tl::unexpected<AuthFailure> Refuse(std::string error, std::string description, int status = 401) {
  return tl::unexpected<AuthFailure>(AuthFailure{status, std::move(error), std::move(description)});
}

bool EqualsIgnoreCase(std::string_view left, std::string_view right) {
  if (left.size() != right.size()) return false;
  for (size_t index = 0; index < left.size(); ++index) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(left[index]) != lower(right[index])) return false;
  }
  return true;
}

// RFC 6750 b64token characters (a JWS compact serialisation uses a subset).
bool IsTokenText(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
    if (!ok) return false;
  }
  return true;
}

class IntrospectingAuthenticator final : public AgentAuthenticator {
 public:
  IntrospectingAuthenticator(HttpTransport transport, AgentAuthOptions options)
      : transport_(std::move(transport)),
        options_(std::move(options)),
        dpop_(token::DpopOptions{.iat_window = options_.dpop_iat_window, .clock = options_.clock}) {}

  tl::expected<AuthenticatedAgent, AuthFailure> Authenticate(const AgentCredentials& credentials) override {
    auto checked = Check(credentials, /*cached_only=*/false);
    if (!checked) return Refuse("temporarily_unavailable", "the token could not be checked", 503);  // not reached
    return std::move(*checked);
  }

  std::optional<tl::expected<AuthenticatedAgent, AuthFailure>> TryAuthenticateCached(
      const AgentCredentials& credentials) override {
    return Check(credentials, /*cached_only=*/true);
  }

 private:
  // Authenticate; with `cached_only`, nullopt where writd or a DPoP proof check would be needed.
  std::optional<tl::expected<AuthenticatedAgent, AuthFailure>> Check(const AgentCredentials& credentials,
                                                                     bool cached_only) {
    if (credentials.authorization.empty()) return Refuse("", "an agent token is required (Authorization: Bearer or DPoP)");
    if (credentials.authorization.size() > options_.max_token_bytes + 16) {
      return Refuse("invalid_token", fmt::format("the Authorization header exceeds {} bytes", options_.max_token_bytes));
    }
    const size_t space = credentials.authorization.find(' ');
    const std::string_view scheme = credentials.authorization.substr(0, space);
    std::string_view token = space == std::string_view::npos ? std::string_view()
                                                             : credentials.authorization.substr(space + 1);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    const bool dpop_scheme = EqualsIgnoreCase(scheme, "DPoP");
    if (!dpop_scheme && !EqualsIgnoreCase(scheme, "Bearer")) {
      return Refuse("invalid_request", "the Authorization scheme must be Bearer or DPoP");
    }
    if (!IsTokenText(token)) return Refuse("invalid_request", "the Authorization header carries no token");
    if (cached_only && dpop_scheme) return std::nullopt;

    std::optional<Known> cached = cached_only ? Cached(token) : std::nullopt;
    if (cached_only && (!cached || !cached->jkt.empty())) return std::nullopt;
    auto known = cached ? tl::expected<Known, AuthFailure>(std::move(*cached)) : Lookup(token);
    if (!known) return tl::unexpected<AuthFailure>(std::move(known.error()));
    const Known& entry = *known;
    if (dpop_scheme || !entry.jkt.empty()) {
      if (!dpop_scheme) return Refuse("invalid_token", "this token is bound to a key: present it with `Authorization: DPoP` and a proof");
      if (entry.jkt.empty()) return Refuse("invalid_token", "this token is not bound to a key: present it as Bearer");
      if (credentials.dpop_headers != 1) return Refuse("invalid_dpop_proof", "exactly one DPoP header is required");
      auto thumbprint = dpop_.Verify({.proof = credentials.dpop,
                                      .method = credentials.method,
                                      .url = credentials.url,
                                      .access_token = token});
      if (!thumbprint) return Refuse("invalid_dpop_proof", thumbprint.error().message);
      if (!ConstantTimeEquals(*thumbprint, entry.jkt)) {
        return Refuse("invalid_dpop_proof", "the proof's key is not the key the token is bound to");
      }
    }
    return AuthenticatedAgent{.agent = entry.agent, .jti = entry.jti, .token = std::string(token)};
  }

  struct Known {
    std::string agent;
    std::string jti;
    std::string jkt;
    TimePoint trust_until;
  };

  const Clock& clock() const { return options_.clock != nullptr ? *options_.clock : SystemClock(); }

  // The cached answer for `token` while it may still be trusted.
  std::optional<Known> Cached(std::string_view token) {
    const crypto::Sha256Digest digest = crypto::Sha256(token);
    const std::string key(crypto::AsBytes(digest));
    const TimePoint now = clock().Now();
    std::lock_guard lock(mu_);
    if (auto found = cache_.find(key); found != cache_.end()) {
      if (now < found->second.trust_until) return found->second;
      cache_.erase(found);
    }
    return std::nullopt;
  }

  tl::expected<Known, AuthFailure> Lookup(std::string_view token) {
    if (auto cached = Cached(token)) return std::move(*cached);
    const crypto::Sha256Digest digest = crypto::Sha256(token);
    const std::string key(crypto::AsBytes(digest));
    const TimePoint now = clock().Now();
    json::Value body;
    body.Set("token", std::string(token));
    if (!options_.audience.empty()) body.Set("audience", options_.audience);
    auto reply = transport_("POST", "/v1/introspect", json::Serialize(body), options_.timeout, "", "");
    if (!reply) {
      log::Error("cannot introspect an agent token: request refused", {{"error", reply.error().message}});
      return Refuse("temporarily_unavailable", fmt::format("writd cannot be reached to check the token: {}",
                                                           reply.error().message), 503);
    }
    if (reply->status != 200 || !reply->body.is_object()) {
      return Refuse("temporarily_unavailable", fmt::format("writd answered {} to the token check", reply->status), 503);
    }
    const json::Value* active = reply->body.Find("active");
    if (active == nullptr || !active->is_bool() || !active->as_bool()) {
      return Refuse("invalid_token", options_.audience.empty()
                                         ? "the token is not active (expired, revoked, or not a writ token)"
                                         : fmt::format("the token is not active for audience `{}` (expired, revoked, "
                                                       "wrong audience, or not a writ token)",
                                                       options_.audience));
    }
    const json::Value* agent = reply->body.Find("username");
    const json::Value* exp = reply->body.Find("exp");
    if (agent == nullptr || !agent->is_string() || agent->as_string().empty() || exp == nullptr || !exp->is_int()) {
      return Refuse("temporarily_unavailable", "writd's token check did not name the agent", 503);
    }
    Known known{.agent = agent->as_string(), .trust_until = now + options_.recheck};
    if (const json::Value* jti = reply->body.Find("jti"); jti != nullptr && jti->is_string()) known.jti = jti->as_string();
    if (const json::Value* cnf = reply->body.Find("cnf"); cnf != nullptr && cnf->is_object()) {
      if (const json::Value* jkt = cnf->Find("jkt"); jkt != nullptr && jkt->is_string()) known.jkt = jkt->as_string();
    }
    known.trust_until = std::min(known.trust_until, TimePoint(std::chrono::seconds(exp->as_int())));
    std::lock_guard lock(mu_);
    if (cache_.size() >= options_.cache_capacity) cache_.clear();
    cache_[key] = known;
    return known;
  }

  const HttpTransport transport_;
  const AgentAuthOptions options_;
  token::DpopVerifier dpop_;
  std::mutex mu_;
  std::unordered_map<std::string, Known> cache_;  // key: SHA-256 of the token
};

}  // namespace

std::unique_ptr<AgentAuthenticator> NewIntrospectingAuthenticator(HttpTransport transport, AgentAuthOptions options) {
  return std::make_unique<IntrospectingAuthenticator>(std::move(transport), std::move(options));
}

std::string AuthChallenge(const AuthFailure& failure) {
  // The description is ours (no token text), but keep it a valid quoted-string.
  std::string description;
  for (const char c : failure.description) description += (c == '"' || c == '\\' || c < 0x20) ? '\'' : c;
  const std::string params =
      failure.error.empty() ? std::string()
                            : fmt::format(", error=\"{}\", error_description=\"{}\"", failure.error, description);
  return fmt::format("Bearer realm=\"writ-mcp\"{0}, DPoP realm=\"writ-mcp\", algs=\"ES256 EdDSA\"{0}", params);
}

}  // namespace writ::gateway
