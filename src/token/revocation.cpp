#include "token/revocation.h"

#include <mutex>

#include "common/log.h"
#include "identity/registry.h"
#include "store/token_store.h"
#include "token/claims.h"

namespace writ::token {

Result<std::unique_ptr<Revocations>> Revocations::Open(store::TokenStore& store, const Clock* clock) {
  std::unique_ptr<Revocations> revocations(new Revocations(store, clock));
  WRIT_ASSIGN_OR_RETURN(const auto jtis, store.JtiRevocations());
  WRIT_ASSIGN_OR_RETURN(const auto subjects, store.SubjectRevocations());
  std::unique_lock lock(revocations->mu_);
  for (const auto& record : jtis) revocations->jtis_[record.jti] = record.expires_at_ms;
  for (const auto& record : subjects) revocations->subjects_[record.subject] = record.revoked_before_s;
  return revocations;
}

writ::Status Revocations::RevokeJti(const std::string& jti, const std::string& subject, TimePoint expires_at) {
  if (jti.empty()) return Fail(Code::kInvalidArgument, "jti is empty");
  const int64_t expires_at_ms = ToUnixMillis(expires_at);
  {
    // In memory first: even if the store fails, this process refuses the token from now on.
    std::unique_lock lock(mu_);
    int64_t& slot = jtis_[jti];
    slot = std::max(slot, expires_at_ms);
  }
  WRIT_RETURN_IF_ERROR(store_.RevokeJti({jti, subject, expires_at_ms, ToUnixMillis(clock().Now())}));
  log::Info("token revoked", {{"jti", jti}, {"sub", subject}});
  return Ok();
}

writ::Status Revocations::RevokeSubject(const std::string& subject) {
  if (subject.empty()) return Fail(Code::kInvalidArgument, "subject is empty");
  const int64_t before_s = ToUnixSeconds(clock().Now());
  {
    std::unique_lock lock(mu_);
    int64_t& slot = subjects_[subject];
    slot = std::max(slot, before_s);
  }
  WRIT_RETURN_IF_ERROR(store_.RevokeSubject({subject, before_s}));
  log::Info("every token of a subject revoked", {{"sub", subject}, {"revoked_before", before_s}});
  return Ok();
}

Revocations::Status Revocations::Check(const Claims& claims) const {
  std::shared_lock lock(mu_);
  if (!jtis_.empty() && jtis_.find(claims.jti) != jtis_.end()) return Status::kByJti;
  if (subjects_.empty()) return Status::kNotRevoked;
  const auto subject = subjects_.find(claims.sub);
  if (subject != subjects_.end() && claims.iat <= subject->second) return Status::kBySubject;
  if (claims.act.is_null()) return Status::kNotRevoked;
  // A delegated token dies with its current actor's tokens too.
  const auto actor = subjects_.find(CurrentActor(claims));
  return actor != subjects_.end() && claims.iat <= actor->second ? Status::kBySubject : Status::kNotRevoked;
}

bool Revocations::IsJtiRevoked(std::string_view jti) const {
  std::shared_lock lock(mu_);
  return jtis_.find(std::string(jti)) != jtis_.end();
}

writ::Status Revocations::Prune() {
  const int64_t now_ms = ToUnixMillis(clock().Now());
  WRIT_RETURN_IF_ERROR(store_.PruneJtiRevocations(now_ms));
  std::unique_lock lock(mu_);
  std::erase_if(jtis_, [now_ms](const auto& entry) { return entry.second < now_ms; });
  return Ok();
}

size_t Revocations::revoked_jtis() const {
  std::shared_lock lock(mu_);
  return jtis_.size();
}

void RevokeOnDeactivation(identity::Registry& registry, Revocations& revocations) {
  registry.AddListener([&revocations](const identity::Version& version) {
    const identity::Identity& changed = version.identity;
    if (changed.kind != identity::Kind::kAgent || changed.state == identity::State::kActive) return;
    if (auto revoked = revocations.RevokeSubject(changed.spiffe_id); !revoked) {
      // The verifier also checks the identity's state on every cold verify, so this fails closed.
      log::Error("could not persist the revocation of an identity's tokens",
                 {{"identity", changed.name}, {"error", revoked.error().message}});
    }
  });
}

}  // namespace writ::token
