// Signing keys: Ed25519 (JOSE "EdDSA", RFC 8037) and ECDSA P-256 with SHA-256 (JOSE "ES256").
// Generate, import and export (PEM, raw public bytes, JWK), sign and verify, RFC 7638 thumbprints.
// OpenSSL types stay in keys.cpp. Keys are immutable once built: one key may sign or verify from
// many threads at once. Copies share the underlying key.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"

namespace writ::crypto {

enum class KeyAlgorithm : uint8_t { kEd25519, kEs256 };

// The JOSE "alg" value: "EdDSA" or "ES256".
std::string_view JoseAlgorithm(KeyAlgorithm algorithm);

enum class SignatureFormat : uint8_t {
  kRaw,  // Ed25519: 64 bytes. ES256: r ‖ s, 32 bytes each (IEEE P1363, as JWS uses).
  kDer,  // ES256 only: the ASN.1 DER ECDSA-Sig-Value (X.509, TLS). Strict DER, no BER.
};

class PublicKey {
 public:
  // Ed25519: the 32-byte public key. ES256: the 65-byte uncompressed point 0x04 ‖ x ‖ y.
  // Errors: kInvalidArgument on a wrong length or a point not on the curve.
  static Result<PublicKey> FromRaw(KeyAlgorithm algorithm, std::string_view raw);
  // SubjectPublicKeyInfo, DER or PEM ("-----BEGIN PUBLIC KEY-----").
  // Errors: kInvalidArgument when malformed or neither Ed25519 nor EC P-256.
  static Result<PublicKey> FromDer(std::string_view der);
  static Result<PublicKey> FromPem(std::string_view pem);
  // A JWK object: {"kty":"OKP","crv":"Ed25519","x":…} or {"kty":"EC","crv":"P-256","x":…,"y":…}.
  // Other members (kid, use, alg) are ignored. Errors: kInvalidArgument naming the bad member.
  static Result<PublicKey> FromJwk(const json::Value& jwk);

  KeyAlgorithm algorithm() const;
  std::string Raw() const;    // as FromRaw takes it
  std::string ToDer() const;  // SubjectPublicKeyInfo
  std::string ToPem() const;
  // The required members only (kty, crv, x[, y]); callers add kid/use/alg.
  json::Value ToJwk() const;
  // RFC 7638 JWK thumbprint: base64url(SHA-256 of the canonical required members), 43 chars.
  std::string Thumbprint() const;

  // True iff `signature` (in `format`) is a valid signature of `message`. Never throws; malformed
  // signatures are simply false. kDer with an Ed25519 key is false.
  bool Verify(std::string_view message, std::string_view signature,
              SignatureFormat format = SignatureFormat::kRaw) const;

  friend bool operator==(const PublicKey& left, const PublicKey& right);

 private:
  struct Impl;
  explicit PublicKey(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;  // INVARIANT: never null
  friend class PrivateKey;
};

class PrivateKey {
 public:
  // A fresh key from OpenSSL's DRBG. Errors: kInternal if OpenSSL fails.
  static Result<PrivateKey> Generate(KeyAlgorithm algorithm);
  // PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), unencrypted (encrypt at rest with aead.h).
  // Errors: kInvalidArgument when malformed or neither Ed25519 nor EC P-256.
  static Result<PrivateKey> FromPem(std::string_view pem);
  // An Ed25519 key from its 32-byte seed (RFC 8032 private key). Errors: kInvalidArgument.
  static Result<PrivateKey> FromEd25519Seed(std::string_view seed);

  KeyAlgorithm algorithm() const;
  PublicKey public_key() const;
  // PKCS#8 PEM. Holds the secret: never log it; seal it before storing.
  std::string ToPem() const;

  // Signs `message` (Ed25519 is deterministic; ES256 uses a fresh nonce each time).
  // Errors: kInvalidArgument for kDer with Ed25519; kInternal if OpenSSL fails.
  Result<std::string> Sign(std::string_view message,
                           SignatureFormat format = SignatureFormat::kRaw) const;

 private:
  struct Impl;
  explicit PrivateKey(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;  // INVARIANT: never null
};

}  // namespace writ::crypto
