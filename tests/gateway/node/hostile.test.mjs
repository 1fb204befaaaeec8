// Broken and hostile traffic on both sides of `writ mcp`, with raw pipes instead of the SDK.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeWritd } from './fake_writd.mjs';
import { bin, proxied, tempDir } from './peers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const scripted = path.join(here, 'scripted_server.mjs');

// A raw JSON-RPC peer on the proxy's stdin/stdout.
class RawPeer {
  constructor(argv) {
    this.child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = [];
    this.waiters = [];
    this.stderr = '';
    let buffer = '';
    this.child.stdout.on('data', (chunk) => {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(buffer.slice(0, newline)));
        buffer = buffer.slice(newline + 1);
        this.waiters.splice(0).forEach((wake) => wake());
      }
    });
    this.child.stderr.on('data', (chunk) => { this.stderr += chunk; });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }
  send(text) { this.child.stdin.write(text); }
  async next(timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (Date.now() > deadline) throw new Error(`no message from the proxy; stderr: ${this.stderr}`);
      await new Promise((resolve) => { this.waiters.push(resolve); setTimeout(resolve, 50); });
    }
    return this.lines.shift();
  }
  // The answer to request `id`, skipping the server's notifications and requests.
  async answer(id) {
    for (;;) {
      const message = await this.next();
      if (message.id === id && message.method === undefined) return message;
    }
  }
}

const initialize = (id = 0) => JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: {
  protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }) + '\n';

function childrenOf(pid) {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
  } catch { return []; }
}
function alive(pid) { try { process.kill(Number(pid), 0); return true; } catch { return false; } }

describe('hostile and broken traffic', () => {
  const dir = tempDir();
  const socket = path.join(dir, 'writd.sock');
  const writd = new FakeWritd(socket, { 'everything/echo': 'allow', 'scripted/crash': 'allow', 'scripted/hang': 'allow',
    'scripted/garbage': 'allow', 'scripted/huge': 'allow' });
  const everything = (extra = []) => proxied([bin('mcp-server-everything'), 'stdio'], { name: 'everything', socket, extra });
  const script = (extra = []) => proxied(['node', scripted], { name: 'scripted', socket, extra });
  before(() => writd.listen());
  after(async () => { await writd.close(); fs.rmSync(dir, { recursive: true, force: true }); });

  test('invalid JSON, a batch and a call without a name get JSON-RPC errors; the session goes on', async () => {
    const peer = new RawPeer(everything());
    peer.send('{"jsonrpc":"2.0","id":1,"method":\n');
    assert.equal((await peer.next()).error.code, -32700);
    peer.send('[{"jsonrpc":"2.0","id":2,"method":"ping"}]\n');
    assert.equal((await peer.next()).error.code, -32600);
    peer.send('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{}}\n');
    const noName = await peer.next();
    assert.equal(noName.id, 3);
    assert.equal(noName.error.code, -32602);
    peer.send(initialize(4));
    assert.equal((await peer.next()).result.serverInfo.name.length > 0, true);
    peer.child.stdin.end();
    assert.equal((await peer.exited).code, 0);
  });

  test('a message split into many writes is reassembled', async () => {
    const peer = new RawPeer(everything());
    const text = initialize(1) + JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n' +
      JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'piecewise' } } }) + '\n';
    for (let i = 0; i < text.length; i += 7) {
      peer.send(text.slice(i, i + 7));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal((await peer.answer(1)).id, 1);
    const echoed = await peer.answer(2);
    assert.equal(echoed.id, 2);
    assert.match(echoed.result.content[0].text, /piecewise/);
    assert.ok(echoed.result._meta['writ/correlation_id']);
    peer.child.stdin.end();
    await peer.exited;
  });

  test('a message over the limit is refused with its id, and the next one still works', async () => {
    const peer = new RawPeer(everything(['--max-message-bytes', '65536']));
    peer.send(initialize(1));
    await peer.next();
    const big = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'x'.repeat(200000) } } }) + '\n';
    peer.send(big);
    const refused = await peer.next();
    assert.equal(refused.id, 7);
    assert.equal(refused.error.code, -32600);
    assert.match(refused.error.message, /exceeds the limit of 65536 bytes/);
    peer.send(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'ping' }) + '\n');
    assert.deepEqual((await peer.next()), { jsonrpc: '2.0', id: 8, result: {} });
    peer.child.stdin.end();
    await peer.exited;
  });

  test('a server answer over the limit becomes an error for that call', async () => {
    const peer = new RawPeer(script(['--max-message-bytes', '65536']));
    peer.send(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'huge', arguments: {} } }) + '\n');
    const answer = await peer.next();
    assert.equal(answer.id, 5);
    assert.equal(answer.error.code, -32603);
    assert.match(answer.error.message, /exceeds the limit of 65536 bytes/);
    peer.child.stdin.end();
    await peer.exited;
  });

  test('garbage from the server is dropped and the call still gets its answer', async () => {
    const peer = new RawPeer(script());
    peer.send(JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'garbage', arguments: {} } }) + '\n');
    const answer = await peer.next();
    assert.equal(answer.id, 6);
    assert.equal(answer.result.content[0].text, 'after garbage');
    assert.match(peer.stderr, /not a JSON-RPC message: dropped/);
    peer.child.stdin.end();
    await peer.exited;
  });

  test('a server crash fails the pending call and the proxy exits with the server', async () => {
    const peer = new RawPeer(script());
    peer.send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'crash', arguments: {} } }) + '\n');
    const answer = await peer.next();
    assert.equal(answer.id, 9);
    assert.equal(answer.error.code, -32603);
    assert.match(answer.error.message, /mcp server `scripted` exited before answering/);
    assert.equal((await peer.exited).code, 3);
  });

  test('a hung server is stopped when the client disconnects, and no process is left behind', async () => {
    const peer = new RawPeer(script(['--approval-timeout', '1s']));
    peer.send(JSON.stringify({ jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'hang', arguments: {} } }) + '\n');
    await new Promise((r) => setTimeout(r, 300));
    const children = childrenOf(peer.child.pid);
    assert.equal(children.length, 1);
    peer.child.stdin.end();
    const exit = await peer.exited;
    assert.notEqual(exit.code, null);
    assert.ok(!alive(children[0]), 'the server must be gone');
  });

  test('killing the proxy with SIGKILL still takes the server down', async () => {
    const peer = new RawPeer(script());
    await new Promise((r) => setTimeout(r, 300));
    const [server] = childrenOf(peer.child.pid);
    assert.ok(server);
    peer.child.kill('SIGKILL');
    await peer.exited;
    for (let i = 0; i < 100 && alive(server); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!alive(server), 'the server must not outlive the proxy');
  });

  test('a command that does not exist fails with a clear message', async () => {
    const peer = new RawPeer(proxied(['/nonexistent/mcp-server'], { name: 'x', socket }));
    const exit = await peer.exited;
    assert.equal(exit.code, 1);
    assert.match(peer.stderr, /cannot start mcp server `\/nonexistent\/mcp-server`/);
  });
});
