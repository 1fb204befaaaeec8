// Verifies a writ token the way an independent relying party would: fetch writd's JWKS (over its
// Unix socket), then jose's jwtVerify with the issuer and audience. Prints one JSON line:
// {"ok":true,"sub":...,"alg":...} or {"ok":false,"code":...}.
// Usage: node verify.mjs <socket> <token-file> <issuer> <audience>
import http from 'node:http';
import fs from 'node:fs';
import { createLocalJWKSet, jwtVerify } from 'jose';

const [socketPath, tokenFile, issuer, audience] = process.argv.slice(2);

function fetchJwks() {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: '/.well-known/jwks.json' }, (res) => {
      let body = '';
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`jwks status ${res.statusCode}`));
        else resolve(JSON.parse(body));
      });
    });
    req.on('error', reject);
  });
}

try {
  const token = fs.readFileSync(tokenFile, 'utf8').trim();
  const jwks = await fetchJwks();
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer, audience });
  console.log(JSON.stringify({ ok: true, sub: payload.sub, alg: protectedHeader.alg, kid: protectedHeader.kid,
                               keys: jwks.keys.length }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, code: error.code || String(error) }));
}
