#include "token/dpop.h"

#include <fmt/format.h>

#include "common/encoding.h"
#include "crypto/hash.h"

namespace writ::token {
namespace {

constexpr size_t kMaxProofBytes = 4096;
constexpr size_t kMaxJtiLength = 128;

std::string StringClaim(const json::Value& payload, std::string_view name) {
  const json::Value* value = payload.Find(name);
  return value != nullptr && value->is_string() ? value->as_string() : std::string();
}

}  // namespace

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
