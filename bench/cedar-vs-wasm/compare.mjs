// Times the agent scenario (10 policies, 5 entities) in cedar-wasm three ways and reads writ's
// numbers for the same scenario from writ_cedar_bench (JSON output), then prints the ratios.
//   node compare.mjs <path/to/writ_cedar_bench>
import { spawnSync } from 'node:child_process';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

const benchBinary = process.argv[2];
const staticPolicies = {
  p_team_tools: 'permit(principal in Team::"payments", action in [Action::"invoke", Action::"read"], resource in ToolGroup::"payments-tools");',
  p_tags: 'permit(principal, action == Action::"invoke", resource) when { principal.hasTag("clearance") && principal.getTag("clearance") == "high" };',
  f_suspended: 'forbid(principal, action, resource) when { principal.suspended };',
  p_errors: 'permit(principal, action == Action::"invoke", resource) when { principal.nonexistent == 1 };',
  p_is_agent: 'permit(principal is Agent, action == Action::"read", resource is Tool);',
  p_budget: 'permit(principal is Agent, action == Action::"invoke", resource) when { principal has budget && principal.budget > 50 };',
  f_prod: 'forbid(principal, action == Action::"invoke", resource) when { resource has env && resource.env like "prod-*" } unless { context.hour >= 9 && context.hour < 18 };',
  f_network: 'forbid(principal, action, resource) unless { ip(context.ip).isInRange(ip("10.0.0.0/8")) };',
  p_owner: 'permit(principal, action, resource) when { resource has owner && resource.owner == principal };',
  f_admin_tools: 'forbid(principal, action == Action::"delete", resource in ToolGroup::"admin");',
};
const entities = [
  { uid: { type: 'Agent', id: 'agent-007' }, attrs: { suspended: false, budget: 100 }, parents: [{ type: 'Team', id: 'payments' }], tags: { clearance: 'high' } },
  { uid: { type: 'Team', id: 'payments' }, attrs: {}, parents: [] },
  { uid: { type: 'Tool', id: 'stripe.refund' }, attrs: { env: 'prod-eu' }, parents: [{ type: 'ToolGroup', id: 'payments-tools' }] },
  { uid: { type: 'ToolGroup', id: 'payments-tools' }, attrs: {}, parents: [] },
  { uid: { type: 'Action', id: 'invoke' }, attrs: {}, parents: [] },
];
const request = {
  principal: { type: 'Agent', id: 'agent-007' }, action: { type: 'Action', id: 'invoke' },
  resource: { type: 'Tool', id: 'stripe.refund' }, context: { ip: '10.1.2.3', hour: 11 },
};

function time(label, n, fn) {
  for (let i = 0; i < Math.min(2000, n); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const us = Number(process.hrtime.bigint() - start) / 1000 / n;
  return { label, us };
}

const full = () => cedar.isAuthorized({ ...request, policies: { staticPolicies }, entities });
const check = full();
if (check.type !== 'success' || check.response.decision !== 'allow') throw new Error(JSON.stringify(check));
cedar.preparsePolicySet('agent', { staticPolicies });
const stateful = () => cedar.statefulIsAuthorized({ ...request, preparsedPolicySetId: 'agent', entities });

const wasm = [time('cedar-wasm isAuthorized (parses everything per call)', 3000, full),
              time('cedar-wasm statefulIsAuthorized (policies pre-parsed)', 20000, stateful)];

const run = spawnSync(benchBinary, ['--benchmark_filter=AgentScenario', '--benchmark_format=json',
                                    '--benchmark_repetitions=5', '--benchmark_report_aggregates_only=true']);
if (run.status !== 0) throw new Error(`writ_cedar_bench failed: ${run.stderr}`);
const results = JSON.parse(run.stdout.toString()).benchmarks.filter((b) => b.aggregate_name === 'median');
const medianUs = (name) => {
  const b = results.find((r) => r.run_name === name);
  const scale = { ns: 1e-3, us: 1, ms: 1e3 }[b.time_unit];
  return b.real_time * scale;
};
const writPre = medianUs('BM_AgentScenarioDecision');
const writJson = medianUs('BM_AgentScenarioFromJson');

console.log(`agent scenario, ${new Date().toISOString()}, cedar-wasm ${cedar.getCedarSDKVersion()}, node ${process.version}`);
for (const w of wasm) console.log(`  ${w.label}: ${w.us.toFixed(2)} us/decision`);
console.log(`  writ pre-parsed policies and entities (median): ${writPre.toFixed(3)} us/decision`);
console.log(`  writ pre-parsed policies, entities + request JSON parsed per call (median): ${writJson.toFixed(3)} us/decision`);
console.log(`  ratio, pre-parsed path (wasm stateful / writ pre-parsed): ${(wasm[1].us / writPre).toFixed(0)}x`);
console.log(`  ratio, same work per call (wasm stateful / writ with JSON parsing): ${(wasm[1].us / writJson).toFixed(0)}x`);
console.log(`  ratio, everything per call (wasm isAuthorized / writ with JSON parsing): ${(wasm[0].us / writJson).toFixed(0)}x`);
