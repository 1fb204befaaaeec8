#include "authz/authzen.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "authz_test_util.h"
#include "testing/matchers.h"

namespace writ::authz {
namespace {

using ::testing::HasSubstr;
using testing::World;

constexpr std::string_view kPolicies = R"(
@id("read") permit (principal is user, action == Action::"read", resource is doc);
@id("own") permit (principal is user, action == Action::"write", resource is doc) when { resource has owner && resource.owner == principal.id };
)";
constexpr std::string_view kEntities = R"([
 {"uid":{"type":"user","id":"ann"},"attrs":{"id":"ann"},"parents":[]},
 {"uid":{"type":"user","id":"ben"},"attrs":{"id":"ben"},"parents":[]},
 {"uid":{"type":"user","id":"cat"},"attrs":{"id":"cat"},"parents":[]},
 {"uid":{"type":"doc","id":"d1"},"attrs":{"owner":"ann"},"parents":[]}
])";

class AuthzenTest : public ::testing::Test {
 protected:
  void SetUp() override { world_.Activate(std::string(kPolicies), std::string(kEntities)); }
  json::Value Parse(std::string_view text) { return json::Parse(text).value(); }
  World world_;
  Authzen authzen_{*world_.engine};
};

TEST_F(AuthzenTest, SingleEvaluationAnswersWithReasons) {
  auto answer = authzen_.Evaluation(
      Parse(R"({"subject":{"type":"user","id":"ann"},"action":{"name":"write"},"resource":{"type":"doc","id":"d1"}})"), "r1");
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(json::Serialize(*answer), R"({"decision":true,"context":{"policies":["own"]}})");
}

TEST_F(AuthzenTest, PropertiesOverrideStoredAttributes) {
  auto answer = authzen_.Evaluation(Parse(R"({"subject":{"type":"user","id":"ben"},"action":{"name":"write"},
      "resource":{"type":"doc","id":"d1","properties":{"owner":"ben"}}})"), "r1");
  ASSERT_THAT(answer, IsOk());
  EXPECT_TRUE(answer->Find("decision")->as_bool());
}

TEST_F(AuthzenTest, MalformedRequestsAreInvalidArgument) {
  for (std::string_view text : {R"({"action":{"name":"read"},"resource":{"type":"doc","id":"d1"}})",
                                R"({"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"doc","id":"d1"}})",
                                R"({"subject":{"type":"user","id":"ann"},"action":{"name":1},"resource":{"type":"doc","id":"d1"}})",
                                R"({"subject":{"type":"user","id":"ann"},"action":{"name":"read"},"resource":"d1"})",
                                R"({"subject":{"type":"user","id":"ann"},"action":{"name":"read"},"resource":{"type":"doc","id":"d1"},"context":[]})",
                                R"({"subject":{"type":"user","id":"ann","properties":"x"},"action":{"name":"read"},"resource":{"type":"doc","id":"d1"}})",
                                R"([])"}) {
    EXPECT_THAT(authzen_.Evaluation(Parse(text), "r"), FailsWith(Code::kInvalidArgument)) << text;
  }
}

TEST_F(AuthzenTest, BatchItemsAreBareDecisionsAndFailuresAreFalse) {
  auto answer = authzen_.Evaluations(Parse(R"({"subject":{"type":"user","id":"ann"},"action":{"name":"read"},
      "evaluations":[{"resource":{"type":"doc","id":"d1"}},{"action":{"name":"write"},"resource":{"type":"doc","id":"d1"}},
                     {"action":{"name":"read"}}, 7]})"), "r");
  ASSERT_THAT(answer, IsOk());
  const auto& items = answer->Find("evaluations")->as_array();
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(json::Serialize(items[0]), R"({"decision":true})");
  EXPECT_EQ(json::Serialize(items[1]), R"({"decision":true})");
  EXPECT_FALSE(items[2].Find("decision")->as_bool());
  EXPECT_THAT(json::Serialize(items[2]), HasSubstr("resource"));
  EXPECT_FALSE(items[3].Find("decision")->as_bool());
}

TEST_F(AuthzenTest, BatchWithoutItemsIsASingleEvaluation) {
  auto answer = authzen_.Evaluations(
      Parse(R"({"subject":{"type":"user","id":"ann"},"action":{"name":"read"},"resource":{"type":"doc","id":"d1"},"evaluations":[]})"), "r");
  ASSERT_THAT(answer, IsOk());
  EXPECT_TRUE(answer->Find("decision")->as_bool());
}

TEST_F(AuthzenTest, SearchesPageThroughTheResults) {
  const std::string base = R"("action":{"name":"read"},"resource":{"type":"doc","id":"d1"},"subject":{"type":"user"})";
  auto all = authzen_.Search(SearchKind::kSubject, Parse("{" + base + "}"), "r");
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(json::Serialize(*all),
            R"({"results":[{"type":"user","id":"ann"},{"type":"user","id":"ben"},{"type":"user","id":"cat"}]})");
  auto first = authzen_.Search(SearchKind::kSubject, Parse("{" + base + R"(,"page":{"limit":2}})"), "r");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->Find("page")->Find("next_token")->as_string(), "2");
  auto second = authzen_.Search(SearchKind::kSubject, Parse("{" + base + R"(,"page":{"limit":2,"token":"2"}})"), "r");
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->Find("page")->Find("next_token")->as_string(), "");
  EXPECT_EQ(second->Find("results")->as_array().size(), 1u);
  EXPECT_THAT(authzen_.Search(SearchKind::kSubject, Parse("{" + base + R"(,"page":{"token":"zz"}})"), "r"),
              FailsWith(Code::kInvalidArgument));
}

TEST_F(AuthzenTest, ActionSearchListsPermittedActions) {
  auto answer = authzen_.Search(SearchKind::kAction,
                                Parse(R"({"subject":{"type":"user","id":"ann"},"resource":{"type":"doc","id":"d1"}})"), "r");
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(json::Serialize(*answer), R"({"results":[{"name":"read"},{"name":"write"}]})");
}

TEST_F(AuthzenTest, LedgerFailureFailsTheSearchAndDeniesEvaluations) {
  world_.recorder.fail = true;
  EXPECT_THAT(authzen_.Search(SearchKind::kAction,
                              Parse(R"({"subject":{"type":"user","id":"ann"},"resource":{"type":"doc","id":"d1"}})"), "r"),
              FailsWith(Code::kUnavailable));
  auto answer = authzen_.Evaluation(
      Parse(R"({"subject":{"type":"user","id":"ann"},"action":{"name":"read"},"resource":{"type":"doc","id":"d1"}})"), "r");
  ASSERT_THAT(answer, IsOk());
  EXPECT_FALSE(answer->Find("decision")->as_bool());
}

}  // namespace
}  // namespace writ::authz
