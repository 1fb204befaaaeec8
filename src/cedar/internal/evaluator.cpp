#include "cedar/internal/evaluator.h"

#include <array>

#include "cedar/internal/ext.h"

namespace writ::cedar::internal {
namespace {

tl::unexpected<EvalError> Err(EvalErrorKind kind, std::string message) {
  return tl::unexpected<EvalError>(EvalError{kind, std::move(message)});
}

tl::unexpected<EvalError> TypeErr(std::string_view want, const Value& got) {
  return Err(EvalErrorKind::kTypeError,
             "type error: expected " + std::string(want) + ", got " + std::string(KindName(got.kind())));
}

// Binds `name` to the value of `node`: by reference for variables and literals (no copy, no
// reference-count traffic), else to a local holding the evaluated value.
#define EVAL_OR_RETURN(name, node)                                  \
  Value name##_store;                                               \
  const Value* name##_ptr = Direct(node);                           \
  if (name##_ptr == nullptr) {                                      \
    auto name##_r = Eval(node);                                     \
    if (!name##_r) return tl::unexpected(std::move(name##_r).error()); \
    name##_store = std::move(*name##_r);                            \
    name##_ptr = &name##_store;                                     \
  }                                                                 \
  const Value& name = *name##_ptr

bool IsComparableExt(const Value& v) {
  return v.is_ext(ExtKind::kDatetime) || v.is_ext(ExtKind::kDuration);
}

}  // namespace

bool MatchPattern(std::string_view text, const std::vector<PatternElem>& pattern) {
  size_t t = 0;
  size_t p = 0;
  size_t star_p = std::string_view::npos;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && !pattern[p].wildcard && pattern[p].byte == text[t]) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p].wildcard) {
      star_p = p++;
      star_t = t;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p].wildcard) ++p;
  return p == pattern.size();
}

const Value* Evaluator::Direct(const Expr& e) const {
  switch (e.kind) {
    case ExprKind::kVar: return vars_[static_cast<int>(e.var)];
    case ExprKind::kLit: return &e.lit;
    case ExprKind::kGetAttr: {
      // An attribute that exists is read in place; anything else (errors included) goes through Eval.
      const Value* target = Direct(*e.kids[0]);
      if (target == nullptr) return nullptr;
      if (target->is_record()) return target->FindField(e.name);
      if (target->is_entity()) {
        const Entity* ent = FindEntity(target->as_entity());
        return ent == nullptr ? nullptr : ent->attrs.FindField(e.name);
      }
      return nullptr;
    }
    default: return nullptr;
  }
}

const Entity* Evaluator::FindEntity(const EntityUid& uid) const {
  // Policies look up the same principal or resource again and again: remember the last one by
  // address (request values share one EntityUid object).
  for (int i = 0; i < 3; ++i) {
    if (&uid == var_uids_[i]) {
      if (!var_looked_up_[i]) {
        var_entities_[i] = entities_.Find(uid);
        var_looked_up_[i] = true;
      }
      return var_entities_[i];
    }
  }
  if (&uid == cached_uid_) return cached_entity_;
  const Entity* e = entities_.Find(uid);
  cached_uid_ = &uid;
  cached_entity_ = e;
  return e;
}

bool Evaluator::InEntity(const EntityUid& uid, const EntityUid& ancestor) const {
  if (uid == ancestor) return true;
  const Entity* e = FindEntity(uid);
  return e != nullptr && e->ancestors.count(ancestor) != 0;
}

EvalResult Evaluator::EvalIn(const Value& left, const Value& right) const {
  if (!left.is_entity()) return TypeErr("entity", left);
  const EntityUid& uid = left.as_entity();
  if (right.is_entity()) return Value::Bool(InEntity(uid, right.as_entity()));
  if (!right.is_set()) return TypeErr("entity or set of entities", right);
  bool found = false;
  for (const auto& e : right.as_set()) {
    if (!e.is_entity()) return TypeErr("entity", e);
    if (!found && InEntity(uid, e.as_entity())) found = true;
  }
  return Value::Bool(found);
}

tl::expected<bool, EvalError> Evaluator::Has(const Value& target, const std::string& attr) const {
  if (target.is_record()) return target.FindField(attr) != nullptr;
  if (target.is_entity()) {
    const Entity* e = FindEntity(target.as_entity());
    return e != nullptr && e->attrs.FindField(attr) != nullptr;
  }
  return TypeErr("entity or record", target);
}

EvalResult Evaluator::GetAttr(const Value& target, const std::string& attr) const {
  if (target.is_record()) {
    const Value* v = target.FindField(attr);
    if (v == nullptr) return Err(EvalErrorKind::kRecordAttrDoesNotExist, "record does not have the attribute `" + attr + "`");
    return *v;
  }
  if (target.is_entity()) {
    const Entity* e = FindEntity(target.as_entity());
    if (e == nullptr) {
      return Err(EvalErrorKind::kEntityDoesNotExist, "entity `" + ToString(target.as_entity()) + "` does not exist");
    }
    const Value* v = e->attrs.FindField(attr);
    if (v == nullptr) {
      std::string message;
      message.reserve(64 + attr.size());
      message.append("`").append(ToString(target.as_entity())).append("` does not have the attribute `");
      message.append(attr).append("`");
      return Err(EvalErrorKind::kEntityAttrDoesNotExist, std::move(message));
    }
    return *v;
  }
  return TypeErr("entity or record", target);
}

EvalResult Evaluator::Eval(const Expr& e) const {
  switch (e.kind) {
    case ExprKind::kLit: return e.lit;
    case ExprKind::kVar: return *vars_[static_cast<int>(e.var)];
    case ExprKind::kSlot: return Err(EvalErrorKind::kUnlinkedSlot, "template slot is not linked");
    case ExprKind::kIf: {
      auto c = EvalBool(*e.kids[0]);
      if (!c) return tl::unexpected(std::move(c).error());
      return Eval(*e.kids[*c ? 1 : 2]);
    }
    case ExprKind::kAnd:
    case ExprKind::kOr:
    case ExprKind::kNot: {
      auto b = EvalBool(e);
      if (!b) return tl::unexpected(std::move(b).error());
      return Value::Bool(*b);
    }
    case ExprKind::kNeg: {
      EVAL_OR_RETURN(v, *e.kids[0]);
      if (!v.is_long()) return TypeErr("long", v);
      if (v.as_long() == INT64_MIN) return Err(EvalErrorKind::kIntegerOverflow, "integer overflow in negation");
      return Value::Long(-v.as_long());
    }
    case ExprKind::kEq:
    case ExprKind::kNe: {
      EVAL_OR_RETURN(l, *e.kids[0]);
      EVAL_OR_RETURN(r, *e.kids[1]);
      return Value::Bool((l == r) == (e.kind == ExprKind::kEq));
    }
    case ExprKind::kLt:
    case ExprKind::kLe:
    case ExprKind::kGt:
    case ExprKind::kGe: {
      EVAL_OR_RETURN(l, *e.kids[0]);
      EVAL_OR_RETURN(r, *e.kids[1]);
      int64_t a = 0;
      int64_t b = 0;
      if (l.is_long() && r.is_long()) {
        a = l.as_long();
        b = r.as_long();
      } else if (IsComparableExt(l) && r.is_ext() && l.as_ext().kind == r.as_ext().kind) {
        a = l.as_ext().num;
        b = r.as_ext().num;
      } else if (!l.is_long() && !IsComparableExt(l)) {
        return TypeErr("long, datetime or duration", l);
      } else {
        return TypeErr(l.is_long() ? "long" : "a value of the same extension type", r);
      }
      switch (e.kind) {
        case ExprKind::kLt: return Value::Bool(a < b);
        case ExprKind::kLe: return Value::Bool(a <= b);
        case ExprKind::kGt: return Value::Bool(a > b);
        default: return Value::Bool(a >= b);
      }
    }
    case ExprKind::kAdd:
    case ExprKind::kSub:
    case ExprKind::kMul: {
      EVAL_OR_RETURN(l, *e.kids[0]);
      EVAL_OR_RETURN(r, *e.kids[1]);
      if (!l.is_long()) return TypeErr("long", l);
      if (!r.is_long()) return TypeErr("long", r);
      int64_t out = 0;
      bool overflow = e.kind == ExprKind::kAdd   ? __builtin_add_overflow(l.as_long(), r.as_long(), &out)
                      : e.kind == ExprKind::kSub ? __builtin_sub_overflow(l.as_long(), r.as_long(), &out)
                                                 : __builtin_mul_overflow(l.as_long(), r.as_long(), &out);
      if (overflow) {
        return Err(EvalErrorKind::kIntegerOverflow, "integer overflow computing `" + std::to_string(l.as_long()) +
                                                        (e.kind == ExprKind::kAdd ? " + " : e.kind == ExprKind::kSub ? " - " : " * ") +
                                                        std::to_string(r.as_long()) + "`");
      }
      return Value::Long(out);
    }
    case ExprKind::kIn: {
      EVAL_OR_RETURN(l, *e.kids[0]);
      EVAL_OR_RETURN(r, *e.kids[1]);
      return EvalIn(l, r);
    }
    case ExprKind::kHas: {
      EVAL_OR_RETURN(target, *e.kids[0]);
      Value cur = target;
      for (size_t i = 0; i < e.path.size(); ++i) {
        auto has = Has(cur, e.path[i]);
        if (!has) return tl::unexpected(std::move(has).error());
        if (!*has) return Value::Bool(false);
        if (i + 1 < e.path.size()) {
          auto next = GetAttr(cur, e.path[i]);
          if (!next) return tl::unexpected(std::move(next).error());
          cur = std::move(*next);
        }
      }
      return Value::Bool(true);
    }
    case ExprKind::kGetAttr: {
      EVAL_OR_RETURN(target, *e.kids[0]);
      return GetAttr(target, e.name);
    }
    case ExprKind::kLike: {
      EVAL_OR_RETURN(v, *e.kids[0]);
      if (!v.is_string()) return TypeErr("string", v);
      return Value::Bool(MatchPattern(v.as_string(), e.pattern));
    }
    case ExprKind::kIs: {
      EVAL_OR_RETURN(v, *e.kids[0]);
      if (!v.is_entity()) return TypeErr("entity", v);
      if (v.as_entity().type != e.name) return Value::Bool(false);
      if (e.kids.size() < 2) return Value::Bool(true);
      EVAL_OR_RETURN(r, *e.kids[1]);
      return EvalIn(v, r);
    }
    case ExprKind::kSet: {
      SetElems elems;
      elems.reserve(e.kids.size());
      for (const auto& k : e.kids) {
        EVAL_OR_RETURN(v, *k);
        elems.push_back(v);
      }
      return Value::Set(std::move(elems));
    }
    case ExprKind::kRecord: {
      RecordFields fields;
      fields.reserve(e.kids.size());
      for (size_t i = 0; i < e.kids.size(); ++i) {
        EVAL_OR_RETURN(v, *e.kids[i]);
        fields.emplace_back(e.path[i], v);
      }
      return Value::Record(std::move(fields));
    }
    case ExprKind::kContains:
    case ExprKind::kContainsAll:
    case ExprKind::kContainsAny: {
      EVAL_OR_RETURN(s, *e.kids[0]);
      EVAL_OR_RETURN(arg, *e.kids[1]);
      if (!s.is_set()) return TypeErr("set", s);
      if (e.kind == ExprKind::kContains) return Value::Bool(s.SetContains(arg));
      if (!arg.is_set()) return TypeErr("set", arg);
      if (e.kind == ExprKind::kContainsAll) {
        for (const auto& x : arg.as_set()) {
          if (!s.SetContains(x)) return Value::Bool(false);
        }
        return Value::Bool(true);
      }
      for (const auto& x : arg.as_set()) {
        if (s.SetContains(x)) return Value::Bool(true);
      }
      return Value::Bool(false);
    }
    case ExprKind::kIsEmpty: {
      EVAL_OR_RETURN(s, *e.kids[0]);
      if (!s.is_set()) return TypeErr("set", s);
      return Value::Bool(s.as_set().empty());
    }
    case ExprKind::kHasTag:
    case ExprKind::kGetTag: {
      EVAL_OR_RETURN(target, *e.kids[0]);
      EVAL_OR_RETURN(key, *e.kids[1]);
      if (!target.is_entity()) return TypeErr("entity", target);
      if (!key.is_string()) return TypeErr("string", key);
      const Entity* ent = FindEntity(target.as_entity());
      if (e.kind == ExprKind::kHasTag) {
        return Value::Bool(ent != nullptr && ent->tags.FindField(key.as_string()) != nullptr);
      }
      if (ent == nullptr) {
        return Err(EvalErrorKind::kEntityDoesNotExist, "entity `" + ToString(target.as_entity()) + "` does not exist");
      }
      const Value* v = ent->tags.FindField(key.as_string());
      if (v == nullptr) {
        return Err(EvalErrorKind::kEntityAttrDoesNotExist,
                   "`" + ToString(target.as_entity()) + "` does not have the tag `" + key.as_string() + "`");
      }
      return *v;
    }
    case ExprKind::kExtCall: {
      if (e.folded) {
        if (e.folded_ok) return e.lit;
        return Err(e.folded_error_kind == 1 ? EvalErrorKind::kTypeError : EvalErrorKind::kExtensionError, e.folded_error);
      }
      if (!e.arity_error.empty()) {
        for (const auto& k : e.kids) {
          auto v = Eval(*k);
          if (!v) return v;
        }
        return Err(EvalErrorKind::kWrongNumArguments, e.arity_error);
      }
      std::array<Value, 2> args;
      size_t n = e.kids.size();
      if (n > args.size()) return Err(EvalErrorKind::kWrongNumArguments, "too many arguments");
      for (size_t i = 0; i < n; ++i) {
        auto v = Eval(*e.kids[i]);
        if (!v) return v;
        args[i] = std::move(*v);
      }
      auto r = e.fn->impl(std::span<const Value>(args.data(), n));
      if (!r) {
        return Err(r.error().type_error ? EvalErrorKind::kTypeError : EvalErrorKind::kExtensionError,
                   std::move(r.error().message));
      }
      return std::move(*r);
    }
  }
  return Err(EvalErrorKind::kTypeError, "unknown expression");
}

tl::expected<bool, EvalError> Evaluator::EvalBool(const Expr& e) const {
  switch (e.kind) {
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      bool is_and = e.kind == ExprKind::kAnd;
      auto l = EvalBool(*e.kids[0]);
      if (!l || *l != is_and) return l;
      return EvalBool(*e.kids[1]);
    }
    case ExprKind::kNot: {
      auto v = EvalBool(*e.kids[0]);
      if (!v) return v;
      return !*v;
    }
    case ExprKind::kIf: {
      auto c = EvalBool(*e.kids[0]);
      if (!c) return c;
      return EvalBool(*e.kids[*c ? 1 : 2]);
    }
    case ExprKind::kEq:
    case ExprKind::kNe: {
      EVAL_OR_RETURN(l, *e.kids[0]);
      EVAL_OR_RETURN(r, *e.kids[1]);
      return (l == r) == (e.kind == ExprKind::kEq);
    }
    default: {
      const Value* direct = Direct(e);
      if (direct != nullptr) {
        if (!direct->is_bool()) return TypeErr("bool", *direct);
        return direct->as_bool();
      }
      auto v = Eval(e);
      if (!v) return tl::unexpected(std::move(v).error());
      if (!v->is_bool()) return TypeErr("bool", *v);
      return v->as_bool();
    }
  }
}

bool Evaluator::ScopeMatches(const ScopeConstraint& scope, const EntityUid& uid) const {
  switch (scope.op) {
    case ScopeConstraint::Op::kAny: return true;
    case ScopeConstraint::Op::kEq: return scope.entity && uid == *scope.entity;
    case ScopeConstraint::Op::kIn: return scope.entity && InEntity(uid, *scope.entity);
    case ScopeConstraint::Op::kIs: return uid.type == scope.type;
    case ScopeConstraint::Op::kIsIn: return uid.type == scope.type && scope.entity && InEntity(uid, *scope.entity);
  }
  return false;
}

tl::expected<bool, EvalError> Evaluator::Satisfied(const Policy& policy) const {
  if (policy.has_unlinked_slot()) return Err(EvalErrorKind::kUnlinkedSlot, "template slot is not linked");
  if (!ScopeMatches(policy.principal, vars_[0]->as_entity())) return false;
  const EntityUid& action = vars_[1]->as_entity();
  switch (policy.action.op) {
    case ActionConstraint::Op::kAny: break;
    case ActionConstraint::Op::kEq:
      if (action != policy.action.entities[0]) return false;
      break;
    case ActionConstraint::Op::kIn: {
      bool any = false;
      for (const auto& a : policy.action.entities) {
        if (InEntity(action, a)) {
          any = true;
          break;
        }
      }
      if (!any) return false;
      break;
    }
  }
  if (!ScopeMatches(policy.resource, vars_[2]->as_entity())) return false;
  for (const auto& c : policy.conditions) {
    auto result = EvalBool(*c.expr);
    if (!result) return result;
    if (*result != c.is_when) return false;
  }
  return true;
}

}  // namespace writ::cedar::internal
