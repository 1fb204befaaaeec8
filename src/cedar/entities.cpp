#include "cedar/entities.h"

#include <algorithm>
#include <mutex>

#include "cedar/internal/ext.h"
#include "common/json.h"

namespace writ::cedar {

struct Entities::WidenedBase {
  std::mutex mutex;
  Map entities;  // node-based: pointers handed out stay valid as more are added
};

Entities Entities::Over(const Entities& base) {
  Entities overlay;
  overlay.base_ = &base;
  return overlay;
}

const Entity* Entities::Find(const EntityUid& uid) const {
  auto it = map_.find(uid);
  if (it != map_.end()) return &it->second;
  return base_ == nullptr ? nullptr : FindInBase(uid);
}

const Entity* Entities::FindInBase(const EntityUid& uid) const {
  const Entity* entity = base_->Find(uid);
  if (entity == nullptr || widened_.empty()) return entity;
  bool below_widened = false;
  for (const EntityUid& widened : widened_) below_widened = below_widened || entity->ancestors.count(widened) != 0;
  if (!below_widened) return entity;
  // Rare (a request widens an entity that stored entities descend from): build the widened view
  // once per uid, under a lock so that concurrent readers of a finalized store stay safe.
  std::lock_guard lock(widened_base_->mutex);
  auto [slot, inserted] = widened_base_->entities.try_emplace(uid, *entity);
  if (inserted) {
    for (const EntityUid& widened : widened_) {
      if (entity->ancestors.count(widened) == 0) continue;
      const Entity& own = map_.at(widened);
      slot->second.ancestors.insert(own.ancestors.begin(), own.ancestors.end());
    }
  }
  return &slot->second;
}

bool Entities::HasAncestor(const EntityUid& uid, const EntityUid& ancestor) const {
  const Entity* e = Find(uid);
  return e != nullptr && e->ancestors.count(ancestor) != 0;
}

void Entities::Add(Entity entity, bool replace) {
  auto it = map_.find(entity.uid);
  if (it == map_.end()) {
    const Entity* below = base_ == nullptr ? nullptr : base_->Find(entity.uid);
    if (below == nullptr) {
      EntityUid key = entity.uid;
      map_.emplace(std::move(key), std::move(entity));
      return;
    }
    it = map_.emplace(below->uid, *below).first;  // as if base had been copied: merge below
  }
  for (auto& p : entity.parents) {
    if (std::find(it->second.parents.begin(), it->second.parents.end(), p) == it->second.parents.end()) {
      it->second.parents.push_back(p);
    }
  }
  if (replace) {
    it->second.attrs = std::move(entity.attrs);
    it->second.tags = std::move(entity.tags);
  }
}

namespace {
Status TooManyLinks(size_t max_links) {
  return Fail(Code::kResourceExhausted,
              "the entity hierarchy is too large: more than " + std::to_string(max_links) + " ancestor links");
}
}  // namespace

Status Entities::Finalize(size_t max_links) {
  if (base_ != nullptr) return FinalizeOverlay(max_links);
  size_t links = 0;
  std::vector<const EntityUid*> stack;
  for (auto& [uid, entity] : map_) {
    entity.ancestors.clear();
    stack.clear();
    for (const auto& p : entity.parents) stack.push_back(&p);
    while (!stack.empty()) {
      const EntityUid* cur = stack.back();
      stack.pop_back();
      if (!entity.ancestors.insert(*cur).second) continue;
      if (++links > max_links) return TooManyLinks(max_links);
      auto it = map_.find(*cur);
      if (it == map_.end()) continue;
      for (const auto& p : it->second.parents) {
        if (entity.ancestors.count(p) == 0) stack.push_back(&p);
      }
    }
  }
  return Ok();
}

// Any path out of an own entity runs through base entities (whose closure base already holds)
// until it meets an own entity, which then contributes its own closure: seed each closure with the
// parents and their base closures, then fold own closures into each other until nothing grows.
Status Entities::FinalizeOverlay(size_t max_links) {
  widened_.clear();
  widened_base_.reset();
  size_t links = 0;
  for (auto& [uid, entity] : map_) {
    entity.ancestors.clear();
    for (const auto& parent : entity.parents) {
      entity.ancestors.insert(parent);
      if (map_.count(parent) != 0) continue;
      if (const Entity* below = base_->Find(parent)) entity.ancestors.insert(below->ancestors.begin(), below->ancestors.end());
    }
    links += entity.ancestors.size();
    if (links > max_links) return TooManyLinks(max_links);
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (auto& [uid, entity] : map_) {
      for (const auto& [other_uid, other] : map_) {
        if (&other == &entity || entity.ancestors.count(other_uid) == 0) continue;
        const size_t before = entity.ancestors.size();
        entity.ancestors.insert(other.ancestors.begin(), other.ancestors.end());
        if (entity.ancestors.size() == before) continue;
        grew = true;
        links += entity.ancestors.size() - before;
        if (links > max_links) return TooManyLinks(max_links);
      }
    }
  }
  for (const auto& [uid, entity] : map_) {
    const Entity* below = base_->Find(uid);
    // Own parents are a superset of base's, so a closure of another size is a wider one.
    const bool wider = below == nullptr ? !entity.ancestors.empty() : entity.ancestors.size() != below->ancestors.size();
    if (wider) widened_.push_back(uid);
  }
  if (!widened_.empty()) widened_base_ = std::make_shared<WidenedBase>();
  return Ok();
}

namespace {

Status Bad(std::string msg) { return Fail(Code::kInvalidArgument, std::move(msg)); }

Result<EntityUid> UidFields(const json::Value& v) {
  const json::Value* type = v.Find("type");
  const json::Value* id = v.Find("id");
  if (type == nullptr || id == nullptr || !type->is_string() || !id->is_string() || v.as_object().size() != 2) {
    return Fail(Code::kInvalidArgument, "expected an entity uid `{\"type\": .., \"id\": ..}`");
  }
  return EntityUid{type->as_string(), id->as_string()};
}

Result<Value> ExtFromJson(const json::Value& extn) {
  const json::Value* fn = extn.Find("fn");
  if (fn == nullptr || !fn->is_string()) return Fail(Code::kInvalidArgument, "`__extn` needs a string `fn`");
  std::vector<Value> args;
  if (const json::Value* arg = extn.Find("arg")) {
    WRIT_ASSIGN_OR_RETURN(Value a, ValueFromJson(*arg));
    args.push_back(std::move(a));
  } else if (const json::Value* many = extn.Find("args"); many != nullptr && many->is_array()) {
    for (const auto& a : many->as_array()) {
      WRIT_ASSIGN_OR_RETURN(Value x, ValueFromJson(a));
      args.push_back(std::move(x));
    }
  } else {
    return Fail(Code::kInvalidArgument, "`__extn` needs `arg` or `args`");
  }
  const internal::ExtFunction* f = internal::FindExtFunction(fn->as_string(), false);
  bool method = false;
  if (f == nullptr) {
    f = internal::FindExtFunction(fn->as_string(), true);
    method = true;
  }
  if (f == nullptr) return Fail(Code::kInvalidArgument, "unknown extension function `" + fn->as_string() + "`");
  (void)method;
  if (static_cast<int>(args.size()) != f->arity) {
    return Fail(Code::kInvalidArgument, "wrong number of arguments to `" + fn->as_string() + "`");
  }
  auto r = f->impl(args);
  if (!r) return Fail(Code::kInvalidArgument, r.error().message);
  if (!r->is_ext()) return Fail(Code::kInvalidArgument, "`__extn` function `" + fn->as_string() + "` is not a constructor");
  return *r;
}

// Schema-directed conversion; `type` may be null (no schema information).
Result<Value> Convert(const json::Value& v, const SchemaType* type, const Schema* schema, std::string_view where);

Result<Value> ConvertRecord(const json::Value& v, const SchemaType& type, const Schema* schema, std::string_view where) {
  if (!v.is_object()) return Fail(Code::kInvalidArgument, std::string(where) + ": expected a record");
  RecordFields fields;
  for (const auto& [key, val] : v.as_object()) {
    auto it = type.attrs.find(key);
    if (it == type.attrs.end()) {
      return Fail(Code::kInvalidArgument, std::string(where) + ": attribute `" + key + "` is not declared in the schema");
    }
    WRIT_ASSIGN_OR_RETURN(Value x, Convert(val, it->second.type.get(), schema, where));
    fields.emplace_back(key, std::move(x));
  }
  for (const auto& [name, at] : type.attrs) {
    if (!at.required) continue;
    if (v.Find(name) == nullptr) {
      return Fail(Code::kInvalidArgument, std::string(where) + ": required attribute `" + name + "` is missing");
    }
  }
  return Value::Record(std::move(fields));
}

Result<Value> Convert(const json::Value& v, const SchemaType* type, const Schema* schema, std::string_view where) {
  if (type == nullptr) return ValueFromJson(v);
  auto mismatch = [&](std::string_view want) {
    return Fail(Code::kInvalidArgument, std::string(where) + ": expected " + std::string(want) + ", got " +
                                            std::string(json::TypeName(v.type())));
  };
  switch (type->kind) {
    case SchemaType::Kind::kString:
      if (!v.is_string()) return mismatch("a string");
      return Value::String(v.as_string());
    case SchemaType::Kind::kLong:
      if (!v.is_int()) return mismatch("a long");
      return Value::Long(v.as_int());
    case SchemaType::Kind::kBool:
      if (!v.is_bool()) return mismatch("a boolean");
      return Value::Bool(v.as_bool());
    case SchemaType::Kind::kSet: {
      if (!v.is_array()) return mismatch("a set");
      SetElems elems;
      for (const auto& e : v.as_array()) {
        WRIT_ASSIGN_OR_RETURN(Value x, Convert(e, type->element.get(), schema, where));
        elems.push_back(std::move(x));
      }
      return Value::Set(std::move(elems));
    }
    case SchemaType::Kind::kRecord:
      return ConvertRecord(v, *type, schema, where);
    case SchemaType::Kind::kEntity: {
      if (!v.is_object()) return mismatch("an entity");
      const json::Value* inner = v.Find("__entity");
      WRIT_ASSIGN_OR_RETURN(EntityUid uid, UidFields(inner != nullptr ? *inner : v));
      if (uid.type != type->name) {
        return Fail(Code::kInvalidArgument, std::string(where) + ": expected an entity of type `" + type->name +
                                                "`, got `" + ToString(uid) + "`");
      }
      return Value::Entity(std::move(uid));
    }
    case SchemaType::Kind::kExt: {
      Value x;
      if (v.is_string()) {
        const internal::ExtFunction* f = internal::ConstructorForType(type->name);
        if (f == nullptr) return mismatch(type->name);
        Value arg = Value::String(v.as_string());
        auto r = f->impl(std::span<const Value>(&arg, 1));
        if (!r) return Fail(Code::kInvalidArgument, std::string(where) + ": " + r.error().message);
        x = std::move(*r);
      } else if (v.is_object() && v.Find("__extn") != nullptr) {
        WRIT_ASSIGN_OR_RETURN(x, ExtFromJson(*v.Find("__extn")));
      } else if (v.is_object() && v.Find("fn") != nullptr) {
        WRIT_ASSIGN_OR_RETURN(x, ExtFromJson(v));
      } else {
        return mismatch(type->name);
      }
      const internal::ExtFunction* want = internal::ConstructorForType(type->name);
      ExtKind kind = type->name == "ipaddr" ? ExtKind::kIpAddr
                     : type->name == "decimal" ? ExtKind::kDecimal
                     : type->name == "datetime" ? ExtKind::kDatetime : ExtKind::kDuration;
      (void)want;
      if (!x.is_ext(kind)) return mismatch(type->name);
      return x;
    }
  }
  return mismatch("a value");
}

}  // namespace

Result<Value> ValueFromJson(const json::Value& v) {
  switch (v.type()) {
    case json::Type::kBool: return Value::Bool(v.as_bool());
    case json::Type::kInt: return Value::Long(v.as_int());
    case json::Type::kString: return Value::String(v.as_string());
    case json::Type::kArray: {
      SetElems elems;
      for (const auto& e : v.as_array()) {
        WRIT_ASSIGN_OR_RETURN(Value x, ValueFromJson(e));
        elems.push_back(std::move(x));
      }
      return Value::Set(std::move(elems));
    }
    case json::Type::kObject: {
      if (const json::Value* e = v.Find("__entity"); e != nullptr && v.as_object().size() == 1) {
        WRIT_ASSIGN_OR_RETURN(EntityUid uid, UidFields(*e));
        return Value::Entity(std::move(uid));
      }
      if (const json::Value* x = v.Find("__extn"); x != nullptr && v.as_object().size() == 1) {
        return ExtFromJson(*x);
      }
      RecordFields fields;
      for (const auto& [key, val] : v.as_object()) {
        WRIT_ASSIGN_OR_RETURN(Value x, ValueFromJson(val));
        fields.emplace_back(key, std::move(x));
      }
      return Value::Record(std::move(fields));
    }
    case json::Type::kNull: return Fail(Code::kInvalidArgument, "null is not a Cedar value");
    default: return Fail(Code::kInvalidArgument, "number out of range or not an integer");
  }
}

Result<EntityUid> EntityUidFromJson(const json::Value& v) {
  if (!v.is_object()) return Fail(Code::kInvalidArgument, "expected an entity uid object");
  if (const json::Value* e = v.Find("__entity")) return UidFields(*e);
  return UidFields(v);
}

Result<Value> ContextFromJson(const json::Value& v, const Schema* schema, const EntityUid& action) {
  if (!v.is_object()) return Fail(Code::kInvalidArgument, "context must be a JSON object");
  if (schema != nullptr) {
    if (const ActionDef* def = schema->FindAction(action)) return ConvertRecord(v, *def->context, schema, "context");
  }
  return ValueFromJson(v);
}

namespace {

Status CheckEntity(const Entity& e, const json::Value& raw, const Schema& schema, Entity* out) {
  const EntityTypeDef* def = schema.FindEntityType(e.uid.type);
  std::string where = "entity `" + ToString(e.uid) + "`";
  if (def == nullptr) return Bad(where + ": entity type `" + e.uid.type + "` is not declared in the schema");
  if (def->enum_ids && std::find(def->enum_ids->begin(), def->enum_ids->end(), e.uid.id) == def->enum_ids->end()) {
    return Bad(where + ": `" + e.uid.id + "` is not one of the enumerated ids");
  }
  const json::Value* attrs = raw.Find("attrs");
  json::Value empty = json::Object{};
  WRIT_ASSIGN_OR_RETURN(out->attrs, ConvertRecord(attrs != nullptr ? *attrs : empty, *def->shape, &schema, where));
  const json::Value* tags = raw.Find("tags");
  if (tags != nullptr && tags->is_object() && !tags->as_object().empty()) {
    if (def->tags == nullptr) return Bad(where + ": has tags but its type declares none");
    RecordFields fields;
    for (const auto& [k, tv] : tags->as_object()) {
      WRIT_ASSIGN_OR_RETURN(Value x, Convert(tv, def->tags.get(), &schema, where));
      fields.emplace_back(k, std::move(x));
    }
    out->tags = Value::Record(std::move(fields));
  }
  for (const auto& p : e.parents) {
    if (std::find(def->member_of.begin(), def->member_of.end(), p.type) == def->member_of.end()) {
      return Bad(where + ": parent `" + ToString(p) + "` has a type the schema does not allow");
    }
  }
  return Ok();
}

}  // namespace

Result<Entities> EntitiesFromJson(const json::Value& doc, const EntitiesParseOptions& options) {
  if (!doc.is_array()) return Fail(Code::kInvalidArgument, "entities JSON must be an array");
  Entities out;
  const Schema* schema = options.schema;
  for (const auto& item : doc.as_array()) {
    if (!item.is_object()) return Fail(Code::kInvalidArgument, "each entity must be a JSON object");
    const json::Value* uid = item.Find("uid");
    if (uid == nullptr) return Fail(Code::kInvalidArgument, "an entity needs a `uid`");
    Entity e;
    WRIT_ASSIGN_OR_RETURN(e.uid, EntityUidFromJson(*uid));
    if (const json::Value* parents = item.Find("parents")) {
      if (!parents->is_array()) return Fail(Code::kInvalidArgument, "`parents` must be an array");
      for (const auto& p : parents->as_array()) {
        WRIT_ASSIGN_OR_RETURN(EntityUid puid, EntityUidFromJson(p));
        e.parents.push_back(std::move(puid));
      }
    }
    for (const auto& [key, val] : item.as_object()) {
      if (key != "uid" && key != "attrs" && key != "parents" && key != "tags") {
        return Fail(Code::kInvalidArgument, "unknown field `" + key + "` in entity `" + ToString(e.uid) + "`");
      }
    }
    bool is_action = schema != nullptr && schema->FindAction(e.uid) != nullptr;
    if (schema != nullptr && !is_action) {
      WRIT_RETURN_IF_ERROR(CheckEntity(e, item, *schema, &e));
    } else {
      if (const json::Value* attrs = item.Find("attrs")) {
        if (!attrs->is_object()) return Fail(Code::kInvalidArgument, "`attrs` must be an object");
        WRIT_ASSIGN_OR_RETURN(e.attrs, ValueFromJson(*attrs));
      }
      if (const json::Value* tags = item.Find("tags")) {
        if (!tags->is_object()) return Fail(Code::kInvalidArgument, "`tags` must be an object");
        WRIT_ASSIGN_OR_RETURN(e.tags, ValueFromJson(*tags));
      }
    }
    out.Add(std::move(e));
  }
  if (schema != nullptr) {
    for (const auto& [uid, def] : schema->actions()) {
      Entity e;
      e.uid = uid;
      e.parents = def.member_of;
      out.Add(std::move(e), /*replace=*/false);
    }
  }
  WRIT_RETURN_IF_ERROR(out.Finalize(options.max_ancestor_links));
  return out;
}

Result<Entities> ParseEntities(std::string_view json_text, const EntitiesParseOptions& options) {
  WRIT_ASSIGN_OR_RETURN(json::Value doc,
                        json::Parse(json_text, {.max_bytes = options.max_bytes, .max_depth = options.max_depth}));
  return EntitiesFromJson(doc, options);
}

void AppendValueJson(const Value& value, std::string& out) {
  switch (value.kind()) {
    case ValueKind::kBool: out += value.as_bool() ? "true" : "false"; return;
    case ValueKind::kLong: out += std::to_string(value.as_long()); return;
    case ValueKind::kString: json::AppendQuoted(out, value.as_string()); return;
    case ValueKind::kEntity:
      out += "{\"__entity\":{\"type\":";
      json::AppendQuoted(out, value.as_entity().type);
      out += ",\"id\":";
      json::AppendQuoted(out, value.as_entity().id);
      out += "}}";
      return;
    case ValueKind::kExt: {
      const ExtValue& x = value.as_ext();
      if (x.kind == ExtKind::kDatetime) {
        // Any instant: datetime("1970-01-01").offset(duration("<ms>ms")), as the reference writes it.
        out += R"({"__extn":{"fn":"offset","args":[{"__extn":{"fn":"datetime","arg":"1970-01-01"}},)";
        out += R"({"__extn":{"fn":"duration","arg":")" + std::to_string(x.num) + R"(ms"}}]}})";
        return;
      }
      // ip("..."), decimal("..."), duration("..."): split the constructor call.
      std::string text = internal::ExtToString(x);
      size_t paren = text.find('(');
      out += "{\"__extn\":{\"fn\":";
      json::AppendQuoted(out, text.substr(0, paren));
      out += ",\"arg\":";
      json::AppendQuoted(out, text.substr(paren + 2, text.size() - paren - 4));
      out += "}}";
      return;
    }
    case ValueKind::kSet: {
      out += '[';
      bool first = true;
      for (const auto& e : value.as_set()) {
        if (!first) out += ',';
        first = false;
        AppendValueJson(e, out);
      }
      out += ']';
      return;
    }
    case ValueKind::kRecord: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : value.as_record()) {
        if (!first) out += ',';
        first = false;
        json::AppendQuoted(out, k);
        out += ':';
        AppendValueJson(v, out);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace writ::cedar
