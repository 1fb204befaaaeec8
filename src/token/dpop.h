// DPoP (RFC 9449): proofs of possession for tokens bound to a key (cnf.jkt). A proof is a JWS with
// typ "dpop+jwt", an asymmetric alg (ES256 or EdDSA), its public key in the `jwk` header, and the
// claims jti, htm, htu, iat (within a window) and, when a token is presented, ath. Each jti is
// accepted once while its iat is acceptable (replay cache). Optionally (RFC 9449 §8) the server
// hands out nonces (`DPoP-Nonce`) and proofs must carry a fresh one in their `nonce` claim.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "common/mutex.h"
#include "token/jws.h"

namespace writ::token {

struct DpopOptions {
  std::chrono::seconds iat_window{60};   // |now - iat| must be at most this
  size_t max_remembered = 1 << 16;       // replay cache bound: refuse new proofs past it (fail closed)
  bool require_nonce = false;            // proofs must carry a nonce from IssueNonce (RFC 9449 §8)
  std::chrono::seconds nonce_lifetime{300};  // a nonce is accepted this long after it was issued
  const Clock* clock = nullptr;          // borrowed; nullptr = SystemClock()
};

struct DpopProofRequest {
  std::string_view proof;         // the DPoP header value
  std::string_view method;        // the HTTP method of the request ("POST")
  std::string_view url;           // the request URL without query and fragment
  std::string_view access_token;  // the token presented with it ("" at the token endpoint: no ath)
};

// Thread-safe.
class DpopVerifier {
 public:
  // Nonces are MACed with a random key made here: they are valid only in this process.
  explicit DpopVerifier(DpopOptions options = {});

  // Checks the proof and remembers its jti. Returns the RFC 7638 thumbprint of the proof's key.
  // Errors: kDpopInvalid (the message says which check), kDpopReplayed, kAlgNone/kAlgNotAllowed;
  // with require_nonce, kDpopUseNonce when the proof's `nonce` is missing, not one of ours or
  // older than nonce_lifetime (the caller then answers with a fresh IssueNonce()).
  TokenResult<std::string> Verify(const DpopProofRequest& request);

  // A fresh nonce for the `DPoP-Nonce` header: base64url(issue time ‖ HMAC-SHA-256 tag), 32
  // characters. Stateless: any nonce issued within nonce_lifetime is accepted (within the replay
  // rules for the proof's jti); nothing is stored per nonce.
  std::string IssueNonce() const;

  bool requires_nonce() const { return options_.require_nonce; }
  size_t remembered() const;

 private:
  const Clock& clock() const { return options_.clock != nullptr ? *options_.clock : SystemClock(); }
  bool IsFreshNonce(std::string_view nonce, int64_t now) const;
  const DpopOptions options_;
  const std::string nonce_key_;
  mutable Mutex mu_;
  std::unordered_map<std::string, int64_t> seen_ WRIT_GUARDED_BY(mu_);  // jti -> forget after (s)
};

// The URL without query and fragment, as htu is compared.
std::string_view StripQueryAndFragment(std::string_view url);

}  // namespace writ::token
