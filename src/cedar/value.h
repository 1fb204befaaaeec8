// Cedar runtime values: entity UIDs, the four extension types, sets and records. Values are
// immutable and cheap to copy (strings, sets and records are shared, never deep-copied).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace writ::cedar {

// An entity's unique id, `Type::"id"`. `type` is the full path, e.g. "NS::User".
struct EntityUid {
  std::string type;
  std::string id;
  friend bool operator==(const EntityUid&, const EntityUid&) = default;
  friend auto operator<=>(const EntityUid&, const EntityUid&) = default;
};
struct EntityUidHash {
  size_t operator()(const EntityUid& uid) const noexcept;
};
// `Type::"id"` with the id escaped as in policy text.
std::string ToString(const EntityUid& uid);

enum class ExtKind : uint8_t { kIpAddr, kDecimal, kDatetime, kDuration };

// ipaddr: an address and a prefix length (32 or 128 when no `/n` was given). Not masked.
struct IpAddr {
  bool v6 = false;
  uint8_t prefix = 32;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4
  friend bool operator==(const IpAddr&, const IpAddr&) = default;
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

// An extension value. decimal: value * 10^4; datetime: ms since the epoch; duration: ms.
struct ExtValue {
  ExtKind kind = ExtKind::kDecimal;
  int64_t num = 0;
  IpAddr ip;
  friend bool operator==(const ExtValue&, const ExtValue&) = default;
  friend auto operator<=>(const ExtValue&, const ExtValue&) = default;
};

class Value;
// INVARIANT: sorted by Compare and without duplicates.
using SetElems = std::vector<Value>;
// INVARIANT: sorted by key, keys unique.
using RecordFields = std::vector<std::pair<std::string, Value>>;

enum class ValueKind : uint8_t { kBool, kLong, kString, kEntity, kSet, kRecord, kExt };
// "bool", "long", "string", "entity", "set", "record", "extension value"
std::string_view KindName(ValueKind kind);

class Value {
 public:
  Value() : data_(false) {}
  static Value Bool(bool b) { return Value(Data(b)); }
  static Value Long(int64_t n) { return Value(Data(n)); }
  static Value String(std::string s);
  static Value Entity(EntityUid uid);
  // Sorts and deduplicates `elems`.
  static Value Set(SetElems elems);
  // Sorts `fields`; on duplicate keys the last one wins.
  static Value Record(RecordFields fields);
  static Value Ext(ExtValue ext) { return Value(Data(ext)); }

  ValueKind kind() const { return static_cast<ValueKind>(data_.index()); }
  bool is_bool() const { return kind() == ValueKind::kBool; }
  bool is_long() const { return kind() == ValueKind::kLong; }
  bool is_string() const { return kind() == ValueKind::kString; }
  bool is_entity() const { return kind() == ValueKind::kEntity; }
  bool is_set() const { return kind() == ValueKind::kSet; }
  bool is_record() const { return kind() == ValueKind::kRecord; }
  bool is_ext() const { return kind() == ValueKind::kExt; }
  bool is_ext(ExtKind k) const { return is_ext() && as_ext().kind == k; }

  // REQUIRES: the matching is_*() holds.
  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_long() const { return std::get<int64_t>(data_); }
  const std::string& as_string() const { return *std::get<StrPtr>(data_); }
  const EntityUid& as_entity() const { return *std::get<UidPtr>(data_); }
  const SetElems& as_set() const { return *std::get<SetPtr>(data_); }
  const RecordFields& as_record() const { return *std::get<RecPtr>(data_); }
  const ExtValue& as_ext() const { return std::get<ExtValue>(data_); }

  // The field `key` of a record, or nullptr. REQUIRES: is_record().
  const Value* FindField(std::string_view key) const;
  // Set membership (binary search). REQUIRES: is_set().
  bool SetContains(const Value& v) const;

  // Total order used for sets: kind first, then content. 0 when equal.
  static int Compare(const Value& a, const Value& b);
  friend bool operator==(const Value& a, const Value& b) { return Compare(a, b) == 0; }

 private:
  using StrPtr = std::shared_ptr<const std::string>;
  using UidPtr = std::shared_ptr<const EntityUid>;
  using SetPtr = std::shared_ptr<const SetElems>;
  using RecPtr = std::shared_ptr<const RecordFields>;
  using Data = std::variant<bool, int64_t, StrPtr, UidPtr, SetPtr, RecPtr, ExtValue>;
  explicit Value(Data d) : data_(std::move(d)) {}
  Data data_;
};

// The value in Cedar policy syntax, e.g. `{"a": [1, true]}` or `ip("10.0.0.1/8")`.
std::string ToString(const Value& value);
// `text` as a quoted Cedar string literal with escapes.
std::string QuoteString(std::string_view text);

}  // namespace writ::cedar
