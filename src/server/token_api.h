// The token API (module token behind HTTP):
//   GET  /.well-known/jwks.json      the verifying keys (current and those inside the overlap)
//   GET  /.well-known/spiffe-bundle  the same as a SPIFFE bundle (use jwt-svid, spiffe_sequence,
//                                    spiffe_refresh_hint)
//   POST /v1/token       issue: by attestation of the Unix-socket peer (no secret; optional
//                        "pid" of a child of the caller, for `writ run`), or for a named "agent"
//                        by an administrator; or RFC 8693 token exchange (grant_type
//                        urn:ietf:params:oauth:grant-type:token-exchange, subject_token,
//                        actor_token): delegation with a nested `act`. Form-encoded or JSON.
//                        A `DPoP` proof header (RFC 9449, htu http://<Host>/v1/token) binds the
//                        token to the proof's key (cnf.jkt, token_type DPoP).
//   POST /v1/introspect  RFC 7662 (Unix-socket callers): {"active":false} or the claims
//   POST /v1/revoke      RFC 7009 "token" (always 200); administrators may also send "jti" or
//                        "agent" (every token of the agent)
//   GET  /v1/keys, POST /v1/keys/rotate   administrators: list and rotate signing keys
// Formats: docs/tokens.md.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "server/admin.h"
#include "server/config.h"
#include "server/router.h"

namespace writ::identity {
class Registry;
}
namespace writ::store {
class TokenStore;
}
namespace writ::token {
class KeyRing;
class Issuer;
class Revocations;
class Verifier;
class Exchanger;
class DpopVerifier;
}  // namespace writ::token

namespace writ::server {

struct TokenServiceOptions {
  std::string data_dir;                         // holds master.key
  std::string trust_domain = "writ.local";      // sub = spiffe://<trust_domain>/agent/<name>
  TokenConfig token{};                          // the config's `token:` section
  // Rotation check and revocation pruning; nullopt = 30 s, or less for a short rotation period.
  std::optional<std::chrono::seconds> maintenance_interval{};
};

// The token module's objects for one writd, plus a background thread that rotates keys when due
// and prunes dead revocations.
class TokenService {
 public:
  // Loads (or creates) the master key and signing keys, loads revocations, subscribes to identity
  // changes (deactivation revokes tokens) and starts maintenance. `store` and `registry` are
  // borrowed and must outlive the service. Errors: those of LoadOrCreateMasterKey, KeyRing::Open
  // and Revocations::Open.
  static Result<std::unique_ptr<TokenService>> Open(store::TokenStore& store, identity::Registry& registry,
                                                    const TokenServiceOptions& options);
  ~TokenService();

  token::KeyRing& keys();
  token::Issuer& issuer();
  token::Verifier& verifier();
  token::Revocations& revocations();
  identity::Registry& registry();
  token::Exchanger& exchanger();
  token::DpopVerifier& dpop();

 private:
  struct Impl;
  explicit TokenService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Adds the routes above. `service` and `access` are borrowed: they must outlive `router`.
void AddTokenRoutes(Router& router, TokenService& service, const AdminAccess& access);

}  // namespace writ::server
