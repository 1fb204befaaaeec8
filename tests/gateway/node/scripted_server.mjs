// A deliberately misbehaving stdio MCP server for the hostile tests. tools/call names pick the
// misbehaviour: crash (exit 3 without answering), hang (never answer, ignore SIGTERM),
// garbage (a non-JSON line, then the answer), huge (a 200 kB answer).
import readline from 'node:readline';

process.on('SIGTERM', () => { if (!hanging) process.exit(0); });
let hanging = false;
const send = (message) => process.stdout.write(JSON.stringify(message) + '\n');
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line);
  if (message.method !== 'tools/call') {
    if (message.id !== undefined) send({ jsonrpc: '2.0', id: message.id, result: {} });
    return;
  }
  const name = message.params.name;
  if (name === 'crash') process.exit(3);
  if (name === 'hang') { hanging = true; setInterval(() => {}, 1000); return; }
  if (name === 'garbage') process.stdout.write('this is not json\n');
  const text = name === 'huge' ? 'y'.repeat(200000) : 'after garbage';
  send({ jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text }] } });
});
