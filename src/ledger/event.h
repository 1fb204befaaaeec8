// The one event schema for everything writ records in the ledger, and its canonical encoding
// (docs/ledger_format.md). Secrets never enter an event in clear: fields given as secrets, and
// details members whose names say they hold credentials, are replaced by an HMAC fingerprint.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/result.h"

namespace writ::ledger {

// Written into the ledger (by name and number): never renumber or reuse a value.
enum class EventKind : uint16_t {
  kDecision = 1,           // an authorization decision at an enforcement point
  kTokenIssued = 2,
  kTokenRevoked = 3,
  kIdentityChanged = 4,    // created, updated, suspended, retired ...
  kPolicyChanged = 5,      // policy set staged, activated, rolled back
  kApprovalRequested = 6,
  kApprovalGranted = 7,
  kApprovalDenied = 8,
  kAlert = 9,              // monitor anomaly
  kBreakerTripped = 10,    // circuit breaker suspended an identity
  kReasoningTrace = 11,    // an agent's reasoning attached to a correlation id
  kConfigChanged = 12,     // declarative apply, key rotation, settings
  kCredentialIssued = 13,  // vault handed out an upstream or dynamic credential
  kToolCallOutcome = 14,   // what a tool server answered to a call an enforcement point let through
};

// "decision", "token_issued", ... Never empty.
std::string_view EventKindName(EventKind kind);
// Errors: kInvalidArgument naming `name` when it is not a kind.
Result<EventKind> ParseEventKind(std::string_view name);

// Written into the ledger: never renumber or reuse a value.
enum class Decision : uint8_t { kNone = 0, kAllow = 1, kDeny = 2, kApprovalRequired = 3 };
std::string_view DecisionName(Decision decision);  // "", "allow", "deny", "approval_required"

struct Event {
  std::string id;                    // UUIDv7; Ledger::Append fills it when empty
  TimePoint time{};                  // Ledger::Append fills it (from its clock) when zero
  EventKind kind = EventKind::kDecision;
  std::string actor;                 // who acted (agent/human SPIFFE id or name)
  std::string subject;               // the identity the event is about (often == actor)
  std::string action;                // e.g. `Writ::Action::"mcp:call"`
  std::string resource;              // e.g. `Writ::Tool::"github/create_issue"`
  Decision decision = Decision::kNone;
  std::vector<std::string> policy_ids;  // determining policies
  std::string policy_set_version;
  std::string correlation_id;
  std::string trace_id;
  json::Value details;               // an object (or null); names in kSecretDetailNames are redacted
  // Values that must never be stored: each (name, value) is written into details as
  // name: "hmac-sha256:<base64url>" (a fingerprint that matches equal values, nothing more).
  std::vector<std::pair<std::string, std::string>> secrets;
};

// details members with these names (case-insensitive, at any depth) are always fingerprinted.
bool IsSecretDetailName(std::string_view name);

// A fingerprint of a secret value: "hmac-sha256:" + base64url(HMAC-SHA256(key, value)), or
// "redacted" when `key` is empty.
std::string SecretFingerprint(std::string_view key, std::string_view value);

struct EncodeOptions {
  std::string_view hmac_key;       // for secret fingerprints (borrowed for the call)
  size_t max_event_bytes = 64 << 10;
};

// The canonical body of `event` without its position: `{"v":1,"id":…,…,"details":{…}` with no
// closing brace. The ledger appends `,"seq":N,"prev":"<base64 leaf hash>"}` (EncodeLeaf).
// REQUIRES: event.id and event.time set.
// Errors: kInvalidArgument if details is neither object nor null, or a secret name is empty;
// kResourceExhausted if the encoding exceeds max_event_bytes.
Result<std::string> EncodeEventBody(const Event& event, const EncodeOptions& options);
// The same bytes written into `out` (replacing its content, reusing its capacity: an appending
// thread keeps one buffer and allocates nothing per event). On error `out` is unspecified.
Status EncodeEventBodyInto(const Event& event, const EncodeOptions& options, std::string& out);

// The complete leaf bytes: body + `,"seq":<seq>,"prev":"<base64 prev>"}`.
std::string EncodeLeaf(std::string_view body, uint64_t seq, std::string_view prev_hash);

// Just the tail `,"seq":<seq>,"prev":"<base64 prev>"}`, formatted into `out` without allocating
// (the writer and Verify do this once per event). REQUIRES: prev_hash is 32 bytes. The view
// points into `out`.
inline constexpr size_t kLeafTailBuffer = 96;
std::string_view FormatLeafTail(uint64_t seq, std::string_view prev_hash, char (&out)[kLeafTailBuffer]);

// An event read back from its leaf bytes, with its position and chain link.
struct DecodedEvent {
  Event event;          // secrets are already fingerprints inside details; `secrets` is empty
  uint64_t seq = 0;
  std::string prev;     // 32 raw bytes
};
// Errors: kDataLoss naming what is malformed.
Result<DecodedEvent> DecodeLeaf(std::string_view leaf);

}  // namespace writ::ledger
