// Cedar runtime values: entity UIDs, the four extension types, sets and records. Values are
// immutable and cheap to copy (strings, sets and records are shared, never deep-copied).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
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
  Value() = default;  // false
  static Value Bool(bool b) { return Value(ValueKind::kBool, b ? 1 : 0); }
  static Value Long(int64_t n) { return Value(ValueKind::kLong, n); }
  static Value String(std::string s);
  static Value Entity(EntityUid uid);
  // Sorts and deduplicates `elems`.
  static Value Set(SetElems elems);
  // Sorts `fields`; on duplicate keys the last one wins.
  static Value Record(RecordFields fields);
  static Value Ext(ExtValue ext) {
    Value v;
    v.kind_ = ValueKind::kExt;
    v.payload_.ext = ext;
    return v;
  }

  ValueKind kind() const { return kind_; }
  bool is_bool() const { return kind_ == ValueKind::kBool; }
  bool is_long() const { return kind_ == ValueKind::kLong; }
  bool is_string() const { return kind_ == ValueKind::kString; }
  bool is_entity() const { return kind_ == ValueKind::kEntity; }
  bool is_set() const { return kind_ == ValueKind::kSet; }
  bool is_record() const { return kind_ == ValueKind::kRecord; }
  bool is_ext() const { return kind_ == ValueKind::kExt; }
  bool is_ext(ExtKind k) const { return is_ext() && payload_.ext.kind == k; }

  // REQUIRES: the matching is_*() holds.
  bool as_bool() const { return payload_.num != 0; }
  int64_t as_long() const { return payload_.num; }
  const std::string& as_string() const { return *static_cast<const std::string*>(ptr_.get()); }
  const EntityUid& as_entity() const { return *static_cast<const EntityUid*>(ptr_.get()); }
  const SetElems& as_set() const { return *static_cast<const SetElems*>(ptr_.get()); }
  const RecordFields& as_record() const { return *static_cast<const RecordFields*>(ptr_.get()); }
  const ExtValue& as_ext() const { return payload_.ext; }

  // The field `key` of a record, or nullptr. REQUIRES: is_record().
  const Value* FindField(std::string_view key) const;
  // Set membership (binary search). REQUIRES: is_set().
  bool SetContains(const Value& v) const;

  // Total order used for sets: kind first, then content. 0 when equal.
  static int Compare(const Value& a, const Value& b);
  // Equality (same as Compare(a, b) == 0, with fast paths).
  static bool Equals(const Value& a, const Value& b);
  friend bool operator==(const Value& a, const Value& b) { return Equals(a, b); }

 private:
  Value(ValueKind kind, int64_t num) : kind_(kind) { payload_.num = num; }
  Value(ValueKind kind, std::shared_ptr<const void> ptr) : kind_(kind), ptr_(std::move(ptr)) {}
  // Scalars without the cost of initializing an ExtValue: only the member named by kind_ is read.
  union Payload {
    Payload() : num(0) {}
    int64_t num;
    ExtValue ext;
  };
  // INVARIANT: bool and long live in payload_.num; extension values in payload_.ext; string,
  // entity, set and record in ptr_ (never null for those kinds). Copies share ptr_.
  ValueKind kind_ = ValueKind::kBool;
  Payload payload_;
  std::shared_ptr<const void> ptr_;
};

// The value in Cedar policy syntax, e.g. `{"a": [1, true]}` or `ip("10.0.0.1/8")`.
std::string ToString(const Value& value);
// `text` as a quoted Cedar string literal with escapes.
std::string QuoteString(std::string_view text);

}  // namespace writ::cedar
