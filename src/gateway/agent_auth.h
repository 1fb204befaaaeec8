// Who is calling the Streamable HTTP proxy: the agent's writ token, presented as
// `Authorization: Bearer <jwt>` or, for a DPoP-bound token (cnf.jkt), `Authorization: DPoP <jwt>`
// with a `DPoP` proof (RFC 9449) for this request.
//
// Tokens are checked through writd's `POST /v1/introspect` (RFC 7662, on its Unix socket), not
// offline against the JWKS: an offline check cannot see revocations, agent suspension or
// retirement, which writd applies at once; introspection does, at the cost of one local request
// per new token. The answer is cached, keyed by the token's SHA-256, for at most `recheck`
// (default 5 s) and never past the token's exp, so a revoked token or a suspended agent is refused
// at the latest `recheck` after writd learnt of it. writd unreachable -> the request is refused
// (kUnavailable, fail closed); a cached answer is never stretched to cover an outage.
// DPoP proofs are verified here (signature, htm, htu, iat window, ath, one use per jti), and the
// proof key's thumbprint must equal the token's cnf.jkt; a bound token presented as Bearer is refused.
#pragma once
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "gateway/authzen_client.h"

namespace writ::gateway {

struct AgentAuthOptions {
  std::string audience;               // when not empty, the token's aud must include it
  std::chrono::seconds recheck{5};    // longest a cached introspection answer is trusted
  size_t cache_capacity = 4096;       // tokens cached; the cache is emptied when full
  size_t max_token_bytes = 8192;      // a longer Authorization value is refused unread
  std::chrono::milliseconds timeout{5'000};  // per introspection request
  std::chrono::seconds dpop_iat_window{60};
  const Clock* clock = nullptr;       // borrowed; nullptr = SystemClock()
};

// The credentials of one HTTP request.
struct AgentCredentials {
  std::string_view authorization;  // the Authorization header ("" when absent)
  std::string_view dpop;           // the DPoP header ("" when absent)
  size_t dpop_headers = 0;         // how many DPoP headers the request had (RFC 9449: exactly one)
  std::string_view method;         // "POST", "GET", "DELETE"
  std::string_view url;            // this request's URL as the proof's htu must name it
};

struct AuthenticatedAgent {
  std::string agent;  // the principal of the decisions
  std::string jti;
  std::string token;  // the token presented (a secret: never logged); decisions for the agent carry it
};

// Why a request was refused, for the 401 (or 503) answer.
struct AuthFailure {
  int status = 401;         // 401, or 503 when writd could not be asked
  std::string error;        // RFC 6750/9449 error code: "invalid_token", "invalid_dpop_proof",
                            // "invalid_request", or "" when no credentials were sent
  std::string description;  // lowercase sentence; never contains the token
};

// Thread-safe.
class AgentAuthenticator {
 public:
  virtual ~AgentAuthenticator() = default;
  // Errors are AuthFailure values (see above); a success names the agent.
  virtual tl::expected<AuthenticatedAgent, AuthFailure> Authenticate(const AgentCredentials& credentials) = 0;

  // As Authenticate when that needs neither a request to writd nor a DPoP proof check (a Bearer
  // token with a cached answer, or malformed credentials); nullopt otherwise: then call
  // Authenticate (off the I/O thread). Never blocks. This default always says nullopt.
  virtual std::optional<tl::expected<AuthenticatedAgent, AuthFailure>> TryAuthenticateCached(
      const AgentCredentials& credentials) {
    (void)credentials;
    return std::nullopt;
  }
};

// `transport` reaches writd (the same injection as NewAuthzenClient).
std::unique_ptr<AgentAuthenticator> NewIntrospectingAuthenticator(HttpTransport transport, AgentAuthOptions options = {});

// The WWW-Authenticate value for `failure`: a Bearer and a DPoP challenge (realm "writ-mcp").
std::string AuthChallenge(const AuthFailure& failure);

}  // namespace writ::gateway
