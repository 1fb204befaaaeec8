// JSON forms of identities: the API's request bodies (create, update) and the document kept in
// the store for every version. All field checks live here, so every entry point (HTTP, CLI,
// declarative config) gets the same errors.
#pragma once
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "identity/identity.h"

namespace writ::identity {

// Bounds on what a caller may store in one identity.
inline constexpr size_t kMaxDescriptionLength = 1024;
inline constexpr size_t kMaxLabels = 64;
inline constexpr size_t kMaxLabelKeyLength = 63;
inline constexpr size_t kMaxLabelValueLength = 256;
inline constexpr size_t kMaxGroups = 64;
inline constexpr size_t kMaxPathLength = 4096;

// The full JSON of `identity` (API responses and stored documents). Times are RFC 3339, max_ttl
// a duration string ("15m"), kind-specific fields appear only for their kind.
json::Value ToJson(const Identity& identity);

// Reads a create request: {"kind","name", and the kind's fields}. Server-owned fields (state,
// version, spiffe_id, created_at, updated_at) and unknown fields are refused.
// Errors: kInvalidArgument naming the field and what is wrong.
Result<Identity> ParseCreateRequest(const json::Value& body);

// Reads a document written by ToJson (from the store). Errors: kDataLoss if it does not parse.
Result<Identity> ParseStoredDocument(std::string_view document);

// A partial update: only the present fields change.
struct IdentityPatch {
  std::optional<std::string> description;
  std::optional<std::vector<std::string>> groups;
  std::optional<std::map<std::string, std::string>> labels;
  std::optional<std::string> owner;  // (agent)
  std::optional<Tier> tier;          // (agent)
  std::optional<std::chrono::seconds> max_ttl;  // (agent)
  std::optional<Selectors> selectors;           // (agent) replaces all selectors
  std::optional<std::optional<uint32_t>> uid;   // (human) null clears
  std::optional<std::string> email;             // (human)

  bool empty() const {
    return !description && !groups && !labels && !owner && !tier && !max_ttl && !selectors && !uid && !email;
  }
};

// Reads an update request for an identity of `kind`. Name, kind and server-owned fields cannot be
// changed; state changes go through the lifecycle calls. Errors: kInvalidArgument.
Result<IdentityPatch> ParsePatch(Kind kind, const json::Value& body);

// Applies `patch` to `identity` (no validation of references; the registry does that).
void ApplyPatch(const IdentityPatch& patch, Identity& identity);

}  // namespace writ::identity
