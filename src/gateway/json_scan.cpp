#include "gateway/json_scan.h"

#include <fmt/format.h>

#include "common/encoding.h"
#include "common/json.h"

namespace writ::gateway {
namespace {

constexpr size_t kMaxPlainIdDigits = 18;  // fits int64, so json::Serialize writes it back unchanged

bool IsSpace(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }
bool IsDigit(char ch) { return ch >= '0' && ch <= '9'; }

// Checks one JSON text. Positions are byte offsets into text_.
class Scanner {
 public:
  Scanner(std::string_view text, size_t max_depth) : text_(text), max_depth_(max_depth) {}

  Result<std::vector<RawMember>> TopLevelObject() {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '{') return Bad("a JSON object");
    std::vector<RawMember> members;
    members.reserve(6);  // a JSON-RPC message has at most 4 members of its own (jsonrpc, id, method or result/error, params)
    WRIT_RETURN_IF_ERROR(Object(1, &members));
    SkipSpace();
    if (pos_ != text_.size()) return Bad("the end of the text");
    return members;
  }

 private:
  tl::unexpected<Error> Bad(std::string_view expected) const {
    return Fail(Code::kInvalidArgument, fmt::format("malformed JSON: expected {} at byte {}", expected, pos_));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }

  Status Value(size_t depth) {
    if (pos_ >= text_.size()) return Bad("a value");
    switch (text_[pos_]) {
      case '{': return Object(depth + 1, nullptr);
      case '[': return Array(depth + 1);
      case '"': return String(nullptr);
      case 't': return Literal("true");
      case 'f': return Literal("false");
      case 'n': return Literal("null");
      default: return Number();
    }
  }

  // `members`, when not null, receives the object's members (the top level only).
  Status Object(size_t depth, std::vector<RawMember>* members) {
    if (depth > max_depth_) return Fail(Code::kInvalidArgument, fmt::format("JSON nested deeper than {}", max_depth_));
    ++pos_;  // '{'
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return Ok();
    }
    std::string key;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Bad("a member name");
      WRIT_RETURN_IF_ERROR(String(members != nullptr ? &key : nullptr));
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') return Bad("`:`");
      ++pos_;
      SkipSpace();
      const size_t value_start = pos_;
      WRIT_RETURN_IF_ERROR(Value(depth));
      if (members != nullptr) {
        if (FindMember(*members, key) != nullptr) {
          return Fail(Code::kInvalidArgument, fmt::format("duplicate member name before byte {}", pos_));
        }
        members->push_back({std::move(key), text_.substr(value_start, pos_ - value_start)});
        key.clear();
      }
      SkipSpace();
      if (pos_ >= text_.size()) return Bad("`,` or `}`");
      if (text_[pos_] == '}') {
        ++pos_;
        return Ok();
      }
      if (text_[pos_] != ',') return Bad("`,` or `}`");
      ++pos_;
    }
  }

  Status Array(size_t depth) {
    if (depth > max_depth_) return Fail(Code::kInvalidArgument, fmt::format("JSON nested deeper than {}", max_depth_));
    ++pos_;  // '['
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return Ok();
    }
    while (true) {
      SkipSpace();
      WRIT_RETURN_IF_ERROR(Value(depth));
      SkipSpace();
      if (pos_ >= text_.size()) return Bad("`,` or `]`");
      if (text_[pos_] == ']') {
        ++pos_;
        return Ok();
      }
      if (text_[pos_] != ',') return Bad("`,` or `]`");
      ++pos_;
    }
  }

  Status Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return Bad("a value");
    pos_ += word.size();
    return Ok();
  }

  Status Number() {
    const size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (pos_ >= text_.size() || !IsDigit(text_[pos_])) {
      pos_ = start;
      return Bad("a value");
    }
    if (text_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (pos_ >= text_.size() || !IsDigit(text_[pos_])) return Bad("a digit");
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (pos_ >= text_.size() || !IsDigit(text_[pos_])) return Bad("a digit");
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    }
    return Ok();
  }

  // Four hex digits at pos_, consumed.
  Result<uint32_t> Hex4() {
    if (text_.size() - pos_ < 4) return Bad("four hex digits");
    uint32_t code = 0;
    for (int index = 0; index < 4; ++index) {
      const int digit = HexDigitValue(text_[pos_ + index]);
      if (digit < 0) return Bad("four hex digits");
      code = code * 16 + static_cast<uint32_t>(digit);
    }
    pos_ += 4;
    return code;
  }

  // A string literal at pos_ ('"'); `decoded`, when not null, receives its text.
  Status String(std::string* decoded) {
    ++pos_;  // '"'
    while (true) {
      const size_t run = pos_;
      while (pos_ < text_.size()) {
        const unsigned char ch = static_cast<unsigned char>(text_[pos_]);
        if (ch < 0x20 || ch >= 0x80 || ch == '"' || ch == '\\') break;
        ++pos_;
      }
      if (decoded != nullptr) decoded->append(text_.substr(run, pos_ - run));
      if (pos_ >= text_.size()) return Bad("the end of a string");
      const unsigned char ch = static_cast<unsigned char>(text_[pos_]);
      if (ch == '"') {
        ++pos_;
        return Ok();
      }
      if (ch < 0x20) return Bad("an escaped control character");
      if (ch >= 0x80) {
        const size_t start = pos_;
        WRIT_RETURN_IF_ERROR(Utf8Sequence());
        if (decoded != nullptr) decoded->append(text_.substr(start, pos_ - start));
        continue;
      }
      WRIT_RETURN_IF_ERROR(Escape(decoded));
    }
  }

  Status Escape(std::string* decoded) {
    ++pos_;  // '\\'
    if (pos_ >= text_.size()) return Bad("an escape");
    const char kind = text_[pos_++];
    char simple = 0;
    switch (kind) {
      case '"': simple = '"'; break;
      case '\\': simple = '\\'; break;
      case '/': simple = '/'; break;
      case 'b': simple = '\b'; break;
      case 'f': simple = '\f'; break;
      case 'n': simple = '\n'; break;
      case 'r': simple = '\r'; break;
      case 't': simple = '\t'; break;
      case 'u': break;
      default: --pos_; return Bad("an escape");
    }
    if (kind != 'u') {
      if (decoded != nullptr) *decoded += simple;
      return Ok();
    }
    WRIT_ASSIGN_OR_RETURN(uint32_t code, Hex4());
    if (code >= 0xd800 && code < 0xdc00 && text_.substr(pos_, 2) == "\\u") {
      const size_t before = pos_;
      pos_ += 2;
      WRIT_ASSIGN_OR_RETURN(const uint32_t low, Hex4());
      if (low >= 0xdc00 && low < 0xe000) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      } else {
        pos_ = before;  // a lone high surrogate followed by another escape: read that one next
      }
    }
    if (decoded != nullptr) {
      // A lone surrogate (JSON allows it; JavaScript keeps it) has no UTF-8 form: U+FFFD stands in.
      AppendUtf8(*decoded, code >= 0xd800 && code < 0xe000 ? 0xfffd : code);
    }
    return Ok();
  }

  // One well-formed UTF-8 sequence of 2 to 4 bytes at pos_ (RFC 3629: no overlong forms, no
  // surrogates, at most U+10FFFF).
  Status Utf8Sequence() {
    const auto byte = [this](size_t at) { return static_cast<unsigned char>(text_[at]); };
    const unsigned char lead = byte(pos_);
    size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) low = 0xa0;
      if (lead == 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) low = 0x90;
      if (lead == 0xf4) high = 0x8f;
    } else {
      return Bad("UTF-8");
    }
    if (text_.size() - pos_ < length) return Bad("UTF-8");
    if (byte(pos_ + 1) < low || byte(pos_ + 1) > high) return Bad("UTF-8");
    for (size_t index = 2; index < length; ++index) {
      if ((byte(pos_ + index) & 0xc0) != 0x80) return Bad("UTF-8");
    }
    pos_ += length;
    return Ok();
  }

  const std::string_view text_;
  const size_t max_depth_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::vector<RawMember>> ScanObject(std::string_view text, size_t max_depth) {
  return Scanner(text, max_depth).TopLevelObject();
}

const RawMember* FindMember(const std::vector<RawMember>& members, std::string_view key) {
  for (const RawMember& member : members) {
    if (member.key == key) return &member;
  }
  return nullptr;
}

std::optional<std::string> DecodeString(std::string_view raw) {
  if (raw.size() < 2 || raw.front() != '"') return std::nullopt;
  if (raw.find('\\') == std::string_view::npos) return std::string(raw.substr(1, raw.size() - 2));
  auto parsed = json::Parse(raw);
  if (!parsed || !parsed->is_string()) return std::nullopt;
  return parsed->as_string();
}

std::string IdKey(std::string_view raw) {
  bool plain = !raw.empty();
  if (plain && raw.front() == '"') {
    for (size_t index = 1; index + 1 < raw.size() && plain; ++index) {
      const char ch = raw[index];
      plain = ch >= 0x20 && ch < 0x7f && ch != '\\';
    }
  } else if (plain) {
    const size_t sign = raw.front() == '-' ? 1 : 0;
    const std::string_view digits = raw.substr(sign);
    plain = !digits.empty() && digits.size() <= kMaxPlainIdDigits && (digits.front() != '0' || digits.size() == 1) &&
            digits.find_first_not_of("0123456789") == std::string_view::npos && !(sign == 1 && digits == "0");
  }
  if (plain) return std::string(raw);
  auto parsed = json::Parse(raw);
  return parsed ? json::Serialize(*parsed) : std::string(raw);
}

}  // namespace writ::gateway
