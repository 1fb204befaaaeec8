// The expression evaluator. Private to cedar: the Authorizer is the front door.
#pragma once
#include <string>

#include <tl/expected.hpp>

#include "cedar/ast.h"
#include "cedar/authorizer.h"
#include "cedar/entities.h"

namespace writ::cedar::internal {

struct EvalError {
  EvalErrorKind kind = EvalErrorKind::kTypeError;
  std::string message;
};
using EvalResult = tl::expected<Value, EvalError>;

// Borrows the request's values and the entities for the duration of one decision.
class Evaluator {
 public:
  Evaluator(const Value& principal, const Value& action, const Value& resource, const Value& context,
            const Entities& entities)
      : vars_{&principal, &action, &resource, &context}, entities_(entities) {
    for (int i = 0; i < 3; ++i) var_uids_[i] = vars_[i]->is_entity() ? &vars_[i]->as_entity() : nullptr;
  }

  EvalResult Eval(const Expr& e) const;
  // Eval for expressions that must give a bool (conditions, operands of && || ! if): skips
  // building intermediate values. A non-bool result is a type error, as in Eval.
  tl::expected<bool, EvalError> EvalBool(const Expr& e) const;
  // Scope and conditions of `policy`: true if satisfied.
  tl::expected<bool, EvalError> Satisfied(const Policy& policy) const;

 private:
  EvalResult EvalIn(const Value& left, const Value& right) const;
  tl::expected<bool, EvalError> Has(const Value& target, const std::string& attr) const;
  EvalResult GetAttr(const Value& target, const std::string& attr) const;
  bool InEntity(const EntityUid& uid, const EntityUid& ancestor) const;
  const Value* Direct(const Expr& e) const;
  const Entity* FindEntity(const EntityUid& uid) const;
  bool ScopeMatches(const ScopeConstraint& scope, const EntityUid& uid) const;

  const Value* vars_[4];
  const Entities& entities_;
  // Entities of principal, action and resource, looked up on first use (keyed by address).
  const EntityUid* var_uids_[3] = {nullptr, nullptr, nullptr};
  mutable const Entity* var_entities_[3] = {nullptr, nullptr, nullptr};
  mutable bool var_looked_up_[3] = {false, false, false};
  mutable const EntityUid* cached_uid_ = nullptr;
  mutable const Entity* cached_entity_ = nullptr;
};

// True if `text` matches the `like` pattern.
bool MatchPattern(std::string_view text, const std::vector<PatternElem>& pattern);

}  // namespace writ::cedar::internal
