// Added latency of `writ mcp --listen` (Streamable HTTP) per tools/call: the official SDK client
// (StreamableHTTPClientTransport) calls `echo` on server-everything in streamableHttp mode directly
// and through the proxy, interleaved in one run; prints medians and p99 of both and of the difference.
//   node bench/mcp/http_latency.mjs --socket <writd.sock> --token <agent token> [--calls 1000]
//   node bench/mcp/http_latency.mjs --writd [--durability strict|batched] [--calls 1000]
// The first form needs a running writd whose policies let the token's agent call everything/echo;
// --writd starts a fresh one in a temp dir (WRITD_BINARY or build/release/src/main/writd) with agent
// `bench-http` allowed to. server-everything and the proxy are started here, on free loopback ports.
// Also printed: the CPU time (user + system) `writ mcp` and writd spent per proxied call.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = path.resolve(here, '../../tests/gateway/node');
const { bin, writBinary } = await import(path.join(nodeDir, 'peers.mjs'));
const { Client } = await import(path.join(nodeDir, 'node_modules/@modelcontextprotocol/sdk/dist/esm/client/index.js'));
const { StreamableHTTPClientTransport } = await import(
  path.join(nodeDir, 'node_modules/@modelcontextprotocol/sdk/dist/esm/client/streamableHttp.js'));

const args = process.argv.slice(2);
const option = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback; };
const calls = Number(option('--calls', 1000));
const ownWritd = args.includes('--writd');
const durability = option('--durability', 'strict');
let socket = option('--socket');
let token = option('--token');
let writd, dir;
const writ = async (...argv) => (await promisify(execFile)(writBinary, ['--socket', socket, ...argv])).stdout;
if (ownWritd) {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'writ-http-bench-'));
  const data = path.join(dir, 'data');
  fs.mkdirSync(data, { mode: 0o700 });
  socket = path.join(data, 'writd.sock');
  fs.writeFileSync(path.join(dir, 'writd.yaml'), '{}\n');
  writd = spawn(process.env.WRITD_BINARY ?? path.resolve(here, '../../build/release/src/main/writd'),
    ['--config', path.join(dir, 'writd.yaml'), '--data-dir', data, '--listen-tcp', ''],
    { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, WRIT_AUDIT_DURABILITY: durability } });
  process.on('exit', () => writd.kill('SIGKILL'));
  for (let i = 0; i < 200; i++) {
    try { await writ('status'); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
  const me = os.userInfo().username.replace(/[^A-Za-z0-9._-]/g, '-');
  await writ('identity', 'create', me, '--kind', 'human', '--uid', String(process.getuid()));
  await writ('identity', 'create', 'bench-http', '--owner', me, '--tier', 'low', '--max-ttl', '1h');
  fs.mkdirSync(path.join(dir, 'policies'));
  fs.writeFileSync(path.join(dir, 'policies', 'bench.cedar'),
    '@id("bench-echo")\npermit (principal, action == Writ::Action::"mcp:call", resource == Writ::Tool::"everything/echo");\n');
  await writ('policy', 'apply', path.join(dir, 'policies'), '--activate', '--reason', 'bench');
  token = (await writ('token', 'issue', '--agent', 'bench-http', '--ttl', '1h')).trim();
}
if (!socket || !token) throw new Error('--socket and --token (or --writd) are required');
// CPU time of process `pid` so far (utime + stime, every thread), in µs.
const cpuOf = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 1e6 / 100;
};

const freePort = () => new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});
const started = (argv, pattern, env = {}) => new Promise((resolve, reject) => {
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  const look = (chunk) => { seen += chunk; const m = seen.match(pattern); if (m) resolve({ child, m }); };
  child.stdout.on('data', look);
  child.stderr.on('data', look);
  child.on('exit', (code) => reject(new Error(`${argv[0]} exited ${code}: ${seen}`)));
});
const connect = async (url, headers = {}) => {
  const client = new Client({ name: 'writ-bench', version: '1.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
};

const port = await freePort();
const everything = await started([bin('mcp-server-everything'), 'streamableHttp'], /listening on port/, { PORT: String(port) });
const upstream = `http://127.0.0.1:${port}/mcp`;
const proxy = await started([writBinary, '--socket', socket, 'mcp', '--listen', '127.0.0.1:0', '--upstream', upstream,
  '--server', 'everything'], /listening on (http:\/\/\S+)/);
try {
  const direct = await connect(upstream);
  const through = await connect(proxy.m[1], { Authorization: `Bearer ${token}` });
  const call = { name: 'echo', arguments: { message: 'latency probe' } };
  const time = async (client) => { const t = process.hrtime.bigint(); await client.callTool(call); return Number(process.hrtime.bigint() - t) / 1000; };
  for (let i = 0; i < 200; i++) { await time(direct); await time(through); }  // warm-up
  const d = [], p = [], added = [];
  const cpuBefore = { proxy: cpuOf(proxy.child.pid), writd: writd ? cpuOf(writd.pid) : 0 };
  for (let i = 0; i < calls; i++) {
    const a = await time(direct);
    const b = await time(through);
    d.push(a); p.push(b); added.push(b - a);
  }
  const q = (xs, f) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(f * s.length))]; };
  const row = (name, xs) => console.log(`${name.padEnd(22)} median ${q(xs, 0.5).toFixed(0).padStart(6)} us   p99 ${q(xs, 0.99).toFixed(0).padStart(6)} us`);
  console.log(`${calls} interleaved tools/call echo over Streamable HTTP, ${new Date().toISOString()}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  row('direct', d);
  row('through writ mcp', p);
  row('added (paired diff)', added);
  console.log(`CPU per proxied call: writ mcp ${((cpuOf(proxy.child.pid) - cpuBefore.proxy) / calls).toFixed(0)} us` +
    (writd ? `, writd ${((cpuOf(writd.pid) - cpuBefore.writd) / calls).toFixed(0)} us (${durability} audit)` : ''));
  await through.close();
  await direct.close();
} finally {
  proxy.child.kill('SIGTERM');
  everything.child.kill('SIGTERM');
  if (writd) {
    writd.kill('SIGTERM');
    await new Promise((resolve) => writd.on('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
