#include "token/claims.h"

#include <fmt/format.h>

namespace writ::token {
namespace {

constexpr size_t kMaxPayloadDepth = 8;
constexpr size_t kMaxAudiences = 16;

TokenResult<std::string> StringClaim(const json::Value& payload, std::string_view name, bool required) {
  const json::Value* value = payload.Find(name);
  if (value == nullptr) {
    if (required) return Reject(TokenErrorKind::kMalformed, fmt::format("claim `{}` is missing", name));
    return std::string();
  }
  if (!value->is_string()) return Reject(TokenErrorKind::kMalformed, fmt::format("claim `{}` must be a string", name));
  return value->as_string();
}

TokenResult<int64_t> TimeClaim(const json::Value& payload, std::string_view name, bool required, int64_t fallback) {
  const json::Value* value = payload.Find(name);
  if (value == nullptr) {
    if (required) return Reject(TokenErrorKind::kMalformed, fmt::format("claim `{}` is missing", name));
    return fallback;
  }
  if (!value->is_int()) return Reject(TokenErrorKind::kMalformed, fmt::format("claim `{}` must be an integer", name));
  return value->as_int();
}

}  // namespace

std::string SerializeClaims(const Claims& claims) {
  json::Writer w;
  w.BeginObject().Key("iss").String(claims.iss).Key("sub").String(claims.sub).Key("aud");
  if (claims.aud.size() == 1) {
    w.String(claims.aud.front());
  } else {
    w.BeginArray();
    for (const std::string& audience : claims.aud) w.String(audience);
    w.EndArray();
  }
  w.Key("exp").Int(claims.exp).Key("iat").Int(claims.iat).Key("nbf").Int(claims.nbf).Key("jti").String(claims.jti);
  if (!claims.task.empty()) w.Key("task").String(claims.task);
  if (!claims.scope.empty()) w.Key("scope").String(claims.scope);
  if (!claims.act.is_null()) w.Key("act").Json(claims.act);
  w.EndObject();
  return w.Take();
}

json::Value ClaimsToJson(const Claims& claims) {
  json::Value value;
  value.Set("iss", claims.iss);
  value.Set("sub", claims.sub);
  if (claims.aud.size() == 1) {
    value.Set("aud", claims.aud.front());
  } else {
    json::Value aud = json::Array{};
    for (const std::string& audience : claims.aud) aud.Append(audience);
    value.Set("aud", std::move(aud));
  }
  value.Set("exp", claims.exp);
  value.Set("iat", claims.iat);
  value.Set("nbf", claims.nbf);
  value.Set("jti", claims.jti);
  if (!claims.task.empty()) value.Set("task", claims.task);
  if (!claims.scope.empty()) value.Set("scope", claims.scope);
  if (!claims.act.is_null()) value.Set("act", claims.act);
  return value;
}

TokenResult<Claims> ParseClaims(std::string_view text) {
  auto payload = json::Parse(text, {.max_bytes = text.size() + 1, .max_depth = kMaxPayloadDepth});
  if (!payload || !payload->is_object()) return Reject(TokenErrorKind::kMalformed, "token payload is not a JSON object");
  Claims claims;
  auto iss = StringClaim(*payload, "iss", true);
  if (!iss) return tl::unexpected(iss.error());
  claims.iss = std::move(*iss);
  auto sub = StringClaim(*payload, "sub", true);
  if (!sub) return tl::unexpected(sub.error());
  claims.sub = std::move(*sub);
  auto jti = StringClaim(*payload, "jti", true);
  if (!jti) return tl::unexpected(jti.error());
  claims.jti = std::move(*jti);
  auto task = StringClaim(*payload, "task", false);
  if (!task) return tl::unexpected(task.error());
  claims.task = std::move(*task);
  auto scope = StringClaim(*payload, "scope", false);
  if (!scope) return tl::unexpected(scope.error());
  claims.scope = std::move(*scope);

  const json::Value* aud = payload->Find("aud");
  if (aud == nullptr) return Reject(TokenErrorKind::kMalformed, "claim `aud` is missing");
  if (aud->is_string()) {
    claims.aud.push_back(aud->as_string());
  } else if (aud->is_array() && !aud->as_array().empty() && aud->as_array().size() <= kMaxAudiences) {
    for (const json::Value& item : aud->as_array()) {
      if (!item.is_string()) return Reject(TokenErrorKind::kMalformed, "claim `aud` must hold strings");
      claims.aud.push_back(item.as_string());
    }
  } else {
    return Reject(TokenErrorKind::kMalformed, "claim `aud` must be a string or a non-empty array of strings");
  }
  if (const json::Value* act = payload->Find("act"); act != nullptr) {
    // Each level must be an object naming its actor.
    for (const json::Value* level = act; level != nullptr; level = level->Find("act")) {
      const json::Value* actor = level->Find("sub");
      if (!level->is_object() || actor == nullptr || !actor->is_string()) {
        return Reject(TokenErrorKind::kMalformed, "claim `act` must be an object with a string `sub` at every level");
      }
    }
    claims.act = *act;
  }
  auto exp = TimeClaim(*payload, "exp", true, 0);
  if (!exp) return tl::unexpected(exp.error());
  claims.exp = *exp;
  auto iat = TimeClaim(*payload, "iat", true, 0);
  if (!iat) return tl::unexpected(iat.error());
  claims.iat = *iat;
  auto nbf = TimeClaim(*payload, "nbf", false, claims.iat);
  if (!nbf) return tl::unexpected(nbf.error());
  claims.nbf = *nbf;
  return claims;
}

size_t DelegationDepth(const json::Value& act) {
  size_t depth = 0;
  for (const json::Value* level = &act; level != nullptr && level->is_object() && depth < 64; level = level->Find("act")) {
    ++depth;
  }
  return depth;
}

std::string CurrentActor(const Claims& claims) {
  const json::Value* actor = claims.act.Find("sub");
  return actor != nullptr && actor->is_string() ? actor->as_string() : std::string();
}

std::string AgentNameFromSpiffeId(std::string_view spiffe_id, std::string_view trust_domain) {
  const std::string prefix = fmt::format("spiffe://{}/agent/", trust_domain);
  if (spiffe_id.size() <= prefix.size() || spiffe_id.substr(0, prefix.size()) != prefix) return "";
  const std::string_view name = spiffe_id.substr(prefix.size());
  if (name.find('/') != std::string_view::npos) return "";
  return std::string(name);
}

}  // namespace writ::token
