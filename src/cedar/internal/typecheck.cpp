#include "cedar/internal/typecheck.h"

#include <algorithm>

#include "cedar/internal/ext.h"

namespace writ::cedar::internal {

// ---- types -------------------------------------------------------------------------------

Ty Ty::Set(Ty elem) {
  Ty t;
  t.kind = Kind::kSet;
  t.elem = std::make_shared<const Ty>(std::move(elem));
  return t;
}

namespace {

Ty RecordOf(std::shared_ptr<const RecordTy> rec) {
  Ty t;
  t.kind = Ty::Kind::kRecord;
  t.rec = std::move(rec);
  return t;
}

Ty::B LubBool(Ty::B a, Ty::B b) { return a == b ? a : Ty::B::kAny; }

Ty::B NotBool(Ty::B b) {
  if (b == Ty::B::kTrue) return Ty::B::kFalse;
  if (b == Ty::B::kFalse) return Ty::B::kTrue;
  return Ty::B::kAny;
}

}  // namespace

bool SameType(const Ty& a, const Ty& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Ty::Kind::kBool: return a.b == b.b;
    case Ty::Kind::kLong:
    case Ty::Kind::kString: return true;
    case Ty::Kind::kSet: return SameType(*a.elem, *b.elem);
    case Ty::Kind::kEntity:
    case Ty::Kind::kExt: return a.name == b.name;
    case Ty::Kind::kRecord: {
      if (a.rec == b.rec) return true;
      if (a.rec->attrs.size() != b.rec->attrs.size()) return false;
      auto it = b.rec->attrs.begin();
      for (const auto& [k, q] : a.rec->attrs) {
        if (k != it->first || q.required != it->second.required || !SameType(q.type, it->second.type)) return false;
        ++it;
      }
      return true;
    }
  }
  return false;
}

std::optional<Ty> Lub(const Ty& a, const Ty& b) {
  if (a.kind != b.kind) return std::nullopt;
  switch (a.kind) {
    case Ty::Kind::kBool: return Ty::Bool(LubBool(a.b, b.b));
    case Ty::Kind::kSet: {
      auto e = Lub(*a.elem, *b.elem);
      if (!e) return std::nullopt;
      return Ty::Set(std::move(*e));
    }
    case Ty::Kind::kRecord: {
      if (a.rec == b.rec) return a;
      if (a.rec->attrs.size() != b.rec->attrs.size()) return std::nullopt;
      auto rec = std::make_shared<RecordTy>();
      auto it = b.rec->attrs.begin();
      for (const auto& [k, q] : a.rec->attrs) {
        if (k != it->first || q.required != it->second.required) return std::nullopt;
        auto t = Lub(q.type, it->second.type);
        if (!t) return std::nullopt;
        rec->attrs.emplace(k, QualTy{std::move(*t), q.required});
        ++it;
      }
      return RecordOf(std::move(rec));
    }
    default:
      if (SameType(a, b)) return a;
      return std::nullopt;
  }
}

std::string TypeName(const Ty& t) {
  switch (t.kind) {
    case Ty::Kind::kBool: return "Bool";
    case Ty::Kind::kLong: return "Long";
    case Ty::Kind::kString: return "String";
    case Ty::Kind::kSet: return "Set<" + TypeName(*t.elem) + ">";
    case Ty::Kind::kEntity:
    case Ty::Kind::kExt: return t.name;
    case Ty::Kind::kRecord: {
      std::string out = "{";
      for (const auto& [k, q] : t.rec->attrs) {
        if (out.size() > 1) out += ", ";
        out += k + (q.required ? ": " : "?: ") + TypeName(q.type);
      }
      return out + "}";
    }
  }
  return "?";
}

// ---- schema index --------------------------------------------------------------------------

SchemaIndex::SchemaIndex(const Schema& schema) : schema_(schema) {
  for (const auto& [name, def] : schema.entity_types()) {
    EntityInfo info;
    info.def = &def;
    info.shape = ConvertRecord(*def.shape);
    if (def.tags) info.tags = Convert(*def.tags);
    entities_.emplace(name, std::move(info));
  }
  for (auto& [name, info] : entities_) {
    std::vector<std::string> todo(info.def->member_of.begin(), info.def->member_of.end());
    while (!todo.empty()) {
      std::string t = std::move(todo.back());
      todo.pop_back();
      if (!info.ancestors.insert(t).second) continue;
      auto it = entities_.find(t);
      if (it != entities_.end()) todo.insert(todo.end(), it->second.def->member_of.begin(), it->second.def->member_of.end());
    }
  }
  for (const auto& [uid, def] : schema.actions()) {
    ActionInfo info;
    info.def = &def;
    info.context = ConvertRecord(*def.context);
    actions_.emplace(uid, std::move(info));
    action_types_.insert(uid.type);
  }
  for (auto& [uid, info] : actions_) {
    std::vector<EntityUid> todo(info.def->member_of.begin(), info.def->member_of.end());
    while (!todo.empty()) {
      EntityUid a = std::move(todo.back());
      todo.pop_back();
      if (!info.ancestors.insert(a).second) continue;
      auto it = actions_.find(a);
      if (it != actions_.end()) todo.insert(todo.end(), it->second.def->member_of.begin(), it->second.def->member_of.end());
    }
  }
}

const SchemaIndex::EntityInfo* SchemaIndex::FindEntity(std::string_view type) const {
  auto it = entities_.find(std::string(type));
  return it == entities_.end() ? nullptr : &it->second;
}

const SchemaIndex::ActionInfo* SchemaIndex::FindAction(const EntityUid& uid) const {
  auto it = actions_.find(uid);
  return it == actions_.end() ? nullptr : &it->second;
}

bool SchemaIndex::TypeDescendantOf(const std::string& a, const std::string& b) const {
  if (a == b) return true;
  const EntityInfo* info = FindEntity(a);
  return info != nullptr && info->ancestors.count(b) > 0;
}

bool SchemaIndex::ActionDescendantOf(const EntityUid& a, const EntityUid& b) const {
  if (a == b) return true;
  const ActionInfo* info = FindAction(a);
  return info != nullptr && info->ancestors.count(b) > 0;
}

bool SchemaIndex::IsValidUid(const EntityUid& uid) const {
  if (const EntityInfo* info = FindEntity(uid.type)) {
    if (!info->def->enum_ids) return true;
    const auto& ids = *info->def->enum_ids;
    return std::find(ids.begin(), ids.end(), uid.id) != ids.end();
  }
  return FindAction(uid) != nullptr;
}

Ty SchemaIndex::Convert(const SchemaType& type) const {
  switch (type.kind) {
    case SchemaType::Kind::kString: return Ty::String();
    case SchemaType::Kind::kLong: return Ty::Long();
    case SchemaType::Kind::kBool: return Ty::Bool();
    case SchemaType::Kind::kSet: return Ty::Set(Convert(*type.element));
    case SchemaType::Kind::kRecord: return RecordOf(ConvertRecord(type));
    case SchemaType::Kind::kEntity: return Ty::Entity(type.name);
    case SchemaType::Kind::kExt: return Ty::Ext(type.name);
  }
  return Ty::Bool();
}

std::shared_ptr<const RecordTy> SchemaIndex::ConvertRecord(const SchemaType& type) const {
  auto rec = std::make_shared<RecordTy>();
  for (const auto& [k, a] : type.attrs) rec->attrs.emplace(k, QualTy{Convert(*a.type), a.required});
  return rec;
}

// ---- expressions ---------------------------------------------------------------------------

bool SameExpr(const Expr& a, const Expr& b) {
  if (&a == &b) return true;
  if (a.kind != b.kind || a.kids.size() != b.kids.size() || a.name != b.name || a.path != b.path) return false;
  switch (a.kind) {
    case ExprKind::kLit:
      if (!(a.lit == b.lit)) return false;
      break;
    case ExprKind::kVar:
      if (a.var != b.var) return false;
      break;
    case ExprKind::kSlot:
      if (a.slot != b.slot) return false;
      break;
    case ExprKind::kLike:
      if (a.pattern.size() != b.pattern.size()) return false;
      for (size_t i = 0; i < a.pattern.size(); ++i) {
        if (a.pattern[i].wildcard != b.pattern[i].wildcard || a.pattern[i].byte != b.pattern[i].byte) return false;
      }
      break;
    default:
      break;
  }
  for (size_t i = 0; i < a.kids.size(); ++i) {
    if (!SameExpr(*a.kids[i], *b.kids[i])) return false;
  }
  return true;
}

namespace {

// An expression as its innermost non-attribute root and the attribute path read from it.
struct ObjKey {
  const Expr* root = nullptr;
  std::vector<std::string> path;
};

ObjKey Peel(const Expr& e) {
  ObjKey key;
  const Expr* cur = &e;
  while (cur->kind == ExprKind::kGetAttr) {
    key.path.push_back(cur->name);
    cur = cur->kids[0].get();
  }
  std::reverse(key.path.begin(), key.path.end());
  key.root = cur;
  return key;
}

bool SameCap(const Capability& a, const Capability& b) {
  if ((a.tag == nullptr) != (b.tag == nullptr) || a.attr != b.attr) return false;
  if (a.tag != nullptr && !SameExpr(*a.tag, *b.tag)) return false;
  return SameExpr(*a.obj, *b.obj);
}

}  // namespace

// Capabilities keep the object as root + path; `Capability::obj` is the root and `attr` is the
// path joined with the attribute by '\0' (attribute names never contain '\0' in a schema).
namespace {

Capability AttrCap(const ObjKey& key, const std::string& attr) {
  Capability c;
  c.obj = key.root;
  for (const auto& p : key.path) {
    c.attr += p;
    c.attr.push_back('\0');
  }
  c.attr += attr;
  return c;
}

Capability TagCap(const ObjKey& key, const Expr& tag) {
  Capability c = AttrCap(key, "");
  c.tag = &tag;
  return c;
}

bool HasCap(const Capabilities& caps, const Capability& c) {
  for (const auto& x : caps) {
    if (SameCap(x, c)) return true;
  }
  return false;
}

Capabilities Union(const Capabilities& a, const Capabilities& b) {
  Capabilities out = a;
  for (const auto& c : b) {
    if (!HasCap(out, c)) out.push_back(c);
  }
  return out;
}

Capabilities Intersect(const Capabilities& a, const Capabilities& b) {
  Capabilities out;
  for (const auto& c : a) {
    if (HasCap(b, c)) out.push_back(c);
  }
  return out;
}

std::string Quote(const std::string& s) { return "`" + s + "`"; }

}  // namespace

std::nullopt_t TypeChecker::Error(ValidationErrorKind kind, const Expr& e, std::string message) {
  ValidationIssue issue;
  issue.kind = kind;
  issue.span = e.span;
  issue.message = std::move(message);
  errors_->push_back(std::move(issue));
  return std::nullopt;
}

std::nullopt_t TypeChecker::Unexpected(const Expr& e, const std::string& expected, const Ty& got) {
  return Error(ValidationErrorKind::kUnexpectedType, e,
               "unexpected type: expected " + expected + " but saw " + Quote(TypeName(got)));
}

std::optional<EntityUid> TypeChecker::EntityLiteral(const Expr& e) const {
  if (e.kind == ExprKind::kLit && e.lit.is_entity()) return e.lit.as_entity();
  if (e.kind == ExprKind::kVar && e.var == Var::kAction) return env_.action->def->uid;
  return std::nullopt;
}

std::optional<TypeChecker::Res> TypeChecker::Check(const Expr& e, const Capabilities& prior) {
  return CheckInner(e, prior);
}

std::optional<TypeChecker::Res> TypeChecker::CheckConjunction(const std::vector<Conjunct>& items, size_t from,
                                                              const Capabilities& prior) {
  if (from >= items.size()) return Res{Ty::Bool(Ty::B::kTrue), {}};
  const Conjunct& c = items[from];
  auto first = Check(*c.expr, prior);
  if (!first) return std::nullopt;
  if (first->type.kind != Ty::Kind::kBool) return Unexpected(*c.expr, "Bool", first->type);
  if (c.negate) first = Res{Ty::Bool(NotBool(first->type.b)), {}};
  if (first->type.is_false()) return Res{Ty::Bool(Ty::B::kFalse), {}};
  auto rest = CheckConjunction(items, from + 1, Union(prior, first->caps));
  if (!rest) return std::nullopt;
  if (rest->type.is_false()) return Res{Ty::Bool(Ty::B::kFalse), {}};
  return Res{Ty::Bool(LubBool(first->type.b, rest->type.b)), Union(first->caps, rest->caps)};
}

std::optional<TypeChecker::Res> TypeChecker::CheckIn(const Expr& e, const Expr& lhs, const Ty& lt, const Expr& rhs,
                                                     const Ty& rt) {
  if (lt.kind != Ty::Kind::kEntity) return Unexpected(lhs, "an entity", lt);
  auto lhs_action = EntityLiteral(lhs);
  if (lhs_action && index_.FindAction(*lhs_action) == nullptr) lhs_action.reset();
  if (rt.kind == Ty::Kind::kEntity) {
    auto rhs_uid = EntityLiteral(rhs);
    if (lhs_action && rhs_uid) {
      return Res{Ty::Bool(index_.ActionDescendantOf(*lhs_action, *rhs_uid) ? Ty::B::kTrue : Ty::B::kFalse), {}};
    }
    return Res{Ty::Bool(index_.TypeDescendantOf(lt.name, rt.name) ? Ty::B::kAny : Ty::B::kFalse), {}};
  }
  if (rt.kind == Ty::Kind::kSet && rt.elem->kind == Ty::Kind::kEntity) {
    if (lhs_action && rhs.kind == ExprKind::kSet) {
      bool all_actions = true;
      bool any = false;
      for (const auto& k : rhs.kids) {
        auto uid = EntityLiteral(*k);
        if (!uid || index_.FindAction(*uid) == nullptr) {
          all_actions = false;
          break;
        }
        any = any || index_.ActionDescendantOf(*lhs_action, *uid);
      }
      if (all_actions) return Res{Ty::Bool(any ? Ty::B::kTrue : Ty::B::kFalse), {}};
    }
    return Res{Ty::Bool(index_.TypeDescendantOf(lt.name, rt.elem->name) ? Ty::B::kAny : Ty::B::kFalse), {}};
  }
  (void)e;
  return Unexpected(rhs, "an entity or a set of entities", rt);
}

namespace {

struct MethodSig {
  std::string_view name;
  std::vector<std::string_view> args;  // extension type names, or "Long"
  std::string_view result;             // "Bool", "Long" or an extension type name
};

const std::vector<MethodSig>& MethodSigs() {
  static const std::vector<MethodSig> sigs = {
      {"lessThan", {"decimal", "decimal"}, "Bool"},
      {"lessThanOrEqual", {"decimal", "decimal"}, "Bool"},
      {"greaterThan", {"decimal", "decimal"}, "Bool"},
      {"greaterThanOrEqual", {"decimal", "decimal"}, "Bool"},
      {"isIpv4", {"ipaddr"}, "Bool"},
      {"isIpv6", {"ipaddr"}, "Bool"},
      {"isLoopback", {"ipaddr"}, "Bool"},
      {"isMulticast", {"ipaddr"}, "Bool"},
      {"isInRange", {"ipaddr", "ipaddr"}, "Bool"},
      {"offset", {"datetime", "duration"}, "datetime"},
      {"durationSince", {"datetime", "datetime"}, "duration"},
      {"toDate", {"datetime"}, "datetime"},
      {"toTime", {"datetime"}, "duration"},
      {"toMilliseconds", {"duration"}, "Long"},
      {"toSeconds", {"duration"}, "Long"},
      {"toMinutes", {"duration"}, "Long"},
      {"toHours", {"duration"}, "Long"},
      {"toDays", {"duration"}, "Long"},
  };
  return sigs;
}

std::string_view ConstructorType(std::string_view name) {
  if (name == "ip") return "ipaddr";
  if (name == "decimal" || name == "datetime" || name == "duration") return name;
  return {};
}

}  // namespace

std::optional<TypeChecker::Res> TypeChecker::CheckExtCall(const Expr& e, const std::vector<Ty>& args) {
  std::string_view ctor = ConstructorType(e.name);
  if (!ctor.empty()) {
    bool literal = e.kids.size() == 1 && e.kids[0]->kind == ExprKind::kLit && e.kids[0]->lit.is_string();
    if (!literal) {
      return Error(ValidationErrorKind::kExtensionArgument, e,
                   "`" + e.name + "` must be applied to a string literal, so that the validator can check it");
    }
    if (!(e.folded && e.folded_ok)) {
      return Error(ValidationErrorKind::kExtensionArgument, e,
                   "`" + e.name + "(" + QuoteString(e.kids[0]->lit.as_string()) + ")` is not a valid " +
                       std::string(ctor) + (e.folded_error.empty() ? "" : ": " + e.folded_error));
    }
    return Res{Ty::Ext(std::string(ctor)), {}};
  }
  for (const auto& sig : MethodSigs()) {
    if (sig.name != e.name) continue;
    if (args.size() != sig.args.size()) {
      return Error(ValidationErrorKind::kWrongNumberOfArguments, e,
                   "call to `" + e.name + "` takes " + std::to_string(sig.args.size() - 1) + " argument(s), got " +
                       std::to_string(args.size() == 0 ? 0 : args.size() - 1));
    }
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i].kind != Ty::Kind::kExt || args[i].name != sig.args[i]) {
        return Unexpected(*e.kids[i], Quote(std::string(sig.args[i])), args[i]);
      }
    }
    if (sig.result == "Bool") return Res{Ty::Bool(), {}};
    if (sig.result == "Long") return Res{Ty::Long(), {}};
    return Res{Ty::Ext(std::string(sig.result)), {}};
  }
  return Error(ValidationErrorKind::kUnexpectedType, e, "unknown extension function `" + e.name + "`");
}

namespace {

// Looks up `attr` in an entity or record type. Returns nullptr (with *entity_without_attrs set for
// action entities, which have no attributes) when absent.
const QualTy* LookupAttr(const SchemaIndex& index, const Ty& t, const std::string& attr) {
  const RecordTy* rec = nullptr;
  if (t.kind == Ty::Kind::kRecord) {
    rec = t.rec.get();
  } else if (const auto* info = index.FindEntity(t.name)) {
    rec = info->shape.get();
  }
  if (rec == nullptr) return nullptr;
  auto it = rec->attrs.find(attr);
  return it == rec->attrs.end() ? nullptr : &it->second;
}

}  // namespace

std::optional<TypeChecker::Res> TypeChecker::CheckInner(const Expr& e, const Capabilities& prior) {
  switch (e.kind) {
    case ExprKind::kLit: {
      const Value& v = e.lit;
      switch (v.kind()) {
        case ValueKind::kBool: return Res{Ty::Bool(v.as_bool() ? Ty::B::kTrue : Ty::B::kFalse), {}};
        case ValueKind::kLong: return Res{Ty::Long(), {}};
        case ValueKind::kString: return Res{Ty::String(), {}};
        case ValueKind::kEntity:
          // Unknown types, actions and enum ids were reported once per policy before typechecking.
          if (!index_.IsValidUid(v.as_entity())) return std::nullopt;
          return Res{Ty::Entity(v.as_entity().type), {}};
        default:
          return Error(ValidationErrorKind::kUnexpectedType, e, "unexpected literal");
      }
    }
    case ExprKind::kVar:
      switch (e.var) {
        case Var::kPrincipal: return Res{Ty::Entity(env_.principal), {}};
        case Var::kAction: return Res{Ty::Entity(env_.action->def->uid.type), {}};
        case Var::kResource: return Res{Ty::Entity(env_.resource), {}};
        case Var::kContext: return Res{RecordOf(env_.action->context), {}};
      }
      return std::nullopt;
    case ExprKind::kSlot: {
      const std::string& t = e.slot == SlotId::kPrincipal ? env_.principal_slot : env_.resource_slot;
      return Res{Ty::Entity(t), {}};
    }
    case ExprKind::kIf: {
      auto c = Check(*e.kids[0], prior);
      if (!c) return std::nullopt;
      if (c->type.kind != Ty::Kind::kBool) return Unexpected(*e.kids[0], "Bool", c->type);
      if (c->type.is_true()) {
        auto t = Check(*e.kids[1], Union(prior, c->caps));
        if (!t) return std::nullopt;
        return Res{t->type, Union(c->caps, t->caps)};
      }
      if (c->type.is_false()) return Check(*e.kids[2], prior);
      auto t = Check(*e.kids[1], Union(prior, c->caps));
      auto f = Check(*e.kids[2], prior);
      if (!t || !f) return std::nullopt;
      auto lub = Lub(t->type, f->type);
      if (!lub) {
        return Error(ValidationErrorKind::kIncompatibleTypes, e,
                     "the branches of this `if` have incompatible types " + Quote(TypeName(t->type)) + " and " +
                         Quote(TypeName(f->type)));
      }
      return Res{*lub, Intersect(Union(c->caps, t->caps), f->caps)};
    }
    case ExprKind::kAnd: {
      auto l = Check(*e.kids[0], prior);
      if (!l) return std::nullopt;
      if (l->type.kind != Ty::Kind::kBool) return Unexpected(*e.kids[0], "Bool", l->type);
      if (l->type.is_false()) return Res{Ty::Bool(Ty::B::kFalse), {}};
      auto r = Check(*e.kids[1], Union(prior, l->caps));
      if (!r) return std::nullopt;
      if (r->type.kind != Ty::Kind::kBool) return Unexpected(*e.kids[1], "Bool", r->type);
      if (r->type.is_false()) return Res{Ty::Bool(Ty::B::kFalse), {}};
      return Res{Ty::Bool(LubBool(l->type.b, r->type.b)), Union(l->caps, r->caps)};
    }
    case ExprKind::kOr: {
      auto l = Check(*e.kids[0], prior);
      if (!l) return std::nullopt;
      if (l->type.kind != Ty::Kind::kBool) return Unexpected(*e.kids[0], "Bool", l->type);
      if (l->type.is_true()) return Res{Ty::Bool(Ty::B::kTrue), {}};
      auto r = Check(*e.kids[1], prior);
      if (!r) return std::nullopt;
      if (r->type.kind != Ty::Kind::kBool) return Unexpected(*e.kids[1], "Bool", r->type);
      if (l->type.is_false()) return r;
      if (r->type.is_true()) return Res{Ty::Bool(Ty::B::kTrue), {}};
      if (r->type.is_false()) return Res{Ty::Bool(), l->caps};
      return Res{Ty::Bool(), Intersect(l->caps, r->caps)};
    }
    case ExprKind::kNot: {
      auto x = Check(*e.kids[0], prior);
      if (!x) return std::nullopt;
      if (x->type.kind != Ty::Kind::kBool) return Unexpected(*e.kids[0], "Bool", x->type);
      return Res{Ty::Bool(NotBool(x->type.b)), {}};
    }
    case ExprKind::kNeg: {
      auto x = Check(*e.kids[0], prior);
      if (!x) return std::nullopt;
      if (x->type.kind != Ty::Kind::kLong) return Unexpected(*e.kids[0], "Long", x->type);
      return Res{Ty::Long(), {}};
    }
    case ExprKind::kEq:
    case ExprKind::kNe: {
      auto l = Check(*e.kids[0], prior);
      auto r = Check(*e.kids[1], prior);
      if (!l || !r) return std::nullopt;
      Ty::B b = Ty::B::kAny;
      const Expr& x = *e.kids[0];
      const Expr& y = *e.kids[1];
      bool x_lit = x.kind == ExprKind::kLit || (x.kind == ExprKind::kVar && x.var == Var::kAction);
      bool y_lit = y.kind == ExprKind::kLit || (y.kind == ExprKind::kVar && y.var == Var::kAction);
      if (x_lit && y_lit) {
        auto xu = EntityLiteral(x);
        auto yu = EntityLiteral(y);
        bool same = xu && yu ? *xu == *yu : (!xu && !yu && x.lit == y.lit);
        b = same ? Ty::B::kTrue : Ty::B::kFalse;
      } else if (!Lub(l->type, r->type)) {
        if (l->type.kind == Ty::Kind::kEntity && r->type.kind == Ty::Kind::kEntity) {
          b = Ty::B::kFalse;
        } else {
          return Error(ValidationErrorKind::kIncompatibleTypes, e,
                       "the operands of `" + std::string(e.kind == ExprKind::kEq ? "==" : "!=") + "` have types " +
                           Quote(TypeName(l->type)) + " and " + Quote(TypeName(r->type)) +
                           ", which can never be equal (compare values of the same type)");
        }
      }
      if (e.kind == ExprKind::kNe) b = NotBool(b);
      return Res{Ty::Bool(b), {}};
    }
    case ExprKind::kLt:
    case ExprKind::kLe:
    case ExprKind::kGt:
    case ExprKind::kGe: {
      auto l = Check(*e.kids[0], prior);
      auto r = Check(*e.kids[1], prior);
      if (!l || !r) return std::nullopt;
      auto comparable = [](const Ty& t) {
        return t.kind == Ty::Kind::kLong ||
               (t.kind == Ty::Kind::kExt && (t.name == "datetime" || t.name == "duration"));
      };
      if (!comparable(l->type)) return Unexpected(*e.kids[0], "`Long`, `datetime` or `duration`", l->type);
      if (!SameType(l->type, r->type)) return Unexpected(*e.kids[1], Quote(TypeName(l->type)), r->type);
      return Res{Ty::Bool(), {}};
    }
    case ExprKind::kAdd:
    case ExprKind::kSub:
    case ExprKind::kMul: {
      auto l = Check(*e.kids[0], prior);
      auto r = Check(*e.kids[1], prior);
      if (!l || !r) return std::nullopt;
      if (l->type.kind != Ty::Kind::kLong) return Unexpected(*e.kids[0], "`Long`", l->type);
      if (r->type.kind != Ty::Kind::kLong) return Unexpected(*e.kids[1], "`Long`", r->type);
      return Res{Ty::Long(), {}};
    }
    case ExprKind::kIn: {
      auto l = Check(*e.kids[0], prior);
      auto r = Check(*e.kids[1], prior);
      if (!l || !r) return std::nullopt;
      return CheckIn(e, *e.kids[0], l->type, *e.kids[1], r->type);
    }
    case ExprKind::kHas: {
      auto base = Check(*e.kids[0], prior);
      if (!base) return std::nullopt;
      ObjKey key = Peel(*e.kids[0]);
      Ty cur = base->type;
      Ty::B acc = Ty::B::kTrue;
      Capabilities caps;
      for (size_t i = 0; i < e.path.size(); ++i) {
        const std::string& attr = e.path[i];
        if (i > 0) {
          // `x has a.b` is `x has a && x.a has b`: read `x.a` (guarded by the first test).
          const QualTy* q = LookupAttr(index_, cur, e.path[i - 1]);
          if (q == nullptr) return Error(ValidationErrorKind::kAttributeNotFound, e, "attribute " + Quote(e.path[i - 1]) + " not found");
          cur = q->type;
          key.path.push_back(e.path[i - 1]);
        }
        if (cur.kind != Ty::Kind::kEntity && cur.kind != Ty::Kind::kRecord) {
          return Unexpected(i == 0 ? *e.kids[0] : e, "an entity or a record", cur);
        }
        Capabilities in_scope = Union(prior, caps);
        Capability cap = AttrCap(key, attr);
        Ty::B b;
        Capabilities produced;
        bool is_record = cur.kind == Ty::Kind::kRecord;
        const QualTy* q = nullptr;
        if (!is_record && index_.FindEntity(cur.name) == nullptr) {
          b = Ty::B::kFalse;  // actions have no attributes
        } else if ((q = LookupAttr(index_, cur, attr)) == nullptr) {
          b = Ty::B::kFalse;
        } else if (HasCap(in_scope, cap)) {
          b = Ty::B::kTrue;
        } else if (q->required && is_record) {
          b = Ty::B::kTrue;
        } else {
          b = Ty::B::kAny;
          produced.push_back(cap);
        }
        if (b == Ty::B::kFalse) return Res{Ty::Bool(Ty::B::kFalse), {}};
        acc = LubBool(acc, b);
        caps = Union(caps, produced);
      }
      return Res{Ty::Bool(acc), caps};
    }
    case ExprKind::kGetAttr: {
      auto base = Check(*e.kids[0], prior);
      if (!base) return std::nullopt;
      const Ty& t = base->type;
      if (t.kind != Ty::Kind::kEntity && t.kind != Ty::Kind::kRecord) {
        return Unexpected(*e.kids[0], "an entity or a record", t);
      }
      const QualTy* q = LookupAttr(index_, t, e.name);
      if (q == nullptr) {
        std::string where = t.kind == Ty::Kind::kEntity
                                ? (index_.FindEntity(t.name) == nullptr ? "action entities, which have no attributes"
                                                                        : "entity type " + Quote(t.name))
                                : "record type " + Quote(TypeName(t));
        return Error(ValidationErrorKind::kAttributeNotFound, e, "attribute " + Quote(e.name) + " not found for " + where);
      }
      if (!q->required && !HasCap(prior, AttrCap(Peel(*e.kids[0]), e.name))) {
        return Error(ValidationErrorKind::kUnsafeOptionalAttribute, e,
                     "attribute " + Quote(e.name) + " is optional: guard this access with `has " + e.name + "`");
      }
      return Res{q->type, {}};
    }
    case ExprKind::kLike: {
      auto x = Check(*e.kids[0], prior);
      if (!x) return std::nullopt;
      if (x->type.kind != Ty::Kind::kString) return Unexpected(*e.kids[0], "`String`", x->type);
      return Res{Ty::Bool(), {}};
    }
    case ExprKind::kIs: {
      auto x = Check(*e.kids[0], prior);
      if (!x) return std::nullopt;
      if (x->type.kind != Ty::Kind::kEntity) return Unexpected(*e.kids[0], "an entity", x->type);
      Ty::B b = x->type.name == e.name ? Ty::B::kTrue : Ty::B::kFalse;
      if (e.kids.size() < 2) return Res{Ty::Bool(b), {}};
      if (b == Ty::B::kFalse) return Res{Ty::Bool(Ty::B::kFalse), {}};
      auto r = Check(*e.kids[1], prior);
      if (!r) return std::nullopt;
      return CheckIn(e, *e.kids[0], x->type, *e.kids[1], r->type);
    }
    case ExprKind::kSet: {
      if (e.kids.empty()) {
        return Error(ValidationErrorKind::kEmptySetForbidden, e,
                     "empty set literals are forbidden in policies: the validator cannot know their element type");
      }
      std::optional<Ty> lub;
      bool failed = false;
      std::vector<Ty> types;
      for (const auto& k : e.kids) {
        auto x = Check(*k, prior);
        if (!x) {
          failed = true;
          continue;
        }
        types.push_back(x->type);
      }
      if (failed) return std::nullopt;
      lub = types[0];
      for (size_t i = 1; i < types.size(); ++i) {
        lub = Lub(*lub, types[i]);
        if (!lub) {
          return Error(ValidationErrorKind::kIncompatibleTypes, e,
                       "the elements of this set have incompatible types " + Quote(TypeName(types[0])) + " and " +
                           Quote(TypeName(types[i])) + " (a set holds values of one type)");
        }
      }
      return Res{Ty::Set(std::move(*lub)), {}};
    }
    case ExprKind::kRecord: {
      auto rec = std::make_shared<RecordTy>();
      bool failed = false;
      for (size_t i = 0; i < e.kids.size(); ++i) {
        auto x = Check(*e.kids[i], prior);
        if (!x) {
          failed = true;
          continue;
        }
        rec->attrs[e.path[i]] = QualTy{x->type, true};
      }
      if (failed) return std::nullopt;
      return Res{RecordOf(std::move(rec)), {}};
    }
    case ExprKind::kContains:
    case ExprKind::kContainsAll:
    case ExprKind::kContainsAny: {
      auto l = Check(*e.kids[0], prior);
      auto r = Check(*e.kids[1], prior);
      if (!l || !r) return std::nullopt;
      if (l->type.kind != Ty::Kind::kSet) return Unexpected(*e.kids[0], "a set", l->type);
      const Ty* other = &r->type;
      if (e.kind != ExprKind::kContains) {
        if (r->type.kind != Ty::Kind::kSet) return Unexpected(*e.kids[1], "a set", r->type);
        other = r->type.elem.get();
      }
      if (!Lub(*l->type.elem, *other)) {
        return Error(ValidationErrorKind::kIncompatibleTypes, e,
                     "a set of " + Quote(TypeName(*l->type.elem)) + " can never contain " + Quote(TypeName(*other)));
      }
      return Res{Ty::Bool(), {}};
    }
    case ExprKind::kIsEmpty: {
      auto x = Check(*e.kids[0], prior);
      if (!x) return std::nullopt;
      if (x->type.kind != Ty::Kind::kSet) return Unexpected(*e.kids[0], "a set", x->type);
      return Res{Ty::Bool(), {}};
    }
    case ExprKind::kHasTag:
    case ExprKind::kGetTag: {
      auto l = Check(*e.kids[0], prior);
      auto r = Check(*e.kids[1], prior);
      if (!l || !r) return std::nullopt;
      if (l->type.kind != Ty::Kind::kEntity) return Unexpected(*e.kids[0], "an entity", l->type);
      if (r->type.kind != Ty::Kind::kString) return Unexpected(*e.kids[1], "`String`", r->type);
      const auto* info = index_.FindEntity(l->type.name);
      bool has_tags = info != nullptr && info->tags.has_value();
      Capability cap = TagCap(Peel(*e.kids[0]), *e.kids[1]);
      if (e.kind == ExprKind::kHasTag) {
        if (!has_tags) return Res{Ty::Bool(Ty::B::kFalse), {}};
        if (HasCap(prior, cap)) return Res{Ty::Bool(Ty::B::kTrue), {}};
        return Res{Ty::Bool(), {cap}};
      }
      if (!has_tags) {
        return Error(ValidationErrorKind::kUnsafeTagAccess, e, "entity type " + Quote(l->type.name) + " has no tags");
      }
      if (!HasCap(prior, cap)) {
        return Error(ValidationErrorKind::kUnsafeTagAccess, e,
                     "this tag may be absent: guard `getTag` with `hasTag` on the same entity and key");
      }
      return Res{*info->tags, {}};
    }
    case ExprKind::kExtCall: {
      std::vector<Ty> args;
      bool failed = false;
      for (const auto& k : e.kids) {
        auto x = Check(*k, prior);
        if (!x) {
          failed = true;
          continue;
        }
        args.push_back(x->type);
      }
      if (failed) return std::nullopt;
      return CheckExtCall(e, args);
    }
  }
  return std::nullopt;
}

}  // namespace writ::cedar::internal
