// The Streamable HTTP proxy end to end: the real writd (tokens, introspection, Cedar decisions),
// the reference `server-everything` in streamableHttp mode, and the official SDK client with
// StreamableHTTPClientTransport, directly and through `writ mcp --listen ... --upstream ...`.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { bin, tempDir, withoutWritMeta, writBinary } from './peers.mjs';

const writdBinary = process.env.WRITD_BINARY;
const run = promisify(execFile);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const POLICY = `
@id("http-bot-tools")
permit (principal == Writ::Agent::"http-bot", action == Writ::Action::"mcp:call", resource)
when { resource in [Writ::Tool::"everything/echo", Writ::Tool::"everything/get-sum",
                    Writ::Tool::"everything/trigger-long-running-operation"] };

@id("http-bot-annotated-needs-approval")
@approval("required")
permit (principal == Writ::Agent::"http-bot", action == Writ::Action::"mcp:call",
        resource == Writ::Tool::"everything/get-annotated-message");

// Listing it must not ask a human (tools/list is decided with context {"tools_list": true}).
@id("http-bot-lists-annotated")
permit (principal == Writ::Agent::"http-bot", action == Writ::Action::"mcp:call",
        resource == Writ::Tool::"everything/get-annotated-message")
when { context has tools_list };

@id("humans-decide-approvals")
permit (principal is Writ::Human, action in [Writ::Action::"approval:grant", Writ::Action::"approval:deny"],
        resource is Writ::Approval);

@id("no-env")
forbid (principal, action == Writ::Action::"mcp:call", resource == Writ::Tool::"everything/get-env");
`;

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Starts `argv` and resolves with the first match of `pattern` in its stderr (or stdout).
function startAndWait(argv, pattern, env = {}) {
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start: ${seen}`)), 20000);
    const look = (chunk) => {
      seen += chunk;
      const match = seen.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, output: () => seen });
      }
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.on('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}: ${seen}`)));
  });
}

async function stop(child) {
  if (!child || child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
}

async function connectHttp(url, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name: 'writ-http-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  return { client, transport };
}

describe('writ mcp --listen (Streamable HTTP) with the real writd', { skip: !writdBinary && 'WRITD_BINARY is not set' }, () => {
  const dir = tempDir('writ-mcp-http-');
  const data = path.join(dir, 'data');
  const socket = path.join(data, 'writd.sock');
  let writd, everything, proxy, proxyUrl, upstreamUrl, token, otherToken, direct, through;

  const writ = async (...args) => {
    try {
      const { stdout } = await run(writBinary, ['--socket', socket, ...args]);
      return stdout.trim();
    } catch (error) {
      throw new Error(`writ ${args.join(' ')}: ${error.stdout}${error.stderr}`);
    }
  };
  const startProxy = async (upstream, extra = []) => startAndWait(
    [writBinary, '--socket', socket, 'mcp', '--listen', '127.0.0.1:0', '--upstream', upstream, '--server', 'everything',
      ...extra], /listening on (http:\/\/\S+)/);
  const post = (url, body, headers = {}) => fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

  before(async () => {
    fs.mkdirSync(data, { mode: 0o700 });
    writd = spawn(writdBinary, ['--data-dir', data, '--listen-tcp', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    writd.stderr.resume();
    for (let i = 0; i < 200; i++) {
      try { await writ('status'); break; } catch { await sleep(50); }
    }
    const me = os.userInfo().username.replace(/[^A-Za-z0-9._-]/g, '-');
    await writ('identity', 'create', me, '--kind', 'human', '--uid', String(process.getuid()));
    await writ('identity', 'create', 'http-bot', '--owner', me);
    await writ('identity', 'create', 'other-bot', '--owner', me);
    const policies = path.join(dir, 'policies');
    fs.mkdirSync(policies);
    fs.writeFileSync(path.join(policies, 'everything.cedar'), POLICY);
    await writ('policy', 'apply', policies, '--activate', '--reason', 'mcp http e2e');
    token = await writ('token', 'issue', '--agent', 'http-bot', '--ttl', '10m');
    otherToken = await writ('token', 'issue', '--agent', 'other-bot', '--ttl', '10m');

    const port = await freePort();
    everything = await startAndWait([bin('mcp-server-everything'), 'streamableHttp'], /listening on port/,
      { PORT: String(port) });
    upstreamUrl = `http://127.0.0.1:${port}/mcp`;
    proxy = await startProxy(upstreamUrl, ['--max-message-bytes', '65536', '--token-recheck', '1s']);
    proxyUrl = proxy.match[1];
    direct = await connectHttp(upstreamUrl);
    through = await connectHttp(proxyUrl, token);
  });

  after(async () => {
    await through?.client.close();
    await direct?.client.close();
    await stop(proxy?.child);
    await stop(everything?.child);
    await stop(writd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the proxy serves the upstream path on loopback', () => {
    assert.match(proxyUrl, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  test('allowed calls return exactly what the server returns directly', async () => {
    for (const args of [{ name: 'echo', arguments: { message: 'through writ' } },
      { name: 'get-sum', arguments: { a: 2, b: 40 } }]) {
      const want = await direct.client.callTool(args);
      const got = await through.client.callTool(args);
      assert.deepEqual(withoutWritMeta(got), want);
      assert.match(got._meta['writ/correlation_id'], /^[0-9a-f-]{36}$/);
    }
  });

  test('tools/list shows only the tools the agent may call', async () => {
    const all = (await direct.client.listTools()).tools.map((t) => t.name);
    assert.ok(all.includes('get-env') && all.length > 3, all.join(','));
    const shown = (await through.client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(shown, ['echo', 'get-annotated-message', 'get-sum', 'trigger-long-running-operation']);
  });

  test('a forbidden call gets -32001 with the reason and the policy, and never reaches the server', async () => {
    await assert.rejects(through.client.callTool({ name: 'get-env', arguments: {} }), (error) => {
      assert.ok(error instanceof McpError, String(error));
      assert.equal(error.code, -32001);
      assert.deepEqual(error.data.policies, ['no-env']);
      assert.match(error.message, /everything\/get-env.*http-bot.*denied/);
      return true;
    });
    await assert.rejects(through.client.callTool({ name: 'get-tiny-image', arguments: {} }),
      (error) => error instanceof McpError && error.code === -32001);
  });

  test('a call that needs approval waits on its POST until `writ approvals grant` releases it', async () => {
    const pendingIds = async () => (JSON.parse(await writ('-o', 'json', 'approvals', 'list', '--state', 'pending')).approvals ?? [])
      .filter((a) => String(a.resource).includes('everything/get-annotated-message')).map((a) => a.id);
    const before = new Set(await pendingIds());
    const args = { name: 'get-annotated-message', arguments: { messageType: 'success' } };
    let settled = false;
    const call = through.client.callTool(args).finally(() => { settled = true; });
    let id;
    for (let i = 0; i < 200 && !id; i++) {
      await sleep(50);
      id = (await pendingIds()).find((candidate) => !before.has(candidate));
    }
    assert.ok(id, 'a pending approval request');
    assert.equal(settled, false);
    await writ('approvals', 'grant', id, '--reason', 'http e2e');
    assert.deepEqual(withoutWritMeta(await call), await direct.client.callTool(args));
  });

  test('a client that hangs up while its call waits for approval abandons the call', async () => {
    const controller = new AbortController();
    const headers = { Authorization: `Bearer ${token}`, 'MCP-Session-Id': through.transport.sessionId,
      'MCP-Protocol-Version': '2025-11-25', 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
    const waiting = fetch(proxyUrl, { method: 'POST', headers, signal: controller.signal, body: JSON.stringify(
      { jsonrpc: '2.0', id: 77, method: 'tools/call', params: { name: 'get-annotated-message', arguments: { messageType: 'debug' } } }) });
    await sleep(300);
    controller.abort();
    await assert.rejects(waiting);
    let logged = false;
    for (let i = 0; i < 60 && !logged; i++) {
      await sleep(50);
      logged = proxy.output().includes('tools/call abandoned while waiting for approval');
    }
    assert.ok(logged, 'the proxy gave up the call');
  });

  test('progress notifications stream through (SSE relayed event by event)', async () => {
    const args = { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } };
    const progress = [];
    const got = await through.client.callTool(args, CallToolResultSchema, { onprogress: (p) => progress.push(p) });
    assert.equal(progress.length, 3, JSON.stringify(progress));
    assert.deepEqual(withoutWritMeta(got), await direct.client.callTool(args));
  });

  test('the session id is relayed and belongs to the agent that opened it', async () => {
    const session = through.transport.sessionId;
    assert.match(session ?? '', /^[0-9a-f-]{36}$/);
    const headers = { 'MCP-Session-Id': session, 'MCP-Protocol-Version': '2025-11-25' };
    const mine = await post(proxyUrl, ping, { ...headers, Authorization: `Bearer ${token}` });
    assert.equal(mine.status, 200);
    const theirs = await post(proxyUrl, ping, { ...headers, Authorization: `Bearer ${otherToken}` });
    assert.equal(theirs.status, 403);
    const unknown = await post(proxyUrl, ping, { ...headers, 'MCP-Session-Id': 'no-such-session', Authorization: `Bearer ${token}` });
    assert.equal(unknown.status, 404);
  });

  test('a GET opens the server-to-client SSE stream; a second one gets the upstream\'s 409', async () => {
    // A session of its own: the SDK client already holds the GET stream of its session.
    const opened = await post(proxyUrl, initialize, { Authorization: `Bearer ${token}` });
    const session = opened.headers.get('mcp-session-id');
    await opened.text();
    const get = (signal) => fetch(proxyUrl, {
      headers: { Accept: 'text/event-stream', Authorization: `Bearer ${token}`, 'MCP-Session-Id': session,
        'MCP-Protocol-Version': '2025-11-25' },
      signal,
    });
    const controller = new AbortController();
    const stream = await get(controller.signal);
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type'), /^text\/event-stream/);
    const second = await get();
    assert.equal(second.status, 409);
    assert.match((await second.json()).error.message, /Only one SSE stream/);
    controller.abort();
  });

  test('no token, a bad token, another scheme: 401 with a challenge; nothing reaches the server', async () => {
    const none = await post(proxyUrl, ping);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate'), /^Bearer realm="writ-mcp"/);
    assert.match(none.headers.get('www-authenticate'), /DPoP/);
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const authorization of [`Bearer ${forged}`, 'Bearer not.a.token', `Basic ${token}`, `DPoP ${token}`]) {
      const refused = await post(proxyUrl, ping, { Authorization: authorization });
      assert.equal(refused.status, 401, authorization.slice(0, 12));
      assert.match(refused.headers.get('www-authenticate'), /error="invalid_(token|request|dpop_proof)"/);
    }
    await assert.rejects(connectHttp(proxyUrl), /an agent token is required/);
  });

  test('a revoked token is refused within the recheck interval', async () => {
    const doomed = await writ('token', 'issue', '--agent', 'http-bot', '--ttl', '10m');
    const asked = initialize;
    assert.equal((await post(proxyUrl, asked, { Authorization: `Bearer ${doomed}` })).status, 200);
    await writ('token', 'revoke', '--token', doomed);
    const revokedAt = Date.now();
    let status;
    do {
      await sleep(100);
      status = (await post(proxyUrl, asked, { Authorization: `Bearer ${doomed}` })).status;
    } while (status !== 401 && Date.now() - revokedAt < 5000);
    assert.equal(status, 401);
    assert.ok(Date.now() - revokedAt < 2500, `refused after ${Date.now() - revokedAt} ms`);
  });

  test('writd holds each call to the calling agent\'s own token, even while the proxy still trusts it', async () => {
    // A proxy that rechecks tokens only every 10 minutes: after the revocation its cache still
    // says "valid", so only writd, which receives the token with the decision, can refuse the call.
    const lazy = await startProxy(upstreamUrl, ['--token-recheck', '10m']);
    const fresh = await writ('token', 'issue', '--agent', 'http-bot', '--ttl', '10m');
    const session = await connectHttp(lazy.match[1], fresh);
    try {
      const allowed = await session.client.callTool({ name: 'echo', arguments: { message: 'before' } });
      assert.equal(allowed.content[0].text, 'Echo: before');
      await writ('token', 'revoke', '--token', fresh);
      await assert.rejects(session.client.callTool({ name: 'echo', arguments: { message: 'after' } }), (error) => {
        assert.ok(error instanceof McpError, String(error));
        assert.equal(error.code, -32603);
        return true;
      });
    } finally {
      await session.client.close();
      await stop(lazy.child);
    }
  });

  test('hostile requests: oversized body 413, foreign Origin 403, batch 400, wrong path 404, PUT 405', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const huge = { jsonrpc: '2.0', id: 9, method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'x'.repeat(100000) } } };
    assert.equal((await post(proxyUrl, huge, auth)).status, 413);
    assert.equal((await post(proxyUrl, ping, { ...auth, Origin: 'https://evil.example' })).status, 403);
    assert.equal((await post(proxyUrl, ping, { ...auth, Origin: 'null' })).status, 403);
    assert.equal((await post(proxyUrl, [ping, ping], auth)).status, 400);
    const garbage = await post(proxyUrl, '{"jsonrpc":', auth);
    assert.equal(garbage.status, 400);
    assert.equal((await garbage.json()).error.code, -32700);
    assert.equal((await post(proxyUrl.replace(/\/mcp$/, '/other'), ping, auth)).status, 404);
    assert.equal((await fetch(proxyUrl, { method: 'PUT', headers: auth })).status, 405);
  });

  test('a Host header naming another host is refused (DNS rebinding)', async () => {
    const { port } = new URL(proxyUrl);
    const status = await new Promise((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST',
        headers: { Host: `attacker.example:${port}`, 'Content-Type': 'application/json', Authorization: `Bearer ${token}` } },
      (response) => { response.resume(); resolve(response.statusCode); });
      request.on('error', reject);
      request.end(JSON.stringify(ping));
    });
    assert.equal(status, 403);
  });

  test('DELETE ends the session; the proxy then forgets it', async () => {
    const own = await connectHttp(proxyUrl, token);
    const session = own.transport.sessionId;
    await own.transport.terminateSession();
    const after = await post(proxyUrl, ping, { Authorization: `Bearer ${token}`, 'MCP-Session-Id': session,
      'MCP-Protocol-Version': '2025-11-25' });
    assert.equal(after.status, 404);
    await own.client.close();
  });

  test('a DPoP-bound token works only with a fresh proof for this request', async () => {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
    const proof = (htm, htu, accessToken) => {
      const claims = { jti: crypto.randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000) };
      if (accessToken) claims.ath = crypto.createHash('sha256').update(accessToken).digest('base64url');
      const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } })}.${b64(claims)}`;
      const signature = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      return `${input}.${signature.toString('base64url')}`;
    };
    // writd issues a bound token when /v1/token carries a proof (on its Unix socket, as an administrator).
    const tokenUrl = 'http://localhost/v1/token';
    const issued = await new Promise((resolve, reject) => {
      const request = http.request({ socketPath: socket, path: '/v1/token', method: 'POST',
        headers: { 'Content-Type': 'application/json', DPoP: proof('POST', tokenUrl) } }, (response) => {
        let body = '';
        response.on('data', (chunk) => { body += chunk; });
        response.on('end', () => resolve({ status: response.statusCode, body }));
      });
      request.on('error', reject);
      request.end(JSON.stringify({ agent: 'http-bot', ttl: '5m' }));
    });
    assert.equal(issued.status, 200, issued.body);
    const bound = JSON.parse(issued.body).access_token;
    const good = await post(proxyUrl, initialize, { Authorization: `DPoP ${bound}`, DPoP: proof('POST', proxyUrl, bound) });
    assert.equal(good.status, 200, await good.clone().text());
    assert.equal((await post(proxyUrl, initialize, { Authorization: `Bearer ${bound}` })).status, 401);
    assert.equal((await post(proxyUrl, initialize, { Authorization: `DPoP ${bound}` })).status, 401);
    const wrongUrl = await post(proxyUrl, initialize,
      { Authorization: `DPoP ${bound}`, DPoP: proof('POST', 'http://127.0.0.1:1/mcp', bound) });
    assert.equal(wrongUrl.status, 401);
    assert.match(wrongUrl.headers.get('www-authenticate'), /invalid_dpop_proof/);
    const replayed = proof('POST', proxyUrl, bound);
    assert.equal((await post(proxyUrl, initialize, { Authorization: `DPoP ${bound}`, DPoP: replayed })).status, 200);
    assert.equal((await post(proxyUrl, initialize, { Authorization: `DPoP ${bound}`, DPoP: replayed })).status, 401);
  });

  test('upstream down: a clear 502 naming the server, and writd unreachable: 503', async () => {
    const closed = await freePort();
    const dead = await startProxy(`http://127.0.0.1:${closed}/mcp`);
    try {
      const response = await post(dead.match[1], ping, { Authorization: `Bearer ${token}` });
      assert.equal(response.status, 502);
      assert.match((await response.json()).error.message, /MCP server `everything` at http:\/\/127\.0\.0\.1:\d+\/mcp cannot be reached/);
      await assert.rejects(connectHttp(dead.match[1], token), /cannot be reached/);
    } finally {
      await stop(dead.child);
    }
    const blind = await startAndWait([writBinary, '--socket', path.join(dir, 'nowhere.sock'), 'mcp', '--listen', '127.0.0.1:0',
      '--upstream', upstreamUrl, '--server', 'everything'], /listening on (http:\/\/\S+)/);
    try {
      assert.equal((await post(blind.match[1], ping, { Authorization: `Bearer ${token}` })).status, 503);
    } finally {
      await stop(blind.child);
    }
  });

  // An https:// upstream: server-everything behind a TLS front (Node's tls) with a certificate from
  // a CA made here. The proxy verifies the chain against --upstream-ca and the name against the
  // upstream's host; without the CA, or with a certificate for another name, nothing is relayed.
  test('an https:// upstream is relayed over verified TLS, and refused when its certificate does not verify', async () => {
    const tlsDir = path.join(dir, 'tls');
    fs.mkdirSync(tlsDir);
    const openssl = (...args) => run('openssl', args, { cwd: tlsDir });
    await openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=writ test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
    const issue = async (name, san) => {
      await openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`,
        '-keyout', `${name}.key`, '-out', `${name}.csr`);
      fs.writeFileSync(path.join(tlsDir, `${name}.ext`), `subjectAltName=${san}\n`);
      await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
        '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
      return { key: fs.readFileSync(path.join(tlsDir, `${name}.key`)), cert: fs.readFileSync(path.join(tlsDir, `${name}.pem`)) };
    };
    const upstreamPort = Number(new URL(upstreamUrl).port);
    const front = (credentials) => new Promise((resolve) => {
      const server = tls.createServer(credentials, (secure) => {
        const plain = net.connect(upstreamPort, '127.0.0.1');
        secure.pipe(plain).pipe(secure);
        secure.on('error', () => plain.destroy());
        plain.on('error', () => secure.destroy());
      });
      server.listen(0, '127.0.0.1', () => resolve(server));
    });
    const good = await front(await issue('localhost', 'DNS:localhost,IP:127.0.0.1'));
    const misnamed = await front(await issue('elsewhere', 'DNS:elsewhere.example'));
    const ca = path.join(tlsDir, 'ca.pem');
    const started = [];
    try {
      for (const host of ['localhost', '127.0.0.1']) {  // a DNS name (with SNI) and an IP address SAN
        const secure = await startProxy(`https://${host}:${good.address().port}/mcp`, ['--upstream-ca', ca]);
        started.push(secure);
        const viaTls = await connectHttp(secure.match[1], token);
        try {
          const args = { name: 'echo', arguments: { message: 'over tls' } };
          assert.deepEqual(withoutWritMeta(await viaTls.client.callTool(args)), await direct.client.callTool(args));
          const shown = (await viaTls.client.listTools()).tools.map((t) => t.name);
          assert.ok(!shown.includes('get-env'), shown.join(','));
        } finally {
          await viaTls.client.close();
        }
      }
      for (const [upstream, extra] of [[`https://localhost:${good.address().port}/mcp`, []],  // not a trusted CA
        [`https://localhost:${misnamed.address().port}/mcp`, ['--upstream-ca', ca]]]) {  // another name
        const refused = await startProxy(upstream, extra);
        started.push(refused);
        const response = await post(refused.match[1], initialize, { Authorization: `Bearer ${token}` });
        assert.equal(response.status, 502);
        assert.match((await response.json()).error.message, /at https:\/\/localhost:\d+\/mcp cannot be reached: .*certificate verify failed/);
      }
      await assert.rejects(writ('mcp', '--listen', '127.0.0.1:0', '--upstream', upstreamUrl, '--server', 'everything',
        '--upstream-ca', ca), /--upstream-ca is for an https:\/\/ upstream/);
      await assert.rejects(writ('mcp', '--listen', '127.0.0.1:0', '--upstream', `https://localhost:${good.address().port}/mcp`,
        '--server', 'everything', '--upstream-ca', path.join(tlsDir, 'missing.pem')), /cannot load trusted certificates/);
    } finally {
      for (const proxyProcess of started) await stop(proxyProcess.child);
      good.close();
      misnamed.close();
    }
  });
});
