// The strict-mode typechecker behind cedar/validator.h: validator types, the schema digested into
// lookup tables once, and the checker of one expression in one request environment. It follows
// the reference's formal model (cedar-lean `Validation/Typechecker`): singleton boolean types,
// capabilities from `has`/`hasTag` flowing through `&&`, `||` and `if`, and least upper bounds
// that never widen entity types.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cedar/ast.h"
#include "cedar/schema.h"
#include "cedar/validator.h"

namespace writ::cedar::internal {

struct RecordTy;

// A validator type. Booleans carry a singleton refinement (true, false or either).
struct Ty {
  enum class Kind : uint8_t { kBool, kLong, kString, kSet, kRecord, kEntity, kExt };
  enum class B : uint8_t { kTrue, kFalse, kAny };
  Kind kind = Kind::kBool;
  B b = B::kAny;                          // kBool
  std::shared_ptr<const Ty> elem;         // kSet
  std::shared_ptr<const RecordTy> rec;    // kRecord; never null for records
  std::string name;                       // kEntity: type name; kExt: "ipaddr", "decimal", ...

  static Ty Bool(B b = B::kAny) { Ty t; t.b = b; return t; }
  static Ty Long() { Ty t; t.kind = Kind::kLong; return t; }
  static Ty String() { Ty t; t.kind = Kind::kString; return t; }
  static Ty Entity(std::string name) { Ty t; t.kind = Kind::kEntity; t.name = std::move(name); return t; }
  static Ty Ext(std::string name) { Ty t; t.kind = Kind::kExt; t.name = std::move(name); return t; }
  static Ty Set(Ty elem);
  bool is_false() const { return kind == Kind::kBool && b == B::kFalse; }
  bool is_true() const { return kind == Kind::kBool && b == B::kTrue; }
};

struct QualTy {
  Ty type;
  bool required = true;
};
struct RecordTy {
  std::map<std::string, QualTy, std::less<>> attrs;
};

bool SameType(const Ty& a, const Ty& b);
// The least upper bound in strict mode (no entity unions, records of the same shape), or nullopt.
std::optional<Ty> Lub(const Ty& a, const Ty& b);
// "Long", "Set<String>", "User", "{a: Long, b?: String}", "ipaddr", "Bool".
std::string TypeName(const Ty& t);

// The schema as the validator consults it.
class SchemaIndex {
 public:
  explicit SchemaIndex(const Schema& schema);

  struct EntityInfo {
    const EntityTypeDef* def = nullptr;
    std::shared_ptr<const RecordTy> shape;
    std::optional<Ty> tags;
    std::set<std::string> ancestors;  // transitive memberOf types
  };
  struct ActionInfo {
    const ActionDef* def = nullptr;
    std::set<EntityUid> ancestors;    // transitive action groups
    std::shared_ptr<const RecordTy> context;
  };

  const Schema& schema() const { return schema_; }
  const EntityInfo* FindEntity(std::string_view type) const;
  const ActionInfo* FindAction(const EntityUid& uid) const;
  bool IsActionType(std::string_view type) const { return action_types_.count(std::string(type)) > 0; }
  // True if entities of type `a` may be `in` entities of type `b` (equal, or `b` an ancestor).
  bool TypeDescendantOf(const std::string& a, const std::string& b) const;
  // True if action `a` equals or is in group `b`.
  bool ActionDescendantOf(const EntityUid& a, const EntityUid& b) const;
  // True if `uid` names a declared entity (an enumerated type's ids are checked) or action.
  bool IsValidUid(const EntityUid& uid) const;
  Ty Convert(const SchemaType& type) const;

 private:
  std::shared_ptr<const RecordTy> ConvertRecord(const SchemaType& type) const;
  const Schema& schema_;
  std::unordered_map<std::string, EntityInfo> entities_;
  std::map<EntityUid, ActionInfo> actions_;
  std::set<std::string> action_types_;
};

// One request environment: the types of principal and resource, the action, and the slot types
// of a template.
struct RequestEnv {
  std::string principal;
  const SchemaIndex::ActionInfo* action = nullptr;
  std::string resource;
  std::string principal_slot;  // empty: no slot
  std::string resource_slot;
};

// A capability: `obj has attr` (tag == nullptr) or `obj.hasTag(tag)` is known to hold.
struct Capability {
  const Expr* obj = nullptr;
  std::string attr;
  const Expr* tag = nullptr;
};
using Capabilities = std::vector<Capability>;

// Typechecks expressions in one environment; errors are appended to `errors` (deduplicated by the
// caller). Borrowed references must outlive the checker.
class TypeChecker {
 public:
  TypeChecker(const SchemaIndex& index, const RequestEnv& env, std::vector<ValidationIssue>* errors)
      : index_(index), env_(env), errors_(errors) {}

  struct Res {
    Ty type;
    Capabilities caps;
  };
  // The type of `e` given the capabilities `prior`, or nullopt after recording an error.
  std::optional<Res> Check(const Expr& e, const Capabilities& prior);
  // The conjunction of `items` (an `unless` condition is negated), as `a && (b && (c ...))`.
  struct Conjunct {
    const Expr* expr = nullptr;
    bool negate = false;
  };
  std::optional<Res> CheckConjunction(const std::vector<Conjunct>& items, size_t from, const Capabilities& prior);

 private:
  std::optional<Res> CheckInner(const Expr& e, const Capabilities& prior);
  std::optional<Res> CheckIn(const Expr& e, const Expr& lhs, const Ty& lt, const Expr& rhs, const Ty& rt);
  std::optional<Res> CheckExtCall(const Expr& e, const std::vector<Ty>& args);
  std::optional<EntityUid> EntityLiteral(const Expr& e) const;
  std::nullopt_t Error(ValidationErrorKind kind, const Expr& e, std::string message);
  std::nullopt_t Unexpected(const Expr& e, const std::string& expected, const Ty& got);

  const SchemaIndex& index_;
  const RequestEnv& env_;
  std::vector<ValidationIssue>* errors_;
};

bool SameExpr(const Expr& a, const Expr& b);

}  // namespace writ::cedar::internal
