#include "token/jws.h"

#include <array>

#include <fmt/format.h>

#include "common/encoding.h"

namespace writ::token {
namespace {

constexpr size_t kThumbprintKidLength = 43;  // base64url of 32 bytes, no padding
constexpr size_t kSignatureBase64Length = 86;  // base64url of the 64-byte ES256 (r ‖ s) or Ed25519 signature

// Header members a writ token may carry (SPIFFE JWT-SVID: alg, kid, typ only).
bool IsAllowedHeaderMember(std::string_view name) { return name == "alg" || name == "kid" || name == "typ"; }

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::string_view TokenErrorName(TokenErrorKind kind) {
  switch (kind) {
    case TokenErrorKind::kMalformed: return "malformed";
    case TokenErrorKind::kOversize: return "oversize";
    case TokenErrorKind::kAlgNone: return "alg_none";
    case TokenErrorKind::kAlgNotAllowed: return "alg_not_allowed";
    case TokenErrorKind::kForbiddenHeader: return "forbidden_header";
    case TokenErrorKind::kBadKid: return "bad_kid";
    case TokenErrorKind::kUnknownKid: return "unknown_kid";
    case TokenErrorKind::kBadSignature: return "bad_signature";
    case TokenErrorKind::kExpired: return "expired";
    case TokenErrorKind::kNotYetValid: return "not_yet_valid";
    case TokenErrorKind::kWrongAudience: return "wrong_audience";
    case TokenErrorKind::kWrongIssuer: return "wrong_issuer";
    case TokenErrorKind::kRevoked: return "revoked";
    case TokenErrorKind::kIdentityInactive: return "identity_inactive";
    case TokenErrorKind::kUnavailable: return "unavailable";
    case TokenErrorKind::kDpopRequired: return "dpop_required";
    case TokenErrorKind::kDpopInvalid: return "dpop_invalid";
    case TokenErrorKind::kDpopReplayed: return "dpop_replayed";
    case TokenErrorKind::kDpopMismatch: return "dpop_mismatch";
    case TokenErrorKind::kDpopUseNonce: return "use_dpop_nonce";
    case TokenErrorKind::kTruncated: return "truncated";
  }
  return "malformed";
}

Error TokenError::ToError() const {
  const Code code = kind == TokenErrorKind::kUnavailable ? Code::kUnavailable : Code::kUnauthenticated;
  return Error{code, fmt::format("{}: {}", TokenErrorName(kind), message)};
}

std::string_view AlgFor(crypto::KeyAlgorithm algorithm) {
  return algorithm == crypto::KeyAlgorithm::kEs256 ? "ES256" : "EdDSA";
}

TokenResult<crypto::KeyAlgorithm> ParseAlg(std::string_view alg) {
  if (alg == "ES256") return crypto::KeyAlgorithm::kEs256;
  if (alg == "EdDSA" || alg == "Ed25519") return crypto::KeyAlgorithm::kEd25519;
  // Case variants of "none" are refused as unsecured too.
  if (alg.size() == 4 && (alg[0] | 0x20) == 'n' && (alg[1] | 0x20) == 'o' && (alg[2] | 0x20) == 'n' &&
      (alg[3] | 0x20) == 'e') {
    return Reject(TokenErrorKind::kAlgNone, "unsecured tokens (alg `none`) are refused");
  }
  std::string shown(alg.substr(0, 16));
  for (char& c : shown) {
    if (!IsBase64UrlChar(c)) c = '?';
  }
  return Reject(TokenErrorKind::kAlgNotAllowed, fmt::format("alg `{}` is not allowed; use ES256 or EdDSA", shown));
}

bool IsThumbprintKid(std::string_view kid) {
  if (kid.size() != kThumbprintKidLength) return false;
  for (char c : kid) {
    if (!IsBase64UrlChar(c)) return false;
  }
  return true;
}

TokenResult<ParsedJws> ParseCompact(std::string_view token, const JwsLimits& limits) {
  if (token.size() > limits.max_bytes) {
    return Reject(TokenErrorKind::kOversize,
                  fmt::format("token is {} bytes, more than the limit of {}", token.size(), limits.max_bytes));
  }
  const size_t first_dot = token.find('.');
  const size_t second_dot = first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) {
    return Reject(TokenErrorKind::kTruncated, fmt::format("token has {} of the three parts of a compact JWS",
                                                          first_dot == std::string_view::npos ? 1 : 2));
  }
  if (token.find('.', second_dot + 1) != std::string_view::npos) {
    return Reject(TokenErrorKind::kMalformed, "token is not a compact JWS (three dot-separated parts)");
  }
  const std::string_view header_b64 = token.substr(0, first_dot);
  const std::string_view payload_b64 = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_b64 = token.substr(second_dot + 1);
  if (header_b64.empty()) return Reject(TokenErrorKind::kMalformed, "token has an empty header (truncated)");
  auto header_text = Base64UrlDecode(header_b64);
  auto payload = Base64UrlDecode(payload_b64);
  auto signature = Base64UrlDecode(signature_b64);
  // A signature cut short is reported as such once the header is known good (a cut may also leave
  // non-canonical base64url behind).
  const bool short_signature = signature_b64.size() < kSignatureBase64Length;
  if (!header_text || !payload || (!signature && !short_signature)) {
    return Reject(TokenErrorKind::kMalformed, "token part is not canonical base64url");
  }
  auto header = json::Parse(*header_text, {.max_bytes = limits.max_bytes, .max_depth = limits.max_json_depth});
  if (!header || !header->is_object()) {
    return Reject(TokenErrorKind::kMalformed, "token header is not a JSON object");
  }
  // Forbidden members first: a jku/x5u/jwk header must never be honoured, whatever its alg.
  for (const auto& [name, value] : header->as_object()) {
    if (!IsAllowedHeaderMember(name) && !(limits.allow_jwk_header && name == "jwk")) {
      std::string shown(std::string_view(name).substr(0, 16));
      for (char& c : shown) {
        if (!IsBase64UrlChar(c) && c != '#') c = '?';
      }
      return Reject(TokenErrorKind::kForbiddenHeader, fmt::format("header member `{}` is not accepted", shown));
    }
  }
  const json::Value* alg = header->Find("alg");
  if (alg == nullptr || !alg->is_string()) return Reject(TokenErrorKind::kMalformed, "header `alg` is missing");
  auto algorithm = ParseAlg(alg->as_string());
  if (!algorithm) return tl::unexpected(std::move(algorithm).error());

  ParsedJws parsed;
  parsed.algorithm = *algorithm;
  if (const json::Value* typ = header->Find("typ"); typ != nullptr) {
    if (!typ->is_string()) return Reject(TokenErrorKind::kMalformed, "header `typ` must be a string");
    parsed.typ = typ->as_string();
  }
  const json::Value* kid = header->Find("kid");
  if (kid != nullptr) {
    if (!kid->is_string()) return Reject(TokenErrorKind::kBadKid, "header `kid` must be a string");
    parsed.kid = kid->as_string();
    if (limits.require_kid && !IsThumbprintKid(parsed.kid)) {
      return Reject(TokenErrorKind::kBadKid, "header `kid` is not a key thumbprint");
    }
  } else if (limits.require_kid) {
    return Reject(TokenErrorKind::kBadKid, "header `kid` is missing");
  }
  if (short_signature) {
    return Reject(TokenErrorKind::kTruncated, fmt::format("token signature has {} of its {} base64url characters",
                                                          signature_b64.size(), kSignatureBase64Length));
  }
  if (const json::Value* jwk = header->Find("jwk"); jwk != nullptr) parsed.jwk = *jwk;
  parsed.signing_input = token.substr(0, second_dot);
  parsed.payload = std::move(*payload);
  parsed.signature = std::move(*signature);
  return parsed;
}

TokenResult<void> VerifySignature(const ParsedJws& parsed, const crypto::PublicKey& key) {
  if (key.algorithm() != parsed.algorithm) {
    return Reject(TokenErrorKind::kAlgNotAllowed, "header alg does not match the key's algorithm");
  }
  if (!key.Verify(parsed.signing_input, parsed.signature, crypto::SignatureFormat::kRaw)) {
    return Reject(TokenErrorKind::kBadSignature, "signature does not verify");
  }
  return {};
}

Result<std::string> SignCompact(const crypto::PrivateKey& key, std::string_view kid, std::string_view typ,
                                std::string_view payload) {
  json::Writer header;
  header.BeginObject().Key("alg").String(AlgFor(key.algorithm())).Key("kid").String(kid);
  if (!typ.empty()) header.Key("typ").String(typ);
  header.EndObject();
  const std::string encoded_header = Base64UrlEncode(header.str());
  // One buffer, sized once for the whole token.
  std::string token;
  token.reserve(encoded_header.size() + 1 + (payload.size() * 4 + 2) / 3 + 1 + kSignatureBase64Length);
  token += encoded_header;
  token += '.';
  token += Base64UrlEncode(payload);
  WRIT_ASSIGN_OR_RETURN(const std::string signature, key.Sign(token, crypto::SignatureFormat::kRaw));
  token += '.';
  token += Base64UrlEncode(signature);
  return token;
}

TokenResult<std::string> VerifyCompactWithJwk(std::string_view token, const json::Value& jwk) {
  if (!jwk.is_object()) return Reject(TokenErrorKind::kUnknownKid, "jwk is not an object");
  if (const json::Value* use = jwk.Find("use"); use != nullptr && !(use->is_string() && use->as_string() == "sig")) {
    return Reject(TokenErrorKind::kUnknownKid, "jwk `use` is not `sig`");
  }
  if (const json::Value* ops = jwk.Find("key_ops"); ops != nullptr) {
    bool verify = false;
    if (ops->is_array()) {
      for (const json::Value& op : ops->as_array()) verify = verify || (op.is_string() && op.as_string() == "verify");
    }
    if (!verify) return Reject(TokenErrorKind::kUnknownKid, "jwk `key_ops` does not allow `verify`");
  }
  auto key = crypto::PublicKey::FromJwk(jwk);
  if (!key) return Reject(TokenErrorKind::kUnknownKid, "jwk is not an ES256 or Ed25519 public key");
  auto parsed = ParseCompact(token, {.require_kid = false});
  if (!parsed) return tl::unexpected(std::move(parsed).error());
  if (const json::Value* alg = jwk.Find("alg"); alg != nullptr) {
    auto jwk_alg = alg->is_string() ? ParseAlg(alg->as_string()) : ParseAlg("");
    if (!jwk_alg || *jwk_alg != parsed->algorithm) {
      return Reject(TokenErrorKind::kAlgNotAllowed, "header alg does not match the jwk's `alg`");
    }
  }
  auto verified = VerifySignature(*parsed, *key);
  if (!verified) return tl::unexpected(std::move(verified).error());
  return std::move(parsed->payload);
}

}  // namespace writ::token
