// Token verification, the one library call every enforcement point uses (and POST /v1/introspect).
// Checks the JWS shape and header (jws.h), the alg allow-list, a known kid, the signature, exp and
// nbf with bounded skew, the issuer, the audience, that the token is not revoked and that its
// identity is still active. Verified tokens are cached until expiry (keyed by the token itself,
// see Shard); revocation is checked on every use, cached or not.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "common/mutex.h"
#include "token/claims.h"
#include "token/jws.h"

namespace writ::identity {
class Registry;
}

namespace writ::token {

class DpopVerifier;
class KeyRing;
class Revocations;

// A DPoP proof presented with a token (RFC 9449), for tokens bound to a key.
struct DpopPresentation {
  DpopVerifier* verifier = nullptr;  // borrowed; keeps the replay cache
  std::string_view proof;            // the DPoP header
  std::string_view method;
  std::string_view url;
};

struct VerifierOptions {
  std::string issuer;                          // required: tokens must carry exactly this iss
  std::string trust_domain = "writ.local";     // sub must be spiffe://<trust_domain>/agent/<name>
  std::chrono::seconds max_skew{30};           // tolerance for exp, nbf and iat
  JwsLimits limits;                            // size and depth bounds
  size_t cache_capacity = 1 << 16;             // verified tokens kept (across all shards)
  size_t max_delegation_depth = 4;             // nested `act` levels accepted
  const Clock* clock = nullptr;                // borrowed; nullptr = SystemClock()
};

struct VerifiedToken {
  Claims claims;
  std::string agent;      // the agent's name (from sub)
  std::string kid;
  TimePoint valid_until;  // min(exp + skew, the key's end of overlap): the cache keeps it until then
};

// Thread-safe. Borrows `keys`, `revocations` and `registry`: they must outlive the verifier. The
// constructor subscribes to the registry's changes (to keep its view of agent states current).
class Verifier {
 public:
  Verifier(const KeyRing& keys, const Revocations& revocations, identity::Registry& registry,
           VerifierOptions options);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // Verifies `token` for `audience` (it must be one of the token's aud values). A token bound to a
  // key (cnf.jkt) also needs `dpop`, a proof by that key for this request. Returns the verified
  // token (shared with the cache; immutable). Errors: a TokenError whose kind says why (jws.h);
  // kUnavailable when the identity's state could not be read.
  TokenResult<std::shared_ptr<const VerifiedToken>> Verify(std::string_view token, std::string_view audience,
                                                           const DpopPresentation* dpop = nullptr) const;

  // As Verify, but with no audience check and no proof required for bound tokens: for
  // introspection (RFC 7662 returns cnf, and the resource server checks the proof itself).
  TokenResult<std::shared_ptr<const VerifiedToken>> VerifyAnyAudience(std::string_view token) const;

  // Checks the signature with a known key and parses the claims, ignoring time, audience,
  // revocation and identity state: for RFC 7009 revocation of a token that may already be dead.
  TokenResult<Claims> VerifySignatureOnly(std::string_view token) const;

  size_t cached_tokens() const;
  const VerifierOptions& options() const { return options_; }

 private:
  // Verified tokens are kept by their full text; the hash reads only the signature's tail (its
  // bytes are uniformly random, and only verified tokens get in, so nobody can flood a bucket).
  // Hashing the whole token with SHA-256 cost more than the 200 ns budget of a cached verify.
  struct TailHash {
    using is_transparent = void;
    size_t operator()(std::string_view token) const noexcept;
  };
  struct Shard {
    mutable Mutex mu;
    std::unordered_map<std::string, std::shared_ptr<const VerifiedToken>, TailHash, std::equal_to<>> entries
        WRIT_GUARDED_BY(mu);
  };
  // Agent states seen by this verifier: filled from the registry on a miss, updated by the
  // registry's change listener (shared with it, so either may outlive the other).
  struct AgentStates {
    std::shared_mutex mu;
    std::unordered_map<std::string, std::pair<int64_t, bool>> active;  // name -> (version, active); guarded by mu
    // Records what version `version` says, unless a newer version is already known (a registry
    // read racing with a change listener must not resurrect an older state).
    void Record(const std::string& name, int64_t version, bool is_active);
  };
  static constexpr size_t kShards = 16;

  const Clock& clock() const { return options_.clock != nullptr ? *options_.clock : SystemClock(); }
  TokenResult<std::shared_ptr<const VerifiedToken>> VerifyImpl(std::string_view token, const std::string_view* audience,
                                                               const DpopPresentation* dpop, bool require_proof) const;
  TokenResult<std::shared_ptr<const VerifiedToken>> VerifyCold(std::string_view token, TimePoint now) const;
  // The rejection for revoked `claims`: kIdentityInactive when the whole identity was revoked
  // because it left the active state, else kRevoked. Nothing when not revoked.
  TokenResult<void> CheckRevocation(const Claims& claims) const;
  // kIdentityInactive unless `spiffe_id` names an active agent of the trust domain.
  TokenResult<void> CheckActive(const std::string& spiffe_id) const;
  TokenResult<void> CheckUse(const VerifiedToken& verified, const std::string_view* audience, TimePoint now) const;
  TokenResult<void> CheckProof(const VerifiedToken& verified, std::string_view token, const DpopPresentation* dpop) const;
  void Insert(std::string_view token, std::shared_ptr<const VerifiedToken> verified, TimePoint now) const;
  Shard& ShardFor(std::string_view token) const;

  const KeyRing& keys_;
  const Revocations& revocations_;
  identity::Registry& registry_;
  const VerifierOptions options_;
  mutable std::array<Shard, kShards> shards_;
  std::shared_ptr<AgentStates> agent_states_;
};

}  // namespace writ::token
