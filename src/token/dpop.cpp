#include "token/dpop.h"

#include <fmt/format.h>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace writ::token {
namespace {

constexpr size_t kMaxProofBytes = 4096;
constexpr size_t kMaxJtiLength = 128;
constexpr size_t kNonceTimeBytes = 8;
constexpr size_t kNonceTagBytes = 16;
constexpr size_t kNonceKeyBytes = 32;

// The nonce's bytes for issue time `seconds`: big-endian time ‖ truncated HMAC of it.
std::string NonceBytes(std::string_view key, int64_t seconds) {
  std::string bytes(kNonceTimeBytes, '\0');
  for (size_t index = 0; index < kNonceTimeBytes; ++index) {
    bytes[kNonceTimeBytes - 1 - index] = static_cast<char>((static_cast<uint64_t>(seconds) >> (8 * index)) & 0xff);
  }
  const crypto::Sha256Digest tag = crypto::HmacSha256(key, bytes);
  bytes.append(reinterpret_cast<const char*>(tag.data()), kNonceTagBytes);
  return bytes;
}

std::string StringClaim(const json::Value& payload, std::string_view name) {
  const json::Value* value = payload.Find(name);
  return value != nullptr && value->is_string() ? value->as_string() : std::string();
}

}  // namespace

DpopVerifier::DpopVerifier(DpopOptions options)
    : options_(options), nonce_key_(crypto::RandomBytes(kNonceKeyBytes)) {}

std::string DpopVerifier::IssueNonce() const {
  return Base64UrlEncode(NonceBytes(nonce_key_, ToUnixSeconds(clock().Now())));
}

bool DpopVerifier::IsFreshNonce(std::string_view nonce, int64_t now) const {
  auto bytes = Base64UrlDecode(nonce);
  if (!bytes || bytes->size() != kNonceTimeBytes + kNonceTagBytes) return false;
  uint64_t issued = 0;
  for (size_t index = 0; index < kNonceTimeBytes; ++index) issued = issued << 8 | static_cast<unsigned char>((*bytes)[index]);
  const auto seconds = static_cast<int64_t>(issued);
  if (!ConstantTimeEquals(NonceBytes(nonce_key_, seconds), *bytes)) return false;
  // Issued here, not in the future (beyond a second of rounding), and not too long ago.
  return seconds <= now + 1 && now - seconds <= options_.nonce_lifetime.count();
}

std::string_view StripQueryAndFragment(std::string_view url) { return url.substr(0, url.find_first_of("?#")); }

TokenResult<std::string> DpopVerifier::Verify(const DpopProofRequest& request) {
  auto parsed = ParseCompact(request.proof, {.max_bytes = kMaxProofBytes, .require_kid = false, .allow_jwk_header = true});
  if (!parsed) {
    TokenError error = std::move(parsed).error();
    if (error.kind != TokenErrorKind::kAlgNone && error.kind != TokenErrorKind::kAlgNotAllowed) {
      error.kind = TokenErrorKind::kDpopInvalid;
    }
    error.message = "dpop proof: " + error.message;
    return tl::unexpected(std::move(error));
  }
  if (parsed->typ != "dpop+jwt") return Reject(TokenErrorKind::kDpopInvalid, "dpop proof: typ must be `dpop+jwt`");
  if (!parsed->jwk.is_object()) return Reject(TokenErrorKind::kDpopInvalid, "dpop proof: header `jwk` is missing");
  if (parsed->jwk.Find("d") != nullptr) {
    return Reject(TokenErrorKind::kDpopInvalid, "dpop proof: header `jwk` holds a private key");
  }
  auto key = crypto::PublicKey::FromJwk(parsed->jwk);
  if (!key) return Reject(TokenErrorKind::kDpopInvalid, "dpop proof: header `jwk` is not an ES256 or Ed25519 key");
  if (auto signature = VerifySignature(*parsed, *key); !signature) {
    return Reject(TokenErrorKind::kDpopInvalid, "dpop proof: " + signature.error().message);
  }
  auto payload = json::Parse(parsed->payload, {.max_bytes = kMaxProofBytes, .max_depth = 4});
  if (!payload || !payload->is_object()) return Reject(TokenErrorKind::kDpopInvalid, "dpop proof: payload is not a JSON object");
  const std::string jti = StringClaim(*payload, "jti");
  if (jti.empty() || jti.size() > kMaxJtiLength) return Reject(TokenErrorKind::kDpopInvalid, "dpop proof: `jti` is missing or too long");
  if (StringClaim(*payload, "htm") != request.method) {
    return Reject(TokenErrorKind::kDpopInvalid, "dpop proof: `htm` does not match the request method");
  }
  if (StripQueryAndFragment(StringClaim(*payload, "htu")) != StripQueryAndFragment(request.url)) {
    return Reject(TokenErrorKind::kDpopInvalid, "dpop proof: `htu` does not match the request url");
  }
  const json::Value* iat = payload->Find("iat");
  if (iat == nullptr || !iat->is_int()) return Reject(TokenErrorKind::kDpopInvalid, "dpop proof: `iat` is missing");
  const int64_t now = ToUnixSeconds(clock().Now());
  const int64_t window = options_.iat_window.count();
  if (iat->as_int() > now + window || iat->as_int() < now - window) {
    return Reject(TokenErrorKind::kDpopInvalid, fmt::format("dpop proof: `iat` is {}s away from now", iat->as_int() - now));
  }
  if (options_.require_nonce) {
    const std::string nonce = StringClaim(*payload, "nonce");
    if (nonce.empty()) return Reject(TokenErrorKind::kDpopUseNonce, "dpop proof: a `nonce` from the DPoP-Nonce header is required");
    if (!IsFreshNonce(nonce, now)) return Reject(TokenErrorKind::kDpopUseNonce, "dpop proof: `nonce` is stale or not issued here");
  }
  if (!request.access_token.empty()) {
    const std::string expected = Base64UrlEncode(crypto::AsBytes(crypto::Sha256(request.access_token)));
    if (!ConstantTimeEquals(StringClaim(*payload, "ath"), expected)) {
      return Reject(TokenErrorKind::kDpopInvalid, "dpop proof: `ath` does not match the presented token");
    }
  }
  {
    MutexLock lock(mu_);
    if (seen_.size() >= options_.max_remembered) {
      std::erase_if(seen_, [now](const auto& entry) { return entry.second < now; });
      if (seen_.size() >= options_.max_remembered) {
        return Reject(TokenErrorKind::kDpopInvalid, "dpop proof: too many recent proofs; retry shortly");
      }
    }
    const auto [slot, inserted] = seen_.emplace(jti, iat->as_int() + window);
    if (!inserted) return Reject(TokenErrorKind::kDpopReplayed, fmt::format("dpop proof `{}` was already used", jti));
  }
  return key->Thumbprint();
}

size_t DpopVerifier::remembered() const {
  MutexLock lock(mu_);
  return seen_.size();
}

}  // namespace writ::token
