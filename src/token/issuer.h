// Issues tokens: compact JWS JWTs signed by the key ring's active key, for active agents only.
// TTL defaults to 5 minutes and is capped by the agent's max_ttl (and by the key overlap, so no
// token outlives the key that verifies it).
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "identity/identity.h"
#include "token/claims.h"

namespace writ::identity {
class Registry;
}

namespace writ::token {

class KeyRing;

inline constexpr std::chrono::seconds kDefaultTokenTtl{std::chrono::minutes(5)};
inline constexpr size_t kMaxAudienceLength = 256;
inline constexpr size_t kMaxTaskLength = 256;
inline constexpr size_t kMaxScopeLength = 1024;

struct IssuerOptions {
  std::string issuer;                          // required: the iss claim
  std::string default_audience = "writ";       // when a request names none
  std::chrono::seconds default_ttl = kDefaultTokenTtl;
  const Clock* clock = nullptr;                // borrowed; nullptr = SystemClock()
};

struct IssueRequest {
  std::string agent;                   // the agent's name
  std::vector<std::string> audience;   // empty = {default_audience}
  std::optional<std::chrono::seconds> ttl;
  std::string task;                    // "" = none
  std::string scope;                   // "" = none
};

struct IssuedToken {
  std::string token;  // the credential: never log it
  Claims claims;
  std::string kid;
};

// Thread-safe. Borrows `keys` and `registry`: they must outlive the issuer.
class Issuer {
 public:
  Issuer(KeyRing& keys, identity::Registry& registry, IssuerOptions options);

  // Looks the agent up and issues. Errors: kNotFound if there is no such agent;
  // kFailedPrecondition if it is not active; kInvalidArgument for a non-positive TTL or an
  // oversized audience, task or scope; kUnavailable if the registry cannot be read.
  Result<IssuedToken> Issue(const IssueRequest& request) const;

  // Issues for `agent` as given (already read from the registry). Errors: as Issue.
  Result<IssuedToken> IssueFor(const identity::Identity& agent, const IssueRequest& request) const;

  const IssuerOptions& options() const { return options_; }

 private:
  const Clock& clock() const { return options_.clock != nullptr ? *options_.clock : SystemClock(); }
  KeyRing& keys_;
  identity::Registry& registry_;
  const IssuerOptions options_;
};

}  // namespace writ::token
