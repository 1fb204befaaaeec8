// Delegation by RFC 8693 token exchange: an agent (the actor, proven by its own token) obtains a
// token that acts for another agent (the subject, proven by the subject's token), with a nested
// `act` claim recording the chain. Scope and lifetime only shrink; the chain depth is bounded; the
// actor must be allowed to act for the subject (the subject agent's `may_act` label lists it).
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "token/issuer.h"

namespace writ::identity {
class Registry;
}

namespace writ::token {

class KeyRing;
class Verifier;

inline constexpr size_t kDefaultMaxDelegationDepth = 4;
// The label on the subject agent that names who may act for it: agent names separated by commas
// or spaces, e.g. may_act=summarizer,fetcher.
inline constexpr std::string_view kMayActLabel = "may_act";

struct ExchangeOptions {
  std::string issuer;                              // as the Issuer's
  size_t max_depth = kDefaultMaxDelegationDepth;   // nested actors allowed in the result
  const Clock* clock = nullptr;                    // borrowed; nullptr = SystemClock()
};

struct ExchangeRequest {
  std::string subject_token;               // the delegating agent's token (audience `writ`)
  std::string actor_token;                 // the acting agent's own token (audience `writ`)
  std::vector<std::string> audience;       // empty = the subject token's audience
  std::string scope;                       // "" = the subject token's scope; else a subset of it
  std::optional<std::chrono::seconds> ttl; // capped by the subject token's remaining lifetime
};

// Thread-safe. Borrows everything: it must outlive the exchanger.
class Exchanger {
 public:
  Exchanger(const Verifier& verifier, KeyRing& keys, identity::Registry& registry, ExchangeOptions options);

  // Errors: kUnauthenticated when either token fails verification (the message says which and
  // why); kPermissionDenied when the actor may not act for the subject, the scope would grow, or
  // the chain would exceed max_depth; kInvalidArgument for a non-positive TTL; kUnavailable.
  Result<IssuedToken> Exchange(const ExchangeRequest& request) const;

 private:
  const Clock& clock() const { return options_.clock != nullptr ? *options_.clock : SystemClock(); }
  const Verifier& verifier_;
  KeyRing& keys_;
  identity::Registry& registry_;
  const ExchangeOptions options_;
};

// True when every space-separated scope in `requested` is one of `granted`'s.
bool ScopeIsSubset(std::string_view requested, std::string_view granted);

}  // namespace writ::token
