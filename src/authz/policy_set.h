// Policy sets as writ keeps them: the source (a directory's `.cedar` files, an optional schema and
// optional entity files), its content hash, and the compiled, immutable Snapshot that decisions read.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cedar/authorizer.h"
#include "cedar/entities.h"
#include "cedar/schema.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/result.h"

namespace writ::authz {

inline constexpr size_t kMaxSourceFiles = 256;
inline constexpr size_t kMaxSourceBytes = 8 << 20;  // all files together

// The files of one policy set. Names end in `.cedar` (policies), `.cedarschema` (at most one
// schema) or `.entities.json` / `entities.json` (resource entities); other names are refused.
struct PolicySource {
  std::map<std::string, std::string> files;
};

// `{"<name>": "<text>", ...}` and back. Errors: kInvalidArgument (not an object of strings).
json::Value SourceToJson(const PolicySource& source);
Result<PolicySource> SourceFromJson(const json::Value& files);

// Lowercase hex SHA-256 over the sorted (name, text) pairs, each length-prefixed.
std::string ContentHash(const PolicySource& source);

// What a permit annotated `@approval("required")` asks for.
struct ApprovalSpec {
  std::chrono::milliseconds ttl{0};  // `@approval_ttl("15m")`; 0 = allowed once
  std::string approvers;             // `@approvers("Writ::Group::\"sre\"")`; "" = any allowed human
};

// Metadata of one stored version.
struct VersionInfo {
  int64_t version = 0;
  std::string content_hash;
  std::string author;
  std::string reason;
  TimePoint created_at;
};

// A compiled policy set. Immutable once built; shared by every reader that loaded it.
struct Snapshot {
  VersionInfo info;                                 // version 0: the built-in empty set (denies all)
  std::unique_ptr<cedar::Authorizer> authorizer;    // never null
  std::optional<cedar::Schema> schema;
  cedar::Entities entities;                         // from the entity files, with schema actions
  std::map<std::string, std::vector<cedar::EntityUid>, std::less<>> entities_by_type;  // sorted ids
  std::vector<cedar::EntityUid> actions;            // every action named by policies, schema or entities
  std::map<std::string, ApprovalSpec, std::less<>> approval_policies;  // policy id -> spec
};

// Parses and checks `source`: every policy has a unique `@id`, no templates, annotations
// well-formed, entity files parse (against the schema when there is one).
// Errors: kInvalidArgument naming the file, line and column ("a.cedar:3:14: unexpected token `)`").
Result<std::shared_ptr<const Snapshot>> Compile(const PolicySource& source, const VersionInfo& info);

// The built-in set used before any activation: no policies, so every request is denied.
std::shared_ptr<const Snapshot> EmptySnapshot();

// A line diff of two sources, unified-style per file ("--- v1/a.cedar", "+++ v2/a.cedar", lines
// prefixed by ' ', '-' or '+'). Empty when both are identical.
std::string DiffSources(const PolicySource& from, const PolicySource& to, const std::string& from_label,
                        const std::string& to_label);

}  // namespace writ::authz
