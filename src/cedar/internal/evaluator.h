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
      : vars_{&principal, &action, &resource, &context}, entities_(entities) {}

  EvalResult Eval(const Expr& e) const;
  // Scope and conditions of `policy`: true if satisfied.
  tl::expected<bool, EvalError> Satisfied(const Policy& policy) const;

 private:
  EvalResult EvalIn(const Value& left, const Value& right) const;
  tl::expected<bool, EvalError> Has(const Value& target, const std::string& attr) const;
  EvalResult GetAttr(const Value& target, const std::string& attr) const;
  bool InEntity(const EntityUid& uid, const EntityUid& ancestor) const;
  bool ScopeMatches(const ScopeConstraint& scope, const EntityUid& uid) const;

  const Value* vars_[4];
  const Entities& entities_;
};

// True if `text` matches the `like` pattern.
bool MatchPattern(std::string_view text, const std::vector<PatternElem>& pattern);

}  // namespace writ::cedar::internal
