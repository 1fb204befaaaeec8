// Policy parsing: ids, templates and linking, formatting, and every parse error kind with its
// position. Hostile input must give an error, never a crash or a hang.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cedar/policy.h"
#include "testing/matchers.h"

namespace writ::cedar {
namespace {

using ::testing::HasSubstr;

ParseError FirstError(std::string_view text) {
  auto r = ParsePolicySet(text);
  EXPECT_FALSE(r.has_value()) << text;
  if (r.has_value()) return {};
  EXPECT_FALSE(r.error().empty());
  return r.error().front();
}

TEST(PolicyParse, IdsArePolicyNInSourceOrder) {
  auto set = ParsePolicySet(R"(permit(principal, action, resource);
    forbid(principal, action, resource) unless { false };
    @id("named") permit(principal, action, resource);)");
  ASSERT_TRUE(set.has_value());
  ASSERT_EQ(set->policies().size(), 3u);
  EXPECT_EQ(set->policies()[0]->id, "policy0");
  EXPECT_EQ(set->policies()[1]->id, "policy1");
  EXPECT_EQ(set->policies()[2]->id, "policy2");
  EXPECT_EQ(set->policies()[1]->effect, Effect::kForbid);
  EXPECT_FALSE(set->policies()[1]->conditions[0].is_when);
}

TEST(PolicyParse, IdsFromAnnotationWhenAsked) {
  auto set = ParsePolicySet(R"(@id("allow-read") permit(principal, action, resource);
    permit(principal, action, resource);)", {.ids_from_annotation = true});
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->policies()[0]->id, "allow-read");
  EXPECT_EQ(set->policies()[1]->id, "policy1");
  EXPECT_NE(set->Find("allow-read"), nullptr);
}

TEST(PolicyParse, DuplicateAnnotationIdIsAnError) {
  auto r = ParsePolicySet(R"(@id("x") permit(principal, action, resource);
    @id("x") permit(principal, action, resource);)", {.ids_from_annotation = true});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error()[0].kind, ParseErrorKind::kDuplicateId);
  EXPECT_EQ(r.error()[0].line, 2u);
}

TEST(PolicyParse, AnnotationsWithoutValuesAndTrailingCommas) {
  auto set = ParsePolicySet(R"(@advice @note("n") permit(principal, action in [Action::"a", Action::"b",], resource)
    when { [1, 2,].contains(1) && {a: 1, "b c": 2,}["b c"] == 2 };)");
  ASSERT_TRUE(set.has_value()) << set.error()[0].ToString();
  const Policy& p = *set->policies()[0];
  ASSERT_EQ(p.annotations.size(), 2u);
  EXPECT_FALSE(p.annotations[0].value.has_value());
  EXPECT_EQ(*p.annotations[1].value, "n");
  EXPECT_EQ(p.action.entities.size(), 2u);
}

TEST(PolicyParse, TemplatesAreLinkedWithSlotValues) {
  auto set = ParsePolicySet(R"(permit(principal == ?principal, action, resource in ?resource);
    permit(principal, action, resource is Doc in ?resource);)");
  ASSERT_TRUE(set.has_value()) << set.error()[0].ToString();
  EXPECT_TRUE(set->policies().empty());
  ASSERT_EQ(set->templates().size(), 2u);
  EXPECT_THAT(set->Link("policy0", "link1", {{SlotId::kPrincipal, {"User", "alice"}}, {SlotId::kResource, {"Folder", "f"}}}),
              IsOk());
  ASSERT_EQ(set->policies().size(), 1u);
  EXPECT_EQ(set->policies()[0]->principal.entity->id, "alice");
  EXPECT_FALSE(set->policies()[0]->has_unlinked_slot());
  EXPECT_THAT(set->Link("policy0", "link1", {{SlotId::kPrincipal, {"User", "a"}}, {SlotId::kResource, {"F", "f"}}}),
              FailsWith(Code::kConflict));
  EXPECT_THAT(set->Link("policy0", "link2", {{SlotId::kPrincipal, {"User", "a"}}}), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(set->Link("policy1", "link3", {{SlotId::kPrincipal, {"User", "a"}}, {SlotId::kResource, {"F", "f"}}}),
              FailsWith(Code::kInvalidArgument, HasSubstr("no slot")));
  EXPECT_THAT(set->Link("nope", "link4", {}), FailsWith(Code::kNotFound));
}

TEST(PolicyParse, FormatRoundTrips) {
  const char* text = R"(@id("x")
permit (
  principal in Group::"a\"b",
  action in [Action::"read", Action::"write"],
  resource is Doc in Folder::"f"
)
when {
  (principal.level + 2) * 3 > -4 && context has a.b.c && resource.name like "*.t\*t"
}
unless {
  if principal.suspended then true else ip("10.0.0.1").isInRange(ip("10.0.0.0/8"))
};
)";
  auto set = ParsePolicySet(text);
  ASSERT_TRUE(set.has_value()) << set.error()[0].ToString();
  std::string once = FormatPolicySet(*set);
  auto again = ParsePolicySet(once);
  ASSERT_TRUE(again.has_value()) << once;
  EXPECT_EQ(FormatPolicySet(*again), once);
  EXPECT_THAT(once, HasSubstr("context has a.b.c"));
  EXPECT_THAT(once, HasSubstr(R"(like "*.t\*t")"));
}

TEST(PolicyParse, MinimumLongLiteralIsAccepted) {
  auto e = ParseExpression("-9223372036854775808");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ((*e)->lit.as_long(), INT64_MIN);
}

struct ErrorCase {
  const char* text;
  ParseErrorKind kind;
  uint32_t line;
  uint32_t column;
  const char* message;
};

class ParseErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseErrorTest, ReportsKindPositionAndMessage) {
  const ErrorCase& c = GetParam();
  ParseError e = FirstError(c.text);
  EXPECT_EQ(e.kind, c.kind) << ParseErrorKindName(e.kind) << " " << e.ToString();
  EXPECT_EQ(e.line, c.line) << e.ToString();
  EXPECT_EQ(e.column, c.column) << e.ToString();
  EXPECT_THAT(e.message, HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, ParseErrorTest,
    ::testing::Values(
        ErrorCase{"permit(principal, action, resource) when { 1 # 2 };", ParseErrorKind::kLex, 1, 46,
                  "unexpected character `#`"},
        ErrorCase{"permit(principal, action, resource) when { \"abc };", ParseErrorKind::kLex, 1, 44,
                  "unterminated string"},
        ErrorCase{"permit(principal, action, resource) when { \"\xff\" };", ParseErrorKind::kLex, 1, 45, "invalid UTF-8"},
        ErrorCase{"permit(principal, action resource);", ParseErrorKind::kUnexpectedToken, 1, 26,
                  "unexpected identifier `resource`, expected `,`"},
        ErrorCase{"permit(principal, action, resource)\nwhen { true }", ParseErrorKind::kUnexpectedToken, 2, 14,
                  "end of input"},
        ErrorCase{"allow(principal, action, resource);", ParseErrorKind::kUnexpectedToken, 1, 1,
                  "expected `permit` or `forbid`"},
        ErrorCase{"permit(principal, action, resource) when { \"\\q\" };", ParseErrorKind::kInvalidEscape, 1, 44,
                  "invalid escape `\\q`"},
        ErrorCase{"permit(principal, action, resource) when {\n  9223372036854775808 > 1 };",
                  ParseErrorKind::kIntegerOverflow, 2, 3, "out of range"},
        ErrorCase{"permit(principal, action, resource) when { foo(1) };", ParseErrorKind::kUnknownFunction, 1, 44,
                  "`foo` is not a valid function"},
        ErrorCase{"permit(principal, action, resource) when { [1].bar(1) };", ParseErrorKind::kUnknownMethod, 1, 44,
                  "`bar` is not a valid method"},
        ErrorCase{"permit(principal, action, resource) when { [1].contains(1, 2) };", ParseErrorKind::kWrongArity, 1,
                  44, "takes 1 argument"},
        ErrorCase{"permit(principal == ?resource, action, resource);", ParseErrorKind::kInvalidSlot, 1, 21,
                  "expected `?principal`"},
        ErrorCase{"permit(principal, action, resource) when { ?principal == principal };",
                  ParseErrorKind::kInvalidSlot, 1, 44, "only allowed in the policy scope"},
        ErrorCase{"@a(\"x\") @a(\"y\") permit(principal, action, resource);", ParseErrorKind::kDuplicateAnnotation, 1,
                  10, "duplicate annotation"},
        ErrorCase{"permit(principal, action, resource) when { {a: 1, a: 2} == {} };", ParseErrorKind::kDuplicateKey,
                  1, 51, "duplicate key `a`"},
        ErrorCase{"permit(principal, action, resource) when { then };", ParseErrorKind::kReservedIdentifier, 1, 44,
                  "reserved word `then`"},
        ErrorCase{"permit(principal, action == User::\"a\", resource);", ParseErrorKind::kInvalidScope, 1, 29,
                  "expected an entity of type `Action`"},
        ErrorCase{"permit(principal in [User::\"a\"], action, resource);", ParseErrorKind::kInvalidScope, 1, 21,
                  "not a set"},
        ErrorCase{"permit(principal, action, resource) when { 1 < 2 < 3 };", ParseErrorKind::kInvalidExpression, 1, 50,
                  "cannot be chained"},
        ErrorCase{"permit(principal, action, resource) when { !!!!!true };", ParseErrorKind::kInvalidExpression, 1, 44,
                  "too many unary operators"},
        ErrorCase{"permit(principal, action, resource) when { principal.name like principal.x };",
                  ParseErrorKind::kInvalidExpression, 1, 64, "string literal pattern"},
        ErrorCase{"permit(principal, action, resource) when { x };", ParseErrorKind::kUnexpectedToken, 1, 44,
                  "unknown variable `x`"}));

TEST(PolicyParseHostile, DeepParenthesesAreRejectedNotCrashing) {
  std::string text = "permit(principal, action, resource) when { " + std::string(100000, '(') + "true" +
                     std::string(100000, ')') + " };";
  ParseError e = FirstError(text);
  EXPECT_EQ(e.kind, ParseErrorKind::kTooDeep);
}

TEST(PolicyParseHostile, LongOperatorChainsAreBounded) {
  std::string text = "permit(principal, action, resource) when { true";
  for (int i = 0; i < 50000; ++i) text += " && true";
  text += " };";
  EXPECT_EQ(FirstError(text).kind, ParseErrorKind::kTooDeep);
}

TEST(PolicyParseHostile, DeepSetsAndRecordsAreBounded) {
  std::string text = "permit(principal, action, resource) when { " + std::string(5000, '[') + std::string(5000, ']') +
                     " == [] };";
  EXPECT_EQ(FirstError(text).kind, ParseErrorKind::kTooDeep);
  std::string rec = "permit(principal, action, resource) when { ";
  for (int i = 0; i < 5000; ++i) rec += "{a: ";
  rec += "1";
  rec += std::string(5000, '}');
  rec += " == {} };";
  EXPECT_EQ(FirstError(rec).kind, ParseErrorKind::kTooDeep);
}

TEST(PolicyParseHostile, HugeLiteralsAreErrorsOrValues) {
  std::string digits(10000, '9');
  EXPECT_EQ(FirstError("permit(principal, action, resource) when { " + digits + " };").kind,
            ParseErrorKind::kIntegerOverflow);
  std::string big_string = "permit(principal, action, resource) when { \"" + std::string(1 << 20, 'a') + "\" == \"\" };";
  EXPECT_TRUE(ParsePolicySet(big_string).has_value());
  EXPECT_EQ(FirstError("permit(principal, action, resource) when { \"\\u{110000}\" };").kind,
            ParseErrorKind::kInvalidEscape);
}

TEST(PolicyParseHostile, GarbageNeverCrashes) {
  const char* inputs[] = {"", ";", "permit", "permit(", "permit(principal", "@", "@id(", "@id(\"x\"",
                          "permit(principal, action, resource) when {", "forbid(principal,action,resource)when{1+}",
                          "permit(principal is, action, resource);", "permit(principal, action in [, resource);",
                          "\x80\x80", "permit(principal, action, resource) when { a::b };"};
  for (const char* in : inputs) {
    auto r = ParsePolicySet(in);
    if (std::string_view(in).empty()) {
      EXPECT_TRUE(r.has_value());
    } else {
      EXPECT_FALSE(r.has_value()) << in;
    }
  }
}

}  // namespace
}  // namespace writ::cedar
