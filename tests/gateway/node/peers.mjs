// Helpers for the proxy tests: SDK clients connected to a reference server directly or through
// `writ mcp`, a temp dir, and the built `writ` binary (WRIT_CLI_BINARY, set by CTest).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const writBinary = process.env.WRIT_CLI_BINARY ?? path.resolve(here, '../../../build/release/src/main/writ');
export const bin = (name) => path.join(here, 'node_modules', '.bin', name);

export function tempDir(prefix = 'writ-mcp-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// The argv that runs `server` ([command, ...args]) behind writ mcp.
export function proxied(server, { agent = 'test-agent', name, socket, extra = [] }) {
  return [writBinary, '--socket', socket, 'mcp', '--as', agent, '--server', name, ...extra, '--', ...server];
}

export async function connect(argv, { capabilities = {}, env = {}, handlers } = {}) {
  const transport = new StdioClientTransport({
    command: argv[0], args: argv.slice(1), env: { ...process.env, ...env }, stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk) => { stderr += chunk; });
  const client = new Client({ name: 'writ-test', version: '1.0.0' }, { capabilities });
  handlers?.(client);
  await client.connect(transport);
  return { client, transport, stderr: () => stderr };
}

// The parts of a tools/call result a model sees (writ adds its correlation id in _meta).
export function withoutWritMeta(result) {
  const copy = structuredClone(result);
  if (copy._meta) {
    delete copy._meta['writ/correlation_id'];
    if (Object.keys(copy._meta).length === 0) delete copy._meta;
  }
  return copy;
}
