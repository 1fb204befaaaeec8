#include "crypto/aead.h"

#include <limits>
#include <memory>

#include <openssl/evp.h>

#include "crypto/random.h"

namespace writ::crypto {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

Status CheckSizes(std::string_view key, std::string_view nonce) {
  if (key.size() != kAes256KeySize) return Fail(Code::kInvalidArgument, "aes-256-gcm key must be 32 bytes");
  if (nonce.size() != kGcmNonceSize) return Fail(Code::kInvalidArgument, "aes-256-gcm nonce must be 12 bytes");
  return Ok();
}

constexpr size_t kMaxInput = size_t{std::numeric_limits<int>::max()} - 64;

}  // namespace

Result<std::string> Aes256GcmEncryptWithNonce(std::string_view key, std::string_view nonce,
                                              std::string_view plaintext, std::string_view aad) {
  WRIT_RETURN_IF_ERROR(CheckSizes(key, nonce));
  if (plaintext.size() > kMaxInput || aad.size() > kMaxInput) {
    return Fail(Code::kResourceExhausted, "aes-256-gcm input too large");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Fail(Code::kInternal, "out of memory");
  std::string out(plaintext.size() + kGcmTagSize, '\0');
  auto* out_bytes = reinterpret_cast<unsigned char*>(out.data());
  int length = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &length, Bytes(aad), static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), out_bytes, &length, Bytes(plaintext), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out_bytes + length, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagSize),
                          out_bytes + plaintext.size()) != 1) {
    return Fail(Code::kInternal, "aes-256-gcm encryption failed");
  }
  return out;
}

Result<std::string> Aes256GcmDecryptWithNonce(std::string_view key, std::string_view nonce,
                                              std::string_view ciphertext_and_tag,
                                              std::string_view aad) {
  WRIT_RETURN_IF_ERROR(CheckSizes(key, nonce));
  if (ciphertext_and_tag.size() < kGcmTagSize) return Fail(Code::kDataLoss, "aes-256-gcm box too short");
  if (ciphertext_and_tag.size() > kMaxInput || aad.size() > kMaxInput) {
    return Fail(Code::kResourceExhausted, "aes-256-gcm input too large");
  }
  size_t text_size = ciphertext_and_tag.size() - kGcmTagSize;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Fail(Code::kInternal, "out of memory");
  std::string out(text_size, '\0');
  auto* out_bytes = reinterpret_cast<unsigned char*>(out.data());
  std::string tag(ciphertext_and_tag.substr(text_size));
  int length = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &length, Bytes(aad), static_cast<int>(aad.size())) != 1) ||
      EVP_DecryptUpdate(ctx.get(), out_bytes, &length, Bytes(ciphertext_and_tag), static_cast<int>(text_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagSize), tag.data()) != 1) {
    return Fail(Code::kInternal, "aes-256-gcm decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out_bytes + length, &length) != 1) {
    return Fail(Code::kDataLoss, "aes-256-gcm authentication failed");
  }
  return out;
}

Result<std::string> Aes256GcmSeal(std::string_view key, std::string_view plaintext, std::string_view aad) {
  std::string nonce = RandomBytes(kGcmNonceSize);
  WRIT_ASSIGN_OR_RETURN(std::string sealed, Aes256GcmEncryptWithNonce(key, nonce, plaintext, aad));
  return nonce + sealed;
}

Result<std::string> Aes256GcmOpen(std::string_view key, std::string_view box, std::string_view aad) {
  if (key.size() != kAes256KeySize) return Fail(Code::kInvalidArgument, "aes-256-gcm key must be 32 bytes");
  if (box.size() < kGcmNonceSize + kGcmTagSize) return Fail(Code::kDataLoss, "aes-256-gcm box too short");
  return Aes256GcmDecryptWithNonce(key, box.substr(0, kGcmNonceSize), box.substr(kGcmNonceSize), aad);
}

}  // namespace writ::crypto
