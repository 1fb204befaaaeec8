// Cedar schemas, in the human (.cedarschema) and JSON formats. Used here to parse entities and
// context (a string becomes an ipaddr, decimal or entity where the schema says so), to add the
// schema's actions and their hierarchy, and to check that entities conform. Not a validator.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cedar/value.h"
#include "common/result.h"

namespace writ::cedar {

struct SchemaType;
using SchemaTypePtr = std::shared_ptr<const SchemaType>;

struct AttrType {
  SchemaTypePtr type;
  bool required = true;
};

struct SchemaType {
  enum class Kind : uint8_t { kString, kLong, kBool, kSet, kRecord, kEntity, kExt };
  Kind kind = Kind::kString;
  SchemaTypePtr element;                   // kSet
  std::map<std::string, AttrType> attrs;   // kRecord
  std::string name;                        // kEntity: full type name; kExt: "ipaddr", "decimal", ...
};

struct EntityTypeDef {
  std::string name;                             // full name, e.g. "NS::User"
  std::vector<std::string> member_of;           // full names of allowed parent types
  SchemaTypePtr shape;                          // a record type (possibly empty); never null
  SchemaTypePtr tags;                           // null when the type has no tags
  std::optional<std::vector<std::string>> enum_ids;  // enumerated entity type
};

struct ActionDef {
  EntityUid uid;                     // e.g. NS::Action::"view"
  std::vector<EntityUid> member_of;  // parent action groups
  std::vector<std::string> principal_types;
  std::vector<std::string> resource_types;
  SchemaTypePtr context;             // a record type; never null
};

class Schema {
 public:
  const EntityTypeDef* FindEntityType(std::string_view name) const;
  const ActionDef* FindAction(const EntityUid& uid) const;
  const std::map<std::string, EntityTypeDef, std::less<>>& entity_types() const { return entity_types_; }
  const std::map<EntityUid, ActionDef>& actions() const { return actions_; }

  // Builders used by the two parsers. Errors: kInvalidArgument on a duplicate declaration.
  Status AddEntityType(EntityTypeDef def);
  Status AddAction(ActionDef def);

 private:
  std::map<std::string, EntityTypeDef, std::less<>> entity_types_;
  std::map<EntityUid, ActionDef> actions_;
};

// Parses the human schema format. Errors: kInvalidArgument with "line:column: message", for
// syntax errors, unknown type names and duplicate declarations.
Result<Schema> ParseSchema(std::string_view text);

// Parses the JSON schema format. Errors: kInvalidArgument (malformed JSON or schema).
Result<Schema> ParseSchemaJson(std::string_view text);

}  // namespace writ::cedar
