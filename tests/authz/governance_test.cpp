// Governance of the decision service: shadow evaluation of a staged policy set, the admin policy
// set (denials with their policies, recorded), and AuthZEN search over registry identities.
#include <map>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "authz/admin_guard.h"
#include "authz/authzen.h"
#include "authz/engine.h"
#include "authz_test_util.h"
#include "testing/matchers.h"

namespace writ::authz {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using testing::World;

using testing::kBot;
using testing::kCall;
using testing::kRead;
const cedar::EntityUid kWrite{"Writ::Tool", "github/write"};

constexpr std::string_view kActive = R"(
@id("read") permit (principal is Writ::Agent, action == Writ::Action::"mcp:call", resource == Writ::Tool::"github/read");
)";
// The candidate: also lets agents write, and forbids reading to low-tier agents.
constexpr std::string_view kCandidate = R"(
@id("read") permit (principal is Writ::Agent, action == Writ::Action::"mcp:call", resource == Writ::Tool::"github/read");
@id("write") permit (principal is Writ::Agent, action == Writ::Action::"mcp:call", resource == Writ::Tool::"github/write");
@id("no-low-read") forbid (principal is Writ::Agent, action, resource == Writ::Tool::"github/read") when { principal.tier == "low" };
)";

class ShadowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_.AddHuman("alice");
    world_.AddAgent("triage-bot", "alice");  // tier low (the registry's default)
    world_.Activate(std::string(kActive));
    PolicySource source;
    source.files["policies.cedar"] = std::string(kCandidate);
    candidate_ = world_.engine->Apply(source, "bob", "candidate").value().version;
  }
  World world_;
  int64_t candidate_ = 0;
};

TEST_F(ShadowTest, StagedSetIsEvaluatedButNeverChangesTheAnswer) {
  ASSERT_THAT(world_.engine->Stage(candidate_, "alice", "try it"), IsOk());
  EXPECT_EQ(world_.Decide(kBot, kCall, kRead).outcome, Outcome::kAllow);  // shadow: deny (forbid)
  EXPECT_EQ(world_.Decide(kBot, kCall, kWrite).outcome, Outcome::kDeny);  // shadow: allow
  EXPECT_EQ(world_.Decide(kBot, cedar::EntityUid{"Writ::Action", "other"}, kRead).outcome,
            Outcome::kDeny);  // both deny

  const ShadowReport report = world_.engine->shadow_report();
  ASSERT_TRUE(report.staged);
  EXPECT_EQ(report.info.version, candidate_);
  EXPECT_EQ(report.staged_by, "alice");
  EXPECT_EQ(report.agreed, 1u);
  EXPECT_EQ(report.disagreed, 2u);
  ASSERT_EQ(report.recent.size(), 2u);
  EXPECT_EQ(report.recent[0].active, Outcome::kAllow);
  EXPECT_EQ(report.recent[0].shadow, Outcome::kDeny);
  EXPECT_THAT(report.recent[0].active_policy_ids, ElementsAre("read"));
  EXPECT_THAT(report.recent[0].shadow_policy_ids, ElementsAre("no-low-read"));
  EXPECT_EQ(report.recent[1].shadow, Outcome::kAllow);
  EXPECT_THAT(report.recent[1].shadow_policy_ids, ElementsAre("write"));
}

TEST_F(ShadowTest, DisagreementIsInTheDecisionEventWithBothDecisionsAndPolicies) {
  ASSERT_THAT(world_.engine->Stage(candidate_, "alice", ""), IsOk());
  const ledger::Event& staged = world_.recorder.events.back();
  EXPECT_EQ(staged.kind, ledger::EventKind::kPolicyChanged);
  EXPECT_EQ(staged.details.Find("change")->as_string(), "stage");

  (void)world_.Decide(kBot, kCall, kRead);
  const ledger::Event& event = world_.recorder.events.back();
  EXPECT_EQ(event.kind, ledger::EventKind::kDecision);
  EXPECT_EQ(event.decision, ledger::Decision::kAllow);
  EXPECT_THAT(event.policy_ids, ElementsAre("read"));
  const json::Value* shadow = event.details.Find("shadow");
  ASSERT_NE(shadow, nullptr);
  EXPECT_EQ(json::Serialize(*shadow),
            fmt::format(R"({{"version":{},"decision":"deny","policy_ids":["no-low-read"]}})", candidate_));

  // An agreeing decision carries no shadow member (the ledger stays small).
  (void)world_.Decide(kBot, cedar::EntityUid{"Writ::Action", "other"}, kRead);
  const ledger::Event& agreed = world_.recorder.events.back();
  EXPECT_TRUE(agreed.details.is_null() || agreed.details.Find("shadow") == nullptr);
}

TEST_F(ShadowTest, UnstageStopsCountingAndReportsTheTotals) {
  ASSERT_THAT(world_.engine->Stage(candidate_, "alice", ""), IsOk());
  (void)world_.Decide(kBot, kCall, kRead);
  auto last = world_.engine->Unstage("alice", "done");
  ASSERT_THAT(last, IsOk());
  EXPECT_EQ(last->disagreed, 1u);
  const ledger::Event& event = world_.recorder.events.back();
  EXPECT_EQ(event.details.Find("change")->as_string(), "unstage");
  EXPECT_EQ(event.details.Find("disagreed")->as_int(), 1);

  (void)world_.Decide(kBot, kCall, kRead);
  EXPECT_FALSE(world_.engine->shadow_report().staged);
  EXPECT_EQ(world_.recorder.events.back().details.Find("shadow"), nullptr);
  EXPECT_THAT(world_.engine->Unstage("alice", ""), FailsWith(Code::kFailedPrecondition));
}

TEST_F(ShadowTest, RestagingResetsTheCounts) {
  ASSERT_THAT(world_.engine->Stage(candidate_, "alice", ""), IsOk());
  (void)world_.Decide(kBot, kCall, kRead);
  ASSERT_THAT(world_.engine->Stage(candidate_, "alice", ""), IsOk());
  EXPECT_EQ(world_.engine->shadow_report().disagreed, 0u);
}

// Staging is stored: an engine opened on the same store (writd restarting) stages the same version
// again, with its author and time; the counts start over. Unstaging is stored too.
TEST_F(ShadowTest, StagingOutlivesARestartAndSoDoesUnstaging) {
  ASSERT_THAT(world_.engine->Stage(candidate_, "alice", "try it"), IsOk());
  const TimePoint staged_at = world_.clock.Now();
  (void)world_.Decide(kBot, kCall, kRead);
  world_.clock.Advance(std::chrono::minutes(5));
  auto reopen = [&] {
    auto engine = Engine::Create({.clock = &world_.clock,
                                  .registry = world_.registry.get(),
                                  .store = &world_.store->policies(),
                                  .recorder = &world_.recorder})
                      .value();
    EXPECT_THAT(engine->Load(), IsOk());
    return engine;
  };
  auto restarted = reopen();
  const ShadowReport report = restarted->shadow_report();
  ASSERT_TRUE(report.staged);
  EXPECT_EQ(report.info.version, candidate_);
  EXPECT_EQ(report.staged_by, "alice");
  EXPECT_EQ(ToUnixMillis(report.staged_at), ToUnixMillis(staged_at));
  EXPECT_EQ(report.disagreed, 0u);
  EXPECT_EQ(restarted->active_version(), world_.engine->active_version());
  ASSERT_THAT(restarted->Unstage("alice", "seen enough"), IsOk());
  EXPECT_FALSE(reopen()->shadow_report().staged);
}

TEST_F(ShadowTest, UnknownVersionOrUnrecordableStageChangesNothing) {
  EXPECT_THAT(world_.engine->Stage(99, "alice", ""), FailsWith(Code::kNotFound));
  world_.recorder.fail = true;
  EXPECT_THAT(world_.engine->Stage(candidate_, "alice", ""), FailsWith(Code::kUnavailable));
  EXPECT_FALSE(world_.engine->shadow_report().staged);
}

TEST_F(ShadowTest, SearchCandidatesAreNotShadowEvaluated) {
  ASSERT_THAT(world_.engine->Stage(candidate_, "alice", ""), IsOk());
  DecisionRequest request;
  request.principal = kBot;
  request.action = kCall;
  request.resource = kRead;
  request.record = false;
  (void)world_.engine->Decide(request);
  EXPECT_EQ(world_.engine->shadow_report().agreed + world_.engine->shadow_report().disagreed, 0u);
}

TEST_F(ShadowTest, ShadowSetThatErrsDoesNotAffectTheAnswer) {
  PolicySource broken;
  broken.files["policies.cedar"] =
      R"(@id("erring") permit (principal, action, resource) when { principal.no_such_attribute == 1 };)";
  const int64_t version = world_.engine->Apply(broken, "bob", "").value().version;
  ASSERT_THAT(world_.engine->Stage(version, "alice", ""), IsOk());
  EXPECT_EQ(world_.Decide(kBot, kCall, kRead).outcome, Outcome::kAllow);
  EXPECT_EQ(world_.engine->shadow_report().disagreed, 1u);
}

TEST_F(ShadowTest, ReportJsonHasCountsAndRecentDisagreements) {
  EXPECT_EQ(json::Serialize(ToJson(world_.engine->shadow_report())), R"({"staged":false})");
  ASSERT_THAT(world_.engine->Stage(candidate_, "alice", ""), IsOk());
  (void)world_.Decide(kBot, kCall, kWrite);
  const json::Value out = ToJson(world_.engine->shadow_report());
  EXPECT_EQ(out.Find("evaluated")->as_int(), 1);
  EXPECT_EQ(out.Find("disagreed")->as_int(), 1);
  const auto& recent = out.Find("recent")->as_array();
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(json::Serialize(*recent[0].Find("shadow")), R"({"decision":"allow","policy_ids":["write"]})");
  EXPECT_EQ(json::Serialize(*recent[0].Find("active")), R"({"decision":"deny","policy_ids":[]})");
}

TEST_F(ShadowTest, RecentDisagreementsAreBounded) {
  ASSERT_THAT(world_.engine->Stage(candidate_, "alice", ""), IsOk());
  for (size_t i = 0; i < kShadowRecentKept + 5; ++i) (void)world_.Decide(kBot, kCall, kWrite);
  const ShadowReport report = world_.engine->shadow_report();
  EXPECT_EQ(report.disagreed, kShadowRecentKept + 5);
  EXPECT_EQ(report.recent.size(), kShadowRecentKept);
}

// ---- the data model: what policies see of a registry agent (DESIGN.md) ----

TEST(DataModelTest, AgentAttributesAndGroupsReachCedar) {
  World world;
  world.AddHuman("alice");
  world.AddGroup("sre");
  world.AddAgent("triage-bot", "alice");
  identity::IdentityPatch patch;
  patch.tier = identity::Tier::kMedium;
  patch.labels = std::map<std::string, std::string>{{"team", "sre"}};
  patch.max_ttl = std::chrono::seconds(600);
  patch.groups = std::vector<std::string>{"sre"};
  ASSERT_THAT(world.registry->Update(identity::Kind::kAgent, "triage-bot", patch, {"t", ""}), IsOk());
  world.Activate(R"(@id("all-attributes") permit (principal in Writ::Group::"sre", action, resource) when {
    principal.owner == Writ::Human::"alice" && principal.tier == "medium" && principal.state == "active" &&
    principal.labels.team == "sre" && principal.max_ttl == 600 && principal.name == "triage-bot" };)");
  const DecisionResult result = world.Decide(kBot, kCall, kRead);
  EXPECT_EQ(result.outcome, Outcome::kAllow) << (result.errors.empty() ? result.reason : result.errors[0]);
  EXPECT_THAT(result.policy_ids, ElementsAre("all-attributes"));
}

// ---- the admin policy set ----

const AdminCaller kAlice{.name = "alice", .is_human = true, .is_administrator = true};
const AdminCaller kBob{.name = "bob", .is_human = true, .is_administrator = true};

TEST(AdminPolicyTest, ForbidIdentityRevokeToOneHumanIsEnforcedAndRecorded) {
  testing::FakeRecorder recorder;
  auto guard = AdminGuard::Create(std::string(kDefaultAdminPolicies) + R"(
@id("bob-may-not-revoke")
forbid (principal == Writ::Human::"bob", action == Writ::Action::"identity:revoke", resource);)",
                                  &recorder)
                   .value();
  const json::Value target = json::Object{{"kind", "agent"}, {"name", "triage-bot"}};
  EXPECT_THAT(guard->Authorize(kAlice, "identity:revoke", "identities", target), IsOk());
  EXPECT_THAT(guard->Authorize(kBob, "identity:suspend", "identities", target), IsOk());
  EXPECT_TRUE(recorder.events.empty());  // allows are recorded by the change itself

  EXPECT_THAT(guard->Authorize(kBob, "identity:revoke", "identities", target),
              FailsWith(Code::kPermissionDenied, HasSubstr("`bob-may-not-revoke`")));
  ASSERT_EQ(recorder.events.size(), 1u);
  const ledger::Event& event = recorder.events[0];
  EXPECT_EQ(event.kind, ledger::EventKind::kDecision);
  EXPECT_EQ(event.decision, ledger::Decision::kDeny);
  EXPECT_EQ(event.actor, R"(Writ::Human::"bob")");
  EXPECT_EQ(event.action, R"(Writ::Action::"identity:revoke")");
  EXPECT_EQ(event.resource, R"(Writ::Admin::"identities")");
  EXPECT_THAT(event.policy_ids, ElementsAre("bob-may-not-revoke"));
  EXPECT_EQ(event.details.Find("context")->Find("name")->as_string(), "triage-bot");
}

TEST(AdminPolicyTest, AHumansRegistryGroupsAreParents) {
  auto guard = AdminGuard::Create(std::string(kDefaultAdminPolicies) + R"(
@id("only-security-rotates")
forbid (principal, action == Writ::Action::"keys:rotate", resource) unless { principal in Writ::Group::"security" };)")
                   .value();
  AdminCaller carol{.name = "carol", .is_human = true, .is_administrator = true, .groups = {"security"}};
  EXPECT_THAT(guard->Authorize(carol, "keys:rotate", "keys"), IsOk());
  EXPECT_THAT(guard->Authorize(kBob, "keys:rotate", "keys"),
              FailsWith(Code::kPermissionDenied, HasSubstr("only-security-rotates")));
}

TEST(AdminPolicyTest, PoliciesSeeTheTargetIdentity) {
  auto guard = AdminGuard::Create(std::string(kDefaultAdminPolicies) + R"(
@id("humans-are-not-retired-here")
forbid (principal, action == Writ::Action::"identity:retire", resource) when { context.kind == "human" };)")
                   .value();
  EXPECT_THAT(guard->Authorize(kAlice, "identity:retire", "identities", json::Object{{"kind", "agent"}, {"name", "x"}}),
              IsOk());
  EXPECT_THAT(guard->Authorize(kAlice, "identity:retire", "identities", json::Object{{"kind", "human"}, {"name", "x"}}),
              FailsWith(Code::kPermissionDenied, HasSubstr("humans-are-not-retired-here")));
}

TEST(AdminPolicyTest, DenialStaysADenyWhenTheLedgerFails) {
  testing::FakeRecorder recorder;
  recorder.fail = true;
  auto guard = AdminGuard::Create(kDefaultAdminPolicies, &recorder).value();
  EXPECT_THAT(guard->Authorize({.name = "uid:7", .is_human = false, .is_administrator = false}, "keys:rotate", "keys"),
              FailsWith(Code::kPermissionDenied, HasSubstr("no admin policy permits it")));
}

TEST(AdminPolicyTest, ErringPolicyDeniesAndIsNamed) {
  auto guard =
      AdminGuard::Create(R"(@id("odd") permit (principal, action, resource) when { context.missing == 1 };)").value();
  EXPECT_THAT(guard->Authorize(kAlice, "token:revoke", "tokens"),
              FailsWith(Code::kPermissionDenied, HasSubstr("`odd` erred")));
}

TEST(AdminPolicyTest, TwoPersonRuleBlocksTheAuthorButNotASecondAdministrator) {
  auto guard = AdminGuard::Create(std::string(kDefaultAdminPolicies) + R"(
@id("two-person-activation")
forbid (principal, action == Writ::Action::"policy:activate", resource)
when { context has version_author && context.version_author == principal.name };)")
                   .value();
  const json::Value by_alice = json::Object{{"version_author", "alice"}};
  EXPECT_THAT(guard->Authorize(kAlice, "policy:activate", "policies", by_alice), FailsWith(Code::kPermissionDenied));
  EXPECT_THAT(guard->Authorize(kBob, "policy:activate", "policies", by_alice), IsOk());
  EXPECT_THAT(guard->Authorize(kAlice, "policy:apply", "policies", by_alice), IsOk());
}

// ---- search over registry identities ----

constexpr std::string_view kToolPolicies = R"(
@id("high-call") permit (principal is Writ::Agent, action == Writ::Action::"mcp:call", resource in Writ::ToolServer::"github")
when { principal.tier == "high" };
@id("sre-read") permit (principal in Writ::Group::"sre", action == Writ::Action::"mcp:call", resource == Writ::Tool::"github/read");
@id("humans-approve") permit (principal is Writ::Human, action == Writ::Action::"approval:grant", resource);
)";
constexpr std::string_view kTools = R"([
 {"uid":{"type":"Writ::ToolServer","id":"github"},"attrs":{},"parents":[]},
 {"uid":{"type":"Writ::Tool","id":"github/read"},"attrs":{},"parents":[{"type":"Writ::ToolServer","id":"github"}]},
 {"uid":{"type":"Writ::Tool","id":"github/write"},"attrs":{},"parents":[{"type":"Writ::ToolServer","id":"github"}]},
 {"uid":{"type":"Writ::Tool","id":"fs/read"},"attrs":{},"parents":[]},
 {"uid":{"type":"Writ::Agent","id":"declared-bot"},"attrs":{},"parents":[]}
])";

class RegistrySearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_.AddHuman("alice");
    world_.AddHuman("carol");
    world_.AddGroup("sre");
    for (const char* name : {"a-bot", "b-bot", "c-bot", "d-bot"}) world_.AddAgent(name, "alice");
    SetTier("a-bot", identity::Tier::kHigh);
    SetTier("c-bot", identity::Tier::kHigh);
    identity::IdentityPatch in_sre;
    in_sre.groups = std::vector<std::string>{"sre"};
    (void)world_.registry->Update(identity::Kind::kAgent, "d-bot", in_sre, {"t", ""}).value();
    world_.Activate(std::string(kToolPolicies), std::string(kTools));
  }
  void SetTier(const std::string& name, identity::Tier tier) {
    identity::IdentityPatch patch;
    patch.tier = tier;
    (void)world_.registry->Update(identity::Kind::kAgent, name, patch, {"t", ""}).value();
  }
  std::vector<std::string> Ids(const json::Value& answer) {
    std::vector<std::string> out;
    for (const auto& item : answer.Find("results")->as_array()) out.push_back(item.Find("id")->as_string());
    return out;
  }
  json::Value Parse(std::string_view text) { return json::Parse(text).value(); }

  World world_;
  Authzen authzen_{*world_.engine};
};

TEST_F(RegistrySearchTest, WhoMayCallAToolIncludesRegistryAgentsAndGroupMembers) {
  auto answer = authzen_.Search(SearchKind::kSubject, Parse(R"({"subject":{"type":"Writ::Agent"},
      "action":{"name":"Writ::Action::\"mcp:call\""},"resource":{"type":"Writ::Tool","id":"github/read"}})"),
                                "r");
  ASSERT_THAT(answer, IsOk());
  EXPECT_THAT(Ids(*answer), UnorderedElementsAre("a-bot", "c-bot", "d-bot"));
}

TEST_F(RegistrySearchTest, SuspendedAgentsAreNotListed) {
  (void)world_.registry->Transition(identity::Kind::kAgent, "a-bot", identity::State::kSuspended, {"t", ""}).value();
  auto answer = authzen_.Search(SearchKind::kSubject, Parse(R"({"subject":{"type":"Writ::Agent"},
      "action":{"name":"Writ::Action::\"mcp:call\""},"resource":{"type":"Writ::Tool","id":"github/write"}})"),
                                "r");
  ASSERT_THAT(answer, IsOk());
  EXPECT_THAT(Ids(*answer), ElementsAre("c-bot"));
}

TEST_F(RegistrySearchTest, HumansComeFromTheRegistryToo) {
  auto answer = authzen_.Search(SearchKind::kSubject, Parse(R"({"subject":{"type":"Writ::Human"},
      "action":{"name":"Writ::Action::\"approval:grant\""},"resource":{"type":"Writ::Approval","id":"x"}})"),
                                "r");
  ASSERT_THAT(answer, IsOk());
  EXPECT_THAT(Ids(*answer), ElementsAre("alice", "carol"));
}

TEST_F(RegistrySearchTest, PagesWalkRegistryResultsWithoutGapsOrRepeats) {
  const std::string base = R"("subject":{"type":"Writ::Agent"},"action":{"name":"Writ::Action::\"mcp:call\""},
      "resource":{"type":"Writ::Tool","id":"github/read"})";
  std::vector<std::string> seen;
  std::string token;
  for (int page = 0; page < 5; ++page) {
    auto answer = authzen_.Search(SearchKind::kSubject,
                                  Parse("{" + base + R"(,"page":{"limit":2,"token":")" + token + R"("}})"), "r");
    ASSERT_THAT(answer, IsOk());
    for (const auto& id : Ids(*answer)) seen.push_back(id);
    EXPECT_EQ(answer->Find("page")->Find("total")->as_int(), 3);
    token = answer->Find("page")->Find("next_token")->as_string();
    if (token.empty()) break;
  }
  EXPECT_THAT(seen, ElementsAre("a-bot", "c-bot", "d-bot"));
}

TEST_F(RegistrySearchTest, WhichToolsCanThisAgentCall) {
  auto answer = authzen_.Search(SearchKind::kResource, Parse(R"({"subject":{"type":"Writ::Agent","id":"a-bot"},
      "action":{"name":"Writ::Action::\"mcp:call\""},"resource":{"type":"Writ::Tool"}})"),
                                "r");
  ASSERT_THAT(answer, IsOk());
  EXPECT_THAT(Ids(*answer), UnorderedElementsAre("github/read", "github/write"));
  auto low = authzen_.Search(SearchKind::kResource, Parse(R"({"subject":{"type":"Writ::Agent","id":"b-bot"},
      "action":{"name":"Writ::Action::\"mcp:call\""},"resource":{"type":"Writ::Tool"}})"),
                             "r");
  ASSERT_THAT(low, IsOk());
  EXPECT_TRUE(low->Find("results")->as_array().empty());
}

TEST_F(RegistrySearchTest, RegistryOutageIsUnavailableNotAnEmptyAnswer) {
  world_.identities->fail = true;
  EXPECT_THAT(authzen_.Search(SearchKind::kSubject, Parse(R"({"subject":{"type":"Writ::Agent"},
      "action":{"name":"Writ::Action::\"mcp:call\""},"resource":{"type":"Writ::Tool","id":"github/read"}})"),
                              "r"),
              FailsWith(Code::kUnavailable));
}

}  // namespace
}  // namespace writ::authz
