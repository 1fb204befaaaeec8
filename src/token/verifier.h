// Token verification, the one library call every enforcement point uses (and POST /v1/introspect).
// Checks the JWS shape and header (jws.h), the alg allow-list, a known kid, the signature, exp and
// nbf with bounded skew, the issuer, the audience, that the token is not revoked and that its
// identity is still active. Verified tokens are cached until expiry, keyed by the SHA-256 of the
// token; revocation is checked on every use, cached or not.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "common/mutex.h"
#include "crypto/hash.h"
#include "token/claims.h"
#include "token/jws.h"

namespace writ::identity {
class Registry;
}

namespace writ::token {

class KeyRing;
class Revocations;

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

// Thread-safe. Borrows `keys`, `revocations` and `registry`: they must outlive the verifier.
class Verifier {
 public:
  Verifier(const KeyRing& keys, const Revocations& revocations, identity::Registry& registry,
           VerifierOptions options);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // Verifies `token` for `audience` (it must be one of the token's aud values). Returns the
  // verified token (shared with the cache; immutable). Errors: a TokenError whose kind says why
  // (jws.h); kUnavailable when the identity's state could not be read.
  TokenResult<std::shared_ptr<const VerifiedToken>> Verify(std::string_view token, std::string_view audience) const;

  // As Verify, but with no audience check (introspection by writd itself, revocation requests).
  TokenResult<std::shared_ptr<const VerifiedToken>> VerifyAnyAudience(std::string_view token) const;

  // Checks the signature with a known key and parses the claims, ignoring time, audience,
  // revocation and identity state: for RFC 7009 revocation of a token that may already be dead.
  TokenResult<Claims> VerifySignatureOnly(std::string_view token) const;

  size_t cached_tokens() const;
  const VerifierOptions& options() const { return options_; }

 private:
  struct DigestHash {
    size_t operator()(const crypto::Sha256Digest& digest) const noexcept;
  };
  struct Shard {
    mutable Mutex mu;
    std::unordered_map<crypto::Sha256Digest, std::shared_ptr<const VerifiedToken>, DigestHash> entries
        WRIT_GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 16;

  const Clock& clock() const { return options_.clock != nullptr ? *options_.clock : SystemClock(); }
  TokenResult<std::shared_ptr<const VerifiedToken>> VerifyImpl(std::string_view token, const std::string_view* audience) const;
  TokenResult<std::shared_ptr<const VerifiedToken>> VerifyCold(std::string_view token, TimePoint now) const;
  // The rejection for revoked `claims`: kIdentityInactive when the whole identity was revoked
  // because it left the active state, else kRevoked. Nothing when not revoked.
  TokenResult<void> CheckRevocation(const Claims& claims) const;
  // kIdentityInactive unless `spiffe_id` names an active agent of the trust domain.
  TokenResult<void> CheckActive(const std::string& spiffe_id) const;
  TokenResult<void> CheckUse(const VerifiedToken& verified, const std::string_view* audience, TimePoint now) const;
  void Insert(const crypto::Sha256Digest& digest, std::shared_ptr<const VerifiedToken> verified, TimePoint now) const;

  const KeyRing& keys_;
  const Revocations& revocations_;
  identity::Registry& registry_;
  const VerifierOptions options_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace writ::token
