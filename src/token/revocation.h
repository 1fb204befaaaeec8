// Revocations: one token by jti, or every token of a subject issued up to an instant. A revocation
// is durable before the call returns and effective in this process at once; IsRevoked is checked
// on every use of a token, cached or not.
#pragma once
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "common/result.h"

namespace writ::identity {
class Registry;
}
namespace writ::store {
class TokenStore;
}

namespace writ::token {

struct Claims;

// Thread-safe. IsRevoked takes only a shared lock.
class Revocations {
 public:
  // Loads the stored revocations. `store` is borrowed and must outlive the result; `clock` may be
  // nullptr (SystemClock). Errors: kUnavailable.
  static Result<std::unique_ptr<Revocations>> Open(store::TokenStore& store, const Clock* clock = nullptr);

  // Revokes the token `jti` (of `subject`, valid until `expires_at`). Idempotent.
  // Errors: kInvalidArgument for an empty jti; kUnavailable if it could not be made durable (then
  // it is not acknowledged, but it is still refused in this process: fail closed).
  writ::Status RevokeJti(const std::string& jti, const std::string& subject, TimePoint expires_at);

  // Revokes every token of `subject` issued at or before now. Errors: as RevokeJti.
  writ::Status RevokeSubject(const std::string& subject);

  enum class Status : uint8_t { kNotRevoked, kByJti, kBySubject };
  // Whether `claims` is revoked, and how.
  Status Check(const Claims& claims) const;
  bool IsRevoked(const Claims& claims) const { return Check(claims) != Status::kNotRevoked; }
  bool IsJtiRevoked(std::string_view jti) const;

  // Forgets (in memory and in the store) jti revocations whose tokens have expired.
  writ::Status Prune();

  size_t revoked_jtis() const;

 private:
  Revocations(store::TokenStore& store, const Clock* clock) : store_(store), clock_(clock) {}
  const Clock& clock() const { return clock_ != nullptr ? *clock_ : SystemClock(); }

  store::TokenStore& store_;
  const Clock* clock_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, int64_t> jtis_;       // jti -> expires_at_ms  (guarded by mu_)
  std::unordered_map<std::string, int64_t> subjects_;   // sub -> revoked_before_s (guarded by mu_)
};

// Revokes every token of an agent when it leaves the active state (suspend, revoke, retire), by
// subscribing to `registry`. Both are borrowed and must outlive each other's use.
void RevokeOnDeactivation(identity::Registry& registry, Revocations& revocations);

}  // namespace writ::token
