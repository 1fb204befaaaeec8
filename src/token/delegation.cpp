#include "token/delegation.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/ids.h"
#include "identity/registry.h"
#include "token/jws.h"
#include "token/key_ring.h"
#include "token/verifier.h"

namespace writ::token {
namespace {

std::set<std::string, std::less<>> Split(std::string_view text, std::string_view separators) {
  std::set<std::string, std::less<>> items;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find_first_of(separators, start);
    const std::string_view item = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!item.empty()) items.emplace(item);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return items;
}

}  // namespace

bool ScopeIsSubset(std::string_view requested, std::string_view granted) {
  const auto allowed = Split(granted, " ");
  for (const std::string& scope : Split(requested, " ")) {
    if (allowed.find(scope) == allowed.end()) return false;
  }
  return true;
}

Exchanger::Exchanger(const Verifier& verifier, KeyRing& keys, identity::Registry& registry, ExchangeOptions options)
    : verifier_(verifier), keys_(keys), registry_(registry), options_(std::move(options)) {}

Result<IssuedToken> Exchanger::Exchange(const ExchangeRequest& request) const {
  auto subject = verifier_.Verify(request.subject_token, "writ");
  if (!subject) {
    Error error = subject.error().ToError();
    error.message = "subject_token: " + error.message;
    return Fail(std::move(error));
  }
  auto actor = verifier_.Verify(request.actor_token, "writ");
  if (!actor) {
    Error error = actor.error().ToError();
    error.message = "actor_token: " + error.message;
    return Fail(std::move(error));
  }
  const Claims& parent = (*subject)->claims;
  const std::string& actor_name = (*actor)->agent;
  // The actor acts as itself: a delegated token cannot serve as an actor token.
  if (!(*actor)->claims.act.is_null()) {
    return Fail(Code::kPermissionDenied, "actor_token must be the actor's own token, not a delegated one");
  }
  WRIT_ASSIGN_OR_RETURN(const identity::Identity subject_agent, registry_.Get(identity::Kind::kAgent, (*subject)->agent));
  const auto label = subject_agent.labels.find(std::string(kMayActLabel));
  const bool may_act = label != subject_agent.labels.end() && Split(label->second, ", ").count(actor_name) > 0;
  if (!may_act) {
    return Fail(Code::kPermissionDenied, fmt::format("agent `{}` may not act for agent `{}` (its `{}` label does not name it)",
                                                     actor_name, subject_agent.name, kMayActLabel));
  }
  if (!parent.scope.empty() && !ScopeIsSubset(request.scope, parent.scope)) {
    return Fail(Code::kPermissionDenied, "the requested scope is not a subset of the subject token's scope");
  }
  json::Value act;
  act.Set("sub", (*actor)->claims.sub);
  if (!parent.act.is_null()) act.Set("act", parent.act);
  if (DelegationDepth(act) > options_.max_depth) {
    return Fail(Code::kPermissionDenied,
                fmt::format("the delegation chain would be {} actors deep; at most {}", DelegationDepth(act), options_.max_depth));
  }
  const TimePoint now = clock().Now();
  const int64_t now_s = ToUnixSeconds(now);
  int64_t exp = parent.exp;
  if (request.ttl) {
    if (request.ttl->count() <= 0) return Fail(Code::kInvalidArgument, "ttl must be positive");
    exp = std::min(exp, now_s + request.ttl->count());
  }
  if (exp <= now_s) return Fail(Code::kUnauthenticated, "subject_token has no lifetime left to delegate");

  IssuedToken issued;
  Claims& claims = issued.claims;
  claims.iss = options_.issuer;
  claims.sub = parent.sub;
  claims.aud = request.audience.empty() ? parent.aud : request.audience;
  claims.iat = now_s;
  claims.nbf = now_s;
  claims.exp = exp;
  claims.jti = NewUuidV7(clock());
  claims.task = parent.task;
  claims.scope = request.scope.empty() ? parent.scope : request.scope;
  claims.act = std::move(act);
  const auto signing_key = keys_.Active();
  if (!signing_key->private_key) return Fail(Code::kInternal, "the active signing key has no private key");
  WRIT_ASSIGN_OR_RETURN(issued.token, SignCompact(*signing_key->private_key, signing_key->kid, "JWT", SerializeClaims(claims)));
  issued.kid = signing_key->kid;
  return issued;
}

}  // namespace writ::token
