#include "token/verifier.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <mutex>

#include <fmt/format.h>

#include "common/encoding.h"

#include "identity/registry.h"
#include "token/dpop.h"
#include "token/key_ring.h"
#include "token/revocation.h"

namespace writ::token {

size_t Verifier::TailHash::operator()(std::string_view token) const noexcept {
  constexpr size_t kTail = 32;
  return std::hash<std::string_view>()(token.size() > kTail ? token.substr(token.size() - kTail) : token);
}

Verifier::Verifier(const KeyRing& keys, const Revocations& revocations, identity::Registry& registry,
                   VerifierOptions options)
    : keys_(keys),
      revocations_(revocations),
      registry_(registry),
      options_(std::move(options)),
      agent_states_(std::make_shared<AgentStates>()) {
  registry.AddListener([states = agent_states_](const identity::Version& version) {
    if (version.identity.kind != identity::Kind::kAgent) return;
    states->Record(version.identity.name, version.identity.version, version.identity.state == identity::State::kActive);
  });
}

void Verifier::AgentStates::Record(const std::string& name, int64_t version, bool is_active) {
  std::unique_lock lock(mu);
  auto [slot, inserted] = active.try_emplace(name, version, is_active);
  if (!inserted && slot->second.first <= version) slot->second = {version, is_active};
}

Verifier::Shard& Verifier::ShardFor(std::string_view token) const {
  return shards_[TailHash()(token) % kShards];
}

Verifier::~Verifier() = default;

TokenResult<std::shared_ptr<const VerifiedToken>> Verifier::Verify(std::string_view token, std::string_view audience,
                                                                  const DpopPresentation* dpop) const {
  return VerifyImpl(token, &audience, dpop, true);
}

TokenResult<std::shared_ptr<const VerifiedToken>> Verifier::VerifyAnyAudience(std::string_view token) const {
  return VerifyImpl(token, nullptr, nullptr, false);
}

TokenResult<void> Verifier::CheckProof(const VerifiedToken& verified, std::string_view token,
                                       const DpopPresentation* dpop) const {
  const Claims& claims = verified.claims;
  if (dpop == nullptr || dpop->verifier == nullptr || dpop->proof.empty()) {
    return Reject(TokenErrorKind::kDpopRequired,
                  fmt::format("token `{}` is bound to a key: present it with a DPoP proof", claims.jti));
  }
  auto thumbprint = dpop->verifier->Verify({dpop->proof, dpop->method, dpop->url, token});
  if (!thumbprint) return tl::unexpected(std::move(thumbprint).error());
  if (!ConstantTimeEquals(*thumbprint, claims.cnf_jkt)) {
    return Reject(TokenErrorKind::kDpopMismatch, fmt::format("dpop proof for token `{}` is signed by another key", claims.jti));
  }
  return {};
}

TokenResult<void> Verifier::CheckUse(const VerifiedToken& verified, const std::string_view* audience,
                                     TimePoint now) const {
  const Claims& claims = verified.claims;
  if (now >= verified.valid_until) {
    if (ToUnixSeconds(now) > claims.exp + options_.max_skew.count()) {
      return Reject(TokenErrorKind::kExpired,
                    fmt::format("token `{}` expired {}s ago", claims.jti, ToUnixSeconds(now) - claims.exp));
    }
    return Reject(TokenErrorKind::kUnknownKid, fmt::format("key `{}` of token `{}` was retired", verified.kid, claims.jti));
  }
  if (audience != nullptr && std::find(claims.aud.begin(), claims.aud.end(), *audience) == claims.aud.end()) {
    return Reject(TokenErrorKind::kWrongAudience, fmt::format("token `{}` is not meant for audience `{}`", claims.jti,
                                                              audience->substr(0, 128)));
  }
  return CheckRevocation(claims);
}

TokenResult<void> Verifier::CheckRevocation(const Claims& claims) const {
  const Revocations::Status status = revocations_.Check(claims);
  if (status == Revocations::Status::kNotRevoked) return {};
  if (status == Revocations::Status::kBySubject) {
    // Rare path (a refusal): say whether the identity (or the current actor) is no longer active.
    if (auto active = CheckActive(claims.sub); !active) return active;
    if (!claims.act.is_null()) {
      if (auto active = CheckActive(CurrentActor(claims)); !active) return active;
    }
    return Reject(TokenErrorKind::kRevoked, fmt::format("token `{}` was revoked with every earlier token of its agent", claims.jti));
  }
  return Reject(TokenErrorKind::kRevoked, fmt::format("token `{}` was revoked", claims.jti));
}

TokenResult<std::shared_ptr<const VerifiedToken>> Verifier::VerifyImpl(std::string_view token,
                                                                      const std::string_view* audience,
                                                                      const DpopPresentation* dpop,
                                                                      bool require_proof) const {
  if (token.size() > options_.limits.max_bytes) {
    return Reject(TokenErrorKind::kOversize,
                  fmt::format("token is {} bytes, more than the limit of {}", token.size(), options_.limits.max_bytes));
  }
  const TimePoint now = clock().Now();
  Shard& shard = ShardFor(token);
  std::shared_ptr<const VerifiedToken> cached;
  {
    MutexLock lock(shard.mu);
    const auto found = shard.entries.find(token);
    if (found != shard.entries.end()) cached = found->second;
  }
  if (cached == nullptr) {
    auto verified = VerifyCold(token, now);
    if (!verified) return verified;
    cached = std::move(*verified);
    Insert(token, cached, now);
  }
  auto usable = CheckUse(*cached, audience, now);
  if (!usable) return tl::unexpected(std::move(usable).error());
  if (require_proof && !cached->claims.cnf_jkt.empty()) {
    auto proven = CheckProof(*cached, token, dpop);
    if (!proven) return tl::unexpected(std::move(proven).error());
  }
  return cached;
}

TokenResult<std::shared_ptr<const VerifiedToken>> Verifier::VerifyCold(std::string_view token, TimePoint now) const {
  auto parsed = ParseCompact(token, options_.limits);
  if (!parsed) return tl::unexpected(std::move(parsed).error());
  const auto key = keys_.Find(parsed->kid);
  if (key == nullptr) {
    return Reject(TokenErrorKind::kUnknownKid, fmt::format("no verifying key `{}`", parsed->kid));
  }
  auto signature = VerifySignature(*parsed, key->public_key);
  if (!signature) return tl::unexpected(std::move(signature).error());
  auto claims = ParseClaims(parsed->payload);
  if (!claims) return tl::unexpected(std::move(claims).error());

  if (!ConstantTimeEquals(claims->iss, options_.issuer)) {
    return Reject(TokenErrorKind::kWrongIssuer, fmt::format("token `{}` was not issued by `{}`", claims->jti, options_.issuer));
  }
  const int64_t now_s = ToUnixSeconds(now);
  const int64_t skew = options_.max_skew.count();
  if (now_s > claims->exp + skew) {
    return Reject(TokenErrorKind::kExpired, fmt::format("token `{}` expired {}s ago", claims->jti, now_s - claims->exp));
  }
  if (claims->nbf > now_s + skew || claims->iat > now_s + skew) {
    return Reject(TokenErrorKind::kNotYetValid,
                  fmt::format("token `{}` is not valid for another {}s", claims->jti,
                              std::max(claims->nbf, claims->iat) - now_s));
  }
  std::string agent = AgentNameFromSpiffeId(claims->sub, options_.trust_domain);
  if (agent.empty()) {
    return Reject(TokenErrorKind::kMalformed, fmt::format("token `{}` has a subject outside trust domain `{}`",
                                                          claims->jti, options_.trust_domain));
  }
  if (auto revoked = CheckRevocation(*claims); !revoked) return tl::unexpected(std::move(revoked).error());
  if (auto active = CheckActive(claims->sub); !active) return tl::unexpected(std::move(active).error());
  if (!claims->act.is_null()) {
    if (DelegationDepth(claims->act) > options_.max_delegation_depth) {
      return Reject(TokenErrorKind::kMalformed, fmt::format("token `{}` has a delegation chain deeper than {}", claims->jti,
                                                            options_.max_delegation_depth));
    }
    if (auto active = CheckActive(CurrentActor(*claims)); !active) return tl::unexpected(std::move(active).error());
  }
  auto verified = std::make_shared<VerifiedToken>();
  const TimePoint exp_deadline = TimePoint(std::chrono::seconds(claims->exp + skew + 1));
  verified->valid_until = std::min(exp_deadline, keys_.ValidUntil(*key).value_or(TimePoint::min()));
  verified->claims = std::move(*claims);
  verified->agent = std::move(agent);
  verified->kid = key->kid;
  return std::shared_ptr<const VerifiedToken>(std::move(verified));
}

TokenResult<void> Verifier::CheckActive(const std::string& spiffe_id) const {
  const std::string agent = AgentNameFromSpiffeId(spiffe_id, options_.trust_domain);
  if (agent.empty()) {
    return Reject(TokenErrorKind::kMalformed, fmt::format("`{}` is not an agent of trust domain `{}`",
                                                          std::string_view(spiffe_id).substr(0, 128), options_.trust_domain));
  }
  {
    std::shared_lock lock(agent_states_->mu);
    const auto known = agent_states_->active.find(agent);
    if (known != agent_states_->active.end() && known->second.second) return {};
  }
  // Unknown (or known inactive: read again to say why).
  auto identity = registry_.Get(identity::Kind::kAgent, agent);
  if (!identity) {
    if (identity.error().code == Code::kNotFound) {
      return Reject(TokenErrorKind::kIdentityInactive, fmt::format("agent `{}` no longer exists", agent));
    }
    return Reject(TokenErrorKind::kUnavailable, fmt::format("agent `{}` could not be read", agent));
  }
  agent_states_->Record(agent, identity->version, identity->state == identity::State::kActive);
  if (identity->state != identity::State::kActive) {
    return Reject(TokenErrorKind::kIdentityInactive, fmt::format("agent `{}` is {}", agent, identity::StateName(identity->state)));
  }
  return {};
}

TokenResult<Claims> Verifier::VerifySignatureOnly(std::string_view token) const {
  auto parsed = ParseCompact(token, options_.limits);
  if (!parsed) return tl::unexpected(std::move(parsed).error());
  const auto key = keys_.Find(parsed->kid);
  if (key == nullptr) return Reject(TokenErrorKind::kUnknownKid, fmt::format("no verifying key `{}`", parsed->kid));
  auto signature = VerifySignature(*parsed, key->public_key);
  if (!signature) return tl::unexpected(std::move(signature).error());
  return ParseClaims(parsed->payload);
}

void Verifier::Insert(std::string_view token, std::shared_ptr<const VerifiedToken> verified, TimePoint now) const {
  Shard& shard = ShardFor(token);
  const size_t shard_capacity = std::max<size_t>(1, options_.cache_capacity / kShards);
  MutexLock lock(shard.mu);
  if (shard.entries.size() >= shard_capacity) {
    std::erase_if(shard.entries, [now](const auto& entry) { return now >= entry.second->valid_until; });
    // Still full of live tokens: start over rather than grow without bound.
    if (shard.entries.size() >= shard_capacity) shard.entries.clear();
  }
  shard.entries.emplace(std::string(token), std::move(verified));
}

size_t Verifier::cached_tokens() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    MutexLock lock(shard.mu);
    total += shard.entries.size();
  }
  return total;
}

}  // namespace writ::token
