// SHA-256 (one-shot and incremental) and HMAC-SHA256, on OpenSSL 3. OpenSSL types stay in the .cpp.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace writ::crypto {

inline constexpr size_t kSha256Size = 32;
using Sha256Digest = std::array<uint8_t, kSha256Size>;

// SHA-256 of `data`. Thread-safe (each thread keeps its own reusable context).
Sha256Digest Sha256(std::string_view data);
Sha256Digest Sha256(std::span<const uint8_t> data);

// The digest as a byte string (32 bytes), for APIs that take std::string_view.
inline std::string_view AsBytes(const Sha256Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

// Incremental SHA-256: Update any number of times, then Finish once. Not thread-safe.
//   Sha256Hasher h; h.Update("ab"); h.Update("c"); Sha256Digest d = h.Finish();
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::string_view data);
  void Update(std::span<const uint8_t> data);
  // Returns the digest of everything given to Update and resets the hasher for reuse.
  Sha256Digest Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A SHA-256 computation in progress that can be copied: hash a long prefix on one thread, hand the
// state over, and finish with a short suffix on another (the ledger's appending threads hash each
// event's body; its single writer adds only the position tail). Trivially copyable, no allocation.
class Sha256Partial {
 public:
  Sha256Partial();  // the state of SHA-256 over no bytes
  void Update(std::string_view data);
  // The digest of everything given to Update; the partial state itself is left unchanged.
  Sha256Digest Finish() const;
  // The digest of everything given to Update followed by `suffix` (state unchanged).
  Sha256Digest FinishWith(std::string_view suffix) const;

 private:
  alignas(8) unsigned char state_[112];  // an OpenSSL SHA256_CTX (its size is checked in hash.cpp)
};

// HMAC-SHA256 (RFC 2104) of `data` under `key` (any length).
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// True when `mac` (any length) equals HMAC-SHA256(key, data); compares in constant time.
bool VerifyHmacSha256(std::string_view key, std::string_view data, std::string_view mac);

}  // namespace writ::crypto
