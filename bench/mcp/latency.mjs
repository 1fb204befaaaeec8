// Added latency of `writ mcp` per tools/call: the official SDK client calls `echo` on the reference
// server-everything directly and through the proxy, interleaved in one run, and prints medians and
// p99 of both and of the difference.
//   node bench/mcp/latency.mjs [--calls 2000] [--socket /path/writd.sock --agent NAME]
// Without --socket, decisions come from the test stand-in for writd (tests/gateway/node/fake_writd.mjs)
// run in its own process, so only the proxy's own cost and one AuthZEN round trip are measured.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const nodeDir = path.join(root, 'tests/gateway/node');
const { connect, proxied, bin } = await import(path.join(nodeDir, 'peers.mjs'));

const args = process.argv.slice(2);
const option = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback; };
const calls = Number(option('--calls', 2000));
let socket = option('--socket');
const agent = option('--agent', 'bench-agent');

let stand_in;
if (process.argv.includes('--serve-fake')) {
  const { FakeWritd } = await import(path.join(nodeDir, 'fake_writd.mjs'));
  const fake = new FakeWritd(option('--serve-fake'), { 'everything/echo': 'allow' });
  await fake.listen();
  process.send?.('ready');
} else {
  if (!socket) {
    socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'writ-bench-')), 'writd.sock');
    stand_in = fork(fileURLToPath(import.meta.url), ['--serve-fake', socket]);
    await new Promise((resolve) => stand_in.on('message', resolve));
  }
  const server = [bin('mcp-server-everything'), 'stdio'];
  const direct = await connect(server);
  const through = await connect(proxied(server, { agent, name: 'everything', socket }));
  const call = { name: 'echo', arguments: { message: 'latency probe' } };
  const time = async (client) => { const t = process.hrtime.bigint(); await client.callTool(call); return Number(process.hrtime.bigint() - t) / 1000; };
  for (let i = 0; i < 200; i++) { await time(direct.client); await time(through.client); }  // warm-up
  const d = [], p = [], added = [];
  for (let i = 0; i < calls; i++) {
    const a = await time(direct.client);
    const b = await time(through.client);
    d.push(a); p.push(b); added.push(b - a);
  }
  const q = (xs, f) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(f * s.length))]; };
  const row = (name, xs) => console.log(`${name.padEnd(22)} median ${q(xs, 0.5).toFixed(0).padStart(6)} us   p99 ${q(xs, 0.99).toFixed(0).padStart(6)} us`);
  console.log(`${calls} interleaved tools/call echo, ${new Date().toISOString()}, ${os.cpus().length} cpus, decisions: ${option('--socket') ? 'writd' : 'stand-in'}`);
  row('direct', d);
  row('through writ mcp', p);
  row('added (paired diff)', added);
  await through.client.close();
  await direct.client.close();
  stand_in?.kill();
}
