// AES-256-GCM authenticated encryption, for keys and secrets at rest.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace writ::crypto {

inline constexpr size_t kAes256KeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;

// Seals `plaintext` with a fresh random 96-bit nonce. `aad` is authenticated, not encrypted (bind
// the ciphertext to its purpose, e.g. "vault/secret/<id>"). Returns nonce ‖ ciphertext ‖ tag.
// A key must not seal more than 2^32 messages (random-nonce bound, NIST SP 800-38D §8.3).
// Errors: kInvalidArgument unless key is 32 bytes.
Result<std::string> Aes256GcmSeal(std::string_view key, std::string_view plaintext,
                                  std::string_view aad = {});

// Opens a box made by Aes256GcmSeal with the same key and aad.
// Errors: kInvalidArgument unless key is 32 bytes; kDataLoss if the box is too short or fails
// authentication (wrong key, wrong aad or modified bytes); nothing about the plaintext leaks.
Result<std::string> Aes256GcmOpen(std::string_view key, std::string_view box,
                                  std::string_view aad = {});

// The primitive with a caller-chosen nonce (known-answer tests). Returns ciphertext ‖ tag.
// REQUIRES: a nonce is never reused with the same key (that breaks GCM completely).
// Errors: kInvalidArgument unless key is 32 bytes and nonce 12 bytes.
Result<std::string> Aes256GcmEncryptWithNonce(std::string_view key, std::string_view nonce,
                                              std::string_view plaintext, std::string_view aad);
// Errors: as Aes256GcmOpen.
Result<std::string> Aes256GcmDecryptWithNonce(std::string_view key, std::string_view nonce,
                                              std::string_view ciphertext_and_tag,
                                              std::string_view aad);

}  // namespace writ::crypto
