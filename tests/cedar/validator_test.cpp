// The validator's error kinds, one test each, with the message and where it points; request and
// entity validation; the library call the policy store uses.
#include "cedar/validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cedar/authorizer.h"
#include "cedar/entities.h"
#include "cedar/policy.h"
#include "cedar/schema.h"
#include "testing/matchers.h"

namespace writ::cedar {
namespace {

using ::testing::HasSubstr;

constexpr const char* kSchema = R"(
entity Group;
entity User in [Group] {
  name: String,
  age?: Long,
  manager?: User,
  address: { city: String, zip?: String },
} tags String;
entity Doc { owner: User, labels: Set<String>, created: datetime };
entity Color enum ["red", "green"];
action read appliesTo { principal: [User], resource: [Doc], context: { ip: ipaddr, mfa?: Bool } };
action write in [read] appliesTo { principal: [User], resource: [Doc] };
action paint appliesTo { principal: [User], resource: [Color] };
)";

class ValidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto schema = ParseSchema(kSchema);
    ASSERT_TRUE(schema.has_value()) << schema.error().message;
    schema_ = std::make_unique<Schema>(std::move(*schema));
    validator_ = std::make_unique<Validator>(*schema_);
  }

  ValidationResult Validate(const std::string& text) {
    auto set = ParsePolicySet(text);
    EXPECT_TRUE(set.has_value()) << (set ? "" : set.error().front().ToString());
    if (!set) return {};
    return validator_->Validate(*set);
  }

  // Expects exactly one error, of `kind`, whose message contains `message`, at `line`:`column`.
  void ExpectOneError(const std::string& text, ValidationErrorKind kind, const std::string& message, uint32_t line,
                      uint32_t column) {
    ValidationResult r = Validate(text);
    ASSERT_EQ(r.errors.size(), 1u) << text;
    const ValidationIssue& e = r.errors[0];
    EXPECT_EQ(e.kind, kind) << e.ToString();
    EXPECT_THAT(e.message, HasSubstr(message));
    EXPECT_EQ(e.policy_id, "policy0");
    EXPECT_EQ(e.span.line, line) << e.ToString();
    EXPECT_EQ(e.span.column, column) << e.ToString();
  }

  std::unique_ptr<Schema> schema_;
  std::unique_ptr<Validator> validator_;
};

TEST_F(ValidatorTest, WellTypedPoliciesValidate) {
  ValidationResult r = Validate(R"(
permit(principal in Group::"staff", action in [Action::"read", Action::"write"], resource is Doc)
when { resource.owner == principal && principal.address.city like "Par*" && resource.labels.contains("x") };
permit(principal, action == Action::"read", resource)
when { context.ip.isInRange(ip("10.0.0.0/8")) && resource.created < datetime("2030-01-01") };
forbid(principal, action == Action::"paint", resource == Color::"red") unless { principal.name == "admin" };
)");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].ToString());
  EXPECT_TRUE(r.warnings.empty());
}

TEST_F(ValidatorTest, UnknownEntityTypeInScope) {
  ExpectOneError(R"(permit(principal == Usr::"a", action, resource);)", ValidationErrorKind::kUnrecognizedEntityType,
                 "entity type `Usr` is not declared in the schema", 1, 1);
}

TEST_F(ValidatorTest, UnknownEntityTypeInCondition) {
  ExpectOneError("permit(principal, action, resource)\nwhen { principal in Team::\"x\" };",
                 ValidationErrorKind::kUnrecognizedEntityType, "entity type `Team`", 2, 21);
}

TEST_F(ValidatorTest, UnknownAction) {
  ExpectOneError(R"(permit(principal, action == Action::"delete", resource);)",
                 ValidationErrorKind::kUnrecognizedActionId, "action `Action::\"delete\"` is not declared", 1, 1);
}

TEST_F(ValidatorTest, ActionAppliedOutsideAppliesTo) {
  ExpectOneError(R"(permit(principal, action == Action::"read", resource is Color);)",
                 ValidationErrorKind::kInvalidActionApplication, "can never apply", 1, 1);
}

TEST_F(ValidatorTest, AttributeNotDeclared) {
  ExpectOneError("permit(principal, action, resource)\nwhen { principal.salary > 3 };",
                 ValidationErrorKind::kAttributeNotFound, "attribute `salary` not found for entity type `User`", 2, 8);
}

TEST_F(ValidatorTest, OptionalAttributeNeedsHasGuard) {
  ExpectOneError("permit(principal, action, resource)\nwhen { principal.age > 3 };",
                 ValidationErrorKind::kUnsafeOptionalAttribute, "guard this access with `has age`", 2, 8);
  ExpectOneError("permit(principal, action, resource)\nwhen { principal has age || principal.age > 3 };",
                 ValidationErrorKind::kUnsafeOptionalAttribute, "`age` is optional", 2, 29);
}

TEST_F(ValidatorTest, HasGuardFlowsThroughAndOrIf) {
  for (const char* cond : {
           "principal has age && principal.age > 3",
           "if principal has age then principal.age > 3 else false",
           "(principal has age && principal has manager) && principal.manager.name == \"b\" && principal.age > 1",
           "(principal has age || principal has age) && principal.age > 1",
           "principal has address.zip && principal.address.zip == \"75001\"",
           "principal has manager.age && principal.manager.age > 1",
           "!(principal has age) || true",
       }) {
    ValidationResult r = Validate(std::string("permit(principal, action == Action::\"read\", resource) when { ") + cond + " };");
    EXPECT_TRUE(r.ok()) << cond << ": " << (r.errors.empty() ? "" : r.errors[0].ToString());
  }
  for (const char* cond : {
           "(principal has age || principal has manager) && principal.age > 1",
           "if principal has age then true else principal.age > 3",
           "principal has manager && principal.manager.age > 1",
           "principal has age && resource.owner.age > 1",
       }) {
    ValidationResult r = Validate(std::string("permit(principal, action == Action::\"read\", resource) when { ") + cond + " };");
    ASSERT_FALSE(r.ok()) << cond;
    EXPECT_EQ(r.errors[0].kind, ValidationErrorKind::kUnsafeOptionalAttribute) << cond;
  }
}

TEST_F(ValidatorTest, EqualityAcrossTypes) {
  ExpectOneError("permit(principal, action, resource)\nwhen { principal.name == 3 };",
                 ValidationErrorKind::kIncompatibleTypes, "have types `String` and `Long`", 2, 8);
}

TEST_F(ValidatorTest, OperatorTypeMismatch) {
  ExpectOneError("permit(principal, action, resource)\nwhen { principal.name > 3 };",
                 ValidationErrorKind::kUnexpectedType, "expected `Long`, `datetime` or `duration` but saw `String`", 2, 8);
  ExpectOneError("permit(principal, action, resource)\nwhen { principal.name };",
                 ValidationErrorKind::kUnexpectedType, "expected Bool but saw `String`", 2, 8);
}

TEST_F(ValidatorTest, InOnNonEntities) {
  ExpectOneError("permit(principal, action, resource)\nwhen { principal.name in [\"a\"] };",
                 ValidationErrorKind::kUnexpectedType, "expected an entity but saw `String`", 2, 8);
}

TEST_F(ValidatorTest, BadEnumEntity) {
  ExpectOneError(R"(permit(principal, action, resource == Color::"blue");)", ValidationErrorKind::kInvalidEnumEntity,
                 "`Color::\"blue\"` is not one of the declared values of `Color`", 1, 1);
}

TEST_F(ValidatorTest, ExtensionConstructorNeedsValidLiteral) {
  ExpectOneError("permit(principal, action == Action::\"read\", resource)\nwhen { context.ip == ip(principal.name) };",
                 ValidationErrorKind::kExtensionArgument, "`ip` must be applied to a string literal", 2, 22);
  ExpectOneError("permit(principal, action == Action::\"read\", resource)\nwhen { context.ip == ip(\"10.0.0.999\") };",
                 ValidationErrorKind::kExtensionArgument, "is not a valid ipaddr", 2, 22);
}

TEST_F(ValidatorTest, ExtensionMethodArity) {
  ExpectOneError("permit(principal, action == Action::\"read\", resource)\nwhen { context.ip.isInRange() };",
                 ValidationErrorKind::kWrongNumberOfArguments, "takes 1 argument(s), got 0", 2, 8);
}

TEST_F(ValidatorTest, GetTagNeedsTagsAndGuard) {
  ExpectOneError("permit(principal, action == Action::\"read\", resource)\nwhen { resource.getTag(\"k\") == \"v\" };",
                 ValidationErrorKind::kUnsafeTagAccess, "entity type `Doc` has no tags", 2, 8);
  ExpectOneError("permit(principal, action, resource)\nwhen { principal.getTag(\"k\") == \"v\" };",
                 ValidationErrorKind::kUnsafeTagAccess, "guard `getTag` with `hasTag`", 2, 8);
  EXPECT_TRUE(Validate(R"(permit(principal, action, resource)
when { principal.hasTag("k") && principal.getTag("k") == "v" };)")
                  .ok());
}

TEST_F(ValidatorTest, EmptySetLiteral) {
  ExpectOneError("permit(principal, action == Action::\"read\", resource)\nwhen { resource.labels.containsAny([]) };",
                 ValidationErrorKind::kEmptySetForbidden, "empty set literals are forbidden", 2, 36);
}

TEST_F(ValidatorTest, HeterogeneousSet) {
  ExpectOneError("permit(principal, action, resource)\nwhen { [1, \"a\"].contains(1) };",
                 ValidationErrorKind::kIncompatibleTypes, "a set holds values of one type", 2, 8);
}

TEST_F(ValidatorTest, TemplatesAreCheckedForEverySlotType) {
  EXPECT_TRUE(Validate(R"(permit(principal in ?principal, action == Action::"read", resource == ?resource)
when { principal.name == "x" };)")
                  .ok());
  ValidationResult r = Validate(R"(permit(principal in ?principal, action, resource) when { principal.salary == 1 };)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].kind, ValidationErrorKind::kAttributeNotFound);
}

TEST_F(ValidatorTest, ImpossiblePolicyIsAWarning) {
  ValidationResult r = Validate(R"(permit(principal, action, resource) when { principal == resource };)");
  EXPECT_TRUE(r.ok());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].kind, ValidationErrorKind::kImpossiblePolicy);
  EXPECT_THAT(r.warnings[0].message, HasSubstr("can never be satisfied"));
}

TEST_F(ValidatorTest, EveryErrorOfASetIsReported) {
  ValidationResult r = Validate(R"(
permit(principal, action, resource) when { principal.salary > 1 };
permit(principal, action, resource) when { principal.age > 1 };
)");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].policy_id, "policy0");
  EXPECT_EQ(r.errors[1].policy_id, "policy1");
  EXPECT_EQ(r.errors[1].ToString(), "policy `policy1` at 3:44: attribute `age` is optional: guard this access with `has age`");
}

TEST_F(ValidatorTest, RequestValidation) {
  auto ok = ParseRequest(
      R"({"principal":{"type":"User","id":"a"},"action":{"type":"Action","id":"read"},
          "resource":{"type":"Doc","id":"d"},"context":{"ip":{"__extn":{"fn":"ip","arg":"10.0.0.1"}}}})");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_THAT(validator_->ValidateRequest(*ok), IsOk());

  Request wrong_principal = *ok;
  wrong_principal.principal = Value::Entity({"Group", "g"});
  EXPECT_THAT(validator_->ValidateRequest(wrong_principal),
              FailsWith(Code::kInvalidArgument, HasSubstr("principal type `Group` is not valid for action")));

  Request missing_context = *ok;
  missing_context.context = Value::Record({});
  EXPECT_THAT(validator_->ValidateRequest(missing_context),
              FailsWith(Code::kInvalidArgument, HasSubstr("required attribute `ip` is missing")));

  Request unknown_action = *ok;
  unknown_action.action = Value::Entity({"Action", "fly"});
  EXPECT_THAT(validator_->ValidateRequest(unknown_action),
              FailsWith(Code::kInvalidArgument, HasSubstr("is not declared in the schema")));

  Request bad_enum = Request::Make({"User", "a"}, {"Action", "paint"}, {"Color", "blue"});
  EXPECT_THAT(validator_->ValidateRequest(bad_enum), FailsWith(Code::kInvalidArgument, HasSubstr("not a declared value")));
}

TEST_F(ValidatorTest, EntityValidation) {
  Entity user;
  user.uid = {"User", "a"};
  user.attrs = Value::Record({{"name", Value::String("a")},
                              {"address", Value::Record({{"city", Value::String("Paris")}})}});
  user.parents = {{"Group", "g"}};
  user.tags = Value::Record({{"k", Value::String("v")}});
  EXPECT_THAT(validator_->ValidateEntity(user), IsOk());

  Entity bad_attr = user;
  bad_attr.attrs = Value::Record({{"name", Value::Long(1)}, {"address", Value::Record({{"city", Value::String("P")}})}});
  EXPECT_THAT(validator_->ValidateEntity(bad_attr), FailsWith(Code::kInvalidArgument, HasSubstr("attribute `name`")));

  Entity bad_parent = user;
  bad_parent.parents = {{"Doc", "d"}};
  EXPECT_THAT(validator_->ValidateEntity(bad_parent), FailsWith(Code::kInvalidArgument, HasSubstr("may not have parent")));

  Entity bad_tag = user;
  bad_tag.tags = Value::Record({{"k", Value::Long(1)}});
  EXPECT_THAT(validator_->ValidateEntity(bad_tag), FailsWith(Code::kInvalidArgument, HasSubstr("tag `k`")));

  Entity unknown;
  unknown.uid = {"Robot", "r"};
  EXPECT_THAT(validator_->ValidateEntity(unknown), FailsWith(Code::kInvalidArgument, HasSubstr("not declared")));
}

TEST_F(ValidatorTest, PolicyStoreRefusesASetThatDoesNotValidate) {
  auto good = ParsePolicySet(R"(permit(principal, action == Action::"read", resource);)");
  ASSERT_TRUE(good.has_value());
  EXPECT_THAT(CheckPolicySetValid(*good, *schema_), IsOk());
  auto bad = ParsePolicySet(R"(permit(principal, action, resource) when { principal.salary > 1 && principal.x };)");
  ASSERT_TRUE(bad.has_value());
  EXPECT_THAT(CheckPolicySetValid(*bad, *schema_),
              FailsWith(Code::kFailedPrecondition, HasSubstr("does not validate: policy `policy0` at 1:44")));
}

}  // namespace
}  // namespace writ::cedar
