#include "crypto/hash.h"

#include <cstdlib>

#include <openssl/evp.h>
#include <openssl/hmac.h>

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

struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

EVP_MD_CTX* NewCtx() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) std::abort();  // out of memory
  return ctx;
}

Sha256Digest OneShot(const void* data, size_t size) {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(NewCtx());
  Sha256Digest out{};
  unsigned int length = 0;
  if (EVP_DigestInit_ex(ctx.get(), FetchedSha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data, size) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &length) != 1) {
    std::abort();  // cannot fail with a valid context; continuing would record wrong hashes
  }
  return out;
}

}  // namespace

Sha256Digest Sha256(std::string_view data) { return OneShot(data.data(), data.size()); }
Sha256Digest Sha256(std::span<const uint8_t> data) { return OneShot(data.data(), data.size()); }

struct Sha256Hasher::Impl {
  std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx{NewCtx()};
  bool started = false;
  void Start() {
    if (EVP_DigestInit_ex(ctx.get(), FetchedSha256(), nullptr) != 1) std::abort();
    started = true;
  }
};

Sha256Hasher::Sha256Hasher() : impl_(std::make_unique<Impl>()) {}
Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::Update(std::string_view data) {
  if (!impl_->started) impl_->Start();
  if (EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size()) != 1) std::abort();
}

void Sha256Hasher::Update(std::span<const uint8_t> data) {
  Update(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

Sha256Digest Sha256Hasher::Finish() {
  if (!impl_->started) impl_->Start();
  Sha256Digest out{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(impl_->ctx.get(), out.data(), &length) != 1) std::abort();
  impl_->started = false;
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
