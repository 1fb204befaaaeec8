// The official SDK client talks to the reference MCP servers directly and through `writ mcp`.
// Decisions come from FakeWritd (the shapes writd answers with), so the tests can look at what the
// proxy asked and reported; writd.test.mjs runs the same proxy against the real writd.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { FakeWritd } from './fake_writd.mjs';
import { bin, connect, proxied, tempDir, withoutWritMeta, writBinary } from './peers.mjs';

async function expectMcpError(promise, code) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof McpError, `expected an McpError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected JSON-RPC error ${code}`);
}

// Runs `writ mcp` with empty stdin (outside any `writ run`) and returns its exit status and stderr.
// Asynchronously: the FakeWritd it talks to lives in this process.
function runProxy(args) {
  return new Promise((resolve) => {
    const child = spawn(writBinary, args, { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, WRIT_TOKEN_FILE: '' } });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.stdin.end();
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

// The outcome the proxy reported for `correlationId` (reports leave the proxy after the answer).
async function outcomeOf(writd, correlationId) {
  for (let i = 0; i < 200; i++) {
    const found = writd.outcomes.find((o) => o.correlation_id === correlationId);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`no outcome reported for ${correlationId}`);
}

describe('filesystem server', () => {
  const dir = tempDir();
  const project = path.join(dir, 'project');
  const socket = path.join(dir, 'writd.sock');
  const writd = new FakeWritd(socket, {
    'fs/read_text_file': 'allow', 'fs/list_directory': 'allow', 'fs/list_allowed_directories': 'allow',
    'fs/write_file': 'approval', 'fs/edit_file': 'approval', 'fs/move_file': 'deny',
  });
  const server = [bin('mcp-server-filesystem'), project];
  let direct, through;

  before(async () => {
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'notes.txt'), 'hello from the project\nline two\n');
    await writd.listen();
    direct = await connect(server);
    through = await connect(proxied(server, { name: 'fs', socket, extra: ['--approval-timeout', '20s'] }));
  });
  after(async () => {
    await through?.client.close();
    await direct?.client.close();
    await writd.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('an allowed call returns exactly what the server returns directly', async () => {
    const args = { name: 'read_text_file', arguments: { path: path.join(project, 'notes.txt') } };
    const want = await direct.client.callTool(args);
    const got = await through.client.callTool(args);
    assert.deepEqual(withoutWritMeta(got), want);
    assert.match(got._meta['writ/correlation_id'], /^[0-9a-f-]{36}$/);
    const asked = writd.evaluations.at(-1);
    assert.deepEqual(asked.subject, { type: 'Writ::Agent', id: 'test-agent' });
    assert.deepEqual(asked.action, { name: 'Writ::Action::"mcp:call"' });
    assert.equal(asked.resource.type, 'Writ::Tool');
    assert.equal(asked.resource.id, 'fs/read_text_file');
    assert.deepEqual(asked.resource.properties.server, { __entity: { type: 'Writ::ToolServer', id: 'fs' } });
    assert.deepEqual(asked.context.args, args.arguments);
    assert.equal(asked.context.correlation_id, got._meta['writ/correlation_id']);
    const outcome = await outcomeOf(writd, got._meta['writ/correlation_id']);
    assert.deepEqual({ ...outcome, duration_us: 0 }, { correlation_id: got._meta['writ/correlation_id'],
      agent: 'test-agent', server: 'fs', tool: 'read_text_file', status: 'ok', is_error: false, duration_us: 0 });
    assert.ok(outcome.duration_us > 0);
    assert.equal(writd.unauthenticated, 0, 'every request carries the attested token');
  });

  test('tools/list shows only the tools the agent may call', async () => {
    const all = (await direct.client.listTools()).tools.map((t) => t.name);
    const shown = (await through.client.listTools()).tools.map((t) => t.name);
    assert.ok(all.includes('move_file') && all.includes('directory_tree'));
    assert.deepEqual(shown.sort(), ['edit_file', 'list_allowed_directories', 'list_directory', 'read_text_file',
      'write_file']);
    const directTools = (await direct.client.listTools()).tools.filter((t) => shown.includes(t.name));
    const proxiedTools = (await through.client.listTools()).tools;
    assert.deepEqual(proxiedTools, directTools);
  });

  test('a denied call gets -32001 with the reason and policy ids, and never reaches the server', async () => {
    const from = path.join(project, 'notes.txt');
    const error = await expectMcpError(
      through.client.callTool({ name: 'move_file', arguments: { source: from, destination: from + '.moved' } }), -32001);
    assert.match(error.message, /writ: tools\/call `fs\/move_file` for agent `test-agent` denied/);
    assert.deepEqual(error.data.policies, ['deny-rule']);
    assert.equal(error.data.reason, 'forbidden by deny-rule');
    assert.match(error.data.correlation_id, /^[0-9a-f-]{36}$/);
    assert.ok(fs.existsSync(from));
    assert.equal((await outcomeOf(writd, error.data.correlation_id)).status, 'denied');
  });

  test('an unknown tool is denied by default', async () => {
    await expectMcpError(through.client.callTool({ name: 'no_such_tool', arguments: {} }), -32001);
  });

  test('a write waits for approval and runs once it is granted', async () => {
    const target = path.join(project, 'approved.txt');
    const call = through.client.callTool({ name: 'write_file', arguments: { path: target, content: 'ok' } });
    let pending = [];
    for (let i = 0; i < 200 && pending.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      pending = writd.pending();
    }
    assert.equal(pending.length, 1);
    assert.ok(!fs.existsSync(target), 'the write must wait for the grant');
    writd.decide(pending[0].id, 'granted');
    const result = await call;
    assert.ok(!result.isError);
    assert.equal(fs.readFileSync(target, 'utf8'), 'ok');
    const outcome = await outcomeOf(writd, result._meta['writ/correlation_id']);
    assert.equal(outcome.status, 'ok');
    assert.equal(outcome.approval_id, pending[0].id);
  });

  test('a write whose approval is denied fails clearly', async () => {
    const target = path.join(project, 'refused.txt');
    const call = through.client.callTool({ name: 'write_file', arguments: { path: target, content: 'no' } });
    let pending = [];
    for (let i = 0; i < 200 && pending.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      pending = writd.pending();
    }
    writd.decide(pending[0].id, 'denied');
    const error = await expectMcpError(call, -32001);
    assert.match(error.message, /approval `[0-9a-f-]+` was denied/);
    assert.ok(!fs.existsSync(target));
  });
});

describe('approval timeout and an unreachable writd', () => {
  const dir = tempDir();
  const socket = path.join(dir, 'writd.sock');
  const writd = new FakeWritd(socket, { 'fs/write_file': 'approval' });
  before(() => writd.listen());
  after(async () => { await writd.close(); fs.rmSync(dir, { recursive: true, force: true }); });

  test('a call that gets no approval in time fails with -32001 and is not run', async () => {
    const target = path.join(dir, 'late.txt');
    const peer = await connect(proxied([bin('mcp-server-filesystem'), dir],
      { name: 'fs', socket, extra: ['--approval-timeout', '1s'] }));
    const error = await expectMcpError(
      peer.client.callTool({ name: 'write_file', arguments: { path: target, content: 'x' } }), -32001);
    assert.match(error.message, /no approval within 1s/);
    assert.ok(!fs.existsSync(target));
    await peer.client.close();
  });

  test('once writd is gone a call gets -32603 and is never forwarded', async () => {
    const target = path.join(dir, 'never.txt');
    const gone = new FakeWritd(path.join(dir, 'gone.sock'), { 'fs/write_file': 'allow' });
    await gone.listen();
    const peer = await connect(proxied([bin('mcp-server-filesystem'), dir], { name: 'fs', socket: gone.socketPath }));
    await gone.close();
    const error = await expectMcpError(
      peer.client.callTool({ name: 'write_file', arguments: { path: target, content: 'x' } }), -32603);
    assert.match(error.message, /no decision for tool `fs\/write_file`, so it was not called/);
    assert.ok(!fs.existsSync(target));
    await expectMcpError(peer.client.listTools(), -32603);
    await peer.client.close();
  });

  test('without writd the proxy refuses to start: no principal can be verified', async () => {
    const result = await runProxy(['--socket', path.join(dir, 'nobody.sock'), 'mcp', '--server', 'fs', '--',
      bin('mcp-server-filesystem'), dir]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /writ mcp: refusing to start: no principal: WRIT_TOKEN_FILE is not set/);
  });

  test('--as must match the attested agent', async () => {
    const result = await runProxy(['--socket', socket, 'mcp', '--as', 'someone-else', '--server', 'fs', '--',
      bin('mcp-server-filesystem'), dir]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /--as `someone-else` does not match the agent `test-agent` verified from attestation/);
  });
});

describe('everything server', () => {
  const dir = tempDir();
  const socket = path.join(dir, 'writd.sock');
  const writd = new FakeWritd(socket, {
    'everything/echo': 'allow', 'everything/get-sum': 'allow', 'everything/get-structured-content': 'allow',
    'everything/get-tiny-image': 'allow', 'everything/trigger-sampling-request': 'allow',
    'everything/get-roots-list': 'allow', 'everything/trigger-elicitation-request': 'allow',
  });
  const capabilities = { sampling: {}, roots: { listChanged: true }, elicitation: { form: {} } };
  const handlers = (client) => {
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      role: 'assistant', model: 'test-model', content: { type: 'text', text: 'sampled by the test client' } }));
    client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///tmp/root-a', name: 'a' }] }));
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'decline' }));
  };
  const server = [bin('mcp-server-everything'), 'stdio'];
  let direct, through;
  before(async () => {
    await writd.listen();
    direct = await connect(server, { capabilities, handlers });
    through = await connect(proxied(server, { name: 'everything', socket }), { capabilities, handlers });
  });
  after(async () => {
    await through?.client.close();
    await direct?.client.close();
    await writd.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, args] of [['echo', { message: 'hello ✓ "quoted"\n' }], ['get-sum', { a: 2, b: 40.5 }],
    ['get-structured-content', { location: 'New York' }], ['get-tiny-image', {}]]) {
    test(`${name} returns what the server returns directly`, async () => {
      const want = await direct.client.callTool({ name, arguments: args });
      const got = await through.client.callTool({ name, arguments: args });
      assert.deepEqual(withoutWritMeta(got), want);
    });
  }

  test('server-to-client requests are relayed: sampling, roots/list, elicitation', async () => {
    const sampled = await through.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi' } });
    assert.match(JSON.stringify(sampled.content), /sampled by the test client/);
    const roots = await through.client.callTool({ name: 'get-roots-list', arguments: {} });
    assert.match(JSON.stringify(roots.content), /root-a/);
    const elicited = await through.client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    assert.match(JSON.stringify(elicited.content), /decline/i);
  });

  test('other methods pass through untouched', async () => {
    assert.deepEqual(await through.client.listPrompts(), await direct.client.listPrompts());
    assert.deepEqual(await through.client.listResources(), await direct.client.listResources());
    assert.deepEqual(await through.client.ping(), {});
  });
});

describe('memory server', () => {
  const dir = tempDir();
  const socket = path.join(dir, 'writd.sock');
  const writd = new FakeWritd(socket, { 'memory/create_entities': 'allow', 'memory/read_graph': 'allow' });
  let direct, through;
  before(async () => {
    await writd.listen();
    direct = await connect([bin('mcp-server-memory')], { env: { MEMORY_FILE_PATH: path.join(dir, 'direct.jsonl') } });
    through = await connect(proxied([bin('mcp-server-memory')], { name: 'memory', socket }),
      { env: { MEMORY_FILE_PATH: path.join(dir, 'proxied.jsonl') } });
  });
  after(async () => {
    await through?.client.close();
    await direct?.client.close();
    await writd.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the same calls give the same results, and forbidden tools are hidden and refused', async () => {
    const entities = { entities: [{ name: 'writ', entityType: 'project', observations: ['guards agent tool calls'] }] };
    for (const [name, args] of [['create_entities', entities], ['read_graph', {}]]) {
      const want = await direct.client.callTool({ name, arguments: args });
      const got = await through.client.callTool({ name, arguments: args });
      assert.deepEqual(withoutWritMeta(got), want);
    }
    const shown = (await through.client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(shown, ['create_entities', 'read_graph']);
    await expectMcpError(through.client.callTool({ name: 'delete_entities', arguments: { entityNames: ['writ'] } }),
      -32001);
  });
});
