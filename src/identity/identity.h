// The non-human identity registry's data model: agents (non-human identities with an accountable
// human owner, a risk tier and attestation selectors), humans (owners, approvers, administrators)
// and groups (membership for both). Every identity has a lifecycle state and a version.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace writ::identity {

// Stored and shown by name ("agent", "human", "group"): never rename.
enum class Kind : uint8_t { kAgent, kHuman, kGroup };
// Stored and shown by name ("active", ...): never rename.
enum class State : uint8_t { kActive, kSuspended, kRevoked, kRetired };
enum class Tier : uint8_t { kLow, kMedium, kHigh };

std::string_view KindName(Kind kind);
std::string_view StateName(State state);
std::string_view TierName(Tier tier);
// Errors: kInvalidArgument naming the accepted values.
Result<Kind> ParseKind(std::string_view text);
Result<State> ParseState(std::string_view text);
Result<Tier> ParseTier(std::string_view text);

// How writd recognises an agent's process when it asks for a token with no secret: every set
// selector must match the caller (peer credentials and /proc/<pid>/exe). At least one is required
// for attestation; an agent with none can only get tokens issued by an administrator.
struct Selectors {
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<std::string> exe_path;    // absolute path of the executable
  std::optional<std::string> exe_sha256;  // lowercase hex SHA-256 of the executable

  bool empty() const { return !uid && !gid && !exe_path && !exe_sha256; }
  friend bool operator==(const Selectors&, const Selectors&) = default;
};

// Longest token lifetime any agent may be given (an agent's max_ttl is capped by it).
inline constexpr std::chrono::seconds kMaxTokenTtlCap{std::chrono::hours(24)};
inline constexpr std::chrono::seconds kDefaultMaxTokenTtl{std::chrono::minutes(15)};

// One identity at one version. Fields marked (agent) or (human) are empty for other kinds.
struct Identity {
  Kind kind = Kind::kAgent;
  std::string name;
  State state = State::kActive;
  int64_t version = 0;                       // 1 at creation, +1 per change
  std::string description;
  std::vector<std::string> groups;           // names of the groups it belongs to (Cedar parents)
  std::map<std::string, std::string> labels;
  // (agent)
  std::string owner;                         // a human's name; required
  Tier tier = Tier::kLow;
  std::chrono::seconds max_ttl = kDefaultMaxTokenTtl;
  Selectors selectors;
  std::string spiffe_id;                     // derived: spiffe://<trust-domain>/agent/<name>
  // (human)
  std::optional<uint32_t> uid;               // local Unix user this human acts as (admin mapping)
  std::string email;
  TimePoint created_at;
  TimePoint updated_at;

  friend bool operator==(const Identity&, const Identity&) = default;
};

// Checks a name against the SPIFFE path-segment rules: 1 to 128 characters from [A-Za-z0-9._-],
// not "." or "..". Errors: kInvalidArgument saying which rule failed.
Status ValidateName(std::string_view name);

// Checks a trust domain: 1 to 255 characters from [a-z0-9._-]. Errors: kInvalidArgument.
Status ValidateTrustDomain(std::string_view trust_domain);

// "spiffe://<trust_domain>/agent/<name>" (and /human/, /group/ for the other kinds).
std::string SpiffeId(std::string_view trust_domain, Kind kind, std::string_view name);

// The lifecycle: active <-> suspended; active|suspended -> revoked; active|suspended|revoked -> retired.
// Errors: kFailedPrecondition naming both states when `to` cannot follow `from`.
Status CheckTransition(State from, State to);

}  // namespace writ::identity
