// JSON in writ: a small owned document model (Value), a bounded parser built on simdjson, an
// escape-correct writer, and ObjectReader for turning request bodies into typed fields with
// precise errors. simdjson stays inside json.cpp.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.h"

namespace writ::json {

class Value;
using Array = std::vector<Value>;
using Member = std::pair<std::string, Value>;
using Object = std::vector<Member>;  // keeps source order; keys unique when parsed with defaults

enum class Type : uint8_t { kNull, kBool, kInt, kUint, kDouble, kString, kArray, kObject };

// "null", "boolean", "integer", "number", "string", "array" or "object".
std::string_view TypeName(Type type);

class Value {
 public:
  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool value) : data_(value) {}
  Value(int value) : data_(int64_t{value}) {}
  Value(int64_t value) : data_(value) {}
  Value(uint64_t value);  // stored as kInt when it fits, so equal numbers compare equal
  Value(double value) : data_(value) {}
  Value(const char* value) : data_(std::string(value)) {}
  Value(std::string_view value) : data_(std::string(value)) {}
  Value(std::string value) : data_(std::move(value)) {}
  Value(Array value) : data_(std::move(value)) {}
  Value(Object value) : data_(std::move(value)) {}

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_int() const { return type() == Type::kInt; }  // fits in int64_t
  bool is_number() const { return type() == Type::kInt || type() == Type::kUint || type() == Type::kDouble; }
  bool is_string() const { return type() == Type::kString; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_object() const { return type() == Type::kObject; }

  // REQUIRES: the matching is_*() is true.
  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return std::get<int64_t>(data_); }
  uint64_t as_uint() const { return std::get<uint64_t>(data_); }
  double as_double() const;  // any number
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const Array& as_array() const { return std::get<Array>(data_); }
  const Object& as_object() const { return std::get<Object>(data_); }
  Array& mutable_array() { return std::get<Array>(data_); }
  Object& mutable_object() { return std::get<Object>(data_); }

  // The member named `key`, or nullptr if this is not an object or has no such member.
  const Value* Find(std::string_view key) const;
  // Sets member `key` (replacing an existing one). REQUIRES: is_object() or is_null() (becomes an object).
  Value& Set(std::string key, Value value);
  // Appends to an array. REQUIRES: is_array() or is_null() (becomes an array).
  Value& Append(Value value);

  friend bool operator==(const Value& left, const Value& right) = default;

 private:
  std::variant<std::monostate, bool, int64_t, uint64_t, double, std::string, Array, Object> data_;
};

struct ParseOptions {
  size_t max_bytes = 1 << 20;         // larger input: kResourceExhausted
  size_t max_depth = 64;              // deeper nesting: kInvalidArgument
  bool reject_duplicate_keys = true;  // `{"a":1,"a":2}` is ambiguous; refuse it
};

// Parses one JSON text (RFC 8259, UTF-8 validated).
// Errors: kResourceExhausted if text exceeds max_bytes; kInvalidArgument for malformed JSON,
// invalid UTF-8, nesting deeper than max_depth or a duplicate key; the message says which.
Result<Value> Parse(std::string_view text, const ParseOptions& options = {});

// Compact JSON text of `value`. Non-finite doubles are written as null.
std::string Serialize(const Value& value);

// Appends `text` as a JSON string literal (quotes included) to `out`. Control characters, quotes
// and backslashes are escaped; invalid UTF-8 bytes become U+FFFD so the output is always valid JSON.
void AppendQuoted(std::string& out, std::string_view text);

// Streams compact JSON into a string, inserting commas itself.
//   Writer w; w.BeginObject().Key("a").Int(1).EndObject(); w.str() == R"({"a":1})"
// REQUIRES: calls form a well-nested document (a Key before each value inside an object).
class Writer {
 public:
  Writer& BeginObject();
  Writer& EndObject();
  Writer& BeginArray();
  Writer& EndArray();
  Writer& Key(std::string_view key);
  Writer& String(std::string_view value);
  Writer& Int(int64_t value);
  Writer& Double(double value);
  Writer& Bool(bool value);
  Writer& Null();
  Writer& Json(const Value& value);
  Writer& Raw(std::string_view json_text);  // REQUIRES: json_text is one valid JSON value

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void BeforeValue();
  std::string out_;
  std::vector<bool> needs_comma_;  // one entry per open container
  bool after_key_ = false;
};

// Reads the members of one JSON object into typed values with precise errors, and can refuse
// members it was not asked about. Borrows `object`: it must outlive the reader.
//   ObjectReader reader(body, "identity");
//   auto name = reader.RequiredString("name");  // kInvalidArgument: "identity.name is required"
class ObjectReader {
 public:
  // `context` names the object in messages ("request", "agent.labels").
  ObjectReader(const Value& object, std::string context);
  ObjectReader(Value&& object, std::string context) = delete;  // would dangle

  // kInvalidArgument unless the value given to the constructor is an object.
  Status CheckIsObject() const;

  Result<std::string> RequiredString(std::string_view key);
  Result<std::optional<std::string>> OptionalString(std::string_view key);
  Result<std::optional<int64_t>> OptionalInt(std::string_view key);
  Result<std::optional<bool>> OptionalBool(std::string_view key);
  // The raw member (any type), or nullptr if absent (null counts as absent).
  const Value* Optional(std::string_view key);
  // Errors with kInvalidArgument naming the first member that no getter asked for.
  Status RejectUnknown() const;

 private:
  Result<const Value*> Typed(std::string_view key, Type type, bool required);
  const Value& object_;
  std::string context_;
  std::vector<std::string> seen_;
};

}  // namespace writ::json
