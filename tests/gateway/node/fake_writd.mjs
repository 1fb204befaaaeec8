// A stand-in for what `writ mcp` asks of writd, on a Unix socket, with writd's request and answer
// shapes (docs/authzen.md, docs/mcp.md): POST /v1/token (an attested token for `agent`),
// /access/v1/evaluation(s), /v1/approvals/{id}/wait and /v1/mcp/outcomes. Rules map
// "<server>/<tool>" to "allow", "deny" or "approval"; anything else is denied. It runs in the test's
// own process so tests can look at what the proxy sent; the real writd has its own tests.
import http from 'node:http';
import crypto from 'node:crypto';

export class FakeWritd {
  constructor(socketPath, rules = {}, { agent = 'test-agent' } = {}) {
    this.socketPath = socketPath;
    this.rules = rules;
    this.agent = agent;  // what attestation answers
    this.token = `fake.${crypto.randomUUID()}.token`;
    this.evaluations = [];  // every single evaluation request body, in order
    this.outcomes = [];  // every outcome item reported, in order
    this.unauthenticated = 0;  // requests without `Authorization: Bearer <this.token>`
    this.approvals = new Map();  // id -> {id, state, key, waiters:[]}
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  listen() { return new Promise((resolve) => this.server.listen(this.socketPath, resolve)); }
  close() {
    for (const approval of this.approvals.values()) approval.waiters.forEach((w) => w());
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(resolve));
  }

  pending() { return [...this.approvals.values()].filter((a) => a.state === 'pending'); }
  decide(id, state) {
    const approval = this.approvals.get(id);
    approval.state = state;
    approval.waiters.splice(0).forEach((wake) => wake());
  }

  verdict(body) {
    return this.rules[body.resource?.id] ?? 'deny';
  }

  evaluate(body) {
    const verdict = this.verdict(body);
    if (verdict === 'allow') return { decision: true, context: { policies: ['allow-rule'] } };
    if (verdict === 'approval') {
      const key = crypto.createHash('sha256')
        .update(JSON.stringify([body.subject, body.resource?.id, body.context])).digest('hex');
      for (const approval of this.approvals.values()) {
        if (approval.key !== key) continue;
        if (approval.state === 'granted') {
          approval.state = 'used';
          return { decision: true, context: { policies: ['approval-rule'], approval: 'granted' } };
        }
        if (approval.state === 'pending') return this.ticket(approval);
      }
      const approval = { id: crypto.randomUUID(), state: 'pending', key, body, waiters: [] };
      this.approvals.set(approval.id, approval);
      return this.ticket(approval);
    }
    return { decision: false, context: { policies: ['deny-rule'], reason: `forbidden by deny-rule` } };
  }

  ticket(approval) {
    return { decision: false, context: { policies: ['approval-rule'], approval_required: true,
      approval: { id: approval.id, state: 'pending' } } };
  }

  async handle(req, res) {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = raw ? JSON.parse(raw) : {};
    const send = (status, value) => {
      const text = JSON.stringify(value);  // with a Content-Length, as writd answers (never chunked)
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.url === '/v1/token') {
      return send(200, { access_token: this.token, token_type: 'Bearer', expires_in: 300, agent: this.agent });
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) this.unauthenticated++;
    if (req.url === '/v1/mcp/outcomes') {
      this.outcomes.push(...body.outcomes);
      return send(202, { accepted: body.outcomes.length });
    }
    if (req.url === '/access/v1/evaluation') {
      this.evaluations.push(body);
      return send(200, this.evaluate(body));
    }
    if (req.url === '/access/v1/evaluations') {
      const answers = body.evaluations.map((item) => {
        const merged = { ...body, ...item };
        delete merged.evaluations;
        const verdict = this.verdict(merged);
        return verdict === 'deny' ? { decision: false } : verdict === 'allow' ? { decision: true }
          : { decision: false, context: { approval_required: true, approval: { id: 'list', state: 'pending' } } };
      });
      return send(200, { evaluations: answers });
    }
    const wait = req.url.match(/^\/v1\/approvals\/([^/]+)\/wait$/);
    if (wait) {
      const approval = this.approvals.get(wait[1]);
      if (!approval) return send(404, { error: { code: 'not_found', message: 'no such approval' } });
      if (approval.state === 'pending') {
        const ms = parseInt(body.timeout, 10) || 30000;
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, ms);
          approval.waiters.push(() => { clearTimeout(timer); resolve(); });
        });
      }
      return send(200, { id: approval.id, state: approval.state });
    }
    return send(404, { error: { code: 'not_found', message: `no route ${req.url}` } });
  }
}
