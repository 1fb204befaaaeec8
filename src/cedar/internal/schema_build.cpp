#include "cedar/internal/schema_types.h"

#include <set>

namespace writ::cedar::internal {
namespace {

std::string Qualify(const std::string& ns, const std::string& name) { return ns.empty() ? name : ns + "::" + name; }

constexpr int kMaxTypeDepth = 64;

class Builder {
 public:
  explicit Builder(const RawSchema& raw) : raw_(raw) {}

  Result<Schema> Build() {
    for (const auto& c : raw_.commons) {
      std::string full = Qualify(c.ns, c.name);
      if (!commons_.emplace(full, &c).second) return Fail(Code::kInvalidArgument, "duplicate common type `" + full + "`");
    }
    for (const auto& e : raw_.entities) entity_names_.insert(Qualify(e.ns, e.name));
    Schema schema;
    for (const auto& e : raw_.entities) {
      EntityTypeDef def;
      def.name = Qualify(e.ns, e.name);
      for (const auto& p : e.member_of) {
        WRIT_ASSIGN_OR_RETURN(std::string full, ResolveEntity(p, e.ns));
        def.member_of.push_back(std::move(full));
      }
      if (e.shape) {
        WRIT_ASSIGN_OR_RETURN(def.shape, Resolve(*e.shape, e.ns, 0));
        if (def.shape->kind != SchemaType::Kind::kRecord) {
          return Fail(Code::kInvalidArgument, "the shape of entity type `" + def.name + "` must be a record");
        }
      } else {
        def.shape = EmptyRecord();
      }
      if (e.tags) {
        WRIT_ASSIGN_OR_RETURN(def.tags, Resolve(*e.tags, e.ns, 0));
      }
      def.enum_ids = e.enum_ids;
      WRIT_RETURN_IF_ERROR(schema.AddEntityType(std::move(def)));
    }
    for (const auto& a : raw_.actions) {
      ActionDef def;
      def.uid = EntityUid{Qualify(a.ns, "Action"), a.name};
      for (const auto& r : a.member_of) {
        std::string type = r.type.empty() ? Qualify(a.ns, "Action") : (r.type == "Action" ? Qualify(a.ns, "Action") : r.type);
        def.member_of.push_back(EntityUid{type, r.id});
      }
      for (const auto& p : a.principals) {
        WRIT_ASSIGN_OR_RETURN(std::string full, ResolveEntity(p, a.ns));
        def.principal_types.push_back(std::move(full));
      }
      for (const auto& p : a.resources) {
        WRIT_ASSIGN_OR_RETURN(std::string full, ResolveEntity(p, a.ns));
        def.resource_types.push_back(std::move(full));
      }
      if (a.context) {
        WRIT_ASSIGN_OR_RETURN(def.context, Resolve(*a.context, a.ns, 0));
        if (def.context->kind != SchemaType::Kind::kRecord) {
          return Fail(Code::kInvalidArgument, "the context of action `" + a.name + "` must be a record");
        }
      } else {
        def.context = EmptyRecord();
      }
      WRIT_RETURN_IF_ERROR(schema.AddAction(std::move(def)));
    }
    return schema;
  }

 private:
  static SchemaTypePtr EmptyRecord() {
    auto t = std::make_shared<SchemaType>();
    t->kind = SchemaType::Kind::kRecord;
    return t;
  }

  Result<std::string> ResolveEntity(const std::string& name, const std::string& ns) {
    if (name.find("::") == std::string::npos) {
      std::string q = Qualify(ns, name);
      if (entity_names_.count(q)) return q;
      if (entity_names_.count(name)) return name;
      return Fail(Code::kInvalidArgument, "unknown entity type `" + name + "`");
    }
    if (entity_names_.count(name)) return name;
    return Fail(Code::kInvalidArgument, "unknown entity type `" + name + "`");
  }

  static SchemaTypePtr Builtin(std::string_view name) {
    auto t = std::make_shared<SchemaType>();
    if (name == "String") t->kind = SchemaType::Kind::kString;
    else if (name == "Long") t->kind = SchemaType::Kind::kLong;
    else if (name == "Bool" || name == "Boolean") t->kind = SchemaType::Kind::kBool;
    else if (name == "ipaddr" || name == "decimal" || name == "datetime" || name == "duration") {
      t->kind = SchemaType::Kind::kExt;
      t->name = std::string(name);
    } else {
      return nullptr;
    }
    return t;
  }

  Result<SchemaTypePtr> ResolveName(const std::string& name, const std::string& ns, int depth) {
    if (name.rfind("__cedar::", 0) == 0) {
      if (auto b = Builtin(std::string_view(name).substr(9))) return b;
      return Fail(Code::kInvalidArgument, "unknown builtin type `" + name + "`");
    }
    std::vector<std::string> candidates;
    if (name.find("::") == std::string::npos) {
      candidates.push_back(Qualify(ns, name));
      if (!ns.empty()) candidates.push_back(name);
    } else {
      candidates.push_back(name);
    }
    for (const auto& c : candidates) {
      auto it = commons_.find(c);
      if (it != commons_.end()) return Resolve(*it->second->type, it->second->ns, depth + 1);
      if (entity_names_.count(c)) {
        auto t = std::make_shared<SchemaType>();
        t->kind = SchemaType::Kind::kEntity;
        t->name = c;
        return SchemaTypePtr(t);
      }
    }
    if (name.find("::") == std::string::npos) {
      if (auto b = Builtin(name)) return b;
    }
    return Fail(Code::kInvalidArgument, "unknown type `" + name + "`");
  }

  Result<SchemaTypePtr> Resolve(const RawType& raw, const std::string& ns, int depth) {
    if (depth > kMaxTypeDepth) return Fail(Code::kInvalidArgument, "schema types nest too deeply or form a cycle");
    switch (raw.kind) {
      case RawType::Kind::kName: return ResolveName(raw.name, ns, depth);
      case RawType::Kind::kPrimitive:
      case RawType::Kind::kExtRef: {
        if (auto b = Builtin(raw.name)) return b;
        return Fail(Code::kInvalidArgument, "unknown type `" + raw.name + "`");
      }
      case RawType::Kind::kEntityRef: {
        WRIT_ASSIGN_OR_RETURN(std::string full, ResolveEntity(raw.name, ns));
        auto t = std::make_shared<SchemaType>();
        t->kind = SchemaType::Kind::kEntity;
        t->name = std::move(full);
        return SchemaTypePtr(t);
      }
      case RawType::Kind::kSet: {
        WRIT_ASSIGN_OR_RETURN(auto elem, Resolve(*raw.element, ns, depth + 1));
        auto t = std::make_shared<SchemaType>();
        t->kind = SchemaType::Kind::kSet;
        t->element = std::move(elem);
        return SchemaTypePtr(t);
      }
      case RawType::Kind::kRecord: {
        auto t = std::make_shared<SchemaType>();
        t->kind = SchemaType::Kind::kRecord;
        for (const auto& a : raw.attrs) {
          WRIT_ASSIGN_OR_RETURN(auto at, Resolve(*a.type, ns, depth + 1));
          if (!t->attrs.emplace(a.name, AttrType{std::move(at), a.required}).second) {
            return Fail(Code::kInvalidArgument, "duplicate attribute `" + a.name + "`");
          }
        }
        return SchemaTypePtr(t);
      }
    }
    return Fail(Code::kInternal, "bad schema type");
  }

  const RawSchema& raw_;
  std::map<std::string, const RawSchema::Common*> commons_;
  std::set<std::string> entity_names_;
};

}  // namespace

Result<Schema> BuildSchema(const RawSchema& raw) { return Builder(raw).Build(); }

}  // namespace writ::cedar::internal

namespace writ::cedar {

const EntityTypeDef* Schema::FindEntityType(std::string_view name) const {
  auto it = entity_types_.find(name);
  return it == entity_types_.end() ? nullptr : &it->second;
}

const ActionDef* Schema::FindAction(const EntityUid& uid) const {
  auto it = actions_.find(uid);
  return it == actions_.end() ? nullptr : &it->second;
}

Status Schema::AddEntityType(EntityTypeDef def) {
  std::string name = def.name;
  if (!entity_types_.emplace(name, std::move(def)).second) {
    return Fail(Code::kInvalidArgument, "duplicate entity type `" + name + "`");
  }
  return Ok();
}

Status Schema::AddAction(ActionDef def) {
  EntityUid uid = def.uid;
  if (!actions_.emplace(uid, std::move(def)).second) {
    return Fail(Code::kInvalidArgument, "duplicate action `" + ToString(uid) + "`");
  }
  return Ok();
}

}  // namespace writ::cedar
