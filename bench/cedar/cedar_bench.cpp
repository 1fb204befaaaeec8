// Cedar engine benchmarks: decisions on pre-parsed policies and entities (the agent scenario and
// a 10,000-policy set), and parse throughput of policies and entities.
//   cmake --preset bench && cmake --build --preset bench && ./build/bench/bench/cedar/writ_cedar_bench
#include <string>

#include <benchmark/benchmark.h>

#include "cedar/authorizer.h"
#include "cedar/entities.h"
#include "cedar/policy.h"

namespace writ::cedar {
namespace {

// The AI-agent scenario: 10 policies using is, in, has, like, ip ranges, tags, unless and one
// policy that errors at runtime.
constexpr const char* kAgentPolicies = R"(
@id("p_team_tools") permit(principal in Team::"payments", action in [Action::"invoke", Action::"read"], resource in ToolGroup::"payments-tools");
@id("p_tags") permit(principal, action == Action::"invoke", resource) when { principal.hasTag("clearance") && principal.getTag("clearance") == "high" };
@id("f_suspended") forbid(principal, action, resource) when { principal.suspended };
@id("p_errors") permit(principal, action == Action::"invoke", resource) when { principal.nonexistent == 1 };
@id("p_is_agent") permit(principal is Agent, action == Action::"read", resource is Tool);
@id("p_budget") permit(principal is Agent, action == Action::"invoke", resource) when { principal has budget && principal.budget > 50 };
@id("f_prod") forbid(principal, action == Action::"invoke", resource) when { resource has env && resource.env like "prod-*" } unless { context.hour >= 9 && context.hour < 18 };
@id("f_network") forbid(principal, action, resource) unless { ip(context.ip).isInRange(ip("10.0.0.0/8")) };
@id("p_owner") permit(principal, action, resource) when { resource has owner && resource.owner == principal };
@id("f_admin_tools") forbid(principal, action == Action::"delete", resource in ToolGroup::"admin");
)";

constexpr const char* kAgentEntities = R"([
  {"uid": {"type": "Agent", "id": "agent-007"}, "attrs": {"suspended": false, "budget": 100},
   "parents": [{"type": "Team", "id": "payments"}], "tags": {"clearance": "high"}},
  {"uid": {"type": "Team", "id": "payments"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Tool", "id": "stripe.refund"}, "attrs": {"env": "prod-eu"},
   "parents": [{"type": "ToolGroup", "id": "payments-tools"}]},
  {"uid": {"type": "ToolGroup", "id": "payments-tools"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Action", "id": "invoke"}, "attrs": {}, "parents": []}
])";

void BM_AgentScenarioDecision(benchmark::State& state) {
  auto set = ParsePolicySet(kAgentPolicies, {.ids_from_annotation = true});
  auto entities = ParseEntities(kAgentEntities);
  if (!set || !entities) {
    state.SkipWithError("setup failed");
    return;
  }
  Authorizer authz(std::move(*set));
  Request request = Request::Make({"Agent", "agent-007"}, {"Action", "invoke"}, {"Tool", "stripe.refund"},
                                  Value::Record({{"ip", Value::String("10.1.2.3")}, {"hour", Value::Long(11)}}));
  Response response;
  for (auto _ : state) {
    authz.Authorize(request, *entities, &response);
    benchmark::DoNotOptimize(response.decision);
  }
  // p_team_tools, p_tags and p_budget permit; p_errors errs.
  if (response.decision != Decision::kAllow || response.reasons.size() != 3 || response.errors.size() != 1) {
    state.SkipWithError(ResponseToJson(response).c_str());
  }
}
BENCHMARK(BM_AgentScenarioDecision);

// The same decision when each call brings its entities and request as JSON (what cedar-wasm's
// statefulIsAuthorized does): parse both, then decide. Policies stay pre-parsed.
void BM_AgentScenarioFromJson(benchmark::State& state) {
  auto set = ParsePolicySet(kAgentPolicies, {.ids_from_annotation = true});
  if (!set) {
    state.SkipWithError("setup failed");
    return;
  }
  Authorizer authz(std::move(*set));
  constexpr const char* kRequest = R"({"principal": {"type": "Agent", "id": "agent-007"},
    "action": {"type": "Action", "id": "invoke"}, "resource": {"type": "Tool", "id": "stripe.refund"},
    "context": {"ip": "10.1.2.3", "hour": 11}})";
  Response response;
  for (auto _ : state) {
    auto entities = ParseEntities(kAgentEntities);
    auto request = ParseRequest(kRequest);
    if (!entities || !request) {
      state.SkipWithError("parse failed");
      break;
    }
    authz.Authorize(*request, *entities, &response);
    benchmark::DoNotOptimize(response.decision);
  }
  if (response.decision != Decision::kAllow) state.SkipWithError("unexpected decision");
}
BENCHMARK(BM_AgentScenarioFromJson);

std::string ManyPolicies(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    std::string k = std::to_string(i);
    switch (i % 4) {
      case 0: text += "permit(principal == User::\"u" + k + "\", action == Action::\"read\", resource);\n"; break;
      case 1: text += "permit(principal in Team::\"t" + k + "\", action, resource) when { context.level > 2 };\n"; break;
      case 2: text += "forbid(principal, action == Action::\"a" + k + "\", resource == Doc::\"d" + k + "\");\n"; break;
      default: text += "permit(principal, action, resource in Folder::\"f" + k + "\") when { resource.public };\n"; break;
    }
  }
  // The five policies that can match the benchmark request.
  text += "permit(principal == User::\"alice\", action == Action::\"read\", resource);\n";
  text += "permit(principal in Team::\"eng\", action, resource) when { context.level > 2 };\n";
  text += "permit(principal, action, resource in Folder::\"shared\") when { resource.public };\n";
  text += "forbid(principal, action == Action::\"read\", resource == Doc::\"secret\");\n";
  text += "permit(principal is User, action == Action::\"read\", resource) unless { context.level > 100 };\n";
  return text;
}

constexpr const char* kManyEntities = R"([
  {"uid": {"type": "User", "id": "alice"}, "attrs": {}, "parents": [{"type": "Team", "id": "eng"}]},
  {"uid": {"type": "Team", "id": "eng"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Doc", "id": "readme"}, "attrs": {"public": true}, "parents": [{"type": "Folder", "id": "shared"}]}
])";

void BM_TenThousandPoliciesDecision(benchmark::State& state) {
  auto set = ParsePolicySet(ManyPolicies(10000));
  auto entities = ParseEntities(kManyEntities);
  if (!set || !entities) {
    state.SkipWithError("setup failed");
    return;
  }
  Authorizer authz(std::move(*set));
  Request request = Request::Make({"User", "alice"}, {"Action", "read"}, {"Doc", "readme"},
                                  Value::Record({{"level", Value::Long(5)}}));
  Response response;
  for (auto _ : state) {
    authz.Authorize(request, *entities, &response);
    benchmark::DoNotOptimize(response.decision);
  }
  if (response.decision != Decision::kAllow || response.reasons.size() != 4) state.SkipWithError("unexpected decision");
}
BENCHMARK(BM_TenThousandPoliciesDecision);

void BM_ParsePolicies(benchmark::State& state) {
  std::string text = ManyPolicies(2000);
  for (auto _ : state) {
    auto set = ParsePolicySet(text);
    benchmark::DoNotOptimize(set);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ParsePolicies)->Unit(benchmark::kMillisecond);

void BM_ParseEntities(benchmark::State& state) {
  std::string json = "[";
  for (int i = 0; i < 5000; ++i) {
    if (i) json += ",";
    std::string k = std::to_string(i);
    json += R"({"uid":{"type":"User","id":"u)" + k + R"("},"attrs":{"name":"user )" + k +
            R"(","age":)" + k + R"(,"ip":{"__extn":{"fn":"ip","arg":"10.0.0.1"}},"roles":["a","b"]},"parents":[{"type":"Team","id":"t)" +
            std::to_string(i % 50) + R"("}]})";
  }
  json += "]";
  for (auto _ : state) {
    auto entities = ParseEntities(json);
    benchmark::DoNotOptimize(entities);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(json.size()));
}
BENCHMARK(BM_ParseEntities)->Unit(benchmark::kMillisecond);

void BM_ResponseToJson(benchmark::State& state) {
  Response r;
  r.decision = Decision::kAllow;
  r.reasons = {"p_tags", "p_team_tools"};
  r.errors.push_back(PolicyError{"p_errors", EvalErrorKind::kEntityAttrDoesNotExist, "no attribute `x`"});
  for (auto _ : state) benchmark::DoNotOptimize(ResponseToJson(r));
}
BENCHMARK(BM_ResponseToJson);

// What a decision for a registry principal adds to the policy set's stored entities (the agent
// and two groups), over a store of range(0) resources in 100 folders: the old way (copy the store,
// add, re-close everything) against Entities::Over (close the three added entities only).
Entities StoredResources(int count) {
  Entities stored;
  for (int n = 0; n < count; ++n) {
    Entity entity;
    entity.uid = {"Writ::Tool", "tool-" + std::to_string(n)};
    entity.parents.push_back({"Writ::ToolServer", "server-" + std::to_string(n % 100)});
    stored.Add(std::move(entity));
  }
  (void)stored.Finalize();
  return stored;
}

std::vector<Entity> RequestEntities() {
  std::vector<Entity> given(3);
  given[0].uid = {"Writ::Agent", "triage-bot"};
  given[0].parents = {{"Writ::Group", "sre"}};
  given[1].uid = {"Writ::Group", "sre"};
  given[1].parents = {{"Writ::Group", "engineering"}};
  given[2].uid = {"Writ::Group", "engineering"};
  return given;
}

void BM_RequestEntitiesCopied(benchmark::State& state) {
  const Entities stored = StoredResources(static_cast<int>(state.range(0)));
  const std::vector<Entity> given = RequestEntities();
  for (auto _ : state) {
    Entities merged = stored;
    for (const Entity& entity : given) merged.Add(entity);
    benchmark::DoNotOptimize(merged.Finalize());
  }
}
BENCHMARK(BM_RequestEntitiesCopied)->Arg(10)->Arg(10000);

void BM_RequestEntitiesOverlaid(benchmark::State& state) {
  const Entities stored = StoredResources(static_cast<int>(state.range(0)));
  const std::vector<Entity> given = RequestEntities();
  for (auto _ : state) {
    Entities merged = Entities::Over(stored);
    for (const Entity& entity : given) merged.Add(entity);
    benchmark::DoNotOptimize(merged.Finalize());
  }
}
BENCHMARK(BM_RequestEntitiesOverlaid)->Arg(10)->Arg(10000);

}  // namespace
}  // namespace writ::cedar
