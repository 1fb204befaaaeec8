// Storage of the token module: signing keys (sealed by the caller: this store never sees a
// private key in clear) and revocations (by jti and by identity). Every write returns only once
// durable, so a revocation is acknowledged only after it survives a crash.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace writ::store {

// One signing key. `sealed_private_key` is AES-256-GCM output (token module's format).
struct SigningKeyRecord {
  std::string kid;                 // RFC 7638 thumbprint; unique
  std::string algorithm;           // "ES256" | "EdDSA"
  std::string sealed_private_key;  // nonce ‖ ciphertext ‖ tag
  int64_t created_at_ms = 0;
  int64_t retired_at_ms = 0;       // 0 = the active key; else when it stopped signing
  int64_t sequence = 0;            // increases with each key (1 for the first)
};

struct JtiRevocation {
  std::string jti;
  std::string subject;        // the token's sub, for listing
  int64_t expires_at_ms = 0;  // after this the record may be pruned (the token is dead anyway)
  int64_t revoked_at_ms = 0;
};

// Every token of `subject` issued at or before `revoked_before_s` (NumericDate) is revoked.
struct SubjectRevocation {
  std::string subject;
  int64_t revoked_before_s = 0;
};

// Thread-safe.
class TokenStore {
 public:
  virtual ~TokenStore() = default;

  // Adds a key, and in the same transaction marks `retire_kid` (when not empty) retired at
  // `record.created_at_ms`. Errors: kConflict if the kid exists; kUnavailable.
  virtual Status AddSigningKey(const SigningKeyRecord& record, const std::string& retire_kid) = 0;
  // Every key, oldest first. Errors: kUnavailable.
  virtual Result<std::vector<SigningKeyRecord>> SigningKeys() = 0;
  // Deletes keys retired before `retired_before_ms`. Errors: kUnavailable.
  virtual Status DeleteRetiredKeys(int64_t retired_before_ms) = 0;

  // Records a revocation (idempotent: a second one for the same jti succeeds). Errors: kUnavailable.
  virtual Status RevokeJti(const JtiRevocation& revocation) = 0;
  // Records (or raises) a subject's cut-off. Errors: kUnavailable.
  virtual Status RevokeSubject(const SubjectRevocation& revocation) = 0;
  virtual Result<std::vector<JtiRevocation>> JtiRevocations() = 0;
  virtual Result<std::vector<SubjectRevocation>> SubjectRevocations() = 0;
  // Deletes jti revocations that expired before `now_ms`. Errors: kUnavailable.
  virtual Status PruneJtiRevocations(int64_t now_ms) = 0;
};

}  // namespace writ::store
