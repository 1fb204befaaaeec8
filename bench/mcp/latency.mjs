// Added latency of `writ mcp` per tools/call: the official SDK client calls `echo` on the reference
// server-everything directly and through the proxy, in one run, and prints medians and p99.
//   node bench/mcp/latency.mjs [--calls 2000]                       decisions from the stand-in
//   node bench/mcp/latency.mjs --writd [--durability strict|batched] [--calls 2000]
//                              [--agents 10 --concurrency 4 --rounds 300] [--writd-threads N]
//                              [--writd-log FILE]   (writd's JSON log lines, e.g. per-request duration_us;
//                                                    default: a file in the temp dir, removed at the end)
// Stand-in: tests/gateway/node/fake_writd.mjs in its own process (the proxy's own cost and one
// HTTP round trip). --writd: a fresh writd (WRITD_BINARY or build/release/src/main/writd) in a temp
// data dir with the given audit durability; each agent's proxy runs with its own token file.
// Two measurements:
//   1. sequential: one client, direct and proxied calls alternate; "added" is the per-pair difference.
//   2. concurrent (--writd only): `agents` proxies (one per agent) and as many direct sessions; each
//      round sends `concurrency` calls at once on every session (agents x concurrency in flight),
//      direct and proxied rounds alternating; "added" compares the two latency distributions.
// Also measured in the same run: fsync of a 100-byte append in writd's data dir (the price of one
// strict audit commit), and the load average.
import { execFile, fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const nodeDir = path.join(root, 'tests/gateway/node');
const { connect, proxied, bin, writBinary } = await import(path.join(nodeDir, 'peers.mjs'));

const args = process.argv.slice(2);
const option = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback; };
const calls = Number(option('--calls', 2000));
const agents = Number(option('--agents', 10));
const concurrency = Number(option('--concurrency', 4));
const rounds = Number(option('--rounds', 300));
const durability = option('--durability', 'strict');
const writdThreads = option('--writd-threads');  // writd's I/O threads (handlers run on them); default: its own
const useWritd = args.includes('--writd');

const q = (xs, f) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(f * s.length))]; };
const us = (x) => `${x.toFixed(0).padStart(6)} µs`;
const row = (name, xs) => console.log(`  ${name.padEnd(24)} median ${us(q(xs, 0.5))}   p99 ${us(q(xs, 0.99))}   (n=${xs.length})`);
const echo = { name: 'echo', arguments: { message: 'latency probe' } };
const time = async (client) => { const t = process.hrtime.bigint(); await client.callTool(echo); return Number(process.hrtime.bigint() - t) / 1000; };
const server = [bin('mcp-server-everything'), 'stdio'];

if (process.argv.includes('--serve-fake')) {
  const { FakeWritd } = await import(path.join(nodeDir, 'fake_writd.mjs'));
  const fake = new FakeWritd(option('--serve-fake'), { 'everything/echo': 'allow' }, { agent: 'bench-agent' });
  await fake.listen();
  process.send?.('ready');
} else {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'writ-bench-'));
  const socket = path.join(dir, useWritd ? 'data/writd.sock' : 'writd.sock');
  let standIn, writd;
  const tokenFiles = [];
  if (useWritd) {
    ({ writd } = await startWritd(dir, socket));
    for (let i = 0; i < Math.max(agents, 1); i++) tokenFiles.push(await issueToken(socket, `bench-${i}`, dir));
  } else {
    standIn = fork(fileURLToPath(import.meta.url), ['--serve-fake', socket]);
    await new Promise((resolve) => standIn.on('message', resolve));
  }
  const open = (i) => connect(proxied(server, { agent: useWritd ? `bench-${i}` : 'bench-agent', name: 'everything', socket }),
    { env: useWritd ? { WRIT_TOKEN_FILE: tokenFiles[i] } : { WRIT_TOKEN_FILE: '' } });

  console.log(`writ mcp added latency, ${new Date().toISOString()}, ${os.cpus().length} cpus, load average ` +
    `${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, decisions: ${useWritd ? `writd (${durability} audit)` : 'stand-in'}`);
  if (useWritd) {
    const fsyncs = measureFsync(path.join(dir, 'data'));
    console.log(`fsync of a 100-byte append in the data dir: median ${us(q(fsyncs, 0.5))}, p99 ${us(q(fsyncs, 0.99))}`);
  }

  // 1. Sequential, paired.
  const direct = await connect(server);
  const through = await open(0);
  for (let i = 0; i < 200; i++) { await time(direct.client); await time(through.client); }  // warm-up
  const d = [], p = [], added = [];
  const cpuBefore = { proxy: cpuOf(through.transport.pid), writd: writd ? cpuOf(writd.pid) : 0 };
  for (let i = 0; i < calls; i++) {
    const a = await time(direct.client);
    const b = await time(through.client);
    d.push(a); p.push(b); added.push(b - a);
  }
  console.log(`sequential: ${calls} interleaved pairs`);
  row('direct', d);
  row('through writ mcp', p);
  row('added (paired diff)', added);
  // CPU time (user + system, all threads) per proxied call: independent of how loaded the machine is.
  const perCall = (pid, before) => ((cpuOf(pid) - before) / calls).toFixed(0);
  console.log(`  CPU per proxied call: writ mcp ${perCall(through.transport.pid, cpuBefore.proxy)} µs` +
    (writd ? `, writd ${perCall(writd.pid, cpuBefore.writd)} µs (decision + outcome)` : ''));
  await through.client.close();
  await direct.client.close();

  // 2. Concurrent: agents x concurrency calls in flight.
  if (useWritd && agents > 0) {
    const directs = [], proxies = [];
    for (let i = 0; i < agents; i++) {
      directs.push(await connect(server));
      proxies.push(await open(i));
    }
    const round = async (sessions) => (await Promise.all(sessions.flatMap((s) =>
      Array.from({ length: concurrency }, () => time(s.client))))).flat();
    for (let i = 0; i < 20; i++) { await round(directs); await round(proxies); }  // warm-up
    const cd = [], cp = [];
    for (let i = 0; i < rounds; i++) {
      cd.push(...await round(directs));
      cp.push(...await round(proxies));
    }
    console.log(`concurrent: ${agents} agents x ${concurrency} calls in flight, ${rounds} rounds each way, load average ` +
      `${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    row('direct', cd);
    row('through writ mcp', cp);
    console.log(`  added                    median ${us(q(cp, 0.5) - q(cd, 0.5))}   p99 ${us(q(cp, 0.99) - q(cd, 0.99))}`);
    for (const s of [...directs, ...proxies]) await s.client.close();
  }
  standIn?.kill();
  if (writd) {
    writd.kill('SIGTERM');
    await new Promise((resolve) => writd.on('exit', resolve));
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

// A fresh writd with `bench-0..` agents allowed to call everything/echo.
async function startWritd(dir, socket) {
  const data = path.dirname(socket);
  fs.mkdirSync(data, { mode: 0o700 });
  const binary = process.env.WRITD_BINARY ?? path.join(root, 'build/release/src/main/writd');
  const config = path.join(dir, 'writd.yaml');
  fs.writeFileSync(config, writdThreads ? `threads: ${writdThreads}\n` : '{}\n');
  // writd's log lines go straight to a file, as with its `log_file`: not through a pipe into this
  // process, which would wake the measuring client once per request.
  const log = fs.openSync(option('--writd-log') ?? path.join(dir, 'writd.log'), 'a');
  const writd = spawn(binary, ['--config', config, '--data-dir', data, '--listen-tcp', ''],
    { stdio: ['ignore', 'ignore', log], env: { ...process.env, WRIT_AUDIT_DURABILITY: durability } });
  fs.closeSync(log);
  process.on('exit', () => writd.kill('SIGKILL'));  // also when the bench fails half-way
  for (let i = 0; i < 200; i++) {
    try { await writ(socket, 'status'); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
  const me = os.userInfo().username.replace(/[^A-Za-z0-9._-]/g, '-');
  await writ(socket, 'identity', 'create', me, '--kind', 'human', '--uid', String(process.getuid()));
  for (let i = 0; i < Math.max(agents, 1); i++) {
    await writ(socket, 'identity', 'create', `bench-${i}`, '--owner', me, '--tier', 'low', '--max-ttl', '1h');
  }
  const policies = path.join(dir, 'policies');
  fs.mkdirSync(policies);
  fs.writeFileSync(path.join(policies, 'bench.cedar'),
    '@id("bench-echo")\npermit (principal, action == Writ::Action::"mcp:call", resource == Writ::Tool::"everything/echo");\n');
  await writ(socket, 'policy', 'apply', policies, '--activate', '--reason', 'bench');
  return { writd };
}

async function issueToken(socket, agent, dir) {
  const file = path.join(dir, `${agent}.token`);
  fs.writeFileSync(file, await writ(socket, 'token', 'issue', '--agent', agent, '--ttl', '1h'), { mode: 0o600 });
  return file;
}

async function writ(socket, ...argv) {
  const { stdout } = await promisify(execFile)(writBinary, ['--socket', socket, ...argv]);
  return stdout;
}

// CPU time of process `pid` so far (utime + stime, every thread), in µs.
function cpuOf(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 1e6 / 100;  // fields 14 and 15 of proc(5); CLK_TCK = 100
}

function measureFsync(dir) {
  const file = path.join(dir, 'fsync-probe');
  const fd = fs.openSync(file, 'a');
  const out = [];
  const line = Buffer.alloc(100, 120);
  for (let i = 0; i < 300; i++) {
    fs.writeSync(fd, line);
    const t = process.hrtime.bigint();
    fs.fsyncSync(fd);
    out.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  fs.closeSync(fd);
  fs.rmSync(file);
  return out;
}
