// End to end with the real writd: the examples/mcp policy set (reads allowed, writes need approval,
// nothing outside the project), an SDK client through `writ mcp` to the reference filesystem
// server, an approval granted from the CLI releasing a waiting call, every call in the ledger under
// its correlation id, and where the proxy's principal comes from (token file, attestation, --as).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { bin, connect, proxied, tempDir, withoutWritMeta, writBinary } from './peers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const writdBinary = process.env.WRITD_BINARY;
const run = promisify(execFile);

describe('writ mcp with the real writd', { skip: !writdBinary && 'WRITD_BINARY is not set' }, () => {
  const dir = tempDir('writ-mcp-e2e-');
  const data = path.join(dir, 'data');
  const project = path.join(dir, 'project');
  const socket = path.join(data, 'writd.sock');
  let writd, direct, through, tokenFile;

  const writ = async (...args) => {
    try {
      const { stdout } = await run(writBinary, ['--socket', socket, ...args]);
      return stdout;
    } catch (error) {
      throw new Error(`writ ${args.join(' ')}: ${error.stdout}${error.stderr}`);
    }
  };

  const issueTokenFile = async (agent, file = path.join(dir, `${agent}.token`)) => {
    fs.writeFileSync(file + '.new', await writ('token', 'issue', '--agent', agent), { mode: 0o600 });
    fs.renameSync(file + '.new', file);  // as `writ run` renews it
    return file;
  };
  const jtiOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).jti;
  // The ledger's events of one correlation id, once `kinds` are all there (outcomes are reported
  // right after the answer, asynchronously).
  const eventsOf = async (correlationId, kinds) => {
    let events = [];
    for (let i = 0; i < 100; i++) {
      events = JSON.parse(await writ('-o', 'json', 'audit', 'query', '--correlation-id', correlationId)).items ?? [];
      if (kinds.every((kind) => events.some((e) => e.kind === kind))) return events;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`events of ${correlationId}: ${JSON.stringify(events)}`);
  };
  const startProxy = (args, env) => new Promise((resolve) => {
    const child = spawn(writBinary, ['--socket', socket, 'mcp', ...args, '--', bin('mcp-server-filesystem'), project],
      { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.stdin.end();
    child.on('close', (status) => resolve({ status, stderr }));
  });

  before(async () => {
    fs.mkdirSync(path.join(project, 'docs'), { recursive: true });
    fs.writeFileSync(path.join(project, 'README.md'), 'the project\n');
    fs.mkdirSync(data, { mode: 0o700 });
    writd = spawn(writdBinary, ['--data-dir', data, '--listen-tcp', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    writd.stderr.resume();
    for (let i = 0; i < 200; i++) {
      try { await writ('status'); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
    }
    const me = os.userInfo().username.replace(/[^A-Za-z0-9._-]/g, '-');
    await writ('identity', 'create', me, '--kind', 'human', '--uid', String(process.getuid()));
    await writ('identity', 'create', 'docs-bot', '--owner', me, '--tier', 'medium');
    const policies = path.join(dir, 'policies');
    fs.mkdirSync(policies);
    const template = fs.readFileSync(path.join(root, 'examples/mcp/policies/fs.cedar.in'), 'utf8');
    fs.writeFileSync(path.join(policies, 'fs.cedar'), template.replaceAll('@PROJECT@', project));
    await writ('policy', 'apply', policies, '--activate', '--reason', 'mcp e2e');
    // As under `writ run`: the agent's token in WRIT_TOKEN_FILE (issued here by the administrator).
    tokenFile = await issueTokenFile('docs-bot');
    const server = [bin('mcp-server-filesystem'), project];
    direct = await connect(server);
    through = await connect(proxied(server, { agent: 'docs-bot', name: 'fs', socket, extra: ['--approval-timeout', '60s'] }),
      { env: { WRIT_TOKEN_FILE: tokenFile } });
  });

  after(async () => {
    await through?.client.close();
    await direct?.client.close();
    writd?.kill('SIGTERM');
    if (writd && writd.exitCode === null) await new Promise((resolve) => writd.on('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('tools/list shows the reads and the writes, not the rest', async () => {
    const shown = (await through.client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(shown, ['create_directory', 'directory_tree', 'edit_file', 'get_file_info',
      'list_allowed_directories', 'list_directory', 'read_text_file', 'search_files', 'write_file']);
  });

  test('a read in the project returns what the server returns; decision and outcome share its correlation id', async () => {
    const args = { name: 'read_text_file', arguments: { path: path.join(project, 'README.md') } };
    const got = await through.client.callTool(args);
    assert.deepEqual(withoutWritMeta(got), await direct.client.callTool(args));
    const events = await eventsOf(got._meta['writ/correlation_id'], ['decision', 'tool_call_outcome']);
    const decision = events.find((e) => e.kind === 'decision');
    const outcome = events.find((e) => e.kind === 'tool_call_outcome');
    assert.equal(decision.decision, 'allow');
    assert.equal(decision.subject, 'Writ::Agent::"docs-bot"');
    assert.equal(outcome.subject, 'Writ::Agent::"docs-bot"');
    assert.equal(outcome.resource, 'Writ::Tool::"fs/read_text_file"');
    assert.equal(outcome.details.status, 'ok');
    assert.equal(outcome.details.is_error, false);
    assert.ok(outcome.details.duration_us > 0);
  });

  test('a read outside the project is forbidden by stay-in-project', async () => {
    for (const target of ['/etc/hostname', path.join(project, '../data/writd.db')]) {
      let correlationId;
      await assert.rejects(through.client.callTool({ name: 'read_text_file', arguments: { path: target } }),
        (error) => {
          correlationId = error.data?.correlation_id;
          return error instanceof McpError && error.code === -32001 && error.data.policies.includes('stay-in-project');
        });
      const events = await eventsOf(correlationId, ['decision', 'tool_call_outcome']);
      assert.equal(events.find((e) => e.kind === 'decision').decision, 'deny');
      assert.equal(events.find((e) => e.kind === 'tool_call_outcome').details.status, 'denied');
    }
  });

  test('a tool no policy permits is denied', async () => {
    await assert.rejects(through.client.callTool({ name: 'move_file',
      arguments: { source: path.join(project, 'README.md'), destination: path.join(project, 'x.md') } }),
    (error) => error instanceof McpError && error.code === -32001);
    assert.ok(fs.existsSync(path.join(project, 'README.md')));
  });

  test('a write waits until `writ approvals grant` releases it, once', async () => {
    const target = path.join(project, 'docs', 'approved.md');
    // tools/list decisions leave pending requests of their own (context {tools_list:true}): take the new one.
    const pendingIds = async () => (JSON.parse(await writ('-o', 'json', 'approvals', 'list', '--state', 'pending')).approvals ?? [])
      .filter((a) => String(a.resource).includes('fs/write_file')).map((a) => a.id);
    const before = new Set(await pendingIds());
    const call = through.client.callTool({ name: 'write_file', arguments: { path: target, content: 'approved\n' } });
    let id;
    for (let i = 0; i < 200 && !id; i++) {
      await new Promise((r) => setTimeout(r, 50));
      id = (await pendingIds()).find((candidate) => !before.has(candidate));
    }
    assert.ok(id, 'a pending approval request');
    assert.ok(!fs.existsSync(target));
    await writ('approvals', 'grant', id, '--reason', 'e2e');
    const result = await call;
    assert.ok(!result.isError, JSON.stringify(result));
    assert.equal(fs.readFileSync(target, 'utf8'), 'approved\n');
    assert.match(result._meta['writ/correlation_id'], /^[0-9a-f-]{36}$/);
    const events = await eventsOf(result._meta['writ/correlation_id'], ['decision', 'tool_call_outcome']);
    // Cedar's answer both times (the second is let through by the grant, recorded under the approval id).
    assert.deepEqual(events.filter((e) => e.kind === 'decision').map((e) => e.decision),
      ['approval_required', 'approval_required']);
    const outcome = events.find((e) => e.kind === 'tool_call_outcome');
    assert.equal(outcome.details.status, 'ok');
    assert.equal(outcome.details.approval_id, id);
  });

  test('the token file is re-read when `writ run` replaces it; a revoked token fails closed', async () => {
    const args = { name: 'read_text_file', arguments: { path: path.join(project, 'README.md') } };
    const old = fs.readFileSync(tokenFile, 'utf8').trim();
    await writ('token', 'revoke', '--jti', jtiOf(old));
    await assert.rejects(through.client.callTool(args), (error) => error instanceof McpError && error.code === -32603 &&
      /no decision for tool `fs\/read_text_file`, so it was not called/.test(error.message));
    await issueTokenFile('docs-bot', tokenFile);
    assert.ok(!(await through.client.callTool(args)).isError);
  });

  test('--as must be the agent of the token file', async () => {
    const { status, stderr } = await startProxy(['--as', 'other-bot', '--server', 'fs'], { WRIT_TOKEN_FILE: tokenFile });
    assert.equal(status, 1);
    assert.match(stderr, /writ mcp: refusing to start: --as `other-bot` does not match the agent `docs-bot` verified from the token in WRIT_TOKEN_FILE/);
  });

  test('a missing or revoked token file: the proxy refuses to start', async () => {
    let result = await startProxy(['--server', 'fs'], { WRIT_TOKEN_FILE: path.join(dir, 'absent.token') });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /refusing to start: cannot read the token file `.*absent.token`/);
    const revoked = await issueTokenFile('docs-bot', path.join(dir, 'revoked.token'));
    await writ('token', 'revoke', '--jti', jtiOf(fs.readFileSync(revoked, 'utf8').trim()));
    result = await startProxy(['--server', 'fs'], { WRIT_TOKEN_FILE: revoked });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /refusing to start: the token in WRIT_TOKEN_FILE `.*revoked.token` is not valid/);
  });

  test('POST /v1/mcp/outcomes refuses bad, oversized and foreign reports, and records nothing of them', async () => {
    const post = (body, token) => new Promise((resolve, reject) => {
      const text = JSON.stringify(body);
      const req = http.request({ socketPath: socket, path: '/v1/mcp/outcomes', method: 'POST', headers: {
        'content-type': 'application/json', 'content-length': Buffer.byteLength(text),
        ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
        let data = '';
        res.on('data', (chunk) => { data += chunk; });
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(data) }));
      });
      req.on('error', reject);
      req.end(text);
    });
    const token = fs.readFileSync(tokenFile, 'utf8').trim();
    const item = { correlation_id: 'c-hostile', agent: 'docs-bot', server: 'fs', tool: 'read_text_file', status: 'ok' };
    const cases = [
      [{ outcomes: [{ ...item, status: 'maybe' }] }, 400],
      [{ outcomes: [{ ...item, extra: 1 }] }, 400],
      [{ outcomes: [{ ...item, correlation_id: 'x'.repeat(129) }] }, 400],
      [{ outcomes: [{ ...item, duration_us: -1 }] }, 400],
      [{ outcomes: [{ ...item, server: 'a/b' }] }, 400],
      [{ outcomes: [] }, 400],
      [{ outcomes: Array(257).fill(item) }, 400],
      [{ outcomes: [item, { ...item, agent: 'other-bot' }] }, 403],  // the token is docs-bot's
    ];
    for (const [body, status] of cases) {
      const answer = await post(body, token);
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assert.ok(answer.body.error.message.length > 0);
    }
    assert.equal((await post({ outcomes: [item] }, 'not.a.token')).status, 401);
    assert.equal(JSON.parse(await writ('-o', 'json', 'audit', 'query', '--correlation-id', 'c-hostile')).items?.length ?? 0, 0);
    assert.deepEqual((await post({ outcomes: [item] }, token)), { status: 202, body: { accepted: 1 } });
    await eventsOf('c-hostile', ['tool_call_outcome']);
  });

  test('without a token file the principal is the agent writd attests the proxy as', async () => {
    await writ('identity', 'create', 'attested-bot', '--owner', os.userInfo().username.replace(/[^A-Za-z0-9._-]/g, '-'),
      '--selector-uid', String(process.getuid()), '--selector-exe', fs.realpathSync(writBinary));
    const attested = await connect(proxied([bin('mcp-server-filesystem'), project],
      { agent: 'attested-bot', name: 'fs', socket }), { env: { WRIT_TOKEN_FILE: '' } });
    // The examples' policies permit docs-bot only: attested-bot is denied, and the ledger says so.
    let correlationId;
    await assert.rejects(attested.client.callTool({ name: 'read_text_file', arguments: { path: path.join(project, 'README.md') } }),
      (error) => { correlationId = error.data?.correlation_id; return error.code === -32001; });
    const events = await eventsOf(correlationId, ['decision', 'tool_call_outcome']);
    assert.equal(events.find((e) => e.kind === 'decision').subject, 'Writ::Agent::"attested-bot"');
    await attested.client.close();
    const { status, stderr } = await startProxy(['--as', 'docs-bot', '--server', 'fs'], { WRIT_TOKEN_FILE: '' });
    assert.equal(status, 1);
    assert.match(stderr, /--as `docs-bot` does not match the agent `attested-bot` verified from attestation of this process/);
  });
});
