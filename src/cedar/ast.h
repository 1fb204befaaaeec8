// The Cedar abstract syntax tree: what the parser produces and the evaluator runs. Nodes are
// "compiled": entity literals are values, `like` patterns are pre-split, extension calls point at
// their function, and constant extension calls are folded once. Nothing here re-reads text.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cedar/value.h"

namespace writ::cedar {

namespace internal {
struct ExtFunction;
}

// Where a node came from: byte offsets and the 1-based line and column of `begin`.
struct SourceSpan {
  uint32_t begin = 0;
  uint32_t end = 0;
  uint32_t line = 0;
  uint32_t column = 0;
};

enum class Var : uint8_t { kPrincipal, kAction, kResource, kContext };
enum class SlotId : uint8_t { kPrincipal, kResource };

enum class ExprKind : uint8_t {
  kLit, kVar, kSlot, kIf, kAnd, kOr, kNot, kNeg,
  kEq, kNe, kLt, kLe, kGt, kGe, kIn, kAdd, kSub, kMul,
  kHas,       // kids[0] has path[0].path[1]...
  kGetAttr,   // kids[0].name
  kLike,      // kids[0] like pattern
  kIs,        // kids[0] is name [in kids[1]]
  kSet, kRecord,
  kContains, kContainsAll, kContainsAny, kIsEmpty, kHasTag, kGetTag,
  kExtCall,   // fn(kids...)
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// One element of a `like` pattern: a literal byte, or the wildcard.
struct PatternElem {
  bool wildcard = false;
  char byte = 0;
};

struct Expr {
  ExprKind kind = ExprKind::kLit;
  SourceSpan span;
  Value lit;                         // kLit
  Var var = Var::kPrincipal;         // kVar
  SlotId slot = SlotId::kPrincipal;  // kSlot
  std::string name;                  // kGetAttr attribute, kIs entity type, kExtCall function name
  std::vector<std::string> path;     // kHas attribute path; kRecord keys (parallel to kids)
  std::vector<ExprPtr> kids;
  uint32_t height = 1;               // 1 + the tallest kid; bounded by the parser
  std::vector<PatternElem> pattern;  // kLike
  const internal::ExtFunction* fn = nullptr;  // kExtCall
  // kExtCall with literal arguments: the result computed at parse time (value or error message).
  bool folded = false;
  bool folded_ok = false;
  uint8_t folded_error_kind = 0;  // 0: extension error, 1: type error, 2: wrong number of arguments
  std::string folded_error;
  std::string arity_error;  // kExtCall with the wrong number of arguments: fails when evaluated
};

enum class Effect : uint8_t { kPermit, kForbid };

// A principal or resource scope constraint. `slot` set means the entity is a template slot.
struct ScopeConstraint {
  enum class Op : uint8_t { kAny, kEq, kIn, kIs, kIsIn };
  Op op = Op::kAny;
  std::optional<EntityUid> entity;  // kEq, kIn, kIsIn (unset while a slot is unlinked)
  std::optional<SlotId> slot;       // template slot in place of `entity`
  std::string type;                 // kIs, kIsIn
};

struct ActionConstraint {
  enum class Op : uint8_t { kAny, kEq, kIn };
  Op op = Op::kAny;
  std::vector<EntityUid> entities;  // kEq: one; kIn: one (`in E`) or the list (`in [..]`)
  bool is_list = false;             // `in [..]`
};

struct Condition {
  bool is_when = true;  // false: unless
  std::shared_ptr<const Expr> expr;
};

struct Annotation {
  std::string key;
  std::optional<std::string> value;  // `@key` without a value
};

// One policy or template. Templates have slots in their scope; linking fills them.
struct Policy {
  std::string id;
  Effect effect = Effect::kPermit;
  std::vector<Annotation> annotations;
  ScopeConstraint principal;
  ActionConstraint action;
  ScopeConstraint resource;
  std::vector<Condition> conditions;  // shared with linked copies
  SourceSpan span;
  bool is_template() const { return principal.slot.has_value() || resource.slot.has_value(); }
  // True when a slot is still unfilled (a template that was not linked).
  bool has_unlinked_slot() const {
    return (principal.slot && !principal.entity) || (resource.slot && !resource.entity);
  }
  // The value of annotation `key`, or nullptr.
  const std::string* FindAnnotation(std::string_view key) const;
};

}  // namespace writ::cedar
