#include "token/key_ring.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/log.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "store/token_store.h"
#include "token/jws.h"

namespace writ::token {
namespace {

std::string SealAad(std::string_view kid) { return fmt::format("writ/token/signing-key/{}", kid); }

Status WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return Fail(Code::kUnavailable, fmt::format("cannot write the master key: {}", std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return Ok();
}

Result<std::string> ReadMasterKey(int fd, const std::string& path) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    return Fail(Code::kUnavailable, fmt::format("cannot stat `{}`: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) return Fail(Code::kFailedPrecondition, fmt::format("`{}` is not a regular file", path));
  if ((info.st_mode & 077) != 0) {
    return Fail(Code::kFailedPrecondition,
                fmt::format("master key `{}` is accessible by group or others (mode {:o}); chmod 600 it", path,
                            info.st_mode & 0777));
  }
  if (info.st_uid != ::geteuid()) {
    return Fail(Code::kFailedPrecondition, fmt::format("master key `{}` is not owned by writd's user", path));
  }
  std::string key(crypto::kAes256KeySize + 1, '\0');
  size_t total = 0;
  while (total < key.size()) {
    const ssize_t got = ::read(fd, key.data() + total, key.size() - total);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Fail(Code::kUnavailable, fmt::format("cannot read `{}`: {}", path, std::strerror(errno)));
    if (got == 0) break;
    total += static_cast<size_t>(got);
  }
  if (total != crypto::kAes256KeySize) {
    return Fail(Code::kFailedPrecondition, fmt::format("master key `{}` must be exactly 32 bytes", path));
  }
  key.resize(total);
  return key;
}

}  // namespace

Result<std::string> LoadOrCreateMasterKey(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
      const std::string key = crypto::RandomBytes(crypto::kAes256KeySize);
      Status written = WriteAll(fd, key);
      if (written && ::fsync(fd) != 0) written = Fail(Code::kUnavailable, "cannot fsync the master key");
      ::close(fd);
      if (!written) {
        ::unlink(path.c_str());
        return Fail(written.error());
      }
      log::Info("created the token master key", {{"path", path}});
    }
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) return Fail(Code::kUnavailable, fmt::format("cannot open `{}`: {}", path, std::strerror(errno)));
  auto key = ReadMasterKey(fd, path);
  ::close(fd);
  return key;
}

KeyRing::KeyRing(store::TokenStore& store, std::string master_key, KeyRingOptions options)
    : store_(store), master_key_(std::move(master_key)), options_(options) {}

Result<std::unique_ptr<KeyRing>> KeyRing::Open(store::TokenStore& store, std::string master_key,
                                               const KeyRingOptions& options) {
  if (master_key.size() != crypto::kAes256KeySize) return Fail(Code::kInvalidArgument, "master key must be 32 bytes");
  std::unique_ptr<KeyRing> ring(new KeyRing(store, std::move(master_key), options));
  WRIT_ASSIGN_OR_RETURN(const std::vector<store::SigningKeyRecord> records, store.SigningKeys());
  auto snapshot = std::make_shared<Snapshot>();
  for (const store::SigningKeyRecord& record : records) {
    auto pem = crypto::Aes256GcmOpen(ring->master_key_, record.sealed_private_key, SealAad(record.kid));
    if (!pem) return Fail(Code::kDataLoss, fmt::format("signing key `{}` does not open with the master key", record.kid));
    WRIT_ASSIGN_OR_RETURN(crypto::PrivateKey private_key, crypto::PrivateKey::FromPem(*pem));
    auto key = std::make_shared<SigningKey>(SigningKey{
        .kid = private_key.public_key().Thumbprint(),
        .public_key = private_key.public_key(),
        .private_key = std::nullopt,
        .created_at = FromUnixMillis(record.created_at_ms),
        .retired_at = std::nullopt,
        .sequence = record.sequence,
    });
    if (key->kid != record.kid) return Fail(Code::kDataLoss, fmt::format("signing key `{}` has a different thumbprint", record.kid));
    if (record.retired_at_ms != 0) {
      key->retired_at = FromUnixMillis(record.retired_at_ms);
    } else {
      key->private_key = std::move(private_key);
    }
    snapshot->keys.push_back(std::move(key));
  }
  // A configured algorithm that differs from the active key's takes effect now; the old key keeps
  // verifying for the overlap like any retired key.
  const bool has_active = !snapshot->keys.empty() && !snapshot->keys.back()->retired_at &&
                          snapshot->keys.back()->public_key.algorithm() == options.algorithm;
  {
    MutexLock lock(ring->mu_);
    ring->snapshot_ = std::move(snapshot);
  }
  if (!has_active) {
    MutexLock rotate(ring->rotate_mu_);
    WRIT_RETURN_IF_ERROR(ring->RotateLocked());
  }
  return ring;
}

std::shared_ptr<const KeyRing::Snapshot> KeyRing::snapshot() const {
  MutexLock lock(mu_);
  return snapshot_;
}

std::shared_ptr<const SigningKey> KeyRing::Active() const { return snapshot()->keys.back(); }

std::optional<TimePoint> KeyRing::ValidUntil(const SigningKey& key) const {
  if (!key.retired_at) return TimePoint::max();
  return *key.retired_at + options_.overlap;
}

std::shared_ptr<const SigningKey> KeyRing::Find(std::string_view kid) const {
  const auto current = snapshot();
  const TimePoint now = clock().Now();
  for (const auto& key : current->keys) {
    if (key->kid == kid) return now < *ValidUntil(*key) ? key : nullptr;
  }
  return nullptr;
}

Result<std::string> KeyRing::Rotate() {
  MutexLock rotate(rotate_mu_);
  return RotateLocked();
}

Result<bool> KeyRing::RotateIfDue() {
  MutexLock rotate(rotate_mu_);
  if (clock().Now() - Active()->created_at < options_.rotation_period) return false;
  WRIT_RETURN_IF_ERROR(RotateLocked());
  return true;
}

Result<std::string> KeyRing::RotateLocked() {
  const auto current = snapshot();
  const TimePoint now = clock().Now();
  WRIT_ASSIGN_OR_RETURN(crypto::PrivateKey private_key, crypto::PrivateKey::Generate(options_.algorithm));
  const std::string kid = private_key.public_key().Thumbprint();
  WRIT_ASSIGN_OR_RETURN(std::string sealed, crypto::Aes256GcmSeal(master_key_, private_key.ToPem(), SealAad(kid)));
  const bool has_active = !current->keys.empty() && !current->keys.back()->retired_at;
  const int64_t sequence = current->keys.empty() ? 1 : current->keys.back()->sequence + 1;
  store::SigningKeyRecord record{kid, std::string(AlgFor(options_.algorithm)), std::move(sealed), ToUnixMillis(now), 0,
                                 sequence};
  // Durable first: a key that signed a token must be found again after a restart.
  WRIT_RETURN_IF_ERROR(store_.AddSigningKey(record, has_active ? current->keys.back()->kid : std::string()));

  auto next = std::make_shared<Snapshot>();
  for (const auto& key : current->keys) {
    auto copy = std::make_shared<SigningKey>(*key);
    if (!copy->retired_at) {
      copy->retired_at = now;
      copy->private_key.reset();
    }
    if (now < *ValidUntil(*copy)) next->keys.push_back(std::move(copy));
  }
  next->keys.push_back(std::make_shared<SigningKey>(SigningKey{
      .kid = kid,
      .public_key = private_key.public_key(),
      .private_key = std::move(private_key),
      .created_at = now,
      .retired_at = std::nullopt,
      .sequence = sequence,
  }));
  {
    MutexLock lock(mu_);
    snapshot_ = std::move(next);
  }
  // Keys past their overlap can never verify again; failing to delete them is harmless.
  const auto cutoff = ToUnixMillis(now - options_.overlap);
  if (auto deleted = store_.DeleteRetiredKeys(cutoff); !deleted) {
    log::Warn("could not delete retired signing keys", {{"error", deleted.error().message}});
  }
  log::Info("signing key rotated", {{"kid", kid}, {"sequence", sequence}});
  return kid;
}

std::vector<std::shared_ptr<const SigningKey>> KeyRing::Keys() const { return snapshot()->keys; }

json::Value KeyRing::Jwks() const {
  const auto current = snapshot();
  const TimePoint now = clock().Now();
  json::Value keys = json::Array{};
  // Newest first: clients that take the first key pick the active one.
  for (auto it = current->keys.rbegin(); it != current->keys.rend(); ++it) {
    const SigningKey& key = **it;
    if (now >= *ValidUntil(key)) continue;
    json::Value jwk = key.public_key.ToJwk();
    jwk.Set("kid", key.kid);
    jwk.Set("use", "sig");
    jwk.Set("alg", AlgFor(key.public_key.algorithm()));
    keys.Append(std::move(jwk));
  }
  json::Value jwks;
  jwks.Set("keys", std::move(keys));
  return jwks;
}

}  // namespace writ::token
