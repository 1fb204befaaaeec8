// Differential check of `writ cedar validate` against the reference validator (cedar-wasm):
// generates policies from a fixed seed over features the corpus never uses (templates, `unless`,
// extended `has`, tags, `if`, records, extensions), validates them with both, and lists every
// policy on which they disagree (valid vs invalid, and impossible-policy warnings).
//   cd tests/cedar/validator_wasm && npm ci && node diff.mjs ../../../build/release/src/main/writ [count] [seed]
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const writ = process.argv[2];
const count = Number(process.argv[3] ?? 600);
let seed = Number(process.argv[4] ?? 7);
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const pick = (xs) => xs[rand(xs.length)];

const schema = `
entity Group;
entity User in [Group] {
  name: String, age?: Long, manager?: User, address: { city: String, zip?: String }, roles: Set<String>,
} tags String;
entity Doc { owner: User, labels: Set<String>, created: datetime, meta?: { level: Long, note?: String } };
entity Color enum ["red", "green"];
action read appliesTo { principal: [User], resource: [Doc], context: { ip: ipaddr, mfa?: Bool } };
action write in [read] appliesTo { principal: [User], resource: [Doc] };
action paint appliesTo { principal: [User, Group], resource: [Color] };
`;

const atoms = [
  'principal has age', 'principal.age > 1', 'principal.manager.age > 1', 'principal has manager.age',
  'principal has manager', 'principal.manager.name == "a"', 'context.mfa', 'context has mfa',
  'principal.getTag("k") == "v"', 'principal.hasTag("k")', 'resource.owner == principal', 'principal == resource',
  '[] == [1]', '1 == "a"', '"a" == "a"', 'principal in resource', 'ip("1.2.3.4").isIpv4()', 'ip(principal.name).isIpv4()',
  'decimal("1.2345").lessThan(decimal("2"))', 'resource.created < datetime("2020-01-01")',
  'principal.address has zip', 'principal.address.zip == "x"', 'principal.address.city == "x"',
  '{a: 1} == {a: 1}', '{a: 1} == {b: 1}', 'principal.name like "a*"', 'principal is User', 'resource is Color',
  'Color::"red" == resource', 'Color::"blue" == resource', 'true', 'false', '(if principal has age then principal.age else 0) > 1',
  'resource has meta.note', 'resource.meta.level > 2', 'resource has meta && resource.meta has note',
  'resource.meta.note == "n"', 'principal.roles.contains("admin")', 'principal.roles.containsAny(["a", 1])',
  'resource.labels.containsAll(principal.roles)', 'principal in Group::"g"', 'resource in Group::"g"',
  'action == Action::"read"', 'action in [Action::"read", Action::"paint"]', 'action in Action::"read"',
  'resource.getTag("k") == "v"', 'resource.hasTag("k")', 'context.ip.isInRange(ip("10.0.0.0/8"))',
  'principal.age + 1 > 2', 'principal.name.isEmpty()', 'principal.roles.isEmpty()', 'principal == User::"u"',
  'principal == Group::"g"', 'principal has name', 'resource.owner has age && resource.owner.age > 1',
  'if context has mfa then context.mfa else false', 'principal.manager == principal', 'principal.manager in principal',
];

function expr(depth) {
  if (depth === 0 || rand(3) === 0) return pick(atoms);
  switch (rand(5)) {
    case 0: return `(${expr(depth - 1)} && ${expr(depth - 1)})`;
    case 1: return `(${expr(depth - 1)} || ${expr(depth - 1)})`;
    case 2: return `!(${expr(depth - 1)})`;
    case 3: return `(if ${expr(depth - 1)} then ${expr(depth - 1)} else ${expr(depth - 1)})`;
    default: return `(${expr(depth - 1)} && ${expr(depth - 1)})`;
  }
}

const principals = ['principal', 'principal is User', 'principal in Group::"g"', 'principal == ?principal',
                    'principal in ?principal', 'principal is Group', 'principal == User::"u"'];
const actions = ['action', 'action == Action::"read"', 'action in [Action::"read", Action::"paint"]',
                 'action in Action::"read"', 'action == Action::"paint"'];
const resources = ['resource', 'resource is Doc', 'resource == Color::"red"', 'resource in ?resource',
                   'resource is Color', 'resource == Color::"blue"'];

const staticPolicies = {}; const templates = {}; let text = '';
for (let i = 0; i < count; i++) {
  const id = `p${i}`;
  const body = `${pick(['permit', 'forbid'])}(${pick(principals)}, ${pick(actions)}, ${pick(resources)}) ` +
               `${pick(['when', 'unless'])} { ${expr(2)} }${rand(3) === 0 ? ` when { ${expr(1)} }` : ''};`;
  (body.includes('?') ? templates : staticPolicies)[id] = body;
  text += `@id("${id}")\n${body}\n`;
}

const ref = cedar.validate({ schema, policies: { staticPolicies, templates }, validationSettings: { mode: 'strict' } });
if (ref.type !== 'success') { console.error(JSON.stringify(ref.errors)); process.exit(1); }
const refBad = new Set(ref.validationErrors.map((e) => e.policyId));
const refWarn = new Set(ref.validationWarnings.map((e) => e.policyId));
const refMsg = {};
for (const e of ref.validationErrors) (refMsg[e.policyId] ??= []).push(e.error.message);

const dir = mkdtempSync(join(tmpdir(), 'writ-diff-'));
writeFileSync(join(dir, 'p.cedar'), text);
writeFileSync(join(dir, 's.cedarschema'), schema);
let ours;
try {
  ours = execFileSync(writ, ['cedar', 'validate', '--policies', join(dir, 'p.cedar'), '--schema', join(dir, 's.cedarschema'), '-o', 'json']);
} catch (e) { ours = e.stdout; }
const got = JSON.parse(ours.toString());
const ourBad = new Set(got.errors.map((e) => e.policy));
const ourWarn = new Set(got.warnings.map((e) => e.policy));
const ourMsg = {};
for (const e of got.errors) (ourMsg[e.policy] ??= []).push(e.message);

let agree = 0; const diffs = [];
for (let i = 0; i < count; i++) {
  const id = `p${i}`;
  const same = refBad.has(id) === ourBad.has(id) && (refBad.has(id) || refWarn.has(id) === ourWarn.has(id));
  if (same) agree++;
  else diffs.push(`${id}: reference ${refBad.has(id) ? 'rejects' : refWarn.has(id) ? 'warns' : 'accepts'}, writ ${ourBad.has(id) ? 'rejects' : ourWarn.has(id) ? 'warns' : 'accepts'}\n  ${staticPolicies[id] ?? templates[id]}\n  reference: ${JSON.stringify(refMsg[id] ?? [])}\n  writ: ${JSON.stringify(ourMsg[id] ?? [])}`);
}
console.log(`[cedar validator vs cedar-wasm] ${agree}/${count} policies agree (${refBad.size} rejected by the reference)`);
for (const d of diffs.slice(0, 30)) console.log(d);
process.exit(diffs.length === 0 ? 0 : 1);
