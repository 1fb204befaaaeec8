// `writ cedar validate|authorize|check-parse|format`, run in-process through RunCli.
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/app.h"
#include "testing/temp_dir.h"

namespace writ::cli {
namespace {

using ::testing::HasSubstr;

int RunWrit(std::vector<const char*> args, std::string* out_text, std::string* err_text) {
  args.insert(args.begin(), "writ");
  std::ostringstream out, err;
  const int code = RunCli(static_cast<int>(args.size()), args.data(), out, err);
  *out_text = out.str();
  *err_text = err.str();
  return code;
}

constexpr const char* kSchema = R"(
entity Team;
entity Agent in [Team] { budget: Long, owner?: String };
entity Tool;
action invoke appliesTo { principal: [Agent], resource: [Tool], context: { hour: Long } };
)";

constexpr const char* kPolicies = R"(@id("team")
permit(principal in Team::"payments", action == Action::"invoke", resource);
@id("budget")
forbid(principal, action, resource) when { principal.budget < 10 };
)";

constexpr const char* kEntities = R"([
  {"uid": {"type": "Agent", "id": "a"}, "attrs": {"budget": 100}, "parents": [{"type": "Team", "id": "payments"}]},
  {"uid": {"type": "Agent", "id": "poor"}, "attrs": {"budget": 1}, "parents": [{"type": "Team", "id": "payments"}]},
  {"uid": {"type": "Team", "id": "payments"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Tool", "id": "t"}, "attrs": {}, "parents": []}
])";

class CedarCommandsTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_.file(name);
    std::ofstream(path) << text;
    return path;
  }
  std::string Request(const std::string& principal) {
    return R"({"principal": {"type": "Agent", "id": ")" + principal +
           R"("}, "action": {"type": "Action", "id": "invoke"}, "resource": {"type": "Tool", "id": "t"},
               "context": {"hour": 11}})";
  }
  TempDir dir_;
  std::string out_, err_;
};

TEST_F(CedarCommandsTest, ValidateAcceptsAWellTypedSet) {
  std::string policies = Write("p.cedar", kPolicies);
  std::string schema = Write("s.cedarschema", kSchema);
  EXPECT_EQ(RunWrit({"cedar", "validate", "--policies", policies.c_str(), "--schema", schema.c_str()}, &out_, &err_), 0)
      << out_ << err_;
  EXPECT_THAT(out_, HasSubstr("ok: 2 policies validate"));
}

TEST_F(CedarCommandsTest, ValidateNamesPolicySpanAndProblemAndExitsThree) {
  std::string policies = Write("p.cedar", "@id(\"bad\")\npermit(principal, action, resource)\nwhen { principal.owner == \"x\" };\n");
  std::string schema = Write("s.cedarschema", kSchema);
  EXPECT_EQ(RunWrit({"cedar", "validate", "--policies", policies.c_str(), "--schema", schema.c_str()}, &out_, &err_), 3);
  EXPECT_THAT(out_, HasSubstr("p.cedar:3:8: error: policy `bad`: attribute `owner` is optional: guard this access "
                              "with `has owner` [unsafe_optional_attribute_access]"));
  EXPECT_EQ(RunWrit({"cedar", "validate", "--policies", policies.c_str(), "--schema", schema.c_str(), "-o", "json"},
                    &out_, &err_),
            3);
  EXPECT_THAT(out_, HasSubstr(R"("valid":false)"));
  EXPECT_THAT(out_, HasSubstr(R"("policy":"bad","kind":"unsafe_optional_attribute_access","line":3,"column":8)"));
}

TEST_F(CedarCommandsTest, ValidateReadsJsonSchemas) {
  std::string policies = Write("p.cedar", kPolicies);
  std::string schema = Write("s.json", R"({"": {
    "entityTypes": {"Team": {}, "Agent": {"memberOfTypes": ["Team"], "shape": {"type": "Record", "attributes": {
        "budget": {"type": "Long"}}}}, "Tool": {}},
    "actions": {"invoke": {"appliesTo": {"principalTypes": ["Agent"], "resourceTypes": ["Tool"]}}}}})");
  EXPECT_EQ(RunWrit({"cedar", "validate", "--policies", policies.c_str(), "--schema", schema.c_str()}, &out_, &err_), 0)
      << out_ << err_;
}

TEST_F(CedarCommandsTest, ValidateReportsParseErrorsWithExitOne) {
  std::string policies = Write("p.cedar", "permit(principal, action resource);");
  std::string schema = Write("s.cedarschema", kSchema);
  EXPECT_EQ(RunWrit({"cedar", "validate", "--policies", policies.c_str(), "--schema", schema.c_str()}, &out_, &err_), 1);
  EXPECT_THAT(err_, HasSubstr("p.cedar:1:"));
  std::string missing = dir_.file("none.cedar");
  EXPECT_EQ(RunWrit({"cedar", "validate", "--policies", missing.c_str(), "--schema", schema.c_str()}, &out_, &err_), 1);
  EXPECT_THAT(err_, HasSubstr("cannot read"));
}

TEST_F(CedarCommandsTest, AuthorizeOneRequestAllowsAndDenies) {
  std::string policies = Write("p.cedar", kPolicies);
  std::string schema = Write("s.cedarschema", kSchema);
  std::string entities = Write("e.json", kEntities);
  std::string allow = Write("allow.json", Request("a"));
  EXPECT_EQ(RunWrit({"cedar", "authorize", "--policies", policies.c_str(), "--schema", schema.c_str(), "--entities",
                     entities.c_str(), "--request-json", allow.c_str()},
                    &out_, &err_),
            0)
      << err_;
  EXPECT_EQ(out_, "{\"decision\":\"allow\",\"reason\":[\"team\"],\"errors\":[]}\n");
  std::string deny = Write("deny.json", Request("poor"));
  EXPECT_EQ(RunWrit({"cedar", "authorize", "--policies", policies.c_str(), "--entities", entities.c_str(),
                     "--request-json", deny.c_str()},
                    &out_, &err_),
            2);
  EXPECT_EQ(out_, "{\"decision\":\"deny\",\"reason\":[\"budget\"],\"errors\":[]}\n");
}

TEST_F(CedarCommandsTest, AuthorizeBatchPrintsOneLinePerRequest) {
  std::string policies = Write("p.cedar", kPolicies);
  std::string entities = Write("e.json", kEntities);
  std::string requests = Write("r.json", "[" + Request("a") + "," + Request("poor") + "," + Request("ghost") + "]");
  EXPECT_EQ(RunWrit({"cedar", "authorize", "--policies", policies.c_str(), "--entities", entities.c_str(),
                     "--requests", requests.c_str()},
                    &out_, &err_),
            2)
      << err_;
  std::istringstream lines(out_);
  std::string line;
  std::vector<std::string> got;
  while (std::getline(lines, line)) got.push_back(line);
  ASSERT_EQ(got.size(), 3u) << out_;
  EXPECT_EQ(got[0], R"({"decision":"allow","reason":["team"],"errors":[]})");
  EXPECT_EQ(got[1], R"({"decision":"deny","reason":["budget"],"errors":[]})");
  EXPECT_THAT(got[2], HasSubstr(R"({"decision":"deny","reason":[],"errors":[{"policy":"budget","kind":"entity_does_not_exist")"));
}

TEST_F(CedarCommandsTest, AuthorizeRejectsARequestTheSchemaForbids) {
  std::string policies = Write("p.cedar", kPolicies);
  std::string schema = Write("s.cedarschema", kSchema);
  std::string entities = Write("e.json", kEntities);
  std::string bad = Write("bad.json", R"({"principal": {"type": "Tool", "id": "t"}, "action": {"type": "Action",
      "id": "invoke"}, "resource": {"type": "Tool", "id": "t"}, "context": {"hour": 1}})");
  EXPECT_EQ(RunWrit({"cedar", "authorize", "--policies", policies.c_str(), "--schema", schema.c_str(), "--entities",
                     entities.c_str(), "--request-json", bad.c_str()},
                    &out_, &err_),
            1);
  EXPECT_THAT(err_, HasSubstr("principal type `Tool` is not valid for action"));
  EXPECT_EQ(RunWrit({"cedar", "authorize", "--policies", policies.c_str(), "--entities", entities.c_str()}, &out_,
                    &err_),
            1);
  EXPECT_THAT(err_, HasSubstr("exactly one of --request-json and --requests"));
}

TEST_F(CedarCommandsTest, CheckParseAndFormat) {
  std::string policies = Write("p.cedar", "permit(principal,action,resource)when{principal.budget>1};");
  EXPECT_EQ(RunWrit({"cedar", "check-parse", "--policies", policies.c_str()}, &out_, &err_), 0);
  EXPECT_THAT(out_, HasSubstr("ok: 1 policies and 0 templates parse"));
  EXPECT_EQ(RunWrit({"cedar", "format", "--policies", policies.c_str()}, &out_, &err_), 0);
  EXPECT_THAT(out_, HasSubstr("principal.budget > 1"));
  std::string bad = Write("bad.cedar", "permit(principal, action, resource) when { 1 + };");
  EXPECT_EQ(RunWrit({"cedar", "check-parse", "--policies", bad.c_str()}, &out_, &err_), 1);
  EXPECT_THAT(err_, HasSubstr("bad.cedar:1:"));
  EXPECT_EQ(RunWrit({"cedar", "format", "--policies", bad.c_str()}, &out_, &err_), 1);
}

}  // namespace
}  // namespace writ::cli
