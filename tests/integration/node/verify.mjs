// Verifies a writ token the way an independent relying party would: fetch writd's JWKS (over its
// Unix socket), then jose's jwtVerify with the issuer and audience. Prints one JSON line:
// {"ok":true,"sub":...,"alg":...} or {"ok":false,"code":...}.
// Usage: node verify.mjs <socket> <token-file> <issuer> <audience> [<unix-seconds>]
// With <unix-seconds>, jose judges exp/nbf at that instant instead of now (so a test can tell a
// key that left the JWKS from a token that merely expired).
import http from 'node:http';
import fs from 'node:fs';
import { createLocalJWKSet, jwtVerify } from 'jose';

const [socketPath, tokenFile, issuer, audience, at] = process.argv.slice(2);

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
  const options = { issuer, audience };
  if (at !== undefined) options.currentDate = new Date(Number(at) * 1000);
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), options);
  console.log(JSON.stringify({ ok: true, sub: payload.sub, alg: protectedHeader.alg, kid: protectedHeader.kid,
                               keys: jwks.keys.length }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, code: error.code || String(error) }));
}
