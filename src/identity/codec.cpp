#include "identity/codec.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/clock.h"

namespace writ::identity {
namespace {

bool IsLowerHex(std::string_view text) {
  for (const char ch : text) {
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  }
  return true;
}

tl::unexpected<Error> BadField(std::string_view field, std::string_view what) {
  return Fail(Code::kInvalidArgument, fmt::format("field `{}` {}", field, what));
}

Result<std::string> ReadBoundedString(const json::Value& value, std::string_view field, size_t max_length) {
  if (!value.is_string()) return BadField(field, fmt::format("must be a string, not {}", json::TypeName(value.type())));
  if (value.as_string().size() > max_length) {
    return BadField(field, fmt::format("is longer than {} characters", max_length));
  }
  return value.as_string();
}

Result<std::vector<std::string>> ReadGroups(const json::Value& value) {
  if (!value.is_array()) return BadField("groups", "must be an array of group names");
  if (value.as_array().size() > kMaxGroups) {
    return BadField("groups", fmt::format("has more than {} entries", kMaxGroups));
  }
  std::vector<std::string> groups;
  for (const json::Value& element : value.as_array()) {
    if (!element.is_string()) return BadField("groups", "must be an array of group names");
    WRIT_RETURN_IF_ERROR(ValidateName(element.as_string()));
    if (std::find(groups.begin(), groups.end(), element.as_string()) == groups.end()) groups.push_back(element.as_string());
  }
  return groups;
}

Result<std::map<std::string, std::string>> ReadLabels(const json::Value& value) {
  if (!value.is_object()) return BadField("labels", "must be an object of string values");
  if (value.as_object().size() > kMaxLabels) {
    return BadField("labels", fmt::format("has more than {} entries", kMaxLabels));
  }
  std::map<std::string, std::string> labels;
  for (const auto& [key, label] : value.as_object()) {
    bool key_ok = !key.empty() && key.size() <= kMaxLabelKeyLength;
    for (const char ch : key) {
      key_ok = key_ok && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
                          ch == '_' || ch == '/');
    }
    if (!key_ok) {
      return BadField("labels", fmt::format("key `{}` must have 1 to {} characters from [a-z0-9._/-]",
                                                 std::string_view(key).substr(0, 64), kMaxLabelKeyLength))
                      ;
    }
    WRIT_ASSIGN_OR_RETURN(labels[key], ReadBoundedString(label, "labels." + key, kMaxLabelValueLength));
  }
  return labels;
}

Result<uint32_t> ReadId(const json::Value& value, std::string_view field) {
  if (!value.is_int() || value.as_int() < 0 || value.as_int() > 0xfffffffe) {
    return BadField(field, "must be a Unix id between 0 and 4294967294");
  }
  return static_cast<uint32_t>(value.as_int());
}

Result<std::chrono::seconds> ReadTtl(const json::Value& value) {
  if (!value.is_string()) return BadField("max_ttl", "must be a duration string such as `15m`");
  auto parsed = ParseDuration(value.as_string());
  if (!parsed) return BadField("max_ttl", parsed.error().message);
  const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(*parsed);
  if (ttl < std::chrono::seconds(1) || ttl > kMaxTokenTtlCap) {
    return BadField("max_ttl", fmt::format("must be between 1s and {}",
                                                FormatDuration(std::chrono::milliseconds(kMaxTokenTtlCap))))
                    ;
  }
  return ttl;
}

Result<Selectors> ReadSelectors(const json::Value& value) {
  json::ObjectReader reader(value, "selectors");
  WRIT_RETURN_IF_ERROR(reader.CheckIsObject());
  Selectors selectors;
  if (const json::Value* uid = reader.Optional("uid")) {
    WRIT_ASSIGN_OR_RETURN(selectors.uid, ReadId(*uid, "selectors.uid"));
  }
  if (const json::Value* gid = reader.Optional("gid")) {
    WRIT_ASSIGN_OR_RETURN(selectors.gid, ReadId(*gid, "selectors.gid"));
  }
  if (const json::Value* path = reader.Optional("exe_path")) {
    WRIT_ASSIGN_OR_RETURN(selectors.exe_path, ReadBoundedString(*path, "selectors.exe_path", kMaxPathLength));
    if (selectors.exe_path->empty() || selectors.exe_path->front() != '/') {
      return BadField("selectors.exe_path", "must be an absolute path");
    }
  }
  if (const json::Value* digest = reader.Optional("exe_sha256")) {
    WRIT_ASSIGN_OR_RETURN(selectors.exe_sha256, ReadBoundedString(*digest, "selectors.exe_sha256", 64));
    if (selectors.exe_sha256->size() != 64 || !IsLowerHex(*selectors.exe_sha256)) {
      return BadField("selectors.exe_sha256", "must be 64 lowercase hex digits");
    }
  }
  WRIT_RETURN_IF_ERROR(reader.RejectUnknown());
  return selectors;
}

// Reads the fields a caller may set (create and update share it), for an identity of `kind`.
Status ReadSettableFields(json::ObjectReader& reader, Kind kind, IdentityPatch& patch) {
  const bool agent = kind == Kind::kAgent;
  const bool human = kind == Kind::kHuman;
  auto only_for = [&](std::string_view field, bool applies, std::string_view kind_name) -> Status {
    if (applies) return Ok();
    return BadField(field, fmt::format("applies only to {}s", kind_name));
  };
  if (const json::Value* value = reader.Optional("description")) {
    WRIT_ASSIGN_OR_RETURN(patch.description, ReadBoundedString(*value, "description", kMaxDescriptionLength));
  }
  if (const json::Value* value = reader.Optional("groups")) {
    WRIT_ASSIGN_OR_RETURN(patch.groups, ReadGroups(*value));
  }
  if (const json::Value* value = reader.Optional("labels")) {
    WRIT_ASSIGN_OR_RETURN(patch.labels, ReadLabels(*value));
  }
  if (const json::Value* value = reader.Optional("owner")) {
    WRIT_RETURN_IF_ERROR(only_for("owner", agent, "agent"));
    WRIT_ASSIGN_OR_RETURN(patch.owner, ReadBoundedString(*value, "owner", 128));
    WRIT_RETURN_IF_ERROR(ValidateName(*patch.owner));
  }
  if (const json::Value* value = reader.Optional("tier")) {
    WRIT_RETURN_IF_ERROR(only_for("tier", agent, "agent"));
    if (!value->is_string()) return BadField("tier", "must be one of low, medium, high");
    WRIT_ASSIGN_OR_RETURN(patch.tier, ParseTier(value->as_string()));
  }
  if (const json::Value* value = reader.Optional("max_ttl")) {
    WRIT_RETURN_IF_ERROR(only_for("max_ttl", agent, "agent"));
    WRIT_ASSIGN_OR_RETURN(patch.max_ttl, ReadTtl(*value));
  }
  if (const json::Value* value = reader.Optional("selectors")) {
    WRIT_RETURN_IF_ERROR(only_for("selectors", agent, "agent"));
    WRIT_ASSIGN_OR_RETURN(patch.selectors, ReadSelectors(*value));
  }
  if (const json::Value* value = reader.Optional("uid")) {
    WRIT_RETURN_IF_ERROR(only_for("uid", human, "human"));
    WRIT_ASSIGN_OR_RETURN(const uint32_t uid, ReadId(*value, "uid"));
    patch.uid = std::optional<uint32_t>(uid);
  }
  if (const json::Value* value = reader.Optional("email")) {
    WRIT_RETURN_IF_ERROR(only_for("email", human, "human"));
    WRIT_ASSIGN_OR_RETURN(patch.email, ReadBoundedString(*value, "email", 254));
  }
  return Ok();
}

}  // namespace

json::Value ToJson(const Identity& identity) {
  json::Value out;
  out.Set("kind", KindName(identity.kind));
  out.Set("name", identity.name);
  out.Set("state", StateName(identity.state));
  out.Set("version", identity.version);
  if (!identity.description.empty()) out.Set("description", identity.description);
  json::Value groups = json::Array{};
  for (const std::string& group : identity.groups) groups.Append(group);
  out.Set("groups", std::move(groups));
  json::Value labels = json::Object{};
  for (const auto& [key, value] : identity.labels) labels.Set(key, value);
  out.Set("labels", std::move(labels));
  if (identity.kind == Kind::kAgent) {
    out.Set("spiffe_id", identity.spiffe_id);
    out.Set("owner", identity.owner);
    out.Set("tier", TierName(identity.tier));
    out.Set("max_ttl", FormatDuration(std::chrono::milliseconds(identity.max_ttl)));
    json::Value selectors = json::Object{};
    if (identity.selectors.uid) selectors.Set("uid", int64_t{*identity.selectors.uid});
    if (identity.selectors.gid) selectors.Set("gid", int64_t{*identity.selectors.gid});
    if (identity.selectors.exe_path) selectors.Set("exe_path", *identity.selectors.exe_path);
    if (identity.selectors.exe_sha256) selectors.Set("exe_sha256", *identity.selectors.exe_sha256);
    out.Set("selectors", std::move(selectors));
  }
  if (identity.kind == Kind::kHuman) {
    if (identity.uid) out.Set("uid", int64_t{*identity.uid});
    if (!identity.email.empty()) out.Set("email", identity.email);
  }
  out.Set("created_at", FormatRfc3339(identity.created_at));
  out.Set("updated_at", FormatRfc3339(identity.updated_at));
  return out;
}

void ApplyPatch(const IdentityPatch& patch, Identity& identity) {
  if (patch.description) identity.description = *patch.description;
  if (patch.groups) identity.groups = *patch.groups;
  if (patch.labels) identity.labels = *patch.labels;
  if (patch.owner) identity.owner = *patch.owner;
  if (patch.tier) identity.tier = *patch.tier;
  if (patch.max_ttl) identity.max_ttl = *patch.max_ttl;
  if (patch.selectors) identity.selectors = *patch.selectors;
  if (patch.uid) identity.uid = *patch.uid;
  if (patch.email) identity.email = *patch.email;
}

Result<Identity> ParseCreateRequest(const json::Value& body) {
  json::ObjectReader reader(body, "identity");
  WRIT_RETURN_IF_ERROR(reader.CheckIsObject());
  WRIT_ASSIGN_OR_RETURN(const std::string kind_name, reader.RequiredString("kind"));
  WRIT_ASSIGN_OR_RETURN(const Kind kind, ParseKind(kind_name));
  Identity identity;
  identity.kind = kind;
  WRIT_ASSIGN_OR_RETURN(identity.name, reader.RequiredString("name"));
  WRIT_RETURN_IF_ERROR(ValidateName(identity.name));
  IdentityPatch fields;
  WRIT_RETURN_IF_ERROR(ReadSettableFields(reader, kind, fields));
  for (const char* server_owned : {"state", "version", "spiffe_id", "created_at", "updated_at"}) {
    if (reader.Optional(server_owned) != nullptr) {
      return BadField(server_owned, "is set by writd and cannot be given");
    }
  }
  WRIT_RETURN_IF_ERROR(reader.RejectUnknown());
  if (kind == Kind::kAgent && !fields.owner) {
    return BadField("owner", "is required: every agent has an accountable human owner");
  }
  ApplyPatch(fields, identity);
  return identity;
}

Result<IdentityPatch> ParsePatch(Kind kind, const json::Value& body) {
  json::ObjectReader reader(body, "update");
  WRIT_RETURN_IF_ERROR(reader.CheckIsObject());
  IdentityPatch patch;
  // `uid: null` clears the mapping, so it is read before ReadSettableFields treats null as absent.
  const json::Value* uid = body.Find("uid");
  const bool clear_uid = uid != nullptr && uid->is_null();
  WRIT_RETURN_IF_ERROR(ReadSettableFields(reader, kind, patch));
  if (clear_uid) {
    if (kind != Kind::kHuman) return BadField("uid", "applies only to humans");
    patch.uid = std::optional<uint32_t>();
  }
  for (const char* fixed : {"kind", "name", "state", "version", "spiffe_id", "created_at", "updated_at"}) {
    if (body.Find(fixed) != nullptr) {
      return BadField(fixed, std::string_view(fixed) == "state"
                                 ? "cannot be updated; use suspend, resume, revoke or retire"
                                 : "cannot be updated");
    }
  }
  WRIT_RETURN_IF_ERROR(reader.RejectUnknown());
  if (patch.empty()) return Fail(Code::kInvalidArgument, "update changes nothing: give at least one field");
  return patch;
}

Result<Identity> ParseStoredDocument(std::string_view document) {
  auto corrupt = [&](const Error& error) {
    return Fail(Code::kDataLoss, fmt::format("stored identity does not parse: {}", error.message));
  };
  auto parsed = json::Parse(document, {.max_bytes = 1 << 22});
  if (!parsed) return corrupt(parsed.error());
  const json::Value& body = *parsed;
  json::ObjectReader reader(body, "identity");
  Identity identity;
  IdentityPatch fields;
  auto read = [&]() -> Status {
    WRIT_RETURN_IF_ERROR(reader.CheckIsObject());
    WRIT_ASSIGN_OR_RETURN(identity.kind, ParseKind(reader.RequiredString("kind").value_or("")));
    WRIT_ASSIGN_OR_RETURN(identity.name, reader.RequiredString("name"));
    WRIT_ASSIGN_OR_RETURN(const std::string state, reader.RequiredString("state"));
    WRIT_ASSIGN_OR_RETURN(identity.state, ParseState(state));
    WRIT_ASSIGN_OR_RETURN(const auto version, reader.OptionalInt("version"));
    identity.version = version.value_or(0);
    WRIT_ASSIGN_OR_RETURN(const auto spiffe_id, reader.OptionalString("spiffe_id"));
    identity.spiffe_id = spiffe_id.value_or("");
    WRIT_ASSIGN_OR_RETURN(const std::string created, reader.RequiredString("created_at"));
    WRIT_ASSIGN_OR_RETURN(identity.created_at, ParseRfc3339(created));
    WRIT_ASSIGN_OR_RETURN(const std::string updated, reader.RequiredString("updated_at"));
    WRIT_ASSIGN_OR_RETURN(identity.updated_at, ParseRfc3339(updated));
    WRIT_RETURN_IF_ERROR(ReadSettableFields(reader, identity.kind, fields));
    return reader.RejectUnknown();
  };
  const Status status = read();
  if (!status) return corrupt(status.error());
  ApplyPatch(fields, identity);
  return identity;
}

}  // namespace writ::identity
