// End to end with the real writd: the examples/mcp policy set (reads allowed, writes need approval,
// nothing outside the project), an SDK client through `writ mcp` to the reference filesystem
// server, and an approval granted from the CLI releasing a waiting call.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
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
  let writd, direct, through;

  const writ = async (...args) => {
    try {
      const { stdout } = await run(writBinary, ['--socket', socket, ...args]);
      return stdout;
    } catch (error) {
      throw new Error(`writ ${args.join(' ')}: ${error.stdout}${error.stderr}`);
    }
  };

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
    const server = [bin('mcp-server-filesystem'), project];
    direct = await connect(server);
    through = await connect(proxied(server, { agent: 'docs-bot', name: 'fs', socket, extra: ['--approval-timeout', '60s'] }));
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

  test('a read in the project returns what the server returns', async () => {
    const args = { name: 'read_text_file', arguments: { path: path.join(project, 'README.md') } };
    assert.deepEqual(withoutWritMeta(await through.client.callTool(args)), await direct.client.callTool(args));
  });

  test('a read outside the project is forbidden by stay-in-project', async () => {
    for (const target of ['/etc/hostname', path.join(project, '../data/writd.db')]) {
      await assert.rejects(through.client.callTool({ name: 'read_text_file', arguments: { path: target } }),
        (error) => error instanceof McpError && error.code === -32001 && error.data.policies.includes('stay-in-project'));
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
  });
});
