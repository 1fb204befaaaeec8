// Differential test: random policies, entities and requests decided by writ's engine
// (cedar_difftool, one JSON case per line) and by the reference (@cedar-policy/cedar-wasm).
// Decision, reason set and error-policy set must agree; parse failures must agree too.
//   node diff.mjs <path/to/cedar_difftool> [cases=2000] [seed=1]
import { spawnSync } from 'node:child_process';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

const [tool, casesArg = '2000', seedArg = '1'] = process.argv.slice(2);
if (!tool) {
  console.error('usage: node diff.mjs <cedar_difftool> [cases] [seed]');
  process.exit(2);
}

let state = Number(seedArg) >>> 0;
function rand() {  // mulberry32
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const chance = (p) => rand() < p;
const int = (n) => Math.floor(rand() * n);

const atoms = [
  'true', 'false', 'principal.flag', 'context.flag', 'principal has age', 'resource has owner',
  'principal.name like "a*"', 'context.s like "*x*"', 'principal in Group::"g0"', 'resource in Folder::"f1"',
  'principal is User', 'resource.owner == principal', 'principal.tags.contains("t1")',
  '[1, 2, 3].containsAny([context.n])', 'principal.hasTag("k")', 'principal.getTag("k") == "v"',
  'context.ip.isInRange(ip("10.0.0.0/8"))', 'decimal("1.5").lessThan(decimal(context.d))',
  'principal.age + context.n > 30', 'principal.age * 1000000000000 > 5', 'context.n - 9223372036854775807 < 0',
  'principal.missing == 1', 'User::"nobody".age > 1', 'if principal.flag then context.n > 2 else false',
  'datetime("2024-01-01").offset(duration("1d")) > datetime(context.when)', 'context has nested.a',
  'principal.age', 'context.n == "5"', '-context.n < 0', 'context.tags.containsAll(["t1"])',
  'principal in [Group::"g1", Group::"g2"]', 'action in Action::"all"', 'resource is Doc in Folder::"f0"',
  'context.ip.isLoopback() || context.ip.isIpv6()', 'duration("1h2m") < duration(context.dur)',
  'ip(context.s).isIpv4()', 'context.nested.a == 1', '{a: principal.age}.a > 10', '"" like ""',
  'principal.name == resource.title', 'resource.owner.age >= principal.age',
];

function expr(depth) {
  if (depth <= 0 || chance(0.35)) return pick(atoms);
  switch (int(4)) {
    case 0: return `(${expr(depth - 1)}) && (${expr(depth - 1)})`;
    case 1: return `(${expr(depth - 1)}) || (${expr(depth - 1)})`;
    case 2: return `!(${expr(depth - 1)})`;
    default: return `if ${expr(depth - 1)} then ${expr(depth - 1)} else ${expr(depth - 1)}`;
  }
}

function policy() {
  const principal = pick(['principal', 'principal == User::"u0"', 'principal in Group::"g0"', 'principal is User',
                          'principal is User in Group::"g1"']);
  const action = pick(['action', 'action == Action::"read"', 'action in [Action::"read", Action::"write"]',
                       'action in Action::"all"']);
  const resource = pick(['resource', 'resource == Doc::"d0"', 'resource in Folder::"f0"', 'resource is Doc']);
  let text = `${chance(0.3) ? 'forbid' : 'permit'}(${principal}, ${action}, ${resource})`;
  const n = int(3);
  for (let i = 0; i < n; i++) text += ` ${chance(0.75) ? 'when' : 'unless'} { ${expr(2)} }`;
  return text + ';';
}

const uid = (type, id) => ({ type, id });
function entities() {
  const out = [];
  for (let i = 0; i < 4; i++) {
    const attrs = {};
    if (chance(0.8)) attrs.age = int(60);
    if (chance(0.8)) attrs.name = pick(['alice', 'bob', 'ann', '']);
    if (chance(0.8)) attrs.flag = chance(0.5);
    if (chance(0.8)) attrs.tags = ['t1', 't2', 't3'].filter(() => chance(0.5));
    const parents = ['g0', 'g1', 'g2'].filter(() => chance(0.4)).map((g) => uid('Group', g));
    const e = { uid: uid('User', `u${i}`), attrs, parents };
    if (chance(0.5)) e.tags = { k: pick(['v', 'w']) };
    out.push(e);
  }
  out.push({ uid: uid('Group', 'g0'), attrs: {}, parents: chance(0.5) ? [uid('Group', 'g1')] : [] });
  out.push({ uid: uid('Group', 'g1'), attrs: {}, parents: [] });
  for (let i = 0; i < 3; i++) {
    const attrs = {};
    if (chance(0.8)) attrs.owner = { __entity: uid('User', `u${int(5)}`) };
    if (chance(0.7)) attrs.title = pick(['alice', 'plan', '']);
    out.push({ uid: uid('Doc', `d${i}`), attrs, parents: ['f0', 'f1'].filter(() => chance(0.5)).map((f) => uid('Folder', f)) });
  }
  out.push({ uid: uid('Action', 'read'), attrs: {}, parents: [uid('Action', 'all')] });
  out.push({ uid: uid('Action', 'write'), attrs: {}, parents: [uid('Action', 'all')] });
  out.push({ uid: uid('Action', 'all'), attrs: {}, parents: [] });
  return out;
}

function context() {
  const c = {};
  if (chance(0.9)) c.n = pick([0, 1, 5, -3, 100, 9007199254740991, -9007199254740991]);
  if (chance(0.9)) c.s = pick(['xx', 'abc', '10.0.0.1', '']);
  if (chance(0.9)) c.flag = chance(0.5);
  if (chance(0.8)) c.ip = { __extn: { fn: 'ip', arg: pick(['10.1.2.3', '127.0.0.1', '::1', '192.168.0.1/24']) } };
  if (chance(0.8)) c.when = pick(['2024-01-01', '2024-01-03T00:00:00Z', '2023-12-31T23:59:59+0100', 'bad']);
  if (chance(0.8)) c.d = pick(['1.0', '2.25', '-0.5', '1.23456']);
  if (chance(0.8)) c.dur = pick(['1h', '62m', '-1d', '1x']);
  if (chance(0.7)) c.nested = chance(0.5) ? { a: 1 } : {};
  if (chance(0.7)) c.tags = ['t1', 't2'].filter(() => chance(0.5));
  return c;
}

// Context integers stay within 2^53 so that JavaScript (and cedar-wasm's JSON) keep them exact.
const toJson = (v) => JSON.stringify(v);

const count = Number(casesArg);
const cases = [];
for (let i = 0; i < count; i++) {
  const policies = Array.from({ length: 1 + int(4) }, policy).join('\n');
  cases.push({
    policies, entities: entities(),
    principal: uid(chance(0.9) ? 'User' : 'Group', chance(0.9) ? `u${int(5)}` : 'g0'),
    action: uid('Action', pick(['read', 'write', 'all', 'delete'])),
    resource: uid('Doc', `d${int(4)}`),
    context: context(),
  });
}

const input = cases.map(toJson).join('\n') + '\n';
const run = spawnSync(tool, [], { input, maxBuffer: 1 << 28 });
if (run.status !== 0) {
  console.error(`cedar_difftool failed: ${run.stderr}`);
  process.exit(1);
}
const ours = run.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));

let agree = 0;
const failures = [];
for (let i = 0; i < count; i++) {
  const c = cases[i];
  const ctxText = toJson(c.context);
  const ref = cedar.isAuthorized({
    principal: c.principal, action: c.action, resource: c.resource, context: c.context,
    policies: { staticPolicies: c.policies }, entities: c.entities,
  });
  const mine = ours[i];
  let same;
  let refText;
  if (ref.type !== 'success') {
    same = 'error' in mine;
    refText = `failure ${JSON.stringify(ref.errors.map((e) => e.message))}`;
  } else {
    const r = ref.response;
    const refReason = [...r.diagnostics.reason].sort();
    const refErrors = r.diagnostics.errors.map((e) => e.policyId).sort();
    refText = JSON.stringify({ decision: r.decision, reason: refReason, errors: refErrors });
    same = !('error' in mine) && mine.decision === r.decision &&
      JSON.stringify([...mine.reason].sort()) === JSON.stringify(refReason) &&
      JSON.stringify(mine.errors.map((e) => e.policy).sort()) === JSON.stringify(refErrors);
  }
  if (same) agree++;
  else if (failures.length < 10) failures.push({ i, policies: c.policies, context: ctxText, ref: refText, mine: JSON.stringify(mine) });
}
console.log(`[cedar differential] ${agree}/${count} cases agree with cedar-wasm ${cedar.getCedarSDKVersion()} (seed ${seedArg})`);
for (const f of failures) console.log(JSON.stringify(f, null, 1));
process.exit(agree === count ? 0 : 1);
