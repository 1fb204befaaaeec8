// The JSON schema format parser.
#include "cedar/internal/schema_types.h"
#include "common/json.h"

namespace writ::cedar {
namespace {

using internal::RawSchema;
using internal::RawType;
using internal::RawTypePtr;

constexpr int kMaxDepth = 64;

Result<RawTypePtr> JsonType(const json::Value& v, int depth) {
  if (depth > kMaxDepth) return Fail(Code::kInvalidArgument, "schema type nested too deeply");
  if (!v.is_object()) return Fail(Code::kInvalidArgument, "a schema type must be a JSON object");
  const json::Value* type = v.Find("type");
  if (type == nullptr || !type->is_string()) return Fail(Code::kInvalidArgument, "a schema type needs a string `type`");
  const std::string& t = type->as_string();
  auto out = std::make_shared<RawType>();
  if (t == "String" || t == "Long" || t == "Boolean" || t == "Bool") {
    out->kind = RawType::Kind::kPrimitive;
    out->name = t;
  } else if (t == "Set") {
    const json::Value* el = v.Find("element");
    if (el == nullptr) return Fail(Code::kInvalidArgument, "a `Set` type needs `element`");
    out->kind = RawType::Kind::kSet;
    WRIT_ASSIGN_OR_RETURN(out->element, JsonType(*el, depth + 1));
  } else if (t == "Record") {
    out->kind = RawType::Kind::kRecord;
    if (const json::Value* attrs = v.Find("attributes")) {
      if (!attrs->is_object()) return Fail(Code::kInvalidArgument, "`attributes` must be an object");
      for (const auto& [name, at] : attrs->as_object()) {
        internal::RawAttr a;
        a.name = name;
        WRIT_ASSIGN_OR_RETURN(a.type, JsonType(at, depth + 1));
        if (const json::Value* req = at.Find("required"); req != nullptr && req->is_bool()) a.required = req->as_bool();
        out->attrs.push_back(std::move(a));
      }
    }
  } else if (t == "Entity" || t == "Extension" || t == "EntityOrCommon") {
    const json::Value* name = v.Find("name");
    if (name == nullptr || !name->is_string()) return Fail(Code::kInvalidArgument, "`" + t + "` type needs a `name`");
    out->kind = t == "Entity" ? RawType::Kind::kEntityRef : t == "Extension" ? RawType::Kind::kExtRef : RawType::Kind::kName;
    out->name = name->as_string();
  } else {
    out->kind = RawType::Kind::kName;  // a common type
    out->name = t;
  }
  return out;
}

Result<std::vector<std::string>> StringList(const json::Value* v, std::string_view what) {
  std::vector<std::string> out;
  if (v == nullptr) return out;
  if (!v->is_array()) return Fail(Code::kInvalidArgument, "`" + std::string(what) + "` must be an array");
  for (const auto& s : v->as_array()) {
    if (!s.is_string()) return Fail(Code::kInvalidArgument, "`" + std::string(what) + "` must hold strings");
    out.push_back(s.as_string());
  }
  return out;
}

}  // namespace

Result<Schema> ParseSchemaJson(std::string_view text) {
  WRIT_ASSIGN_OR_RETURN(json::Value doc, json::Parse(text, {.max_bytes = 64 << 20, .max_depth = 128}));
  if (!doc.is_object()) return Fail(Code::kInvalidArgument, "a JSON schema must be an object of namespaces");
  RawSchema raw;
  for (const auto& [ns, body] : doc.as_object()) {
    if (!body.is_object()) return Fail(Code::kInvalidArgument, "namespace `" + ns + "` must be an object");
    if (const json::Value* ets = body.Find("entityTypes")) {
      if (!ets->is_object()) return Fail(Code::kInvalidArgument, "`entityTypes` must be an object");
      for (const auto& [name, def] : ets->as_object()) {
        RawSchema::Entity e;
        e.ns = ns;
        e.name = name;
        WRIT_ASSIGN_OR_RETURN(e.member_of, StringList(def.Find("memberOfTypes"), "memberOfTypes"));
        if (const json::Value* shape = def.Find("shape")) {
          WRIT_ASSIGN_OR_RETURN(e.shape, JsonType(*shape, 0));
        }
        if (const json::Value* tags = def.Find("tags")) {
          WRIT_ASSIGN_OR_RETURN(e.tags, JsonType(*tags, 0));
        }
        if (const json::Value* en = def.Find("enum")) {
          WRIT_ASSIGN_OR_RETURN(auto ids, StringList(en, "enum"));
          e.enum_ids = std::move(ids);
        }
        raw.entities.push_back(std::move(e));
      }
    }
    if (const json::Value* acts = body.Find("actions")) {
      if (!acts->is_object()) return Fail(Code::kInvalidArgument, "`actions` must be an object");
      for (const auto& [name, def] : acts->as_object()) {
        RawSchema::Action a;
        a.ns = ns;
        a.name = name;
        if (const json::Value* mo = def.Find("memberOf"); mo != nullptr && mo->is_array()) {
          for (const auto& r : mo->as_array()) {
            const json::Value* id = r.Find("id");
            if (id == nullptr || !id->is_string()) return Fail(Code::kInvalidArgument, "`memberOf` entries need an `id`");
            internal::RawActionRef ref;
            ref.id = id->as_string();
            if (const json::Value* ty = r.Find("type"); ty != nullptr && ty->is_string()) ref.type = ty->as_string();
            a.member_of.push_back(std::move(ref));
          }
        }
        if (const json::Value* at = def.Find("appliesTo"); at != nullptr && at->is_object()) {
          a.has_applies_to = true;
          WRIT_ASSIGN_OR_RETURN(a.principals, StringList(at->Find("principalTypes"), "principalTypes"));
          WRIT_ASSIGN_OR_RETURN(a.resources, StringList(at->Find("resourceTypes"), "resourceTypes"));
          if (const json::Value* ctx = at->Find("context")) {
            WRIT_ASSIGN_OR_RETURN(a.context, JsonType(*ctx, 0));
          }
        }
        raw.actions.push_back(std::move(a));
      }
    }
    if (const json::Value* cts = body.Find("commonTypes")) {
      if (!cts->is_object()) return Fail(Code::kInvalidArgument, "`commonTypes` must be an object");
      for (const auto& [name, def] : cts->as_object()) {
        RawSchema::Common c;
        c.ns = ns;
        c.name = name;
        WRIT_ASSIGN_OR_RETURN(c.type, JsonType(def, 0));
        raw.commons.push_back(std::move(c));
      }
    }
  }
  return internal::BuildSchema(raw);
}

}  // namespace writ::cedar
