#include "ledger/event.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cctype>
#include <cstring>

#include <fmt/format.h>

#include "common/encoding.h"
#include "crypto/hash.h"

namespace writ::ledger {
namespace {

constexpr std::array<std::pair<EventKind, std::string_view>, 14> kKindNames = {{
    {EventKind::kDecision, "decision"},
    {EventKind::kTokenIssued, "token_issued"},
    {EventKind::kTokenRevoked, "token_revoked"},
    {EventKind::kIdentityChanged, "identity_changed"},
    {EventKind::kPolicyChanged, "policy_changed"},
    {EventKind::kApprovalRequested, "approval_requested"},
    {EventKind::kApprovalGranted, "approval_granted"},
    {EventKind::kApprovalDenied, "approval_denied"},
    {EventKind::kAlert, "alert"},
    {EventKind::kBreakerTripped, "breaker_tripped"},
    {EventKind::kReasoningTrace, "reasoning_trace"},
    {EventKind::kConfigChanged, "config_changed"},
    {EventKind::kCredentialIssued, "credential_issued"},
    {EventKind::kToolCallOutcome, "tool_call_outcome"},
}};

constexpr std::array<std::string_view, 16> kSecretNames = {
    "token",         "access_token", "refresh_token", "id_token",   "password",      "passwd",
    "secret",        "client_secret", "api_key",      "apikey",     "authorization", "credential",
    "credentials",   "private_key",  "cookie",        "set-cookie"};

bool EqualsIgnoringCase(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// True if `value` holds, at any depth, a member that Redact would replace.
bool HasSecretMember(const json::Value& value) {
  if (value.is_object()) {
    for (const auto& [name, member] : value.as_object()) {
      if (IsSecretDetailName(name) || HasSecretMember(member)) return true;
    }
  } else if (value.is_array()) {
    for (const json::Value& item : value.as_array()) {
      if (HasSecretMember(item)) return true;
    }
  }
  return false;
}

void Redact(json::Value& value, std::string_view key) {
  if (value.is_object()) {
    for (auto& [name, member] : value.mutable_object()) {
      if (IsSecretDetailName(name)) {
        std::string clear = member.is_string() ? member.as_string() : json::Serialize(member);
        member = json::Value(SecretFingerprint(key, clear));
      } else {
        Redact(member, key);
      }
    }
  } else if (value.is_array()) {
    for (json::Value& item : value.mutable_array()) Redact(item, key);
  }
}

// True when AppendQuoted would copy `text` unchanged between its quotes: printable ASCII without
// a quote or backslash (ids, names, hex digests: nearly every string the ledger writes).
bool IsPlain(std::string_view text) {
  // Eight bytes at a time: a word has a byte that needs escaping when one is < 0x20, > 0x7e, '"' or
  // '\\' (the classic "has a byte less than / more than / equal to" bit tricks; exact as a yes/no).
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  const auto needs_escape = [](uint64_t word) {
    const uint64_t below_space = (word - kOnes * 0x20) & ~word;
    const uint64_t above_tilde = (word + kOnes * (0x7f - 0x7e)) | word;
    const uint64_t quote = word ^ (kOnes * '"');
    const uint64_t backslash = word ^ (kOnes * '\\');
    return ((below_space | above_tilde | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash)) & kHighs) != 0;
  };
  size_t at = 0;
  for (; at + 8 <= text.size(); at += 8) {
    uint64_t word;
    std::memcpy(&word, text.data() + at, 8);
    if (needs_escape(word)) return false;
  }
  for (; at < text.size(); ++at) {
    const auto byte = static_cast<unsigned char>(text[at]);
    if (byte < 0x20 || byte >= 0x7f || byte == '"' || byte == '\\') return false;
  }
  return true;
}

// Exactly the bytes of json::AppendQuoted, without its per-run appends for plain strings.
void AppendString(std::string& out, std::string_view text) {
  if (!IsPlain(text)) return json::AppendQuoted(out, text);
  out.push_back('"');
  out.append(text);
  out.push_back('"');
}

template <class Integer>
void AppendInteger(std::string& out, Integer value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
  out.append(digits, static_cast<size_t>(end - digits));
}

// `member` is the separator, quoted name and colon, e.g. `,"actor":`.
void AppendOptional(std::string& out, std::string_view member, const std::string& value) {
  if (value.empty()) return;
  out.append(member);
  AppendString(out, value);
}

// Exactly json::Serialize's bytes for `value` (compact, members in their order), appended.
void AppendJson(std::string& out, const json::Value& value) {
  switch (value.type()) {
    case json::Type::kNull: out.append("null"); return;
    case json::Type::kBool: out.append(value.as_bool() ? "true" : "false"); return;
    case json::Type::kInt: AppendInteger(out, value.as_int()); return;
    case json::Type::kUint: AppendInteger(out, value.as_uint()); return;
    case json::Type::kDouble: out.append(json::Serialize(value)); return;  // rare: keep one formatter
    case json::Type::kString: AppendString(out, value.as_string()); return;
    case json::Type::kArray: {
      out.push_back('[');
      bool first = true;
      for (const json::Value& item : value.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        AppendJson(out, item);
      }
      out.push_back(']');
      return;
    }
    case json::Type::kObject: {
      out.push_back('{');
      bool first = true;
      for (const auto& [name, member] : value.as_object()) {
        if (!first) out.push_back(',');
        first = false;
        AppendString(out, name);
        out.push_back(':');
        AppendJson(out, member);
      }
      out.push_back('}');
      return;
    }
  }
}

// An upper estimate of the encoded size of plain content (escapes may need more: the string grows).
size_t EstimateJson(const json::Value& value) {
  switch (value.type()) {
    case json::Type::kString: return value.as_string().size() + 2;
    case json::Type::kArray: {
      size_t size = 2;
      for (const json::Value& item : value.as_array()) size += EstimateJson(item) + 1;
      return size;
    }
    case json::Type::kObject: {
      size_t size = 2;
      for (const auto& [name, member] : value.as_object()) size += name.size() + 4 + EstimateJson(member);
      return size;
    }
    default: return 24;
  }
}

size_t EstimateBody(const Event& event, const json::Value& details) {
  // The fixed members and names take < 200 bytes; each string adds its length and quotes.
  size_t size = 200 + event.id.size() + event.actor.size() + event.subject.size() + event.action.size() +
                event.resource.size() + event.policy_set_version.size() + event.correlation_id.size() +
                event.trace_id.size();
  for (const std::string& policy : event.policy_ids) size += policy.size() + 3;
  if (details.is_object()) size += EstimateJson(details);
  return size;
}

Result<std::string> RequiredString(const json::Value& object, std::string_view key) {
  const json::Value* value = object.Find(key);
  if (value == nullptr || !value->is_string()) {
    return Fail(Code::kDataLoss, fmt::format("event member `{}` is missing or not a string", key));
  }
  return value->as_string();
}

std::string OptionalString(const json::Value& object, std::string_view key) {
  const json::Value* value = object.Find(key);
  return value != nullptr && value->is_string() ? value->as_string() : std::string();
}

}  // namespace

std::string_view EventKindName(EventKind kind) {
  for (const auto& [value, name] : kKindNames) {
    if (value == kind) return name;
  }
  return "unknown";
}

Result<EventKind> ParseEventKind(std::string_view name) {
  for (const auto& [value, kind_name] : kKindNames) {
    if (kind_name == name) return value;
  }
  return Fail(Code::kInvalidArgument, fmt::format("unknown event kind `{}`", name));
}

std::string_view DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kNone: return "";
    case Decision::kAllow: return "allow";
    case Decision::kDeny: return "deny";
    case Decision::kApprovalRequired: return "approval_required";
  }
  return "";
}

bool IsSecretDetailName(std::string_view name) {
  return std::any_of(kSecretNames.begin(), kSecretNames.end(),
                     [&](std::string_view secret) { return EqualsIgnoringCase(name, secret); });
}

std::string SecretFingerprint(std::string_view key, std::string_view value) {
  if (key.empty()) return "redacted";
  crypto::Sha256Digest mac = crypto::HmacSha256(key, value);
  return "hmac-sha256:" + Base64UrlEncode(std::span<const uint8_t>(mac));
}

Result<std::string> EncodeEventBody(const Event& event, const EncodeOptions& options) {
  std::string body;
  WRIT_RETURN_IF_ERROR(EncodeEventBodyInto(event, options, body));
  return body;
}

Status EncodeEventBodyInto(const Event& event, const EncodeOptions& options, std::string& body) {
  if (!event.details.is_null() && !event.details.is_object()) {
    return Fail(Code::kInvalidArgument, "event details must be a json object");
  }
  // Copy the details only when something in them must be replaced (the common case copies nothing).
  std::optional<json::Value> redacted;
  if (!event.secrets.empty() || HasSecretMember(event.details)) {
    redacted = event.details;
    Redact(*redacted, options.hmac_key);
    for (const auto& [name, value] : event.secrets) {
      if (name.empty()) return Fail(Code::kInvalidArgument, "secret field name is empty");
      redacted->Set(name, SecretFingerprint(options.hmac_key, value));
    }
  }
  const json::Value& details = redacted ? *redacted : event.details;
  // Written directly (no json::Writer: no comma bookkeeping, one allocation), with exactly the bytes
  // docs/ledger_format.md §1 fixes; tests/ledger/event_test.cpp compares them with a json::Writer
  // encoding of the same members.
  body.clear();
  body.reserve(EstimateBody(event, details));
  body.append("{\"v\":1,\"id\":");
  AppendString(body, event.id);
  body.append(",\"time\":");
  AppendInteger(body, ToUnixMillis(event.time));
  body.append(",\"kind\":\"");
  body.append(EventKindName(event.kind));  // plain ASCII names
  body.push_back('"');
  AppendOptional(body, ",\"actor\":", event.actor);
  AppendOptional(body, ",\"subject\":", event.subject);
  AppendOptional(body, ",\"action\":", event.action);
  AppendOptional(body, ",\"resource\":", event.resource);
  if (event.decision != Decision::kNone) {
    body.append(",\"decision\":\"");
    body.append(DecisionName(event.decision));
    body.push_back('"');
  }
  if (!event.policy_ids.empty()) {
    body.append(",\"policies\":[");
    for (size_t i = 0; i < event.policy_ids.size(); ++i) {
      if (i > 0) body.push_back(',');
      AppendString(body, event.policy_ids[i]);
    }
    body.push_back(']');
  }
  AppendOptional(body, ",\"policy_set_version\":", event.policy_set_version);
  AppendOptional(body, ",\"correlation_id\":", event.correlation_id);
  AppendOptional(body, ",\"trace_id\":", event.trace_id);
  if (details.is_object()) {
    body.append(",\"details\":");
    AppendJson(body, details);
  }
  // No closing brace: EncodeLeaf adds the position first.
  if (body.size() + 128 > options.max_event_bytes) {
    return Fail(Code::kResourceExhausted,
                fmt::format("event is {} bytes, more than the limit of {}", body.size(), options.max_event_bytes));
  }
  return Ok();
}

std::string_view FormatLeafTail(uint64_t seq, std::string_view prev_hash, char (&out)[kLeafTailBuffer]) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static constexpr std::string_view kSeq = ",\"seq\":";
  static constexpr std::string_view kPrev = ",\"prev\":\"";
  char* at = out;
  std::memcpy(at, kSeq.data(), kSeq.size());
  at += kSeq.size();
  char digits[20];
  size_t count = 0;
  do {
    digits[count++] = static_cast<char>('0' + seq % 10);
    seq /= 10;
  } while (seq != 0);
  while (count > 0) *at++ = digits[--count];
  std::memcpy(at, kPrev.data(), kPrev.size());
  at += kPrev.size();
  // Standard base64 of 32 bytes: ten 3-byte groups, then two bytes and one '='.
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(prev_hash[i])); };
  size_t i = 0;
  for (; i + 3 <= 32; i += 3) {
    const uint32_t group = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    *at++ = kAlphabet[group >> 18 & 63];
    *at++ = kAlphabet[group >> 12 & 63];
    *at++ = kAlphabet[group >> 6 & 63];
    *at++ = kAlphabet[group & 63];
  }
  const uint32_t last = byte(i) << 16 | byte(i + 1) << 8;
  *at++ = kAlphabet[last >> 18 & 63];
  *at++ = kAlphabet[last >> 12 & 63];
  *at++ = kAlphabet[last >> 6 & 63];
  *at++ = '=';
  *at++ = '"';
  *at++ = '}';
  return std::string_view(out, static_cast<size_t>(at - out));
}

std::string EncodeLeaf(std::string_view body, uint64_t seq, std::string_view prev_hash) {
  char buffer[kLeafTailBuffer];
  std::string_view tail = FormatLeafTail(seq, prev_hash, buffer);
  std::string leaf;
  leaf.reserve(body.size() + tail.size());
  leaf.append(body);
  leaf.append(tail);
  return leaf;
}

Result<DecodedEvent> DecodeLeaf(std::string_view leaf) {
  auto parsed = json::Parse(leaf);
  if (!parsed) return Fail(Code::kDataLoss, "event is not valid json: " + parsed.error().message);
  const json::Value& root = *parsed;
  if (!root.is_object()) return Fail(Code::kDataLoss, "event is not a json object");
  const json::Value* version = root.Find("v");
  if (version == nullptr || !version->is_int() || version->as_int() != 1) {
    return Fail(Code::kDataLoss, "event format version is not 1");
  }
  DecodedEvent decoded;
  Event& event = decoded.event;
  WRIT_ASSIGN_OR_RETURN(event.id, RequiredString(root, "id"));
  const json::Value* time = root.Find("time");
  if (time == nullptr || !time->is_int()) return Fail(Code::kDataLoss, "event time is missing");
  event.time = FromUnixMillis(time->as_int());
  WRIT_ASSIGN_OR_RETURN(std::string kind, RequiredString(root, "kind"));
  auto parsed_kind = ParseEventKind(kind);
  if (!parsed_kind) return Fail(Code::kDataLoss, parsed_kind.error().message);
  event.kind = *parsed_kind;
  event.actor = OptionalString(root, "actor");
  event.subject = OptionalString(root, "subject");
  event.action = OptionalString(root, "action");
  event.resource = OptionalString(root, "resource");
  std::string decision = OptionalString(root, "decision");
  if (decision == "allow") event.decision = Decision::kAllow;
  else if (decision == "deny") event.decision = Decision::kDeny;
  else if (decision == "approval_required") event.decision = Decision::kApprovalRequired;
  else if (!decision.empty()) return Fail(Code::kDataLoss, fmt::format("unknown decision `{}`", decision));
  if (const json::Value* policies = root.Find("policies"); policies != nullptr && policies->is_array()) {
    for (const json::Value& policy : policies->as_array()) {
      if (policy.is_string()) event.policy_ids.push_back(policy.as_string());
    }
  }
  event.policy_set_version = OptionalString(root, "policy_set_version");
  event.correlation_id = OptionalString(root, "correlation_id");
  event.trace_id = OptionalString(root, "trace_id");
  if (const json::Value* details = root.Find("details")) event.details = *details;
  const json::Value* seq = root.Find("seq");
  if (seq == nullptr || !seq->is_int() || seq->as_int() < 0) return Fail(Code::kDataLoss, "event seq is missing");
  decoded.seq = static_cast<uint64_t>(seq->as_int());
  WRIT_ASSIGN_OR_RETURN(std::string prev, RequiredString(root, "prev"));
  auto prev_bytes = Base64Decode(prev);
  if (!prev_bytes || prev_bytes->size() != 32) return Fail(Code::kDataLoss, "event prev is not a base64 hash");
  decoded.prev = std::move(*prev_bytes);
  return decoded;
}

}  // namespace writ::ledger
