#include "identity/identity.h"

#include <array>

#include <fmt/format.h>

namespace writ::identity {
namespace {

constexpr std::array<std::string_view, 3> kKindNames = {"agent", "human", "group"};
constexpr std::array<std::string_view, 4> kStateNames = {"active", "suspended", "revoked", "retired"};
constexpr std::array<std::string_view, 3> kTierNames = {"low", "medium", "high"};
constexpr size_t kMaxNameLength = 128;
constexpr size_t kMaxTrustDomainLength = 255;

template <class Enum, size_t N>
Result<Enum> ParseNamed(std::string_view text, const std::array<std::string_view, N>& names, std::string_view what) {
  for (size_t index = 0; index < N; ++index) {
    if (names[index] == text) return static_cast<Enum>(index);
  }
  return Fail(Code::kInvalidArgument,
              fmt::format("{} `{}` is not one of {}", what, text.substr(0, 64), fmt::join(names, ", ")));
}

}  // namespace

std::string_view KindName(Kind kind) { return kKindNames[static_cast<size_t>(kind)]; }
std::string_view StateName(State state) { return kStateNames[static_cast<size_t>(state)]; }
std::string_view TierName(Tier tier) { return kTierNames[static_cast<size_t>(tier)]; }

Result<Kind> ParseKind(std::string_view text) { return ParseNamed<Kind>(text, kKindNames, "kind"); }
Result<State> ParseState(std::string_view text) { return ParseNamed<State>(text, kStateNames, "state"); }
Result<Tier> ParseTier(std::string_view text) { return ParseNamed<Tier>(text, kTierNames, "tier"); }

Status ValidateName(std::string_view name) {
  if (name.empty()) return Fail(Code::kInvalidArgument, "name must not be empty");
  const std::string shown = std::string(name.substr(0, 64));
  if (name.size() > kMaxNameLength) {
    return Fail(Code::kInvalidArgument, fmt::format("name `{}…` is longer than {} characters", shown, kMaxNameLength));
  }
  if (name == "." || name == "..") return Fail(Code::kInvalidArgument, fmt::format("name `{}` is reserved", shown));
  for (const char ch : name) {
    const bool allowed = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                         ch == '.' || ch == '-' || ch == '_';
    if (!allowed) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("name `{}` may contain only letters, digits, `.`, `-` and `_` (SPIFFE path rules)",
                              shown));
    }
  }
  return Ok();
}

Status ValidateTrustDomain(std::string_view trust_domain) {
  if (trust_domain.empty() || trust_domain.size() > kMaxTrustDomainLength) {
    return Fail(Code::kInvalidArgument, "trust domain must have 1 to 255 characters");
  }
  for (const char ch : trust_domain) {
    const bool allowed = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
    if (!allowed) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("trust domain `{}` may contain only lowercase letters, digits, `.`, `-` and `_`",
                              trust_domain.substr(0, 64)));
    }
  }
  return Ok();
}

std::string SpiffeId(std::string_view trust_domain, Kind kind, std::string_view name) {
  return fmt::format("spiffe://{}/{}/{}", trust_domain, KindName(kind), name);
}

Status CheckTransition(State from, State to) {
  bool allowed = false;
  switch (to) {
    case State::kActive: allowed = from == State::kSuspended; break;
    case State::kSuspended: allowed = from == State::kActive; break;
    case State::kRevoked: allowed = from == State::kActive || from == State::kSuspended; break;
    case State::kRetired: allowed = from != State::kRetired; break;
  }
  if (allowed) return Ok();
  return Fail(Code::kFailedPrecondition,
              fmt::format("cannot go from `{}` to `{}`", StateName(from), StateName(to)));
}

}  // namespace writ::identity
