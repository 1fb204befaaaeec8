// DPoP (RFC 9449): proofs of possession for tokens bound to a key (cnf.jkt). A proof is a JWS with
// typ "dpop+jwt", an asymmetric alg (ES256 or EdDSA), its public key in the `jwk` header, and the
// claims jti, htm, htu, iat (within a window) and, when a token is presented, ath. Each jti is
// accepted once while its iat is acceptable (replay cache).
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
  explicit DpopVerifier(DpopOptions options = {}) : options_(options) {}

  // Checks the proof and remembers its jti. Returns the RFC 7638 thumbprint of the proof's key.
  // Errors: kDpopInvalid (the message says which check), kDpopReplayed, kAlgNone/kAlgNotAllowed.
  TokenResult<std::string> Verify(const DpopProofRequest& request);

  size_t remembered() const;

 private:
  const Clock& clock() const { return options_.clock != nullptr ? *options_.clock : SystemClock(); }
  const DpopOptions options_;
  mutable Mutex mu_;
  std::unordered_map<std::string, int64_t> seen_ WRIT_GUARDED_BY(mu_);  // jti -> forget after (s)
};

// The URL without query and fragment, as htu is compared.
std::string_view StripQueryAndFragment(std::string_view url);

}  // namespace writ::token
