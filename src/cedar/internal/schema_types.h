// Shared by the two schema parsers: unresolved types and the name-resolution pass.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cedar/schema.h"

namespace writ::cedar::internal {

struct RawType;
using RawTypePtr = std::shared_ptr<RawType>;
struct RawAttr {
  std::string name;
  RawTypePtr type;
  bool required = true;
};
struct RawType {
  enum class Kind : uint8_t { kName, kSet, kRecord, kEntityRef, kExtRef, kPrimitive };
  Kind kind = Kind::kName;
  std::string name;  // kName: a path to resolve; kEntityRef: entity type path; kExtRef/kPrimitive: the builtin
  RawTypePtr element;
  std::vector<RawAttr> attrs;
};

struct RawActionRef {
  std::string type;  // empty: the current namespace's Action type
  std::string id;
};

// All declarations of a schema before names are resolved.
struct RawSchema {
  struct Entity {
    std::string ns;
    std::string name;
    std::vector<std::string> member_of;
    RawTypePtr shape;  // may be null
    RawTypePtr tags;   // may be null
    std::optional<std::vector<std::string>> enum_ids;
  };
  struct Action {
    std::string ns;
    std::string name;
    std::vector<RawActionRef> member_of;
    bool has_applies_to = false;
    std::vector<std::string> principals;
    std::vector<std::string> resources;
    RawTypePtr context;  // may be null
  };
  struct Common {
    std::string ns;
    std::string name;
    RawTypePtr type;
  };
  std::vector<Entity> entities;
  std::vector<Action> actions;
  std::vector<Common> commons;
};

// Resolves every name and builds the Schema. Errors: kInvalidArgument (unknown or duplicate names).
Result<Schema> BuildSchema(const RawSchema& raw);

}  // namespace writ::cedar::internal
