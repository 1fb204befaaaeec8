// What a user would build instead of writ: a minimal AuthZEN evaluation endpoint on Node's http
// module and the official Cedar WebAssembly build. Same policies and entities as writd gets.
// Usage: node node-pdp.js <port> <policies.cedar> <entities.json>
'use strict';
const http = require('http');
const fs = require('fs');
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

const [port, policyPath, entitiesPath] = process.argv.slice(2);
const policies = { staticPolicies: fs.readFileSync(policyPath, 'utf8') };
const entities = JSON.parse(fs.readFileSync(entitiesPath, 'utf8'));

function decide(body) {
  const request = JSON.parse(body);
  const answer = cedar.isAuthorized({
    principal: { type: request.subject.type, id: request.subject.id },
    action: { type: 'Action', id: request.action.name },
    resource: { type: request.resource.type, id: request.resource.id },
    context: request.context || {},
    policies,
    entities,
  });
  return answer.type === 'success' && answer.response.decision === 'allow';
}

http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let decision = false;
    try {
      decision = decide(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      decision = false;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ decision }));
  });
}).listen(Number(port), '127.0.0.1');
