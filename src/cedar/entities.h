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
  Entities() = default;

  // An empty store layered over `base`, for what one request adds to a large shared store (the
  // registry's principal, its groups, the request's own entities) without copying it. `base` is
  // borrowed: it must be finalized, outlive this store and not change while this store is used.
  // Find sees this store's entities first, then base's. Add of a uid that base holds starts from
  // base's entity (parents merged; attributes and tags replaced when `replace`), as if base had been
  // copied. After Finalize, every query answers exactly as on a merged copy finalized as a whole:
  // the ancestors of this store's entities run through both layers, and a base entity whose
  // ancestors include an entity this store widened is seen with the widened closure. Finalize costs
  // O(own entities × their ancestors), not O(base).
  static Entities Over(const Entities& base);

  // The entity with this uid, or nullptr. O(1) (plus, in an overlay that widened some of its
  // entities' ancestors, one lookup per widened entity for a base entity).
  // Thread safety: concurrent Find and HasAncestor calls on a finalized store are safe.
  const Entity* Find(const EntityUid& uid) const;
  // True if `ancestor` is a (transitive) parent of `uid`. False if `uid` is unknown. O(1).
  bool HasAncestor(const EntityUid& uid, const EntityUid& ancestor) const;
  // The number of entities added to this store itself (an overlay does not count its base's).
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
  using Map = std::unordered_map<EntityUid, Entity, EntityUidHash>;
  // Base entities seen through an overlay with widened ancestors, built on first use.
  struct WidenedBase;

  Status FinalizeOverlay(size_t max_links);
  const Entity* FindInBase(const EntityUid& uid) const;

  Map map_;
  const Entities* base_ = nullptr;
  // This store's entities whose closure is larger than base's for the same uid (or that base lacks
  // and that have ancestors): a base entity below one of them must be seen widened.
  std::vector<EntityUid> widened_;
  std::shared_ptr<WidenedBase> widened_base_;
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
