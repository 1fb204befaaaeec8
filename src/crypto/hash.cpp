#include "crypto/hash.h"

#include <cstdlib>
#include <cstring>

// SHA-256 runs through OpenSSL's low-level SHA256_* functions, deprecated in OpenSSL 3 in favour of
// EVP but still built into every OpenSSL 3 (Debian's included): on the ledger's hot paths (a node
// hash per leaf, one leaf hash per event) EVP's provider dispatch and per-digest init/final cost
// ~60 ns more per short hash (173 ns against 110 ns for a 65-byte tree node, CPU time, here). The
// same SHA-NI / AVX2 block function does the work in both.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "common/encoding.h"

namespace writ::crypto {
namespace {

// Fetched once: EVP_MD_fetch is slow, and the implicit fetch inside EVP_DigestInit_ex(EVP_sha256())
// costs a lock per call.
const EVP_MD* FetchedSha256() {
  static EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) std::abort();  // OpenSSL without SHA-256 cannot run writ at all
    return fetched;
  }();
  return md;
}

// Not OpenSSL 3's SHA256(): that one goes through EVP_Q_digest, which fetches the algorithm (a lock,
// a name lookup and an allocation) on every call.
Sha256Digest OneShot(const void* data, size_t size) {
  Sha256Digest out{};
  SHA256_CTX ctx;
  if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, data, size) != 1 || SHA256_Final(out.data(), &ctx) != 1) {
    std::abort();  // cannot fail; continuing would record wrong hashes
  }
  return out;
}

}  // namespace

Sha256Digest Sha256(std::string_view data) { return OneShot(data.data(), data.size()); }
Sha256Digest Sha256(std::span<const uint8_t> data) { return OneShot(data.data(), data.size()); }

struct Sha256Hasher::Impl {
  SHA256_CTX ctx;
  bool started = false;
  void Start() {
    if (SHA256_Init(&ctx) != 1) std::abort();  // cannot fail; continuing would record wrong hashes
    started = true;
  }
};

Sha256Hasher::Sha256Hasher() : impl_(std::make_unique<Impl>()) {}
Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::Update(std::string_view data) {
  if (!impl_->started) impl_->Start();
  if (SHA256_Update(&impl_->ctx, data.data(), data.size()) != 1) std::abort();
}

void Sha256Hasher::Update(std::span<const uint8_t> data) {
  Update(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

Sha256Digest Sha256Hasher::Finish() {
  if (!impl_->started) impl_->Start();
  Sha256Digest out{};
  if (SHA256_Final(out.data(), &impl_->ctx) != 1) std::abort();
  impl_->started = false;
  return out;
}

static_assert(sizeof(SHA256_CTX) == sizeof(Sha256Partial), "Sha256Partial holds one SHA256_CTX");

Sha256Partial::Sha256Partial() {
  SHA256_CTX ctx;
  if (SHA256_Init(&ctx) != 1) std::abort();
  std::memcpy(state_, &ctx, sizeof(ctx));
}

void Sha256Partial::Update(std::string_view data) {
  SHA256_CTX ctx;
  std::memcpy(&ctx, state_, sizeof(ctx));
  if (SHA256_Update(&ctx, data.data(), data.size()) != 1) std::abort();
  std::memcpy(state_, &ctx, sizeof(ctx));
}

Sha256Digest Sha256Partial::Finish() const {
  SHA256_CTX ctx;
  std::memcpy(&ctx, state_, sizeof(ctx));
  Sha256Digest out{};
  if (SHA256_Final(out.data(), &ctx) != 1) std::abort();
  return out;
}

Sha256Digest Sha256Partial::FinishWith(std::string_view suffix) const {
  SHA256_CTX ctx;
  std::memcpy(&ctx, state_, sizeof(ctx));
  Sha256Digest out{};
  if (SHA256_Update(&ctx, suffix.data(), suffix.size()) != 1 || SHA256_Final(out.data(), &ctx) != 1) std::abort();
  return out;
}

Sha256Digest HmacSha256(std::string_view key, std::string_view data) {
  Sha256Digest out{};
  unsigned int length = 0;
  // OpenSSL wants a non-null key pointer even for an empty key.
  static const char kEmpty = 0;
  const void* key_data = key.empty() ? &kEmpty : static_cast<const void*>(key.data());
  if (HMAC(FetchedSha256(), key_data, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &length) == nullptr) {
    std::abort();
  }
  return out;
}

bool VerifyHmacSha256(std::string_view key, std::string_view data, std::string_view mac) {
  Sha256Digest expected = HmacSha256(key, data);
  return ConstantTimeEquals(AsBytes(expected), mac);
}

}  // namespace writ::crypto
