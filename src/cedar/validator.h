// The Cedar validator: checks, before deployment, that policies refer only to entity types,
// actions and attributes the schema declares and cannot fail at runtime from a type error
// (strict mode, as the reference validator). Also validates requests and entities against the
// schema. A Validator is immutable after construction and safe to share between threads.
//
//   auto schema = cedar::ParseSchema(text);
//   cedar::Validator validator(*schema);
//   cedar::ValidationResult r = validator.Validate(policy_set);
//   if (!r.ok()) for (const auto& e : r.errors) log(e.ToString());
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cedar/ast.h"
#include "cedar/schema.h"
#include "common/result.h"

namespace writ::cedar {

class PolicySet;
struct Entity;
struct Request;
namespace internal {
class SchemaIndex;
}

// Written in CLI/JSON output (ValidationErrorKindName): never rename.
enum class ValidationErrorKind : uint8_t {
  kUnrecognizedEntityType,     // an entity type the schema does not declare
  kUnrecognizedActionId,       // an action the schema does not declare
  kInvalidEnumEntity,          // `Color::"pink"` where Color enumerates other ids
  kInvalidActionApplication,   // the scope matches no (principal, action, resource) of the schema
  kUnexpectedType,             // an operand of the wrong type
  kIncompatibleTypes,          // `==`, sets, `if` branches, `contains` over types without a common type
  kAttributeNotFound,          // reading an attribute the type does not declare
  kUnsafeOptionalAttribute,    // reading an optional attribute without a `has` guard
  kUnsafeTagAccess,            // `getTag` on a type without tags, or without a `hasTag` guard
  kEmptySetForbidden,          // `[]`: its element type is unknown
  kExtensionArgument,          // `ip(..)`, `decimal(..)`, ... not applied to a valid string literal
  kWrongNumberOfArguments,     // an extension call with the wrong arity
  kImpossiblePolicy,           // (warning) the policy can never be satisfied
};
std::string_view ValidationErrorKindName(ValidationErrorKind kind);  // "unrecognized_entity_type", ...

struct ValidationIssue {
  std::string policy_id;
  ValidationErrorKind kind = ValidationErrorKind::kUnexpectedType;
  SourceSpan span;      // in the policy text
  std::string message;  // lowercase, user input in backticks
  // "policy `p1` at 3:14: attribute `age` not found for entity type `User`"
  std::string ToString() const;
};

struct ValidationResult {
  std::vector<ValidationIssue> errors;    // the set must not be deployed unless empty
  std::vector<ValidationIssue> warnings;  // e.g. impossible policies; do not block deployment
  bool ok() const { return errors.empty(); }
};

class Validator {
 public:
  // `schema` is borrowed: it must outlive the Validator.
  explicit Validator(const Schema& schema);
  ~Validator();
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  // Validates every static policy, template (for every type its slots may take) and linked
  // policy of `set`. Never fails: problems are in the result.
  ValidationResult Validate(const PolicySet& set) const;
  // Validates one policy or template, appending to `out`.
  void ValidatePolicy(const Policy& policy, ValidationResult* out) const;

  // Checks that the request's action is declared, that its principal and resource types are
  // among the action's appliesTo types, and that the context has the action's context type.
  // Errors: kInvalidArgument naming the first problem.
  Status ValidateRequest(const Request& request) const;
  // Checks that `entity` conforms to the schema: declared type (an enumerated type's ids), its
  // attributes and tags of the declared types, its parents of allowed types.
  // Errors: kInvalidArgument naming the entity and the problem.
  Status ValidateEntity(const Entity& entity) const;

 private:
  const Schema& schema_;
  std::unique_ptr<internal::SchemaIndex> index_;
};

// What the policy store calls before activating a set: kFailedPrecondition naming the first
// validation error (and how many there are) unless `set` validates against `schema`.
Status CheckPolicySetValid(const PolicySet& set, const Schema& schema);

}  // namespace writ::cedar
