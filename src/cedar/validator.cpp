#include "cedar/validator.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "cedar/authorizer.h"
#include "cedar/entities.h"
#include "cedar/internal/typecheck.h"
#include "cedar/policy.h"

namespace writ::cedar {

using internal::RequestEnv;
using internal::SchemaIndex;
using internal::Ty;
using internal::TypeChecker;

std::string_view ValidationErrorKindName(ValidationErrorKind kind) {
  switch (kind) {
    case ValidationErrorKind::kUnrecognizedEntityType: return "unrecognized_entity_type";
    case ValidationErrorKind::kUnrecognizedActionId: return "unrecognized_action_id";
    case ValidationErrorKind::kInvalidEnumEntity: return "invalid_enum_entity";
    case ValidationErrorKind::kInvalidActionApplication: return "invalid_action_application";
    case ValidationErrorKind::kUnexpectedType: return "unexpected_type";
    case ValidationErrorKind::kIncompatibleTypes: return "incompatible_types";
    case ValidationErrorKind::kAttributeNotFound: return "attribute_not_found";
    case ValidationErrorKind::kUnsafeOptionalAttribute: return "unsafe_optional_attribute_access";
    case ValidationErrorKind::kUnsafeTagAccess: return "unsafe_tag_access";
    case ValidationErrorKind::kEmptySetForbidden: return "empty_set_forbidden";
    case ValidationErrorKind::kExtensionArgument: return "extension_argument";
    case ValidationErrorKind::kWrongNumberOfArguments: return "wrong_number_of_arguments";
    case ValidationErrorKind::kImpossiblePolicy: return "impossible_policy";
  }
  return "unknown";
}

std::string ValidationIssue::ToString() const {
  return "policy `" + policy_id + "` at " + std::to_string(span.line) + ":" + std::to_string(span.column) + ": " +
         message;
}

Validator::Validator(const Schema& schema) : schema_(schema), index_(std::make_unique<SchemaIndex>(schema)) {}
Validator::~Validator() = default;

namespace {

ExprPtr MakeVar(Var v, const SourceSpan& span) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kVar;
  e->var = v;
  e->span = span;
  return e;
}

ExprPtr MakeUidLit(const EntityUid& uid, const SourceSpan& span) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kLit;
  e->lit = Value::Entity(uid);
  e->span = span;
  return e;
}

ExprPtr MakeBinary(ExprKind kind, ExprPtr a, ExprPtr b, const SourceSpan& span) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->span = span;
  e->kids.push_back(std::move(a));
  e->kids.push_back(std::move(b));
  return e;
}

// `principal == E`, `principal in ?principal`, `principal is T in E`, ... as an expression, or
// nullptr for an unconstrained scope.
ExprPtr ScopeExpr(const ScopeConstraint& c, Var var, const SourceSpan& span) {
  auto target = [&]() -> ExprPtr {
    if (c.entity) return MakeUidLit(*c.entity, span);
    auto s = std::make_unique<Expr>();
    s->kind = ExprKind::kSlot;
    s->slot = c.slot.value_or(SlotId::kPrincipal);
    s->span = span;
    return s;
  };
  switch (c.op) {
    case ScopeConstraint::Op::kAny: return nullptr;
    case ScopeConstraint::Op::kEq: return MakeBinary(ExprKind::kEq, MakeVar(var, span), target(), span);
    case ScopeConstraint::Op::kIn: return MakeBinary(ExprKind::kIn, MakeVar(var, span), target(), span);
    case ScopeConstraint::Op::kIs:
    case ScopeConstraint::Op::kIsIn: {
      auto e = std::make_unique<Expr>();
      e->kind = ExprKind::kIs;
      e->span = span;
      e->name = c.type;
      e->kids.push_back(MakeVar(var, span));
      if (c.op == ScopeConstraint::Op::kIsIn) e->kids.push_back(target());
      return e;
    }
  }
  return nullptr;
}

ExprPtr ActionScopeExpr(const ActionConstraint& c, const SourceSpan& span) {
  switch (c.op) {
    case ActionConstraint::Op::kAny: return nullptr;
    case ActionConstraint::Op::kEq:
      return MakeBinary(ExprKind::kEq, MakeVar(Var::kAction, span), MakeUidLit(c.entities.at(0), span), span);
    case ActionConstraint::Op::kIn: {
      if (!c.is_list && c.entities.size() == 1) {
        return MakeBinary(ExprKind::kIn, MakeVar(Var::kAction, span), MakeUidLit(c.entities[0], span), span);
      }
      auto set = std::make_unique<Expr>();
      set->kind = ExprKind::kSet;
      set->span = span;
      for (const auto& uid : c.entities) set->kids.push_back(MakeUidLit(uid, span));
      return MakeBinary(ExprKind::kIn, MakeVar(Var::kAction, span), std::move(set), span);
    }
  }
  return nullptr;
}

// Reports entity types, actions and enumerated ids that the schema does not declare.
class NameChecker {
 public:
  NameChecker(const SchemaIndex& index, std::vector<ValidationIssue>* errors) : index_(index), errors_(errors) {}

  void Uid(const EntityUid& uid, const SourceSpan& span) {
    if (const auto* info = index_.FindEntity(uid.type)) {
      if (info->def->enum_ids && !index_.IsValidUid(uid)) {
        std::string ids;
        for (const auto& id : *info->def->enum_ids) ids += (ids.empty() ? "" : ", ") + QuoteString(id);
        Add(ValidationErrorKind::kInvalidEnumEntity, span,
            "entity `" + ToString(uid) + "` is not one of the declared values of `" + uid.type + "` (" + ids + ")");
      }
      return;
    }
    if (index_.IsActionType(uid.type)) {
      if (index_.FindAction(uid) == nullptr) Action(uid, span);
      return;
    }
    Type(uid.type, span);
  }
  void Action(const EntityUid& uid, const SourceSpan& span) {
    if (index_.FindAction(uid) == nullptr) {
      Add(ValidationErrorKind::kUnrecognizedActionId, span, "action `" + ToString(uid) + "` is not declared in the schema");
    }
  }
  void Type(const std::string& type, const SourceSpan& span) {
    if (index_.FindEntity(type) == nullptr && !index_.IsActionType(type)) {
      Add(ValidationErrorKind::kUnrecognizedEntityType, span, "entity type `" + type + "` is not declared in the schema");
    }
  }
  void Walk(const Expr& e) {
    if (e.kind == ExprKind::kLit && e.lit.is_entity()) Uid(e.lit.as_entity(), e.span);
    if (e.kind == ExprKind::kIs) Type(e.name, e.span);
    for (const auto& k : e.kids) Walk(*k);
  }

 private:
  void Add(ValidationErrorKind kind, const SourceSpan& span, std::string message) {
    ValidationIssue issue;
    issue.kind = kind;
    issue.span = span;
    issue.message = std::move(message);
    errors_->push_back(std::move(issue));
  }
  const SchemaIndex& index_;
  std::vector<ValidationIssue>* errors_;
};

void AppendUnique(std::vector<ValidationIssue>& from, const std::string& policy_id, std::vector<ValidationIssue>* to) {
  for (auto& issue : from) {
    bool dup = std::any_of(to->begin(), to->end(), [&](const ValidationIssue& x) {
      return x.policy_id == policy_id && x.kind == issue.kind && x.span.begin == issue.span.begin &&
             x.span.end == issue.span.end && x.message == issue.message;
    });
    if (dup) continue;
    issue.policy_id = policy_id;
    to->push_back(std::move(issue));
  }
}

}  // namespace

void Validator::ValidatePolicy(const Policy& policy, ValidationResult* out) const {
  const SourceSpan& span = policy.span;
  std::vector<ValidationIssue> errors;
  NameChecker names(*index_, &errors);
  for (const ScopeConstraint* c : {&policy.principal, &policy.resource}) {
    if (c->entity) names.Uid(*c->entity, span);
    if (c->op == ScopeConstraint::Op::kIs || c->op == ScopeConstraint::Op::kIsIn) names.Type(c->type, span);
  }
  for (const auto& uid : policy.action.entities) names.Action(uid, span);
  for (const auto& cond : policy.conditions) names.Walk(*cond.expr);

  // The policy as one conjunction: scope constraints first, then the conditions.
  std::vector<ExprPtr> owned;
  std::vector<TypeChecker::Conjunct> scope;
  owned.push_back(ScopeExpr(policy.principal, Var::kPrincipal, span));
  owned.push_back(ActionScopeExpr(policy.action, span));
  owned.push_back(ScopeExpr(policy.resource, Var::kResource, span));
  for (const ExprPtr& e : owned) {
    if (e) scope.push_back({e.get(), false});
  }
  std::vector<TypeChecker::Conjunct> all = scope;
  for (const auto& cond : policy.conditions) all.push_back({cond.expr.get(), !cond.is_when});

  // Slots take every entity type the schema declares.
  std::vector<std::string> entity_types;
  for (const auto& [name, def] : schema_.entity_types()) entity_types.push_back(name);
  const bool principal_slot = policy.principal.slot && !policy.principal.entity;
  const bool resource_slot = policy.resource.slot && !policy.resource.entity;
  std::vector<std::string> none = {""};
  const auto& pslots = principal_slot ? entity_types : none;
  const auto& rslots = resource_slot ? entity_types : none;

  bool scope_possible = false;
  bool policy_possible = false;
  std::vector<ValidationIssue> type_errors;
  for (const auto& [uid, action] : schema_.actions()) {
    const SchemaIndex::ActionInfo* info = index_->FindAction(uid);
    for (const auto& p : action.principal_types) {
      for (const auto& r : action.resource_types) {
        for (const auto& ps : pslots) {
          for (const auto& rs : rslots) {
            RequestEnv env{p, info, r, ps, rs};
            std::vector<ValidationIssue> scratch;
            TypeChecker scope_checker(*index_, env, &scratch);
            auto s = scope_checker.CheckConjunction(scope, 0, {});
            // A scope that fails to typecheck (an unknown name, reported above) is not "impossible".
            if (!s || !s->type.is_false()) scope_possible = true;
            TypeChecker checker(*index_, env, &type_errors);
            auto t = checker.CheckConjunction(all, 0, {});
            if (!t || !t->type.is_false()) policy_possible = true;
          }
        }
      }
    }
  }
  AppendUnique(errors, policy.id, &out->errors);
  AppendUnique(type_errors, policy.id, &out->errors);
  if (!scope_possible) {
    std::vector<ValidationIssue> v(1);
    v[0].kind = ValidationErrorKind::kInvalidActionApplication;
    v[0].span = span;
    v[0].message =
        "no action of the schema applies to the principal and resource types this policy's scope allows, so it can "
        "never apply";
    AppendUnique(v, policy.id, &out->errors);
  } else if (!policy_possible) {
    std::vector<ValidationIssue> v(1);
    v[0].kind = ValidationErrorKind::kImpossiblePolicy;
    v[0].span = span;
    v[0].message = "this policy can never be satisfied by a request that conforms to the schema";
    AppendUnique(v, policy.id, &out->warnings);
  }
}

ValidationResult Validator::Validate(const PolicySet& set) const {
  ValidationResult out;
  for (const auto& t : set.templates()) ValidatePolicy(*t, &out);
  for (const auto& p : set.policies()) ValidatePolicy(*p, &out);
  return out;
}

namespace {

// Why `v` does not have type `t`, or "" when it does.
std::string Mismatch(const SchemaIndex& index, const Value& v, const Ty& t) {
  auto want = [&] { return "expected `" + internal::TypeName(t) + "`, got " + ToString(v); };
  switch (t.kind) {
    case Ty::Kind::kBool: return v.is_bool() ? "" : want();
    case Ty::Kind::kLong: return v.is_long() ? "" : want();
    case Ty::Kind::kString: return v.is_string() ? "" : want();
    case Ty::Kind::kEntity:
      if (!v.is_entity() || v.as_entity().type != t.name) return want();
      if (!index.IsValidUid(v.as_entity())) return "`" + ToString(v.as_entity()) + "` is not a declared value of `" + t.name + "`";
      return "";
    case Ty::Kind::kExt: {
      if (!v.is_ext()) return want();
      ExtKind k = v.as_ext().kind;
      bool ok = (t.name == "ipaddr" && k == ExtKind::kIpAddr) || (t.name == "decimal" && k == ExtKind::kDecimal) ||
                (t.name == "datetime" && k == ExtKind::kDatetime) || (t.name == "duration" && k == ExtKind::kDuration);
      return ok ? "" : want();
    }
    case Ty::Kind::kSet:
      if (!v.is_set()) return want();
      for (const auto& x : v.as_set()) {
        std::string m = Mismatch(index, x, *t.elem);
        if (!m.empty()) return "in a set: " + m;
      }
      return "";
    case Ty::Kind::kRecord: {
      if (!v.is_record()) return want();
      for (const auto& [k, x] : v.as_record()) {
        auto it = t.rec->attrs.find(k);
        if (it == t.rec->attrs.end()) return "attribute `" + k + "` is not declared";
        std::string m = Mismatch(index, x, it->second.type);
        if (!m.empty()) return "attribute `" + k + "`: " + m;
      }
      for (const auto& [k, q] : t.rec->attrs) {
        if (q.required && v.FindField(k) == nullptr) return "required attribute `" + k + "` is missing";
      }
      return "";
    }
  }
  return want();
}

}  // namespace

Status Validator::ValidateRequest(const Request& request) const {
  if (!request.action.is_entity()) return Fail(Code::kInvalidArgument, "the request's action is not an entity");
  const EntityUid& action = request.action.as_entity();
  const SchemaIndex::ActionInfo* info = index_->FindAction(action);
  if (info == nullptr) {
    return Fail(Code::kInvalidArgument, "action `" + ToString(action) + "` is not declared in the schema");
  }
  auto check = [&](const Value& v, const std::vector<std::string>& allowed, const char* what) -> Status {
    if (!v.is_entity()) return Fail(Code::kInvalidArgument, std::string("the request's ") + what + " is not an entity");
    const EntityUid& uid = v.as_entity();
    if (std::find(allowed.begin(), allowed.end(), uid.type) == allowed.end()) {
      return Fail(Code::kInvalidArgument, std::string(what) + " type `" + uid.type + "` is not valid for action `" +
                                              ToString(action) + "`");
    }
    if (!index_->IsValidUid(uid)) {
      return Fail(Code::kInvalidArgument, std::string(what) + " `" + ToString(uid) + "` is not a declared value of `" +
                                              uid.type + "`");
    }
    return Ok();
  };
  WRIT_RETURN_IF_ERROR(check(request.principal, info->def->principal_types, "principal"));
  WRIT_RETURN_IF_ERROR(check(request.resource, info->def->resource_types, "resource"));
  Ty context;
  context.kind = Ty::Kind::kRecord;
  context.rec = info->context;
  std::string m = Mismatch(*index_, request.context, context);
  if (!m.empty()) {
    return Fail(Code::kInvalidArgument, "context does not match action `" + ToString(action) + "`: " + m);
  }
  return Ok();
}

Status Validator::ValidateEntity(const Entity& entity) const {
  const EntityUid& uid = entity.uid;
  const SchemaIndex::EntityInfo* info = index_->FindEntity(uid.type);
  if (info == nullptr) {
    if (index_->FindAction(uid) != nullptr) return Ok();
    return Fail(Code::kInvalidArgument, "entity `" + ToString(uid) + "`: type `" + uid.type + "` is not declared in the schema");
  }
  if (!index_->IsValidUid(uid)) {
    return Fail(Code::kInvalidArgument, "entity `" + ToString(uid) + "` is not a declared value of `" + uid.type + "`");
  }
  Ty shape;
  shape.kind = Ty::Kind::kRecord;
  shape.rec = info->shape;
  std::string m = Mismatch(*index_, entity.attrs, shape);
  if (!m.empty()) return Fail(Code::kInvalidArgument, "entity `" + ToString(uid) + "`: " + m);
  if (entity.tags.is_record() && !entity.tags.as_record().empty()) {
    if (!info->tags) return Fail(Code::kInvalidArgument, "entity `" + ToString(uid) + "`: its type has no tags");
    for (const auto& [k, v] : entity.tags.as_record()) {
      std::string tm = Mismatch(*index_, v, *info->tags);
      if (!tm.empty()) return Fail(Code::kInvalidArgument, "entity `" + ToString(uid) + "`: tag `" + k + "`: " + tm);
    }
  }
  for (const auto& parent : entity.parents) {
    const auto& allowed = info->def->member_of;
    if (std::find(allowed.begin(), allowed.end(), parent.type) == allowed.end()) {
      return Fail(Code::kInvalidArgument, "entity `" + ToString(uid) + "` may not have parent `" + ToString(parent) +
                                              "`: `" + uid.type + "` is not declared a member of `" + parent.type + "`");
    }
  }
  return Ok();
}

Status CheckPolicySetValid(const PolicySet& set, const Schema& schema) {
  Validator validator(schema);
  ValidationResult r = validator.Validate(set);
  if (r.ok()) return Ok();
  std::string message = "the policy set does not validate: " + r.errors.front().ToString();
  if (r.errors.size() > 1) message += " (and " + std::to_string(r.errors.size() - 1) + " more errors)";
  return Fail(Code::kFailedPrecondition, std::move(message));
}

}  // namespace writ::cedar
