// Evaluation and authorization semantics the corpus does not reach: unless, extended has,
// templates at decision time, every extension method's edge cases, index equivalence, entities
// JSON forms, parent cycles and schema-directed parsing.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cedar/authorizer.h"
#include "cedar/entities.h"
#include "cedar/policy.h"
#include "cedar/schema.h"
#include "common/json.h"
#include "testing/matchers.h"

namespace writ::cedar {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr const char* kEntities = R"([
  {"uid": {"type": "User", "id": "alice"}, "attrs": {"age": 30, "name": "Alice",
     "profile": {"address": {"city": "Paris"}}, "home": {"__entity": {"type": "Folder", "id": "home"}},
     "ip": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}}, "limit": {"__extn": {"fn": "decimal", "args": ["1.5"]}}},
   "parents": [{"type": "Group", "id": "staff"}], "tags": {"clearance": "high"}},
  {"uid": {"type": "Group", "id": "staff"}, "attrs": {}, "parents": [{"type": "Group", "id": "all"}]},
  {"uid": {"type": "Group", "id": "all"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Doc", "id": "d1"}, "attrs": {"owner": {"__entity": {"type": "User", "id": "alice"}}},
   "parents": [{"type": "Folder", "id": "home"}]}
])";

class EvalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = ParseEntities(kEntities);
    ASSERT_TRUE(e.has_value()) << e.error().message;
    entities_ = std::move(*e);
    request_ = Request::Make({"User", "alice"}, {"Action", "read"}, {"Doc", "d1"},
                             Value::Record({{"n", Value::Long(5)}, {"s", Value::String("x")}}));
  }
  Result<Value> Eval(std::string_view text) {
    auto e = ParseExpression(text);
    if (!e.has_value()) return Fail(ToError(e.error()));
    return EvaluateExpression(**e, request_, entities_);
  }
  bool True(std::string_view text) {
    auto v = Eval(text);
    EXPECT_TRUE(v.has_value()) << text << ": " << v.error().message;
    return v.has_value() && v->is_bool() && v->as_bool();
  }
  bool False(std::string_view text) {
    auto v = Eval(text);
    EXPECT_TRUE(v.has_value()) << text << ": " << v.error().message;
    return v.has_value() && v->is_bool() && !v->as_bool();
  }
  std::string ErrorOf(std::string_view text) {
    auto v = Eval(text);
    EXPECT_FALSE(v.has_value()) << text;
    return v.has_value() ? "" : v.error().message;
  }
  Entities entities_;
  Request request_;
};

TEST_F(EvalTest, HierarchyAndInAreTransitive) {
  EXPECT_TRUE(True(R"(principal in Group::"all")"));
  EXPECT_TRUE(True(R"(principal in [Group::"nope", Group::"staff"])"));
  EXPECT_TRUE(True(R"(User::"ghost" in User::"ghost")"));
  EXPECT_TRUE(False(R"(User::"ghost" in Group::"all")"));
  EXPECT_THAT(ErrorOf(R"(principal in [Group::"all", 1])"), HasSubstr("type error"));
  EXPECT_TRUE(True(R"(principal is User in Group::"staff")"));
  EXPECT_TRUE(False(R"(principal is Doc in 1)"));  // short-circuits before the bad `in`
}

TEST_F(EvalTest, ExtendedHasWalksThePath) {
  EXPECT_TRUE(True("principal has profile.address.city"));
  EXPECT_TRUE(False("principal has profile.address.zip"));
  EXPECT_TRUE(False("principal has profile.phone.number"));
  EXPECT_TRUE(False(R"(User::"ghost" has name)"));
  EXPECT_THAT(ErrorOf("principal has age.value"), HasSubstr("type error"));
}

TEST_F(EvalTest, AttributeErrorsHaveTheirKinds) {
  EXPECT_THAT(ErrorOf("principal.missing"), HasSubstr("entity_attr_does_not_exist"));
  EXPECT_THAT(ErrorOf(R"(User::"ghost".name)"), HasSubstr("entity_does_not_exist"));
  EXPECT_THAT(ErrorOf("context.missing"), HasSubstr("record_attr_does_not_exist"));
  EXPECT_THAT(ErrorOf("1.name"), HasSubstr("type_error"));
  EXPECT_THAT(ErrorOf("9223372036854775807 + 1"), HasSubstr("integer_overflow"));
  EXPECT_THAT(ErrorOf("-(-9223372036854775807 - 1)"), HasSubstr("integer_overflow"));
  EXPECT_THAT(ErrorOf(R"(ip("1.2.3.4", "x"))"), HasSubstr("wrong_num_arguments"));
}

TEST_F(EvalTest, TagsAndShortCircuit) {
  EXPECT_TRUE(True(R"(principal.hasTag("clearance") && principal.getTag("clearance") == "high")"));
  EXPECT_TRUE(False(R"(principal.hasTag("none") && principal.getTag("none") == "x")"));
  EXPECT_THAT(ErrorOf(R"(principal.getTag("none"))"), HasSubstr("entity_attr_does_not_exist"));
  EXPECT_TRUE(False(R"(User::"ghost".hasTag("x"))"));
  EXPECT_TRUE(True("true || 1"));
  EXPECT_THAT(ErrorOf("false || 1"), HasSubstr("type error"));
  EXPECT_TRUE(True("if context.n > 3 then true else 1"));
}

TEST_F(EvalTest, EqualityNeverErrorsAcrossTypes) {
  EXPECT_TRUE(False(R"(1 == "1")"));
  EXPECT_TRUE(True(R"([1, 2, 2] == [2, 1])"));
  EXPECT_TRUE(True(R"({a: [1], b: {c: true}} == {b: {c: true}, a: [1]})"));
  EXPECT_TRUE(True(R"(decimal("1.0") == decimal("1.0000"))"));
  EXPECT_TRUE(True(R"(resource.owner == principal)"));
}

TEST_F(EvalTest, LikeWildcardsAndEscapedStar) {
  EXPECT_TRUE(True(R"("report.txt" like "*.txt")"));
  EXPECT_TRUE(True(R"("a*b" like "a\*b")"));
  EXPECT_TRUE(False(R"("axb" like "a\*b")"));
  EXPECT_TRUE(True(R"("" like "*")"));
  EXPECT_TRUE(True(R"("aaa" like "a*a*a")"));
  EXPECT_TRUE(False(R"("aa" like "a*a*a")"));
  EXPECT_TRUE(True(R"("héllo" like "h*o")"));
}

TEST_F(EvalTest, SetMethods) {
  EXPECT_TRUE(True("[1, 2, 3].containsAll([1, 3])"));
  EXPECT_TRUE(True("[1, 2, 3].containsAny([5, 3])"));
  EXPECT_TRUE(False("[1, 2, 3].containsAny([])"));
  EXPECT_TRUE(True("[].containsAll([])"));
  EXPECT_TRUE(True("[].isEmpty()"));
  EXPECT_THAT(ErrorOf("[1].containsAll(1)"), HasSubstr("type error"));
  EXPECT_THAT(ErrorOf("1.isEmpty()"), HasSubstr("type error"));
}

TEST_F(EvalTest, IpAddrEdgeCases) {
  EXPECT_TRUE(True(R"(principal.ip.isInRange(ip("10.0.0.0/8")))"));
  EXPECT_TRUE(True(R"(ip("127.0.0.2").isLoopback() && ip("::1").isLoopback() && !ip("::2").isLoopback())"));
  EXPECT_TRUE(True(R"(ip("224.1.1.1").isMulticast() && !ip("224.0.0.0/3").isMulticast() && ip("ff02::1").isMulticast())"));
  EXPECT_TRUE(True(R"(ip("::ffff:ff00:1").isIpv6() && ip("1.2.3.4").isIpv4())"));
  EXPECT_TRUE(False(R"(ip("10.0.0.1").isInRange(ip("::/0")))"));
  EXPECT_TRUE(True(R"(ip("10.0.0.0/24").isInRange(ip("10.0.0.0/16")))"));
  EXPECT_TRUE(False(R"(ip("10.0.0.0/16").isInRange(ip("10.0.0.0/24")))"));
  EXPECT_TRUE(True(R"(ip("2001:db8::1").isInRange(ip("2001:db8::/32")))"));
  for (const char* bad : {"1.2.3", "1.2.3.256", "01.2.3.4", "1.2.3.4/33", "1.2.3.4/08", "::ffff:1.2.3.4",
                          "1:2:3:4:5:6:7:8:9", "1::2::3", "", "::/129"}) {
    EXPECT_THAT(ErrorOf(std::string("ip(\"") + bad + "\")"), HasSubstr("extension_error")) << bad;
  }
}

TEST_F(EvalTest, DecimalEdgeCases) {
  EXPECT_TRUE(True(R"(decimal("1.23").lessThan(decimal("1.2301")))"));
  EXPECT_TRUE(True(R"(decimal("-1.5").lessThanOrEqual(decimal("-1.5")))"));
  EXPECT_TRUE(True(R"(decimal("922337203685477.5807").greaterThan(decimal("0.0")))"));
  EXPECT_TRUE(True(R"(decimal("-922337203685477.5808").greaterThanOrEqual(decimal("-922337203685477.5808")))"));
  EXPECT_TRUE(True(R"(principal.limit == decimal("1.5"))"));
  for (const char* bad : {"1", "1.", ".1", "1.23456", "922337203685477.5808", "1e3", "abc"}) {
    EXPECT_THAT(ErrorOf(std::string("decimal(\"") + bad + "\")"), HasSubstr("extension_error")) << bad;
  }
  EXPECT_THAT(ErrorOf(R"(decimal("1.0") < decimal("2.0"))"), HasSubstr("type error"));
  EXPECT_THAT(ErrorOf(R"(decimal("1.0").lessThan("2.0"))"), HasSubstr("constructor"));
}

TEST_F(EvalTest, DatetimeAndDurationEdgeCases) {
  EXPECT_TRUE(True(R"(datetime("2024-10-15T11:38:02.101+1134") == datetime("2024-10-15T00:04:02.101Z"))"));
  EXPECT_TRUE(True(R"(datetime("1970-01-01").offset(duration("1d")) == datetime("1970-01-02"))"));
  EXPECT_TRUE(True(R"(datetime("1969-12-31T23:00:00Z").toDate() == datetime("1969-12-31"))"));
  EXPECT_TRUE(True(R"(datetime("1969-12-31T23:00:00Z").toTime() == duration("23h"))"));
  EXPECT_TRUE(True(R"(datetime("2024-03-01").durationSince(datetime("2024-02-28")) == duration("2d"))"));
  EXPECT_TRUE(True(R"(duration("-1d2h3m4s5ms").toMilliseconds() == -93784005)"));
  EXPECT_TRUE(True(R"(duration("90m").toHours() == 1 && duration("-90m").toHours() == -1)"));
  EXPECT_TRUE(True(R"(duration("1h") < duration("61m") && datetime("2000-01-01") > datetime("1999-12-31"))"));
  EXPECT_TRUE(True(R"(datetime("2024-02-29").toDate() == datetime("2024-02-29T00:00:00Z"))"));
  for (const char* bad : {"2023-02-29", "2024-13-01", "2024-01-01T24:00:00Z", "2016-12-31T23:59:60Z",
                          "2024-01-01T00:00:00", "2024-01-01T00:00:00+2400", "24-01-01", "2024-01-01Z"}) {
    EXPECT_THAT(ErrorOf(std::string("datetime(\"") + bad + "\")"), HasSubstr("extension_error")) << bad;
  }
  for (const char* bad : {"", "-", "1h1d", "1x", "1d1d", "9223372036854775808ms", "106751991168d"}) {
    EXPECT_THAT(ErrorOf(std::string("duration(\"") + bad + "\")"), HasSubstr("extension_error")) << bad;
  }
  EXPECT_THAT(ErrorOf(R"(datetime("1970-01-01").offset(duration("9223372036854775807ms")).offset(duration("1ms")))"),
              HasSubstr("extension_error"));
  EXPECT_THAT(ErrorOf(R"(duration("1h") < datetime("1970-01-01"))"), HasSubstr("type error"));
}

TEST(Authorizer, ForbidOverridesPermitAndErrorsAreReported) {
  auto set = ParsePolicySet(R"(
    @id("p_read") permit(principal in Group::"staff", action == Action::"read", resource);
    @id("p_err") permit(principal, action, resource) when { principal.nonexistent == 1 };
    @id("f_unless") forbid(principal, action, resource) unless { context.ok };
  )", {.ids_from_annotation = true});
  ASSERT_TRUE(set.has_value());
  auto entities = ParseEntities(kEntities);
  ASSERT_TRUE(entities.has_value());
  Authorizer authz(std::move(*set));
  Request allowed = Request::Make({"User", "alice"}, {"Action", "read"}, {"Doc", "d1"},
                                  Value::Record({{"ok", Value::Bool(true)}}));
  Response r = authz.Authorize(allowed, *entities);
  EXPECT_EQ(r.decision, Decision::kAllow);
  EXPECT_THAT(r.reasons, ElementsAre("p_read"));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].policy_id, "p_err");
  EXPECT_EQ(r.errors[0].kind, EvalErrorKind::kEntityAttrDoesNotExist);
  Request denied = allowed;
  denied.context = Value::Record({{"ok", Value::Bool(false)}});
  r = authz.Authorize(denied, *entities);
  EXPECT_EQ(r.decision, Decision::kDeny);
  EXPECT_THAT(r.reasons, ElementsAre("f_unless"));
  EXPECT_EQ(ResponseToJson(r),
            R"({"decision":"deny","reason":["f_unless"],"errors":[{"policy":"p_err","kind":"entity_attr_does_not_exist",)"
            R"("message":"`User::\"alice\"` does not have the attribute `nonexistent`"}]})");
  // An erroring forbid does not deny; nothing permits without context.ok either.
  denied.context = Value::Record({});
  r = authz.Authorize(denied, *entities);
  EXPECT_EQ(r.decision, Decision::kAllow);
  EXPECT_EQ(r.errors.size(), 2u);
}

TEST(Authorizer, LinkedTemplatesDecide) {
  auto set = ParsePolicySet(R"(permit(principal == ?principal, action, resource in ?resource);)");
  ASSERT_TRUE(set.has_value());
  ASSERT_THAT(set->Link("policy0", "alice-home", {{SlotId::kPrincipal, {"User", "alice"}}, {SlotId::kResource, {"Folder", "home"}}}),
              IsOk());
  auto entities = ParseEntities(kEntities);
  ASSERT_TRUE(entities.has_value());
  Authorizer authz(std::move(*set));
  Response r = authz.Authorize(Request::Make({"User", "alice"}, {"Action", "read"}, {"Doc", "d1"}), *entities);
  EXPECT_EQ(r.decision, Decision::kAllow);
  EXPECT_THAT(r.reasons, ElementsAre("alice-home"));
  r = authz.Authorize(Request::Make({"User", "bob"}, {"Action", "read"}, {"Doc", "d1"}), *entities);
  EXPECT_EQ(r.decision, Decision::kDeny);
}

TEST(Authorizer, IndexedSetDecidesLikeAFullScan) {
  // 3,000 policies of many scope shapes; the index must return exactly what a scan would.
  std::string text;
  for (int i = 0; i < 500; ++i) {
    std::string n = std::to_string(i);
    text += "permit(principal == User::\"u" + n + "\", action, resource);\n";
    text += "permit(principal in Group::\"g" + n + "\", action == Action::\"read\", resource);\n";
    text += "forbid(principal, action in [Action::\"a" + n + "\", Action::\"write\"], resource == Doc::\"d" + n + "\");\n";
    text += "permit(principal is User, action, resource in Folder::\"f" + n + "\") when { context.n > " + n + " };\n";
    text += "permit(principal, action == Action::\"x" + n + "\", resource is Doc);\n";
    text += "permit(principal, action, resource) when { context.n == " + n + " };\n";
  }
  auto set = ParsePolicySet(text);
  ASSERT_TRUE(set.has_value());
  auto entities = ParseEntities(R"([
    {"uid": {"type": "User", "id": "u7"}, "attrs": {}, "parents": [{"type": "Group", "id": "g9"}]},
    {"uid": {"type": "Doc", "id": "d3"}, "attrs": {}, "parents": [{"type": "Folder", "id": "f3"}]},
    {"uid": {"type": "Action", "id": "write"}, "attrs": {}, "parents": [{"type": "Action", "id": "a5"}]}])");
  ASSERT_TRUE(entities.has_value());
  Authorizer authz(*set);
  for (int n : {0, 3, 7, 499, 1000}) {
    for (const char* action : {"read", "write", "x3"}) {
      Request req = Request::Make({"User", "u7"}, {"Action", action}, {"Doc", "d3"},
                                  Value::Record({{"n", Value::Long(n)}}));
      Response indexed = authz.Authorize(req, *entities);
      // Reference: each policy alone (small sets are scanned, never indexed).
      std::vector<std::string> reasons;
      bool forbid = false;
      bool permit = false;
      std::vector<std::string> forbids;
      std::vector<std::string> permits;
      for (const auto& p : set->policies()) {
        PolicySet one;
        Policy copy = *p;
        ASSERT_THAT(one.Add(copy), IsOk());
        Authorizer single(std::move(one));
        Response r = single.Authorize(req, *entities);
        if (!r.reasons.empty()) {
          (p->effect == Effect::kForbid ? forbids : permits).push_back(p->id);
          (p->effect == Effect::kForbid ? forbid : permit) = true;
        }
      }
      std::vector<std::string> want = forbid ? forbids : permits;
      std::vector<std::string> got(indexed.reasons.begin(), indexed.reasons.end());
      std::sort(want.begin(), want.end());
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, want) << "n=" << n << " action=" << action;
      EXPECT_EQ(indexed.decision, forbid ? Decision::kDeny : permit ? Decision::kAllow : Decision::kDeny);
    }
  }
}

TEST(Entities, ValueJsonRoundTrips) {
  auto e = ParseExpression(R"([ip("10.0.0.0/8"), ip("::1"), decimal("-1.25"), datetime("2024-01-02T03:04:05.006Z"),
                               duration("-90m"), {a: User::"x", b: "s\"q", c: [true, -3]}])");
  ASSERT_TRUE(e.has_value());
  Entities none;
  auto v = EvaluateExpression(**e, Request::Make({"U", "u"}, {"Action", "a"}, {"R", "r"}), none);
  ASSERT_TRUE(v.has_value());
  std::string text;
  AppendValueJson(*v, text);
  auto doc = json::Parse(text);
  ASSERT_TRUE(doc.has_value()) << text;
  auto back = ValueFromJson(*doc);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, *v) << text;
}

TEST(Requests, ParseOneOrMany) {
  auto one = ParseRequest(R"({"principal": {"type": "User", "id": "a"}, "action": {"__entity": {"type": "Action", "id": "r"}},
                             "resource": {"type": "Doc", "id": "d"}, "context": {"n": 1}})");
  ASSERT_TRUE(one.has_value()) << one.error().message;
  EXPECT_EQ(one->action.as_entity().id, "r");
  auto many = ParseRequests(R"([{"principal": {"type": "User", "id": "a"}, "action": {"type": "Action", "id": "r"},
                              "resource": {"type": "Doc", "id": "d"}}])");
  ASSERT_TRUE(many.has_value());
  EXPECT_EQ(many->size(), 1u);
  EXPECT_THAT(ParseRequests(R"([{"principal": 1}])"), FailsWith(Code::kInvalidArgument, HasSubstr("request 0")));
}

TEST(Entities, ParentCyclesAreTolerated) {
  auto e = ParseEntities(R"([
    {"uid": {"type": "G", "id": "a"}, "attrs": {}, "parents": [{"type": "G", "id": "b"}]},
    {"uid": {"type": "G", "id": "b"}, "attrs": {}, "parents": [{"type": "G", "id": "a"}]}])");
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->HasAncestor({"G", "a"}, {"G", "b"}));
  EXPECT_TRUE(e->HasAncestor({"G", "a"}, {"G", "a"}));
}

TEST(Entities, HugeHierarchiesAreRefused) {
  std::string json = "[";
  for (int i = 0; i < 3000; ++i) {
    if (i) json += ",";
    json += R"({"uid":{"type":"G","id":")" + std::to_string(i) + R"("},"attrs":{},"parents":[{"type":"G","id":")" +
            std::to_string(i + 1) + R"("}]})";
  }
  json += "]";
  EXPECT_THAT(ParseEntities(json, {.max_ancestor_links = 100000}), FailsWith(Code::kResourceExhausted));
  auto ok = ParseEntities(json);
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->HasAncestor({"G", "0"}, {"G", "2999"}));
}

TEST(Entities, BadInputIsAnError) {
  EXPECT_THAT(ParseEntities("{}"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseEntities(R"([{"uid": {"type": "A"}}])"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseEntities(R"([{"uid": {"type": "A", "id": "x"}, "attrs": {"a": {"__extn": {"fn": "nope", "arg": "1"}}}}])"),
              FailsWith(Code::kInvalidArgument, HasSubstr("unknown extension function")));
  EXPECT_THAT(ParseEntities(R"([{"uid": {"type": "A", "id": "x"}, "attrs": {"a": 1.5}}])"),
              FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseEntities(R"([{"uid": {"type": "A", "id": "x"}, "bogus": 1}])"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseEntities("[\"\xff\"]"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseEntities(std::string(1000, '[') + std::string(1000, ']')), FailsWith(Code::kInvalidArgument));
}

constexpr const char* kSchema = R"(
namespace App {
  type Address = { city: String, zip?: String };
  entity Group;
  entity User in [Group] = { age: Long, home: Address, ip: ipaddr, limit: decimal, boss?: User } tags String;
  entity Color enum ["red", "green"];
  action read, "write" in [read] appliesTo { principal: [User], resource: [User], context: { at: datetime } };
}
)";

TEST(Schema, DirectsEntityAndContextParsing) {
  auto schema = ParseSchema(kSchema);
  ASSERT_TRUE(schema.has_value()) << schema.error().message;
  EXPECT_NE(schema->FindEntityType("App::User"), nullptr);
  ASSERT_NE(schema->FindAction({"App::Action", "write"}), nullptr);
  auto entities = ParseEntities(R"([{"uid": {"type": "App::User", "id": "a"},
      "attrs": {"age": 3, "home": {"city": "Paris"}, "ip": "10.0.0.1", "limit": "0.6",
                "boss": {"type": "App::User", "id": "b"}},
      "parents": [{"type": "App::Group", "id": "g"}], "tags": {"t": "v"}}])", {.schema = &*schema});
  ASSERT_TRUE(entities.has_value()) << entities.error().message;
  const Entity* a = entities->Find({"App::User", "a"});
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->attrs.FindField("ip")->is_ext(ExtKind::kIpAddr));
  EXPECT_TRUE(a->attrs.FindField("limit")->is_ext(ExtKind::kDecimal));
  EXPECT_TRUE(a->attrs.FindField("boss")->is_entity());
  EXPECT_TRUE(entities->HasAncestor({"App::Action", "write"}, {"App::Action", "read"}));
  auto ctx = json::Parse(R"({"at": "2024-01-01"})");
  ASSERT_TRUE(ctx.has_value());
  auto context = ContextFromJson(*ctx, &*schema, {"App::Action", "read"});
  ASSERT_TRUE(context.has_value());
  EXPECT_TRUE(context->FindField("at")->is_ext(ExtKind::kDatetime));
}

TEST(Schema, ChecksEntityConformance) {
  auto schema = ParseSchema(kSchema);
  ASSERT_TRUE(schema.has_value());
  auto parse = [&](const char* json) { return ParseEntities(json, {.schema = &*schema}); };
  EXPECT_THAT(parse(R"([{"uid": {"type": "App::User", "id": "a"}, "attrs": {"age": 3}, "parents": []}])"),
              FailsWith(Code::kInvalidArgument, HasSubstr("required attribute `home`")));
  EXPECT_THAT(parse(R"([{"uid": {"type": "App::Nope", "id": "a"}, "attrs": {}, "parents": []}])"),
              FailsWith(Code::kInvalidArgument, HasSubstr("not declared")));
  EXPECT_THAT(parse(R"([{"uid": {"type": "App::Color", "id": "blue"}, "attrs": {}, "parents": []}])"),
              FailsWith(Code::kInvalidArgument, HasSubstr("enumerated")));
  EXPECT_THAT(parse(R"([{"uid": {"type": "App::Group", "id": "g"}, "attrs": {"x": 1}, "parents": []}])"),
              FailsWith(Code::kInvalidArgument, HasSubstr("not declared in the schema")));
  EXPECT_THAT(parse(R"([{"uid": {"type": "App::Group", "id": "g"}, "attrs": {}, "parents": [], "tags": {"a": "b"}}])"),
              FailsWith(Code::kInvalidArgument, HasSubstr("tags")));
}

TEST(Schema, JsonFormatMatchesHumanFormat) {
  auto schema = ParseSchemaJson(R"({"App": {
    "commonTypes": {"Address": {"type": "Record", "attributes": {"city": {"type": "String"},
                                                                 "zip": {"type": "String", "required": false}}}},
    "entityTypes": {"Group": {}, "User": {"memberOfTypes": ["Group"], "shape": {"type": "Record", "attributes": {
        "home": {"type": "Address"}, "ip": {"type": "Extension", "name": "ipaddr"},
        "friends": {"type": "Set", "element": {"type": "Entity", "name": "User"}}}}}},
    "actions": {"read": {"appliesTo": {"principalTypes": ["User"], "resourceTypes": ["User"]}},
                "write": {"memberOf": [{"id": "read"}]}}}})");
  ASSERT_TRUE(schema.has_value()) << schema.error().message;
  const EntityTypeDef* user = schema->FindEntityType("App::User");
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(user->member_of, std::vector<std::string>{"App::Group"});
  EXPECT_EQ(user->shape->attrs.at("home").type->attrs.count("zip"), 1u);
  EXPECT_EQ(schema->FindAction({"App::Action", "write"})->member_of[0].id, "read");
}

TEST(Schema, ErrorsNameThePosition) {
  EXPECT_THAT(ParseSchema("entity A = { a: Nope };"), FailsWith(Code::kInvalidArgument, HasSubstr("unknown type `Nope`")));
  EXPECT_THAT(ParseSchema("entity A\nentity B;"), FailsWith(Code::kInvalidArgument, HasSubstr("2:1:")));
  EXPECT_THAT(ParseSchema("type A = B; type B = A; entity E = { x: A };"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseSchema("entity A; entity A;"), FailsWith(Code::kInvalidArgument, HasSubstr("duplicate")));
}

}  // namespace
}  // namespace writ::cedar
