// Validation of a 1,000-policy set against a realistic schema (the budget: 50 ms, so that
// `writ apply` stays instant). The schema has a namespace, a group hierarchy, optional and nested
// attributes, tags, extension types and 8 actions over several principal and resource types.
#include <string>

#include <benchmark/benchmark.h>

#include "cedar/policy.h"
#include "cedar/schema.h"
#include "cedar/validator.h"

namespace {

constexpr const char* kSchema = R"(
namespace Writ {
  type Labels = Set<String>;
  entity Org;
  entity Team in [Org] { name: String, budget: Long };
  entity Human in [Team, Org] { email: String, level: Long, manager?: Human, mfa?: Bool };
  entity Agent in [Team] {
    owner: Human,
    tier: String,
    budget?: Long,
    labels: Labels,
    attest?: { exe: String, sha256?: String, uid: Long },
    created: datetime,
  } tags String;
  entity Tool in [Toolbox] { risk: Long, vendor: String, labels: Labels };
  entity Toolbox in [Org] { name: String };
  entity Secret in [Toolbox] { classification: String, ttl?: duration } tags Long;
  entity Document { owner: Human, public: Bool, size: Long };
  action "read" appliesTo { principal: [Agent, Human], resource: [Document, Tool],
                           context: { ip: ipaddr, hour: Long, approved?: Bool } };
  action "write" in ["read"] appliesTo { principal: [Agent, Human], resource: [Document],
                                         context: { ip: ipaddr, hour: Long } };
  action "invoke" appliesTo { principal: [Agent], resource: [Tool],
                             context: { ip: ipaddr, hour: Long, cost?: decimal, now: datetime } };
  action "fetch" appliesTo { principal: [Agent], resource: [Secret], context: { ip: ipaddr, reason?: String } };
  action "approve" appliesTo { principal: [Human], resource: [Agent, Tool], context: {} };
  action "suspend" in ["approve"] appliesTo { principal: [Human], resource: [Agent], context: {} };
  action "admin";
  action "delegate" appliesTo { principal: [Human, Agent], resource: [Team, Toolbox], context: { depth: Long } };
}
)";

// Ten policy shapes using scope constraints, `has` guards, tags, sets, extensions and `if`.
std::string PolicyText(int i) {
  const std::string n = std::to_string(i);
  switch (i % 10) {
    case 0:
      return "permit(principal in Writ::Team::\"t" + n + "\", action == Writ::Action::\"invoke\", resource in "
             "Writ::Toolbox::\"b" + n + "\") when { resource.risk < 3 && principal has budget && principal.budget > " + n + " };";
    case 1:
      return "forbid(principal is Writ::Agent, action, resource is Writ::Tool) when { principal.tier == \"low\" && "
             "resource.risk > 7 } unless { context has approved && context.approved };";
    case 2:
      return "permit(principal, action in [Writ::Action::\"read\", Writ::Action::\"write\"], resource is Writ::Document) "
             "when { resource.owner == principal || resource.public };";
    case 3:
      return "permit(principal is Writ::Agent, action == Writ::Action::\"fetch\", resource) when { "
             "principal.hasTag(\"clearance\") && principal.getTag(\"clearance\") == \"high\" && resource.classification "
             "!= \"top\" && context.ip.isInRange(ip(\"10.0.0.0/8\")) };";
    case 4:
      return "permit(principal is Writ::Agent in Writ::Team::\"t" + n + "\", action == Writ::Action::\"invoke\", resource) "
             "when { principal has attest && principal.attest.uid == " + n + " && (principal.attest has sha256 && "
             "principal.attest.sha256 like \"ab*\") };";
    case 5:
      return "forbid(principal, action == Writ::Action::\"invoke\", resource) when { context has cost && "
             "context.cost.greaterThan(decimal(\"12.50\")) || context.hour > 22 };";
    case 6:
      return "permit(principal is Writ::Human, action in Writ::Action::\"approve\", resource) when { principal.level >= 3 "
             "&& (if principal has manager then principal.manager.level > principal.level else true) };";
    case 7:
      return "permit(principal is Writ::Agent, action == Writ::Action::\"invoke\", resource is Writ::Tool) when { "
             "resource.labels.containsAny(principal.labels) && principal.labels.contains(\"l" + n + "\") && "
             "context.now < principal.created.offset(duration(\"90d\")) };";
    case 8:
      return "permit(principal in Writ::Org::\"o" + n + "\", action == Writ::Action::\"delegate\", resource) when { "
             "context.depth < 3 && [\"a\", \"b\"].contains(if principal in Writ::Org::\"o\" then \"a\" else \"b\") };";
    default:
      return "forbid(principal, action == Writ::Action::\"suspend\", resource == Writ::Agent::\"a" + n + "\") when { "
             "principal has mfa && !principal.mfa };";
  }
}

std::string PolicySetText(int count) {
  std::string text;
  for (int i = 0; i < count; ++i) text += PolicyText(i) + "\n";
  return text;
}

void BM_ValidateThousandPolicies(benchmark::State& state) {
  auto schema = writ::cedar::ParseSchema(kSchema);
  if (!schema) {
    state.SkipWithError(schema.error().message.c_str());
    return;
  }
  auto set = writ::cedar::ParsePolicySet(PolicySetText(1000));
  if (!set) {
    state.SkipWithError(set.error().front().ToString().c_str());
    return;
  }
  writ::cedar::Validator validator(*schema);
  auto check = validator.Validate(*set);
  if (!check.ok()) {
    state.SkipWithError(check.errors.front().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto result = validator.Validate(*set);
    benchmark::DoNotOptimize(result);
  }
  state.counters["policies"] = 1000;
}
BENCHMARK(BM_ValidateThousandPolicies)->Unit(benchmark::kMillisecond);

}  // namespace
