// Cedar policy sets: parsing policy text (with precise errors), template linking, and the
// canonical text form. Policies are parsed once into the compiled AST (cedar/ast.h).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "cedar/ast.h"
#include "common/result.h"

namespace writ::cedar {

// Written in CLI/JSON output: never rename.
enum class ParseErrorKind : uint8_t {
  kLex,                 // invalid character, invalid UTF-8, unterminated string
  kUnexpectedToken,     // the grammar expected something else
  kInvalidEscape,       // bad `\` escape in a string
  kIntegerOverflow,     // an integer literal outside i64
  kUnknownFunction,     // `foo(..)` that is not an extension function
  kUnknownMethod,       // `.foo(..)` that is not a known method
  kWrongArity,          // a call with the wrong number of arguments
  kInvalidSlot,         // a slot other than ?principal/?resource, or outside the scope
  kDuplicateAnnotation, // the same `@key` twice on one policy
  kDuplicateKey,        // the same key twice in a record literal
  kReservedIdentifier,  // `if`, `true`, ... where a name is required
  kInvalidScope,        // e.g. `principal is T == E`, or a non-Action entity in the action scope
  kTooDeep,             // nesting beyond PolicyParseOptions::max_depth
  kDuplicateId,         // two policies with the same id
  kInvalidExpression,   // e.g. `like` with a non-string, `x.y = 1`, too many `!`/`-`
};
std::string_view ParseErrorKindName(ParseErrorKind kind);

struct ParseError {
  ParseErrorKind kind = ParseErrorKind::kUnexpectedToken;
  uint32_t line = 0;    // 1-based
  uint32_t column = 0;  // 1-based, in bytes
  std::string message;  // lowercase, user input in backticks
  // "3:14: unexpected token `)`"
  std::string ToString() const;
};
// INVARIANT: non-empty when parsing failed.
using ParseErrors = std::vector<ParseError>;

struct PolicyParseOptions {
  // false: ids are policy0, policy1, ... in source order (the reference's rule).
  // true: a policy's `@id("x")` annotation gives its id (others keep policyN).
  bool ids_from_annotation = false;
  size_t max_depth = 200;      // nesting of expressions; deeper input: kTooDeep
  size_t max_bytes = 16 << 20; // longer text: kLex
};

class PolicySet {
 public:
  // Static policies and linked templates, in source/link order. Never contains unlinked templates.
  const std::vector<std::shared_ptr<const Policy>>& policies() const { return policies_; }
  // Templates (policies with slots), in source order.
  const std::vector<std::shared_ptr<const Policy>>& templates() const { return templates_; }
  // The policy or template with this id, or nullptr.
  const Policy* Find(std::string_view id) const;

  // Adds a static policy. Errors: kConflict if the id is taken; kInvalidArgument if it has slots.
  Status Add(Policy policy);
  // Links template `template_id` with slot values into a new policy `new_id`.
  // Errors: kNotFound (no such template), kConflict (new_id taken), kInvalidArgument (a slot of
  // the template is missing from `values` or `values` names a slot the template lacks).
  Status Link(std::string_view template_id, std::string new_id, const std::map<SlotId, EntityUid>& values);

 private:
  friend tl::expected<PolicySet, ParseErrors> ParsePolicySet(std::string_view, const PolicyParseOptions&);
  std::vector<std::shared_ptr<const Policy>> policies_;
  std::vector<std::shared_ptr<const Policy>> templates_;
  std::map<std::string, const Policy*, std::less<>> by_id_;
};

// Parses policy text (any number of policies and templates).
tl::expected<PolicySet, ParseErrors> ParsePolicySet(std::string_view text, const PolicyParseOptions& options = {});

// Parses a single expression, e.g. for tests: `principal.age > 3`.
tl::expected<std::shared_ptr<const Expr>, ParseErrors> ParseExpression(std::string_view text,
                                                                       const PolicyParseOptions& options = {});

// Parse errors as one writ::Error (kInvalidArgument) naming the first error's line and column.
Error ToError(const ParseErrors& errors);

// Canonical text of a policy / a whole set (one policy per block, separated by blank lines).
std::string FormatPolicy(const Policy& policy);
std::string FormatPolicySet(const PolicySet& set);
std::string FormatExpr(const Expr& expr);

}  // namespace writ::cedar
