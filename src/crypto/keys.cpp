#include "crypto/keys.h"

#include <cstring>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/encoding.h"
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
struct SigDeleter {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
using EcdsaSig = std::unique_ptr<ECDSA_SIG, SigDeleter>;

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

// Strict P1363 (r ‖ s) → DER. Empty on a wrong length.
std::string P1363ToDer(std::string_view raw) {
  if (raw.size() != 2 * kP256ScalarSize) return {};
  EcdsaSig sig(ECDSA_SIG_new());
  if (!sig) return {};
  BIGNUM* r = BN_bin2bn(Bytes(raw), static_cast<int>(kP256ScalarSize), nullptr);
  BIGNUM* s = BN_bin2bn(Bytes(raw) + kP256ScalarSize, static_cast<int>(kP256ScalarSize), nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0) return {};
  std::string out(static_cast<size_t>(length), '\0');
  auto* cursor = reinterpret_cast<unsigned char*>(out.data());
  if (i2d_ECDSA_SIG(sig.get(), &cursor) != length) return {};
  return out;
}

// DER → P1363. Empty unless `der` is exactly the DER encoding of a signature.
std::string DerToP1363(std::string_view der) {
  const unsigned char* cursor = Bytes(der);
  EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())));
  if (!sig || cursor != Bytes(der) + der.size()) return {};
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(2 * kP256ScalarSize, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, bytes, static_cast<int>(kP256ScalarSize)) < 0 ||
      BN_bn2binpad(s, bytes + kP256ScalarSize, static_cast<int>(kP256ScalarSize)) < 0) {
    return {};
  }
  return out;
}

// True iff `der` is canonical DER (decoding and re-encoding gives the same bytes).
bool IsStrictDer(std::string_view der) {
  const unsigned char* cursor = Bytes(der);
  EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())));
  if (!sig || cursor != Bytes(der) + der.size()) return false;
  int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0 || static_cast<size_t>(length) != der.size()) return false;
  std::string again(static_cast<size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(again.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != length) return false;
  return again == der;
}

}  // namespace

std::string_view JoseAlgorithm(KeyAlgorithm algorithm) {
  return algorithm == KeyAlgorithm::kEd25519 ? "EdDSA" : "ES256";
}

// ---------------------------------------------------------------------------------------------
// PublicKey

struct PublicKey::Impl {
  Pkey key;
  KeyAlgorithm algorithm;
  std::string raw;  // cached Raw()
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
  auto impl = std::make_shared<Impl>(Impl{std::move(key), algorithm, std::move(raw)});
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
  return PublicKey(std::make_shared<Impl>(Impl{std::move(key), algorithm, std::move(raw)}));
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
  std::string der;
  const EVP_MD* md = nullptr;
  std::string_view to_check = signature;
  if (impl_->algorithm == KeyAlgorithm::kEd25519) {
    if (format != SignatureFormat::kRaw || signature.size() != 64) return false;
  } else {
    md = EVP_sha256();
    if (format == SignatureFormat::kRaw) {
      der = P1363ToDer(signature);
      if (der.empty()) return false;
      to_check = der;
    } else if (!IsStrictDer(signature)) {
      return false;
    }
  }
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, impl_->key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), Bytes(to_check), to_check.size(), Bytes(message), message.size()) == 1;
}

bool operator==(const PublicKey& left, const PublicKey& right) {
  return left.impl_->algorithm == right.impl_->algorithm && left.impl_->raw == right.impl_->raw;
}

// ---------------------------------------------------------------------------------------------
// PrivateKey

struct PrivateKey::Impl {
  Pkey key;
  KeyAlgorithm algorithm;
  PublicKey public_key;
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
  return PrivateKey(std::make_shared<Impl>(Impl{std::move(key), algorithm, std::move(public_key)}));
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Fail(Code::kInternal, "out of memory");
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Fail(Code::kInvalidArgument, "malformed private key pem");
  WRIT_ASSIGN_OR_RETURN(KeyAlgorithm algorithm, Classify(key.get()));
  WRIT_ASSIGN_OR_RETURN(PublicKey public_key, PublicOf(key.get()));
  return PrivateKey(std::make_shared<Impl>(Impl{std::move(key), algorithm, std::move(public_key)}));
}

Result<PrivateKey> PrivateKey::FromEd25519Seed(std::string_view seed) {
  if (seed.size() != 32) return Fail(Code::kInvalidArgument, "ed25519 seed must be 32 bytes");
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(seed), seed.size()));
  if (!key) return Fail(Code::kInvalidArgument, "invalid ed25519 seed");
  WRIT_ASSIGN_OR_RETURN(PublicKey public_key, PublicOf(key.get()));
  return PrivateKey(
      std::make_shared<Impl>(Impl{std::move(key), KeyAlgorithm::kEd25519, std::move(public_key)}));
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
  bool ed25519 = impl_->algorithm == KeyAlgorithm::kEd25519;
  if (ed25519 && format == SignatureFormat::kDer) {
    return Fail(Code::kInvalidArgument, "ed25519 signatures have no der form");
  }
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) return Fail(Code::kInternal, "out of memory");
  if (EVP_DigestSignInit(ctx.get(), nullptr, ed25519 ? nullptr : EVP_sha256(), nullptr, impl_->key.get()) != 1) {
    return Fail(Code::kInternal, "signing failed");
  }
  size_t length = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &length, Bytes(message), message.size()) != 1) {
    return Fail(Code::kInternal, "signing failed");
  }
  std::string out(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length, Bytes(message),
                     message.size()) != 1) {
    return Fail(Code::kInternal, "signing failed");
  }
  out.resize(length);
  if (ed25519 || format == SignatureFormat::kDer) return out;
  std::string raw = DerToP1363(out);
  if (raw.empty()) return Fail(Code::kInternal, "signing failed");
  return raw;
}

}  // namespace writ::crypto
