#include "common/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <simdjson.h>

namespace writ::json {
namespace {

// Objects at or below this size check duplicates pairwise; larger ones sort their keys.
constexpr size_t kPairwiseDuplicateCheckLimit = 16;

Result<Value> Convert(const simdjson::dom::element& element, size_t depth, const ParseOptions& options);

const std::string* FindDuplicateKey(const Object& object) {
  if (object.size() <= kPairwiseDuplicateCheckLimit) {
    for (size_t left = 0; left < object.size(); ++left) {
      for (size_t right = left + 1; right < object.size(); ++right) {
        if (object[left].first == object[right].first) return &object[left].first;
      }
    }
    return nullptr;
  }
  std::vector<const std::string*> keys;
  keys.reserve(object.size());
  for (const auto& member : object) keys.push_back(&member.first);
  std::sort(keys.begin(), keys.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
  for (size_t index = 1; index < keys.size(); ++index) {
    if (*keys[index] == *keys[index - 1]) return keys[index];
  }
  return nullptr;
}

Result<Value> Convert(const simdjson::dom::element& element, size_t depth, const ParseOptions& options) {
  if (depth > options.max_depth) {
    return Fail(Code::kInvalidArgument, fmt::format("JSON nesting deeper than {} levels", options.max_depth));
  }
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::NULL_VALUE: return Value();
    case element_type::BOOL: return Value(bool(element.get_bool().value_unsafe()));
    case element_type::INT64: return Value(int64_t(element.get_int64().value_unsafe()));
    case element_type::UINT64: return Value(uint64_t(element.get_uint64().value_unsafe()));
    case element_type::DOUBLE: return Value(double(element.get_double().value_unsafe()));
    case element_type::STRING: return Value(std::string(element.get_string().value_unsafe()));
    case element_type::ARRAY: {
      simdjson::dom::array elements;
      if (element.get_array().get(elements) != simdjson::SUCCESS) return Fail(Code::kInternal, "JSON array expected");
      Array array;
      array.reserve(elements.size());
      for (const simdjson::dom::element child : elements) {
        WRIT_ASSIGN_OR_RETURN(Value converted, Convert(child, depth + 1, options));
        array.push_back(std::move(converted));
      }
      return Value(std::move(array));
    }
    case element_type::OBJECT: {
      simdjson::dom::object members;
      if (element.get_object().get(members) != simdjson::SUCCESS) return Fail(Code::kInternal, "JSON object expected");
      Object object;
      object.reserve(members.size());
      for (const simdjson::dom::key_value_pair member : members) {
        WRIT_ASSIGN_OR_RETURN(Value converted, Convert(member.value, depth + 1, options));
        object.emplace_back(std::string(member.key), std::move(converted));
      }
      if (options.reject_duplicate_keys) {
        if (const std::string* duplicate = FindDuplicateKey(object)) {
          std::string shown = Serialize(Value(std::string_view(*duplicate).substr(0, 64)));
          return Fail(Code::kInvalidArgument, fmt::format("JSON object has the key {} twice", shown));
        }
      }
      return Value(std::move(object));
    }
  }
  return Fail(Code::kInternal, "unknown simdjson element type");
}

void AppendNumber(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
  // The shortest form of a large double can be a bare integer (2.2e19 prints as 22222222222222222000)
  // that no 64-bit integer holds, so a reader would refuse it; a fraction keeps it a double.
  if (std::find_if(buffer, result.ptr, [](char c) { return c == '.' || c == 'e'; }) == result.ptr) out += ".0";
}

void AppendValue(std::string& out, const Value& value) {
  switch (value.type()) {
    case Type::kNull: out += "null"; break;
    case Type::kBool: out += value.as_bool() ? "true" : "false"; break;
    case Type::kInt: out += std::to_string(value.as_int()); break;
    case Type::kUint: out += std::to_string(value.as_uint()); break;
    case Type::kDouble: AppendNumber(out, value.as_double()); break;
    case Type::kString: AppendQuoted(out, value.as_string()); break;
    case Type::kArray: {
      out += '[';
      bool first = true;
      for (const Value& element : value.as_array()) {
        if (!first) out += ',';
        first = false;
        AppendValue(out, element);
      }
      out += ']';
      break;
    }
    case Type::kObject: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : value.as_object()) {
        if (!first) out += ',';
        first = false;
        AppendQuoted(out, key);
        out += ':';
        AppendValue(out, member);
      }
      out += '}';
      break;
    }
  }
}

// Length of the valid UTF-8 sequence starting at text[pos], or 0 if it is invalid.
size_t Utf8SequenceLength(std::string_view text, size_t pos) {
  const auto byte = [&](size_t at) { return static_cast<unsigned char>(text[at]); };
  const unsigned char lead = byte(pos);
  size_t length = 0;
  uint32_t min_code = 0;
  uint32_t code = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) == 0xc0) { length = 2; min_code = 0x80; code = lead & 0x1f; }
  else if ((lead & 0xf0) == 0xe0) { length = 3; min_code = 0x800; code = lead & 0x0f; }
  else if ((lead & 0xf8) == 0xf0) { length = 4; min_code = 0x10000; code = lead & 0x07; }
  else return 0;
  if (pos + length > text.size()) return 0;
  for (size_t index = 1; index < length; ++index) {
    if ((byte(pos + index) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(pos + index) & 0x3f);
  }
  if (code < min_code || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

}  // namespace

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kNull: return "null";
    case Type::kBool: return "boolean";
    case Type::kInt:
    case Type::kUint: return "integer";
    case Type::kDouble: return "number";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "unknown";
}

Value::Value(uint64_t value) {
  if (value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    data_ = static_cast<int64_t>(value);
  } else {
    data_ = value;
  }
}

double Value::as_double() const {
  switch (type()) {
    case Type::kInt: return static_cast<double>(as_int());
    case Type::kUint: return static_cast<double>(as_uint());
    default: return std::get<double>(data_);
  }
}

const Value* Value::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [name, member] : as_object()) {
    if (name == key) return &member;
  }
  return nullptr;
}

Value& Value::Set(std::string key, Value value) {
  if (is_null()) data_ = Object();
  Object& object = mutable_object();
  for (auto& [name, member] : object) {
    if (name == key) {
      member = std::move(value);
      return member;
    }
  }
  object.emplace_back(std::move(key), std::move(value));
  return object.back().second;
}

Value& Value::Append(Value value) {
  if (is_null()) data_ = Array();
  Array& array = mutable_array();
  array.push_back(std::move(value));
  return array.back();
}

Result<Value> Parse(std::string_view text, const ParseOptions& options) {
  if (text.size() > options.max_bytes) {
    return Fail(Code::kResourceExhausted,
                fmt::format("JSON text of {} bytes exceeds the limit of {} bytes", text.size(), options.max_bytes));
  }
  // One parser per thread: it keeps its buffers between calls, so parsing does not reallocate.
  thread_local simdjson::dom::parser parser;
  // simdjson's own depth limit guards its stack; our Convert enforces options.max_depth exactly.
  constexpr size_t kParserDepthCeiling = 1024;
  if (parser.max_depth() != kParserDepthCeiling || parser.capacity() < text.size()) {
    if (parser.allocate(std::max<size_t>(text.size(), 4096), kParserDepthCeiling) != simdjson::SUCCESS) {
      return Fail(Code::kResourceExhausted, "cannot allocate the JSON parser");
    }
  }
  simdjson::dom::element root;
  const auto error = parser.parse(text.data(), text.size()).get(root);
  if (error == simdjson::DEPTH_ERROR) {
    return Fail(Code::kInvalidArgument, fmt::format("JSON nesting deeper than {} levels", options.max_depth));
  }
  if (error != simdjson::SUCCESS) {
    return Fail(Code::kInvalidArgument, fmt::format("malformed JSON: {}", simdjson::error_message(error)));
  }
  return Convert(root, 1, options);
}

std::string Serialize(const Value& value) {
  std::string out;
  AppendValue(out, value);
  return out;
}

void AppendQuoted(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t pos = 0;
  while (pos < text.size()) {
    // Copy the run of bytes that need no escaping in one append (most strings are one such run).
    size_t run = pos;
    while (run < text.size()) {
      const unsigned char c = static_cast<unsigned char>(text[run]);
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') break;
      ++run;
    }
    if (run > pos) {
      out.append(text.substr(pos, run - pos));
      pos = run;
      continue;
    }
    const unsigned char ch = static_cast<unsigned char>(text[pos]);
    if (ch >= 0x80) {
      const size_t length = Utf8SequenceLength(text, pos);
      if (length == 0) {
        out += "\xef\xbf\xbd";  // U+FFFD REPLACEMENT CHARACTER
        ++pos;
      } else {
        out.append(text.substr(pos, length));
        pos += length;
      }
      continue;
    }
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (ch < 0x20 || ch == 0x7f) {
          out += "\\u00";
          out += kHex[ch >> 4];
          out += kHex[ch & 0x0f];
        } else {
          out += static_cast<char>(ch);
        }
    }
    ++pos;
  }
  out += '"';
}

void Writer::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!needs_comma_.empty()) {
    if (needs_comma_.back()) out_ += ',';
    needs_comma_.back() = true;
  }
}

Writer& Writer::BeginObject() {
  BeforeValue();
  out_ += '{';
  needs_comma_.push_back(false);
  return *this;
}

Writer& Writer::EndObject() {
  out_ += '}';
  needs_comma_.pop_back();
  return *this;
}

Writer& Writer::BeginArray() {
  BeforeValue();
  out_ += '[';
  needs_comma_.push_back(false);
  return *this;
}

Writer& Writer::EndArray() {
  out_ += ']';
  needs_comma_.pop_back();
  return *this;
}

Writer& Writer::Key(std::string_view key) {
  BeforeValue();
  AppendQuoted(out_, key);
  out_ += ':';
  after_key_ = true;
  return *this;
}

Writer& Writer::String(std::string_view value) {
  BeforeValue();
  AppendQuoted(out_, value);
  return *this;
}

Writer& Writer::Int(int64_t value) {
  BeforeValue();
  out_ += std::to_string(value);
  return *this;
}

Writer& Writer::Double(double value) {
  BeforeValue();
  AppendNumber(out_, value);
  return *this;
}

Writer& Writer::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
  return *this;
}

Writer& Writer::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}

Writer& Writer::Json(const Value& value) {
  BeforeValue();
  AppendValue(out_, value);
  return *this;
}

Writer& Writer::Raw(std::string_view json_text) {
  BeforeValue();
  out_ += json_text;
  return *this;
}

ObjectReader::ObjectReader(const Value& object, std::string context)
    : object_(object), context_(std::move(context)) {}

Status ObjectReader::CheckIsObject() const {
  if (object_.is_object()) return Ok();
  return Fail(Code::kInvalidArgument,
              fmt::format("{} must be a JSON object, not {}", context_, TypeName(object_.type())));
}

const Value* ObjectReader::Optional(std::string_view key) {
  seen_.emplace_back(key);
  const Value* value = object_.Find(key);
  return value == nullptr || value->is_null() ? nullptr : value;
}

Result<const Value*> ObjectReader::Typed(std::string_view key, Type type, bool required) {
  const Value* value = Optional(key);
  if (value == nullptr) {
    if (required) return Fail(Code::kInvalidArgument, fmt::format("{}.{} is required", context_, key));
    return nullptr;
  }
  if (value->type() != type) {
    return Fail(Code::kInvalidArgument, fmt::format("{}.{} must be a{} {}, not {}", context_, key,
                                                    type == Type::kInt || type == Type::kArray || type == Type::kObject ? "n" : "",
                                                    TypeName(type), TypeName(value->type())));
  }
  return value;
}

Result<std::string> ObjectReader::RequiredString(std::string_view key) {
  WRIT_ASSIGN_OR_RETURN(const Value* value, Typed(key, Type::kString, true));
  return value->as_string();
}

Result<std::optional<std::string>> ObjectReader::OptionalString(std::string_view key) {
  WRIT_ASSIGN_OR_RETURN(const Value* value, Typed(key, Type::kString, false));
  if (value == nullptr) return std::optional<std::string>();
  return std::optional<std::string>(value->as_string());
}

Result<std::optional<int64_t>> ObjectReader::OptionalInt(std::string_view key) {
  WRIT_ASSIGN_OR_RETURN(const Value* value, Typed(key, Type::kInt, false));
  if (value == nullptr) return std::optional<int64_t>();
  return std::optional<int64_t>(value->as_int());
}

Result<std::optional<bool>> ObjectReader::OptionalBool(std::string_view key) {
  WRIT_ASSIGN_OR_RETURN(const Value* value, Typed(key, Type::kBool, false));
  if (value == nullptr) return std::optional<bool>();
  return std::optional<bool>(value->as_bool());
}

Status ObjectReader::RejectUnknown() const {
  if (!object_.is_object()) return Ok();
  for (const auto& [name, member] : object_.as_object()) {
    if (std::find(seen_.begin(), seen_.end(), name) == seen_.end()) {
      std::string shown;
      AppendQuoted(shown, std::string_view(name).substr(0, 64));
      return Fail(Code::kInvalidArgument, fmt::format("{} has an unknown field {}", context_, shown));
    }
  }
  return Ok();
}

}  // namespace writ::json
