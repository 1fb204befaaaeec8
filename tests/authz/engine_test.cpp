#include "authz/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "authz/admin_guard.h"
#include "authz/authzen.h"
#include "authz_test_util.h"
#include "testing/matchers.h"

namespace writ::authz {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::World;

using testing::kBot;
using testing::kCall;
using testing::kRead;
const cedar::EntityUid kDelete{"Writ::Tool", "github/delete_repo"};

constexpr std::string_view kAgentPolicies = R"(
@id("read") permit (principal is Writ::Agent, action == Writ::Action::"mcp:call", resource == Writ::Tool::"github/read");
@id("delete-needs-approval") @approval("required") @approval_ttl("15m") @approvers("Writ::Group::\"sre\"")
permit (principal is Writ::Agent, action == Writ::Action::"mcp:call", resource == Writ::Tool::"github/delete_repo");
)";

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_.AddHuman("alice");
    world_.AddAgent("triage-bot", "alice");
  }
  World world_;
};

TEST_F(EngineTest, NothingActiveDeniesEverything) {
  const DecisionResult result = world_.Decide(kBot, kCall, kRead);
  EXPECT_EQ(result.outcome, Outcome::kDeny);
  EXPECT_EQ(result.policy_version, 0);
}

TEST_F(EngineTest, AllowNamesTheDeterminingPolicyAndIsRecorded) {
  world_.Activate(std::string(kAgentPolicies));
  const DecisionResult result = world_.Decide(kBot, kCall, kRead);
  EXPECT_EQ(result.outcome, Outcome::kAllow);
  EXPECT_THAT(result.policy_ids, ElementsAre("read"));
  ASSERT_FALSE(world_.recorder.events.empty());
  const ledger::Event& last = world_.recorder.events.back();
  EXPECT_EQ(last.kind, ledger::EventKind::kDecision);
  EXPECT_EQ(last.decision, ledger::Decision::kAllow);
  EXPECT_EQ(last.resource, R"(Writ::Tool::"github/read")");
}

TEST_F(EngineTest, ApprovalAnnotatedPermitAloneGivesApprovalRequired) {
  world_.Activate(std::string(kAgentPolicies));
  const DecisionResult result = world_.Decide(kBot, kCall, kDelete);
  EXPECT_EQ(result.outcome, Outcome::kApprovalRequired);
  EXPECT_EQ(result.approval.ttl, std::chrono::minutes(15));
  EXPECT_EQ(result.approval.approvers, R"(Writ::Group::"sre")");
}

TEST_F(EngineTest, AnotherSatisfiedPermitMakesItAnAllowAndAForbidADeny) {
  world_.Activate(std::string(kAgentPolicies) + R"(
@id("owner-trusted") permit (principal is Writ::Agent, action, resource == Writ::Tool::"github/delete_repo")
when { principal.tier == "high" };
@id("no-low") forbid (principal, action, resource) when { principal has tier && principal.tier == "low" };)");
  // triage-bot is tier low: the forbid wins over both permits.
  EXPECT_EQ(world_.Decide(kBot, kCall, kDelete).outcome, Outcome::kDeny);
  world_.AddAgent("big-bot", "alice");
  identity::IdentityPatch patch;
  patch.tier = identity::Tier::kHigh;
  ASSERT_THAT(world_.registry->Update(identity::Kind::kAgent, "big-bot", patch, {"t", ""}), IsOk());
  const DecisionResult result = world_.Decide({"Writ::Agent", "big-bot"}, kCall, kDelete);
  EXPECT_EQ(result.outcome, Outcome::kAllow);
}

TEST_F(EngineTest, SuspendedPrincipalIsDeniedWhateverThePolicies) {
  world_.Activate(R"(@id("all") permit (principal, action, resource);)");
  ASSERT_EQ(world_.Decide(kBot, kCall, kRead).outcome, Outcome::kAllow);
  ASSERT_THAT(world_.registry->Transition(identity::Kind::kAgent, "triage-bot", identity::State::kSuspended, {"t", ""}), IsOk());
  const DecisionResult result = world_.Decide(kBot, kCall, kRead);
  EXPECT_EQ(result.outcome, Outcome::kDeny);
  EXPECT_THAT(result.reason, HasSubstr("suspended"));
  EXPECT_EQ(world_.Decide({"Writ::Agent", "ghost"}, kCall, kRead).outcome, Outcome::kDeny);
}

TEST_F(EngineTest, IdentityStoreUnavailableDenies) {
  world_.Activate(R"(@id("all") permit (principal, action, resource);)");
  world_.identities->fail = true;
  const DecisionResult result = world_.Decide(kBot, kCall, kRead);
  EXPECT_EQ(result.outcome, Outcome::kDeny);
  EXPECT_THAT(result.reason, HasSubstr("unavailable"));
}

TEST_F(EngineTest, RegistryGroupsOfGroupsCountForPrincipalsAndStoredEntities) {
  // Registry: dave ∈ sre ∈ engineering ∈ staff. Stored entities: the pager tool ∈ sre.
  world_.AddGroup("staff");
  world_.AddGroup("engineering", {"staff"});
  world_.AddGroup("sre", {"engineering"});
  world_.AddHuman("dave", {"sre"});
  world_.Activate(R"(
@id("staff-read") permit (principal in Writ::Group::"staff", action, resource == Writ::Tool::"github/read");
@id("pager") permit (principal, action, resource == Writ::Tool::"pager");
@id("nothing-of-staff") forbid (principal, action, resource in Writ::Group::"staff");)",
                  R"([{"uid": {"type": "Writ::Tool", "id": "pager"}, "attrs": {},
                       "parents": [{"type": "Writ::Group", "id": "sre"}]}])");
  const cedar::EntityUid dave{"Writ::Human", "dave"};
  EXPECT_EQ(world_.Decide(dave, kCall, kRead).outcome, Outcome::kAllow);
  // The stored pager sits below the registry's sre, whose own groups reach staff: the forbid holds.
  const DecisionResult pager = world_.Decide(dave, kCall, {"Writ::Tool", "pager"});
  EXPECT_EQ(pager.outcome, Outcome::kDeny);
  EXPECT_THAT(pager.policy_ids, ElementsAre("nothing-of-staff"));
  world_.identities->fail = true;
  const DecisionResult unavailable = world_.Decide(dave, kCall, kRead);
  EXPECT_EQ(unavailable.outcome, Outcome::kDeny);
  EXPECT_THAT(unavailable.reason, HasSubstr("unavailable"));
}

TEST_F(EngineTest, LedgerFailureTurnsAnAllowIntoADeny) {
  world_.Activate(R"(@id("all") permit (principal, action, resource);)");
  world_.recorder.fail = true;
  const DecisionResult result = world_.Decide(kBot, kCall, kRead);
  EXPECT_EQ(result.outcome, Outcome::kDeny);
  EXPECT_THAT(result.reason, HasSubstr("could not be recorded"));
}

TEST_F(EngineTest, EvaluationErrorSkipsThePolicyAndDenies) {
  world_.Activate(R"(@id("broken") permit (principal, action, resource) when { principal.no_such_attr == 1 };)");
  const DecisionResult result = world_.Decide(kBot, kCall, kRead);
  EXPECT_EQ(result.outcome, Outcome::kDeny);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_THAT(result.errors[0], HasSubstr("broken"));
}

TEST_F(EngineTest, ContextCarriesWritTimeAsDatetime) {
  world_.Activate(R"(@id("after-2020") permit (principal, action, resource)
when { context.writ.time > datetime("2020-01-01T00:00:00Z") && context.task == "triage" };)");
  DecisionRequest request;
  request.principal = kBot;
  request.action = kCall;
  request.resource = kRead;
  request.context = json::Object{{"task", "triage"}, {"writ", "spoofed"}};
  EXPECT_EQ(world_.engine->Decide(request).outcome, Outcome::kAllow);
}

TEST_F(EngineTest, PolicySetNeedsUniqueIds) {
  PolicySource missing;
  missing.files["a.cedar"] = "permit (principal, action, resource);";
  EXPECT_THAT(world_.engine->Apply(missing, "t", ""), FailsWith(Code::kInvalidArgument, HasSubstr("a.cedar:1:1")));
  PolicySource duplicate;
  duplicate.files["a.cedar"] = R"(@id("x") permit (principal, action, resource);)";
  duplicate.files["b.cedar"] = R"(@id("x") forbid (principal, action, resource);)";
  EXPECT_THAT(world_.engine->Apply(duplicate, "t", ""), FailsWith(Code::kInvalidArgument, HasSubstr("already used in a.cedar")));
  PolicySource syntax;
  syntax.files["c.cedar"] = "@id(\"y\") permit (principal, action resource);";
  EXPECT_THAT(world_.engine->Apply(syntax, "t", ""), FailsWith(Code::kInvalidArgument, HasSubstr("c.cedar:1:")));
}

TEST_F(EngineTest, ActivateSwapsAndRollbackRestoresThePreviousVersion) {
  const int64_t v1 = world_.Activate(R"(@id("all") permit (principal, action, resource);)");
  const int64_t v2 = world_.Activate(R"(@id("none") forbid (principal, action, resource);)");
  EXPECT_EQ(world_.engine->active_version(), v2);
  EXPECT_EQ(world_.Decide(kBot, kCall, kRead).outcome, Outcome::kDeny);
  auto rolled = world_.engine->Rollback("tester", "oops");
  ASSERT_THAT(rolled, IsOk());
  EXPECT_EQ(rolled->version, v1);
  EXPECT_EQ(world_.Decide(kBot, kCall, kRead).outcome, Outcome::kAllow);
  auto versions = world_.engine->List();
  ASSERT_THAT(versions, IsOk());
  EXPECT_EQ(versions->size(), 2u);
  const std::string diff = DiffSources(world_.engine->Source(v1).value(), world_.engine->Source(v2).value(), "v1", "v2");
  EXPECT_THAT(diff, HasSubstr("-@id(\"all\")"));
  EXPECT_THAT(diff, HasSubstr("+@id(\"none\")"));
}

TEST_F(EngineTest, ActivationIsRefusedWhenItCannotBeRecorded) {
  const int64_t v1 = world_.Activate(R"(@id("all") permit (principal, action, resource);)");
  PolicySource next;
  next.files["p.cedar"] = R"(@id("none") forbid (principal, action, resource);)";
  const VersionInfo info = world_.engine->Apply(next, "t", "").value();
  world_.recorder.fail = true;
  EXPECT_THAT(world_.engine->Activate(info.version, "t", ""), FailsWith(Code::kUnavailable));
  EXPECT_EQ(world_.engine->active_version(), v1);
}

TEST_F(EngineTest, ReloadActivatesTheStoredActiveVersion) {
  const int64_t v1 = world_.Activate(R"(@id("all") permit (principal, action, resource);)");
  auto fresh = Engine::Create({.clock = &world_.clock, .registry = world_.registry.get(), .store = &world_.store->policies()}).value();
  EXPECT_EQ(fresh->active_version(), 0);
  ASSERT_THAT(fresh->Load(), IsOk());
  EXPECT_EQ(fresh->active_version(), v1);
}

TEST_F(EngineTest, ContentHashIsStableAndOrderIndependent) {
  PolicySource a;
  a.files["x.cedar"] = "1";
  a.files["y.cedar"] = "2";
  PolicySource b;
  b.files["y.cedar"] = "2";
  b.files["x.cedar"] = "1";
  EXPECT_EQ(ContentHash(a), ContentHash(b));
  b.files["y.cedar"] = "3";
  EXPECT_NE(ContentHash(a), ContentHash(b));
  EXPECT_EQ(ContentHash(a).size(), 64u);
}

TEST(ActionUidTest, PlainNamesAreActionsAndFullUidsAreKept) {
  EXPECT_EQ(ActionUid("read"), (cedar::EntityUid{"Action", "read"}));
  EXPECT_EQ(ActionUid(R"(Writ::Action::"mcp:call")"), (cedar::EntityUid{"Writ::Action", "mcp:call"}));
  EXPECT_EQ(ActionUid("GET"), (cedar::EntityUid{"Action", "GET"}));
}

}  // namespace
}  // namespace writ::authz

namespace writ::authz {
namespace {

TEST(AdminGuardTest, DefaultLetsLocalAdministratorsDoEverythingAndNobodyElse) {
  auto guard = AdminGuard::Create().value();
  EXPECT_THAT(guard->Authorize({.name = "alice", .is_human = true, .is_administrator = true}, "policy:activate", "policies"),
              IsOk());
  EXPECT_THAT(guard->Authorize({.name = "uid:1234", .is_human = false, .is_administrator = false}, "identity:create", "x"),
              FailsWith(Code::kPermissionDenied));
}

TEST(AdminGuardTest, TwoPersonRuleForActivationIsAPolicy) {
  auto guard = AdminGuard::Create(std::string(kDefaultAdminPolicies) + R"(
@id("two-person-activation")
forbid (principal, action == Writ::Action::"policy:activate", resource)
when { context has version_author && context.version_author == principal.name };)").value();
  const AdminCaller alice{.name = "alice", .is_human = true, .is_administrator = true};
  EXPECT_THAT(guard->Authorize(alice, "policy:activate", "policies", json::Object{{"version_author", "alice"}}),
              FailsWith(Code::kPermissionDenied, ::testing::HasSubstr("two-person-activation")));
  EXPECT_THAT(guard->Authorize(alice, "policy:activate", "policies", json::Object{{"version_author", "bob"}}), IsOk());
}

}  // namespace
}  // namespace writ::authz

namespace writ::authz {
namespace {

TEST(EngineValidationTest, SetThatDoesNotValidateAgainstItsSchemaIsRefused) {
  testing::World world;
  PolicySource source;
  source.files["schema.cedarschema"] = R"(entity User { tier: String }; entity Doc;
action read appliesTo { principal: User, resource: Doc };)";
  source.files["ok.cedar"] = R"(@id("ok") permit (principal, action == Action::"read", resource) when { principal.tier == "high" };)";
  EXPECT_THAT(world.engine->Apply(source, "t", ""), IsOk());
  source.files["bad.cedar"] = R"(@id("bad") permit (principal, action == Action::"read", resource) when { principal.nope == 1 };)";
  EXPECT_THAT(world.engine->Apply(source, "t", ""), FailsWith(Code::kFailedPrecondition));
}

}  // namespace
}  // namespace writ::authz
