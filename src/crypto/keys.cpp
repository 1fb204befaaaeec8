#include "crypto/keys.h"

#include <array>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/encoding.h"
#include "common/mutex.h"
#include "crypto/hash.h"

namespace writ::crypto {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

// SubjectPublicKeyInfo prefixes for the two key types: SEQUENCE { AlgorithmIdentifier, BIT STRING }
// followed by the raw key. Building the DER lets OpenSSL do all validation (point on curve).
constexpr unsigned char kEd25519SpkiPrefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
                                                0x70, 0x03, 0x21, 0x00};
constexpr unsigned char kP256SpkiPrefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                             0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                             0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
constexpr size_t kEd25519RawSize = 32;
constexpr size_t kP256RawSize = 65;
constexpr size_t kP256ScalarSize = 32;

std::string_view Prefix(KeyAlgorithm algorithm) {
  if (algorithm == KeyAlgorithm::kEd25519) {
    return {reinterpret_cast<const char*>(kEd25519SpkiPrefix), sizeof(kEd25519SpkiPrefix)};
  }
  return {reinterpret_cast<const char*>(kP256SpkiPrefix), sizeof(kP256SpkiPrefix)};
}

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

// Which of writ's algorithms `key` is, or an error for anything else.
Result<KeyAlgorithm> Classify(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519")) return KeyAlgorithm::kEd25519;
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {0};
    size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &length) == 1 &&
        (std::strcmp(group, "prime256v1") == 0 || std::strcmp(group, "P-256") == 0)) {
      return KeyAlgorithm::kEs256;
    }
    return Fail(Code::kInvalidArgument, "only the P-256 curve is supported for ec keys");
  }
  return Fail(Code::kInvalidArgument, "unsupported key type (want ed25519 or ec p-256)");
}

std::string SpkiDer(EVP_PKEY* key) {
  int length = i2d_PUBKEY(key, nullptr);
  if (length <= 0) return {};
  std::string out(static_cast<size_t>(length), '\0');
  auto* cursor = reinterpret_cast<unsigned char*>(out.data());
  if (i2d_PUBKEY(key, &cursor) != length) return {};
  return out;
}

std::string ReadBio(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  if (length <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<size_t>(length));
}

constexpr size_t kMaxDerSignatureSize = 72;  // SEQUENCE { INTEGER (≤ 33 bytes), INTEGER (≤ 33 bytes) }
using DerSignature = std::array<unsigned char, kMaxDerSignatureSize>;

// Appends the DER INTEGER of the 32-byte unsigned big-endian `scalar`: minimal, so leading zero
// bytes are dropped and a 0x00 is put before a byte whose top bit is set. Returns the new end.
unsigned char* AppendDerInteger(unsigned char* out, const unsigned char* scalar) {
  size_t skip = 0;
  while (skip + 1 < kP256ScalarSize && scalar[skip] == 0) ++skip;
  const bool pad = (scalar[skip] & 0x80) != 0;
  *out++ = 0x02;
  *out++ = static_cast<unsigned char>(kP256ScalarSize - skip + (pad ? 1 : 0));
  if (pad) *out++ = 0x00;
  std::memcpy(out, scalar + skip, kP256ScalarSize - skip);
  return out + (kP256ScalarSize - skip);
}

// Strict P1363 (r ‖ s) → DER in `out`, without BIGNUMs. Returns the length, 0 on a wrong size.
size_t P1363ToDer(std::string_view raw, DerSignature& out) {
  if (raw.size() != 2 * kP256ScalarSize) return 0;
  unsigned char* end = AppendDerInteger(out.data() + 2, Bytes(raw));
  end = AppendDerInteger(end, Bytes(raw) + kP256ScalarSize);
  const size_t length = static_cast<size_t>(end - out.data());
  out[0] = 0x30;
  out[1] = static_cast<unsigned char>(length - 2);
  return length;
}

// Reads the DER INTEGER at `der[*pos]` into the 32-byte big-endian `out`. False unless it is a
// minimally encoded non-negative integer below 2^256.
bool ReadDerInteger(std::string_view der, size_t* pos, unsigned char* out) {
  if (*pos + 2 > der.size() || static_cast<unsigned char>(der[*pos]) != 0x02) return false;
  size_t length = static_cast<unsigned char>(der[*pos + 1]);
  *pos += 2;
  if (length == 0 || length >= 0x80 || *pos + length > der.size()) return false;
  const unsigned char* bytes = Bytes(der) + *pos;
  *pos += length;
  if ((bytes[0] & 0x80) != 0) return false;                                 // negative
  if (length > 1 && bytes[0] == 0 && (bytes[1] & 0x80) == 0) return false;  // not minimal
  while (length > 0 && *bytes == 0) {
    ++bytes;
    --length;
  }
  if (length > kP256ScalarSize) return false;
  std::memset(out, 0, kP256ScalarSize - length);
  std::memcpy(out + kP256ScalarSize - length, bytes, length);
  return true;
}

// DER → P1363. Empty unless `der` is exactly a strict (canonical) DER ECDSA-Sig-Value whose
// integers fit 32 bytes; so a non-empty answer also means `der` is strict DER.
std::string DerToP1363(std::string_view der) {
  if (der.size() < 2 || der.size() > kMaxDerSignatureSize || static_cast<unsigned char>(der[0]) != 0x30 ||
      static_cast<unsigned char>(der[1]) != der.size() - 2) {
    return {};
  }
  std::string out(2 * kP256ScalarSize, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  size_t pos = 2;
  if (!ReadDerInteger(der, &pos, bytes) || !ReadDerInteger(der, &pos, bytes + kP256ScalarSize) || pos != der.size()) {
    return {};
  }
  return out;
}

struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

// ES256 contexts ready for EVP_PKEY_sign or EVP_PKEY_verify with one key. OpenSSL 3 fetches the
// algorithm and builds a fresh context inside every EVP_DigestSignInit/EVP_DigestVerifyInit; kept
// contexts (one per concurrent caller, at most kMaxKept) and crypto::Sha256 for the digest leave
// only the curve arithmetic per call. Thread-safe: a context serves one caller at a time.
class EcdsaContexts {
 public:
  enum class Operation : uint8_t { kSign, kVerify };
  // `key` is borrowed: it must outlive the pool.
  EcdsaContexts(EVP_PKEY* key, Operation operation) : key_(key), operation_(operation) {}

  // A ready context, or nullptr if OpenSSL could not make one (out of memory).
  PkeyCtx Take() const {
    {
      MutexLock lock(mu_);
      if (!kept_.empty()) {
        PkeyCtx ctx = std::move(kept_.back());
        kept_.pop_back();
        return ctx;
      }
    }
    PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_, nullptr));
    if (!ctx) return nullptr;
    const int ready = operation_ == Operation::kSign ? EVP_PKEY_sign_init(ctx.get()) : EVP_PKEY_verify_init(ctx.get());
    return ready == 1 ? std::move(ctx) : nullptr;
  }

  // Returns a context taken from this pool after a call that did not fail inside OpenSSL.
  void Give(PkeyCtx ctx) const {
    MutexLock lock(mu_);
    if (kept_.size() < kMaxKept) kept_.push_back(std::move(ctx));
  }

 private:
  static constexpr size_t kMaxKept = 64;
  EVP_PKEY* const key_;
  const Operation operation_;
  mutable Mutex mu_;
  mutable std::vector<PkeyCtx> kept_ WRIT_GUARDED_BY(mu_);
};

}  // namespace

std::string_view JoseAlgorithm(KeyAlgorithm algorithm) {
  return algorithm == KeyAlgorithm::kEd25519 ? "EdDSA" : "ES256";
}

// ---------------------------------------------------------------------------------------------
// PublicKey

struct PublicKey::Impl {
  Impl(Pkey key_in, KeyAlgorithm algorithm_in, std::string raw_in)
      : key(std::move(key_in)), algorithm(algorithm_in), raw(std::move(raw_in)),
        verify_contexts(key.get(), EcdsaContexts::Operation::kVerify) {}
  Pkey key;
  KeyAlgorithm algorithm;
  std::string raw;                // cached Raw()
  EcdsaContexts verify_contexts;  // ES256 only
};

PublicKey::PublicKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

namespace {
Result<std::string> RawFromKey(EVP_PKEY* key, KeyAlgorithm algorithm) {
  std::string der = SpkiDer(key);
  std::string_view prefix = Prefix(algorithm);
  size_t raw_size = algorithm == KeyAlgorithm::kEd25519 ? kEd25519RawSize : kP256RawSize;
  if (der.size() != prefix.size() + raw_size || std::string_view(der).substr(0, prefix.size()) != prefix) {
    return Fail(Code::kInvalidArgument, "unexpected public key encoding");
  }
  return der.substr(prefix.size());
}
}  // namespace

Result<PublicKey> PublicKey::FromDer(std::string_view der) {
  const unsigned char* cursor = Bytes(der);
  Pkey key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
  if (!key || cursor != Bytes(der) + der.size()) {
    return Fail(Code::kInvalidArgument, "malformed subject public key info");
  }
  WRIT_ASSIGN_OR_RETURN(KeyAlgorithm algorithm, Classify(key.get()));
  WRIT_ASSIGN_OR_RETURN(std::string raw, RawFromKey(key.get(), algorithm));
  auto impl = std::make_shared<Impl>(std::move(key), algorithm, std::move(raw));
  return PublicKey(std::move(impl));
}

Result<PublicKey> PublicKey::FromRaw(KeyAlgorithm algorithm, std::string_view raw) {
  size_t want = algorithm == KeyAlgorithm::kEd25519 ? kEd25519RawSize : kP256RawSize;
  if (raw.size() != want) {
    return Fail(Code::kInvalidArgument, algorithm == KeyAlgorithm::kEd25519
                                            ? "ed25519 public key must be 32 bytes"
                                            : "p-256 public key must be a 65-byte uncompressed point");
  }
  if (algorithm == KeyAlgorithm::kEs256 && raw[0] != 0x04) {
    return Fail(Code::kInvalidArgument, "p-256 public key must be an uncompressed point");
  }
  std::string der(Prefix(algorithm));
  der.append(raw);
  auto key = FromDer(der);
  if (!key) return Fail(Code::kInvalidArgument, "invalid public key");
  return key;
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Fail(Code::kInternal, "out of memory");
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Fail(Code::kInvalidArgument, "malformed public key pem");
  WRIT_ASSIGN_OR_RETURN(KeyAlgorithm algorithm, Classify(key.get()));
  WRIT_ASSIGN_OR_RETURN(std::string raw, RawFromKey(key.get(), algorithm));
  return PublicKey(std::make_shared<Impl>(std::move(key), algorithm, std::move(raw)));
}

Result<PublicKey> PublicKey::FromJwk(const json::Value& jwk) {
  if (!jwk.is_object()) return Fail(Code::kInvalidArgument, "jwk must be an object");
  auto member = [&](std::string_view name) -> Result<std::string> {
    const json::Value* value = jwk.Find(name);
    if (value == nullptr || !value->is_string()) {
      return Fail(Code::kInvalidArgument, fmt::format("jwk member `{}` must be a string", name));
    }
    return value->as_string();
  };
  WRIT_ASSIGN_OR_RETURN(std::string kty, member("kty"));
  WRIT_ASSIGN_OR_RETURN(std::string crv, member("crv"));
  WRIT_ASSIGN_OR_RETURN(std::string x_text, member("x"));
  auto x = Base64UrlDecode(x_text);
  if (!x) return Fail(Code::kInvalidArgument, "jwk member `x` is not base64url");
  if (kty == "OKP" && crv == "Ed25519") return FromRaw(KeyAlgorithm::kEd25519, *x);
  if (kty == "EC" && crv == "P-256") {
    WRIT_ASSIGN_OR_RETURN(std::string y_text, member("y"));
    auto y = Base64UrlDecode(y_text);
    if (!y) return Fail(Code::kInvalidArgument, "jwk member `y` is not base64url");
    if (x->size() != kP256ScalarSize || y->size() != kP256ScalarSize) {
      return Fail(Code::kInvalidArgument, "jwk coordinates must be 32 bytes");
    }
    return FromRaw(KeyAlgorithm::kEs256, std::string("\x04", 1) + *x + *y);
  }
  return Fail(Code::kInvalidArgument, fmt::format("unsupported jwk kty `{}` crv `{}`", kty, crv));
}

KeyAlgorithm PublicKey::algorithm() const { return impl_->algorithm; }
std::string PublicKey::Raw() const { return impl_->raw; }
std::string PublicKey::ToDer() const { return SpkiDer(impl_->key.get()); }

std::string PublicKey::ToPem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), impl_->key.get()) != 1) return {};
  return ReadBio(bio.get());
}

json::Value PublicKey::ToJwk() const {
  json::Value jwk;
  const std::string& raw = impl_->raw;
  if (impl_->algorithm == KeyAlgorithm::kEd25519) {
    jwk.Set("kty", "OKP");
    jwk.Set("crv", "Ed25519");
    jwk.Set("x", Base64UrlEncode(raw));
  } else {
    jwk.Set("kty", "EC");
    jwk.Set("crv", "P-256");
    jwk.Set("x", Base64UrlEncode(std::string_view(raw).substr(1, kP256ScalarSize)));
    jwk.Set("y", Base64UrlEncode(std::string_view(raw).substr(1 + kP256ScalarSize, kP256ScalarSize)));
  }
  return jwk;
}

std::string PublicKey::Thumbprint() const {
  // RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
  const std::string& raw = impl_->raw;
  std::string canonical;
  if (impl_->algorithm == KeyAlgorithm::kEd25519) {
    canonical = R"({"crv":"Ed25519","kty":"OKP","x":")" + Base64UrlEncode(raw) + "\"}";
  } else {
    canonical = R"({"crv":"P-256","kty":"EC","x":")" +
                Base64UrlEncode(std::string_view(raw).substr(1, kP256ScalarSize)) + R"(","y":")" +
                Base64UrlEncode(std::string_view(raw).substr(1 + kP256ScalarSize, kP256ScalarSize)) + "\"}";
  }
  Sha256Digest digest = Sha256(canonical);
  return Base64UrlEncode(std::span<const uint8_t>(digest));
}

bool PublicKey::Verify(std::string_view message, std::string_view signature, SignatureFormat format) const {
  if (impl_->algorithm == KeyAlgorithm::kEd25519) {
    if (format != SignatureFormat::kRaw || signature.size() != 64) return false;
    MdCtx ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) != 1) return false;
    return EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(message), message.size()) == 1;
  }
  DerSignature der_buffer{};
  std::string_view der = signature;
  if (format == SignatureFormat::kRaw) {
    const size_t length = P1363ToDer(signature, der_buffer);
    if (length == 0) return false;
    der = std::string_view(reinterpret_cast<const char*>(der_buffer.data()), length);
  } else if (DerToP1363(signature).empty()) {
    return false;  // not strict DER
  }
  const Sha256Digest digest = Sha256(message);
  PkeyCtx ctx = impl_->verify_contexts.Take();
  if (!ctx) return false;
  const int verdict = EVP_PKEY_verify(ctx.get(), Bytes(der), der.size(), digest.data(), digest.size());
  if (verdict >= 0) impl_->verify_contexts.Give(std::move(ctx));  // 0 is a bad signature, not a broken context
  return verdict == 1;
}

bool operator==(const PublicKey& left, const PublicKey& right) {
  return left.impl_->algorithm == right.impl_->algorithm && left.impl_->raw == right.impl_->raw;
}

// ---------------------------------------------------------------------------------------------
// PrivateKey

struct PrivateKey::Impl {
  Impl(Pkey key_in, KeyAlgorithm algorithm_in, PublicKey public_key_in)
      : key(std::move(key_in)), algorithm(algorithm_in), public_key(std::move(public_key_in)),
        sign_contexts(key.get(), EcdsaContexts::Operation::kSign) {}
  Pkey key;
  KeyAlgorithm algorithm;
  PublicKey public_key;
  EcdsaContexts sign_contexts;  // ES256 only
};

PrivateKey::PrivateKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

namespace {
Result<PublicKey> PublicOf(EVP_PKEY* key) {
  std::string der = SpkiDer(key);
  if (der.empty()) return Fail(Code::kInternal, "cannot encode public key");
  return PublicKey::FromDer(der);
}
}  // namespace

Result<PrivateKey> PrivateKey::Generate(KeyAlgorithm algorithm) {
  Pkey key(algorithm == KeyAlgorithm::kEd25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                               : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return Fail(Code::kInternal, "key generation failed");
  WRIT_ASSIGN_OR_RETURN(PublicKey public_key, PublicOf(key.get()));
  return PrivateKey(std::make_shared<Impl>(std::move(key), algorithm, std::move(public_key)));
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Fail(Code::kInternal, "out of memory");
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Fail(Code::kInvalidArgument, "malformed private key pem");
  WRIT_ASSIGN_OR_RETURN(KeyAlgorithm algorithm, Classify(key.get()));
  WRIT_ASSIGN_OR_RETURN(PublicKey public_key, PublicOf(key.get()));
  return PrivateKey(std::make_shared<Impl>(std::move(key), algorithm, std::move(public_key)));
}

Result<PrivateKey> PrivateKey::FromEd25519Seed(std::string_view seed) {
  if (seed.size() != 32) return Fail(Code::kInvalidArgument, "ed25519 seed must be 32 bytes");
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(seed), seed.size()));
  if (!key) return Fail(Code::kInvalidArgument, "invalid ed25519 seed");
  WRIT_ASSIGN_OR_RETURN(PublicKey public_key, PublicOf(key.get()));
  return PrivateKey(
      std::make_shared<Impl>(std::move(key), KeyAlgorithm::kEd25519, std::move(public_key)));
}

KeyAlgorithm PrivateKey::algorithm() const { return impl_->algorithm; }
PublicKey PrivateKey::public_key() const { return impl_->public_key; }

std::string PrivateKey::ToPem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  return ReadBio(bio.get());
}

Result<std::string> PrivateKey::Sign(std::string_view message, SignatureFormat format) const {
  if (impl_->algorithm == KeyAlgorithm::kEd25519) {
    if (format == SignatureFormat::kDer) return Fail(Code::kInvalidArgument, "ed25519 signatures have no der form");
    MdCtx ctx(EVP_MD_CTX_new());
    std::string out(64, '\0');
    size_t length = out.size();
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length, Bytes(message),
                       message.size()) != 1 ||
        length != out.size()) {
      return Fail(Code::kInternal, "signing failed");
    }
    return out;
  }
  const Sha256Digest digest = Sha256(message);
  PkeyCtx ctx = impl_->sign_contexts.Take();
  if (!ctx) return Fail(Code::kInternal, "signing failed");
  DerSignature der{};
  size_t length = der.size();
  if (EVP_PKEY_sign(ctx.get(), der.data(), &length, digest.data(), digest.size()) != 1) {
    return Fail(Code::kInternal, "signing failed");
  }
  impl_->sign_contexts.Give(std::move(ctx));
  const std::string_view der_view(reinterpret_cast<const char*>(der.data()), length);
  if (format == SignatureFormat::kDer) return std::string(der_view);
  std::string raw = DerToP1363(der_view);
  if (raw.empty()) return Fail(Code::kInternal, "signing failed");
  return raw;
}

}  // namespace writ::crypto
