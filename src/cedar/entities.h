// Entity stores: entities with attributes, tags and parents, the ancestor closure computed once at
// load (so `in` is one hash lookup), and the entities/context/UID JSON formats, optionally
// directed and checked by a schema.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cedar/schema.h"
#include "cedar/value.h"
#include "common/result.h"

namespace writ::json {
class Value;
}

namespace writ::cedar {

struct Entity {
  EntityUid uid;
  Value attrs = Value::Record({});  // a record
  Value tags = Value::Record({});   // a record
  std::vector<EntityUid> parents;
  // INVARIANT (after Entities::Finalize): every entity reachable through parents, transitively.
  std::unordered_set<EntityUid, EntityUidHash> ancestors;
};

class Entities {
 public:
  // The entity with this uid, or nullptr. O(1).
  const Entity* Find(const EntityUid& uid) const;
  // True if `ancestor` is a (transitive) parent of `uid`. False if `uid` is unknown. O(1).
  bool HasAncestor(const EntityUid& uid, const EntityUid& ancestor) const;
  size_t size() const { return map_.size(); }

  // Adds an entity; if one with the same uid exists its parents are merged and, when `replace`,
  // its attributes and tags replaced. Call Finalize() after the last Add.
  void Add(Entity entity, bool replace = true);
  // Computes every entity's ancestors (cycles in parents are tolerated).
  // Errors: kResourceExhausted if the closure would hold more than `max_links` ancestor entries
  // in total (e.g. a hostile chain of a million entities); the store is then unusable.
  Status Finalize(size_t max_links = kDefaultMaxAncestorLinks);

  static constexpr size_t kDefaultMaxAncestorLinks = size_t{16} << 20;

 private:
  std::unordered_map<EntityUid, Entity, EntityUidHash> map_;
};

struct EntitiesParseOptions {
  const Schema* schema = nullptr;  // borrowed; when set, parsing is schema-directed and checked
  size_t max_bytes = 64 << 20;     // larger input: kResourceExhausted
  size_t max_depth = 128;          // deeper JSON nesting: kInvalidArgument
  size_t max_ancestor_links = Entities::kDefaultMaxAncestorLinks;  // see Entities::Finalize
};

// Parses the entities JSON format (an array of {uid, attrs, parents, tags?}). With a schema, adds
// the schema's actions (with their groups) and checks every entity against its declared type.
// Errors: kInvalidArgument naming the entity and the problem.
Result<Entities> ParseEntities(std::string_view json_text, const EntitiesParseOptions& options = {});
Result<Entities> EntitiesFromJson(const json::Value& doc, const EntitiesParseOptions& options = {});

// `{"type":"T","id":"x"}` or `{"__entity":{...}}`. Errors: kInvalidArgument.
Result<EntityUid> EntityUidFromJson(const json::Value& v);

// A context record from a JSON object. With a schema and a known action, the action's context
// type directs the parsing and is checked. Errors: kInvalidArgument.
Result<Value> ContextFromJson(const json::Value& v, const Schema* schema, const EntityUid& action);

// A Cedar value from JSON without a schema (`__entity`, `__extn` escapes; objects are records).
Result<Value> ValueFromJson(const json::Value& v);

// The value as JSON in the entities format (entities as `__entity`, extensions as `__extn`).
void AppendValueJson(const Value& value, std::string& out);

}  // namespace writ::cedar
