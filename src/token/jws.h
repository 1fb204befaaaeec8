// JWS compact serialization (RFC 7515) restricted to what writ signs and accepts: ES256 (default)
// and Ed25519 ("EdDSA" or "Ed25519" on input, RFC 8037 / RFC 9864). Parsing is strict and bounded
// and reports every hostile shape with its own TokenErrorKind, before any signature work.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "common/json.h"
#include "common/result.h"
#include "crypto/keys.h"

namespace writ::token {

// Why a token was refused. Names (TokenErrorName) appear in API error bodies and logs: never
// rename one.
enum class TokenErrorKind : uint8_t {
  kMalformed,          // not three base64url parts of JSON objects, a missing/ill-typed claim
  kOversize,           // longer than the configured bound
  kAlgNone,            // "alg":"none" (unsecured JWS)
  kAlgNotAllowed,      // an algorithm outside the allow-list (HS256 alg confusion, RS256, ...)
  kForbiddenHeader,    // jku, x5u, jwk, x5c, crit or any header member outside alg/kid/typ
  kBadKid,             // kid missing or not an RFC 7638 thumbprint (path, SQL or injection tricks)
  kUnknownKid,         // kid not in the key ring (never issued here, or retired past its overlap)
  kBadSignature,       // the signature does not verify (tampered header, payload or signature)
  kExpired,            // exp (plus skew) is in the past
  kNotYetValid,        // nbf or iat (minus skew) is in the future
  kWrongAudience,      // aud does not name the verifier
  kWrongIssuer,        // iss is not this issuer
  kRevoked,            // revoked by jti or by identity
  kIdentityInactive,   // the subject is not an active identity (suspended, revoked, retired, gone)
  kUnavailable,        // revocation or identity state could not be read: refuse, retry later
  kDpopRequired,       // the token is bound to a key (cnf.jkt) and came without a DPoP proof
  kDpopInvalid,        // the DPoP proof is malformed, badly signed, for another htm/htu/ath, or stale
  kDpopReplayed,       // the DPoP proof's jti was seen before
  kDpopMismatch,       // the DPoP proof's key is not the one the token is bound to
  kDpopUseNonce,       // the server requires a DPoP nonce and the proof has none, or a stale or
                       // foreign one (RFC 9449 §8 `use_dpop_nonce`: retry with the DPoP-Nonce given)
  kTruncated,          // cut short: fewer than three parts, or a signature shorter than 64 bytes
};

// "malformed", "oversize", "alg_none", ... Never empty.
std::string_view TokenErrorName(TokenErrorKind kind);

struct TokenError {
  TokenErrorKind kind = TokenErrorKind::kMalformed;
  std::string message;  // lowercase, names the jti or kid, never the token
  // As a writ::Error: kUnavailable for kUnavailable, else kUnauthenticated; the message is
  // prefixed with the kind's name ("expired: token `…` expired 12s ago").
  Error ToError() const;
};

template <class T>
using TokenResult = tl::expected<T, TokenError>;

inline tl::unexpected<TokenError> Reject(TokenErrorKind kind, std::string message) {
  return tl::unexpected<TokenError>(TokenError{kind, std::move(message)});
}

// The JOSE "alg" writ emits for a key: "ES256" or "EdDSA".
std::string_view AlgFor(crypto::KeyAlgorithm algorithm);

// Maps an "alg" header value to a key algorithm. "none" → kAlgNone; "ES256" → kEs256;
// "EdDSA" and "Ed25519" → kEd25519; anything else → kAlgNotAllowed.
TokenResult<crypto::KeyAlgorithm> ParseAlg(std::string_view alg);

struct JwsLimits {
  size_t max_bytes = 8192;        // whole compact token
  size_t max_json_depth = 8;      // header and payload nesting
  bool require_kid = true;        // writ tokens always carry a thumbprint kid
  bool allow_jwk_header = false;  // DPoP proofs carry their public key in `jwk`
};

// A compact JWS split and decoded, not yet verified. Views point into the token passed to
// ParseCompact and live as long as it does.
struct ParsedJws {
  crypto::KeyAlgorithm algorithm = crypto::KeyAlgorithm::kEs256;
  std::string kid;                // "" when absent and !require_kid
  std::string typ;                // "" when absent
  std::string_view signing_input; // B64U(header) "." B64U(payload)
  std::string payload;            // decoded payload bytes (JSON for a JWT; any bytes for a JWS)
  std::string signature;          // decoded signature bytes
  json::Value jwk;                // the `jwk` header member (only with allow_jwk_header), else null
};

// Splits and decodes `token` and checks its header. Checks, in order: size (kOversize), fewer than
// three parts (kTruncated), shape and base64url (kMalformed), header JSON object (kMalformed),
// forbidden members (kForbiddenHeader), alg (kAlgNone / kAlgNotAllowed), kid syntax (kBadKid), a
// signature cut short (kTruncated; both algorithms sign with 64 bytes). Does not verify it.
TokenResult<ParsedJws> ParseCompact(std::string_view token, const JwsLimits& limits = {});

// True when `kid` looks like an RFC 7638 SHA-256 thumbprint: exactly 43 base64url characters.
bool IsThumbprintKid(std::string_view kid);

// Verifies `parsed` with `key`: the key's algorithm must equal the header's (kAlgNotAllowed
// otherwise: the algorithm comes from the key, never from the header alone) and the signature must
// verify (kBadSignature).
TokenResult<void> VerifySignature(const ParsedJws& parsed, const crypto::PublicKey& key);

// Signs `payload` (JSON text of the claims) as a compact JWS with header
// {"alg":AlgFor(key),"kid":kid,"typ":typ}. Errors: kInternal if signing fails.
Result<std::string> SignCompact(const crypto::PrivateKey& key, std::string_view kid, std::string_view typ,
                                std::string_view payload);

// Verifies a compact JWS against one JWK (as a relying party with a JWKS would): the JWK must be
// usable for signatures (`use` absent or "sig", `key_ops` absent or containing "verify"), its
// `alg`, when present, must equal the header's, then ParseCompact (kid optional) and
// VerifySignature. Returns the decoded payload.
TokenResult<std::string> VerifyCompactWithJwk(std::string_view token, const json::Value& jwk);

}  // namespace writ::token
