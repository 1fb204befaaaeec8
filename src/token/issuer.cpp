#include "token/issuer.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/ids.h"
#include "identity/registry.h"
#include "token/jws.h"
#include "token/key_ring.h"

namespace writ::token {

Issuer::Issuer(KeyRing& keys, identity::Registry& registry, IssuerOptions options)
    : keys_(keys), registry_(registry), options_(std::move(options)) {}

Result<IssuedToken> Issuer::Issue(const IssueRequest& request) const {
  WRIT_ASSIGN_OR_RETURN(const identity::Identity agent, registry_.Get(identity::Kind::kAgent, request.agent));
  return IssueFor(agent, request);
}

Result<IssuedToken> Issuer::IssueFor(const identity::Identity& agent, const IssueRequest& request) const {
  if (agent.kind != identity::Kind::kAgent) {
    return Fail(Code::kInvalidArgument, fmt::format("only agents get tokens; `{}` is a {}", agent.name,
                                                    identity::KindName(agent.kind)));
  }
  if (agent.state != identity::State::kActive) {
    return Fail(Code::kFailedPrecondition,
                fmt::format("agent `{}` is {}: only active agents get tokens", agent.name, identity::StateName(agent.state)));
  }
  std::chrono::seconds ttl = request.ttl.value_or(options_.default_ttl);
  if (ttl.count() <= 0) return Fail(Code::kInvalidArgument, "ttl must be positive");
  ttl = std::min({ttl, agent.max_ttl, keys_.options().overlap});
  if (request.task.size() > kMaxTaskLength) return Fail(Code::kInvalidArgument, "task is too long");
  if (request.scope.size() > kMaxScopeLength) return Fail(Code::kInvalidArgument, "scope is too long");
  if (request.audience.size() > 16) return Fail(Code::kInvalidArgument, "at most 16 audiences");
  for (const std::string& audience : request.audience) {
    if (audience.empty() || audience.size() > kMaxAudienceLength) {
      return Fail(Code::kInvalidArgument, "each audience must have 1 to 256 characters");
    }
  }

  const TimePoint now = clock().Now();
  const auto signing_key = keys_.Active();
  if (!signing_key->private_key) return Fail(Code::kInternal, "the active signing key has no private key");
  IssuedToken issued;
  Claims& claims = issued.claims;
  claims.iss = options_.issuer;
  claims.sub = agent.spiffe_id;
  claims.aud = request.audience.empty() ? std::vector<std::string>{options_.default_audience} : request.audience;
  claims.iat = ToUnixSeconds(now);
  claims.nbf = claims.iat;
  claims.exp = claims.iat + ttl.count();
  claims.jti = NewUuidV7(clock());
  claims.task = request.task;
  claims.scope = request.scope;
  WRIT_ASSIGN_OR_RETURN(issued.token, SignCompact(*signing_key->private_key, signing_key->kid, "JWT",
                                                  SerializeClaims(claims)));
  issued.kid = signing_key->kid;
  return issued;
}

}  // namespace writ::token
