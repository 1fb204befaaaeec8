// The claims of a writ token (a JWT-SVID-compatible access token): iss, sub (the agent's SPIFFE
// ID), aud (always present), exp, iat, nbf, jti, and task and scope when given.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "token/jws.h"

namespace writ::token {

struct Claims {
  std::string iss;
  std::string sub;                // spiffe://<trust-domain>/agent/<name>
  std::vector<std::string> aud;   // INVARIANT (parsed or issued): non-empty
  int64_t exp = 0;                // NumericDate, seconds
  int64_t iat = 0;
  int64_t nbf = 0;
  std::string jti;                // UUIDv7
  std::string task;               // "" = none
  std::string scope;              // space-separated; "" = none
  // RFC 8693 delegation: {"sub":<actor>,"act":{...earlier actors}} (the outermost is the current
  // actor); null when the token was not obtained by exchange.
  json::Value act;

  friend bool operator==(const Claims&, const Claims&) = default;
};

// Compact JSON of the claims, members in a fixed order (aud as a string when it has one value).
std::string SerializeClaims(const Claims& claims);

// The claims as a JSON object (for introspection and `writ token inspect`).
json::Value ClaimsToJson(const Claims& claims);

// Parses a JWT payload. Required: iss, sub, aud (string or non-empty array of strings), exp, iat,
// jti; nbf defaults to iat. Unknown claims are ignored. Errors: kMalformed naming the claim.
TokenResult<Claims> ParseClaims(std::string_view payload);

// Number of nested actors in `act` (0 for null). Stops counting past 64.
size_t DelegationDepth(const json::Value& act);

// The `sub` of the outermost actor, or "" when there is none.
std::string CurrentActor(const Claims& claims);

// The agent name in `spiffe_id` when it is spiffe://<trust_domain>/agent/<name>, else "".
std::string AgentNameFromSpiffeId(std::string_view spiffe_id, std::string_view trust_domain);

}  // namespace writ::token
