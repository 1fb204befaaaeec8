// The demo agent: an MCP client (the official SDK) that reaches the filesystem server only through
// `writ mcp`, as an agent's MCP configuration would. Run after setup.sh (see README.md):
//   node examples/mcp/try.mjs
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '../../tests/gateway/node/node_modules/@modelcontextprotocol/sdk/dist/esm/client/index.js';
import { StdioClientTransport } from '../../tests/gateway/node/node_modules/@modelcontextprotocol/sdk/dist/esm/client/stdio.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const project = path.join(here, 'project');
const writ = process.env.WRIT ?? path.join(root, 'build/release/src/main/writ');
const server = path.join(root, 'tests/gateway/node/node_modules/.bin/mcp-server-filesystem');

// writ mcp acts for the agent whose token is in WRIT_TOKEN_FILE, as `writ run --as docs-bot` would
// provide. Here the administrator running the demo issues one (valid for the agent's max TTL).
let tokenDir;
if (!process.env.WRIT_TOKEN_FILE) {
  tokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'writ-mcp-demo-'));
  const file = path.join(tokenDir, 'token');
  fs.writeFileSync(file, execFileSync(writ, ['token', 'issue', '--agent', 'docs-bot'], { stdio: ['ignore', 'pipe', 'inherit'] }),
    { mode: 0o600 });
  process.env.WRIT_TOKEN_FILE = file;
}
const transport = new StdioClientTransport({
  command: writ,
  args: ['mcp', '--as', 'docs-bot', '--server', 'fs', '--approval-timeout', '5m', '--', server, project],
  env: process.env,  // the SDK passes only a minimal environment by default; writ needs WRIT_SOCKET, WRIT_TOKEN_FILE
  stderr: 'inherit',
});
const client = new Client({ name: 'writ-mcp-demo', version: '1.0.0' });
await client.connect(transport);

const step = async (title, run) => {
  console.log(`\n== ${title}`);
  try {
    console.log(JSON.stringify(await run(), null, 2));
  } catch (error) {
    console.log(`refused: ${error.code} ${error.message}`);
  }
};

await step('tools the agent can see (tools/list, filtered by policy)',
  async () => (await client.listTools()).tools.map((tool) => tool.name));
await step('read a file in the project (allowed)', () =>
  client.callTool({ name: 'read_text_file', arguments: { path: path.join(project, 'README.md') } }));
await step('read a file outside the project (forbidden by policy stay-in-project)', () =>
  client.callTool({ name: 'read_text_file', arguments: { path: '/etc/hostname' } }));
await step('move a file (no policy permits it: denied)', () =>
  client.callTool({ name: 'move_file', arguments: { source: path.join(project, 'README.md'), destination: '/tmp/x' } }));
console.log('\n== write a file in the project: waits for approval.');
console.log('   In another terminal: writ approvals list   then   writ approvals grant <id>');
await step('write (after approval)', () => client.callTool({ name: 'write_file',
  arguments: { path: path.join(project, 'docs/approved.md'), content: `approved at ${new Date().toISOString()}\n` } },
  undefined, { timeout: 10 * 60 * 1000 }));
await client.close();
if (tokenDir) fs.rmSync(tokenDir, { recursive: true, force: true });
