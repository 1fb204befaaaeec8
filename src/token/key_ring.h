// The issuer's signing keys: generated at first start, sealed at rest (AES-256-GCM under a master
// key file readable only by writd's user), rotated on a schedule with an overlap window in which
// the previous keys still verify and stay in the JWKS. kid = RFC 7638 thumbprint.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/mutex.h"
#include "common/result.h"
#include "crypto/keys.h"

namespace writ::store {
class TokenStore;
}

namespace writ::token {

// Reads the 32-byte master key at `path`, creating it (0600, O_EXCL) when missing.
// Errors: kFailedPrecondition if the file is readable or writable by group or others, is not a
// regular file, or is not 32 bytes (the message says what to fix); kUnavailable on I/O errors.
Result<std::string> LoadOrCreateMasterKey(const std::string& path);

struct KeyRingOptions {
  crypto::KeyAlgorithm algorithm = crypto::KeyAlgorithm::kEs256;  // ES256: SPIFFE JWT-SVIDs allow no EdDSA
  std::chrono::seconds rotation_period{std::chrono::hours(24)};    // RotateIfDue rotates an older key
  // A retired key still verifies and stays in the JWKS this long; keep it >= the longest token TTL.
  std::chrono::seconds overlap{std::chrono::hours(24)};
  const Clock* clock = nullptr;  // borrowed; nullptr = SystemClock()
};

// One key as the ring holds it. Immutable.
struct SigningKey {
  std::string kid;
  crypto::PublicKey public_key;
  std::optional<crypto::PrivateKey> private_key;  // only the active key keeps it
  TimePoint created_at;
  std::optional<TimePoint> retired_at;            // nullopt: the active key
  int64_t sequence = 0;
};

// Thread-safe. Readers get immutable snapshots; Rotate swaps in a new one.
class KeyRing {
 public:
  // Loads the keys in `store` (unsealing them with `master_key`, 32 bytes) and generates the first
  // one when there is none, or rotates when the active key's algorithm is not options.algorithm. `store` is borrowed and must outlive the ring.
  // Errors: kDataLoss if a stored key does not open with this master key or its kid does not match;
  // kUnavailable if the store fails; kInvalidArgument for a bad master key size.
  static Result<std::unique_ptr<KeyRing>> Open(store::TokenStore& store, std::string master_key,
                                               const KeyRingOptions& options = {});

  // The key that signs new tokens. Never null.
  std::shared_ptr<const SigningKey> Active() const;

  // The key with `kid` if it may still verify now (active, or retired less than `overlap` ago);
  // nullptr otherwise.
  std::shared_ptr<const SigningKey> Find(std::string_view kid) const;

  // The instant after which a key with `kid` no longer verifies (TimePoint::max() for the active
  // key), or nullopt if unknown.
  std::optional<TimePoint> ValidUntil(const SigningKey& key) const;

  // Generates a new active key, retires the current one (durably, before the swap) and deletes
  // keys retired more than `overlap` ago. Returns the new kid. Errors: kUnavailable; kInternal.
  Result<std::string> Rotate();

  // Rotate() when the active key is older than rotation_period; returns whether it rotated.
  Result<bool> RotateIfDue();

  // {"keys":[…]}: the active key and the retired keys still inside the overlap, each with kid,
  // use "sig" and alg.
  json::Value Jwks() const;

  // Every key still held, oldest first.
  std::vector<std::shared_ptr<const SigningKey>> Keys() const;

  // Increases with every rotation (the sequence of the active key): SPIFFE `spiffe_sequence`.
  int64_t sequence() const { return Active()->sequence; }
  const KeyRingOptions& options() const { return options_; }

 private:
  struct Snapshot {
    std::vector<std::shared_ptr<const SigningKey>> keys;  // oldest first; INVARIANT: last is active
  };
  KeyRing(store::TokenStore& store, std::string master_key, KeyRingOptions options);
  const Clock& clock() const { return options_.clock != nullptr ? *options_.clock : SystemClock(); }
  std::shared_ptr<const Snapshot> snapshot() const;
  Result<std::string> RotateLocked() WRIT_REQUIRES(rotate_mu_);

  store::TokenStore& store_;
  const std::string master_key_;
  const KeyRingOptions options_;
  Mutex rotate_mu_;                                 // one rotation at a time
  mutable Mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_ WRIT_GUARDED_BY(mu_);
};

}  // namespace writ::token
