#include "cedar/value.h"

#include <algorithm>
#include <functional>

#include "cedar/internal/ext.h"

namespace writ::cedar {

size_t EntityUidHash::operator()(const EntityUid& uid) const noexcept {
  size_t h = std::hash<std::string_view>()(uid.type);
  return h ^ (std::hash<std::string_view>()(uid.id) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

std::string_view KindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kBool: return "bool";
    case ValueKind::kLong: return "long";
    case ValueKind::kString: return "string";
    case ValueKind::kEntity: return "entity";
    case ValueKind::kSet: return "set";
    case ValueKind::kRecord: return "record";
    case ValueKind::kExt: return "extension value";
  }
  return "value";
}

Value Value::String(std::string s) { return Value(ValueKind::kString, std::make_shared<const std::string>(std::move(s))); }
Value Value::Entity(EntityUid uid) { return Value(ValueKind::kEntity, std::make_shared<const EntityUid>(std::move(uid))); }

Value Value::Set(SetElems elems) {
  std::sort(elems.begin(), elems.end(), [](const Value& a, const Value& b) { return Compare(a, b) < 0; });
  elems.erase(std::unique(elems.begin(), elems.end()), elems.end());
  return Value(ValueKind::kSet, std::make_shared<const SetElems>(std::move(elems)));
}

Value Value::Record(RecordFields fields) {
  std::stable_sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  RecordFields out;
  out.reserve(fields.size());
  for (auto& f : fields) {
    if (!out.empty() && out.back().first == f.first) {
      out.back().second = std::move(f.second);
    } else {
      out.push_back(std::move(f));
    }
  }
  return Value(ValueKind::kRecord, std::make_shared<const RecordFields>(std::move(out)));
}

const Value* Value::FindField(std::string_view key) const {
  const auto& fields = as_record();
  if (fields.size() <= 8) {  // small records: a linear scan beats the binary search
    for (const auto& f : fields) {
      if (f.first.size() == key.size() && f.first == key) return &f.second;
    }
    return nullptr;
  }
  auto it = std::lower_bound(fields.begin(), fields.end(), key,
                             [](const auto& f, std::string_view k) { return f.first < k; });
  if (it == fields.end() || it->first != key) return nullptr;
  return &it->second;
}

bool Value::SetContains(const Value& v) const {
  const auto& elems = as_set();
  return std::binary_search(elems.begin(), elems.end(), v,
                            [](const Value& a, const Value& b) { return Compare(a, b) < 0; });
}

namespace {
template <class T>
int Cmp3(const T& a, const T& b) {
  auto c = a <=> b;
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}
}  // namespace

bool Value::Equals(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case ValueKind::kBool:
    case ValueKind::kLong: return a.payload_.num == b.payload_.num;
    case ValueKind::kExt: return a.payload_.ext == b.payload_.ext;
    case ValueKind::kString: return a.ptr_ == b.ptr_ || a.as_string() == b.as_string();
    case ValueKind::kEntity: return a.ptr_ == b.ptr_ || a.as_entity() == b.as_entity();
    default: return a.ptr_ == b.ptr_ || Compare(a, b) == 0;
  }
}

int Value::Compare(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return a.kind_ < b.kind_ ? -1 : 1;
  switch (a.kind()) {
    case ValueKind::kBool: return Cmp3(a.as_bool(), b.as_bool());
    case ValueKind::kLong: return Cmp3(a.as_long(), b.as_long());
    case ValueKind::kString: return Cmp3(a.as_string(), b.as_string());
    case ValueKind::kEntity: return Cmp3(a.as_entity(), b.as_entity());
    case ValueKind::kExt: return Cmp3(a.as_ext(), b.as_ext());
    case ValueKind::kSet: {
      const auto& x = a.as_set();
      const auto& y = b.as_set();
      if (&x == &y) return 0;
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      for (size_t i = 0; i < x.size(); ++i) {
        int c = Compare(x[i], y[i]);
        if (c != 0) return c;
      }
      return 0;
    }
    case ValueKind::kRecord: {
      const auto& x = a.as_record();
      const auto& y = b.as_record();
      if (&x == &y) return 0;
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      for (size_t i = 0; i < x.size(); ++i) {
        int c = Cmp3(x[i].first, y[i].first);
        if (c != 0) return c;
        c = Compare(x[i].second, y[i].second);
        if (c != 0) return c;
      }
      return 0;
    }
  }
  return 0;
}

namespace {
bool NeedsEscape(unsigned char c) { return c == '"' || c == '\\' || c < 0x20 || c == 0x7f; }
}  // namespace

std::string QuoteString(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  bool plain = true;
  for (unsigned char c : text) plain = plain && !NeedsEscape(c);
  if (plain) {
    out.append(text);
    out += '"';
    return out;
  }
  static const char* kHex = "0123456789abcdef";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\0': out += "\\0"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u{";
          if (c >= 16) out += kHex[c >> 4];
          out += kHex[c & 15];
          out += "}";
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string ToString(const EntityUid& uid) {
  std::string out;
  out.reserve(uid.type.size() + uid.id.size() + 4);
  out.append(uid.type).append("::").append(QuoteString(uid.id));
  return out;
}

std::string ToString(const Value& value) {
  switch (value.kind()) {
    case ValueKind::kBool: return value.as_bool() ? "true" : "false";
    case ValueKind::kLong: return std::to_string(value.as_long());
    case ValueKind::kString: return QuoteString(value.as_string());
    case ValueKind::kEntity: return ToString(value.as_entity());
    case ValueKind::kExt: return internal::ExtToString(value.as_ext());
    case ValueKind::kSet: {
      std::string out = "[";
      bool first = true;
      for (const auto& e : value.as_set()) {
        if (!first) out += ", ";
        first = false;
        out += ToString(e);
      }
      return out + "]";
    }
    case ValueKind::kRecord: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : value.as_record()) {
        if (!first) out += ", ";
        first = false;
        out += QuoteString(k) + ": " + ToString(v);
      }
      return out + "}";
    }
  }
  return "";
}

}  // namespace writ::cedar
