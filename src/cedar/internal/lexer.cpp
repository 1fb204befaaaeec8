#include "cedar/internal/lexer.h"

#include "common/encoding.h"

namespace writ::cedar::internal {
namespace {

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

// Length of the valid UTF-8 sequence at `s[i]`, or 0.
size_t Utf8Len(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xe0) == 0xc0) { n = 2; cp = c & 0x1f; }
  else if ((c & 0xf0) == 0xe0) { n = 3; cp = c & 0x0f; }
  else if ((c & 0xf8) == 0xf0) { n = 4; cp = c & 0x07; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3f);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  return n;
}

// Decodes one escape starting after the backslash at raw[i]; advances i. Appends to out.
bool DecodeEscape(std::string_view raw, size_t& i, std::string& out, std::string* err) {
  char c = raw[i++];
  switch (c) {
    case 'n': out += '\n'; return true;
    case 'r': out += '\r'; return true;
    case 't': out += '\t'; return true;
    case '0': out += '\0'; return true;
    case '\\': out += '\\'; return true;
    case '"': out += '"'; return true;
    case '\'': out += '\''; return true;
    case 'x': {
      if (i + 2 > raw.size() || HexDigitValue(raw[i]) < 0 || HexDigitValue(raw[i + 1]) < 0) {
        *err = "invalid escape `\\x`: expected two hex digits";
        return false;
      }
      int v = HexDigitValue(raw[i]) * 16 + HexDigitValue(raw[i + 1]);
      if (v > 0x7f) {
        *err = "invalid escape `\\x" + std::string(raw.substr(i, 2)) + "`: must be at most 7f";
        return false;
      }
      out += static_cast<char>(v);
      i += 2;
      return true;
    }
    case 'u': {
      if (i >= raw.size() || raw[i] != '{') {
        *err = "invalid unicode escape: expected `{`";
        return false;
      }
      ++i;
      uint32_t cp = 0;
      size_t digits = 0;
      while (i < raw.size() && raw[i] != '}') {
        if (HexDigitValue(raw[i]) < 0 || digits >= 6) {
          *err = "invalid unicode escape";
          return false;
        }
        cp = cp * 16 + static_cast<uint32_t>(HexDigitValue(raw[i]));
        ++digits;
        ++i;
      }
      if (i >= raw.size() || digits == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        *err = "invalid unicode escape";
        return false;
      }
      ++i;
      AppendUtf8(out, cp);
      return true;
    }
    default:
      *err = std::string("invalid escape `\\") + c + "`";
      return false;
  }
}

}  // namespace

tl::expected<std::string, std::string> Unescape(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  std::string err;
  for (size_t i = 0; i < raw.size();) {
    if (raw[i] != '\\') {
      out += raw[i++];
      continue;
    }
    ++i;
    if (!DecodeEscape(raw, i, out, &err)) return tl::unexpected<std::string>(err);
  }
  return out;
}

tl::expected<std::vector<PatternElem>, std::string> UnescapePattern(std::string_view raw) {
  std::vector<PatternElem> out;
  std::string err;
  std::string buf;
  for (size_t i = 0; i < raw.size();) {
    if (raw[i] == '*') {
      if (out.empty() || !out.back().wildcard) out.push_back({true, 0});
      ++i;
      continue;
    }
    if (raw[i] != '\\') {
      out.push_back({false, raw[i++]});
      continue;
    }
    ++i;
    if (i < raw.size() && raw[i] == '*') {
      out.push_back({false, '*'});
      ++i;
      continue;
    }
    buf.clear();
    if (!DecodeEscape(raw, i, buf, &err)) return tl::unexpected<std::string>(err);
    for (char c : buf) out.push_back({false, c});
  }
  return out;
}

tl::expected<std::vector<Token>, LexError> Lex(std::string_view text) {
  std::vector<Token> out;
  uint32_t line = 1;
  size_t line_start = 0;
  size_t i = 0;
  auto span_at = [&](size_t b, size_t e) {
    return SourceSpan{static_cast<uint32_t>(b), static_cast<uint32_t>(e), line,
                      static_cast<uint32_t>(b - line_start + 1)};
  };
  auto fail = [&](size_t at, std::string msg) {
    return tl::unexpected<LexError>(LexError{span_at(at, at + 1), std::move(msg)});
  };
  while (i < text.size()) {
    char c = text[i];
    if (c == '\n') {
      ++i;
      ++line;
      line_start = i;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n') {
        size_t n = Utf8Len(text, i);
        if (n == 0) return fail(i, "invalid UTF-8 in comment");
        i += n;
      }
      continue;
    }
    size_t start = i;
    Token t;
    t.span = span_at(start, start);
    if (IsIdentStart(c)) {
      while (i < text.size() && IsIdentChar(text[i])) ++i;
      t.kind = Tok::kIdent;
      t.text = text.substr(start, i - start);
    } else if (c >= '0' && c <= '9') {
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
      t.kind = Tok::kInt;
      t.text = text.substr(start, i - start);
    } else if (c == '"') {
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\') {
          i += 2;
          continue;
        }
        if (text[i] == '\n') {
          ++line;
          line_start = i + 1;
        }
        size_t n = Utf8Len(text, i);
        if (n == 0) return fail(i, "invalid UTF-8 in string literal");
        i += n;
      }
      if (i >= text.size()) {
        return tl::unexpected<LexError>(LexError{span_at(start, text.size()), "unterminated string literal"});
      }
      t.kind = Tok::kString;
      t.text = text.substr(start + 1, i - start - 1);
      ++i;
    } else if (c == '?' && i + 1 < text.size() && IsIdentStart(text[i + 1])) {
      ++i;
      while (i < text.size() && IsIdentChar(text[i])) ++i;
      t.kind = Tok::kSlot;
      t.text = text.substr(start + 1, i - start - 1);
    } else {
      auto two = [&](char a, char b) { return c == a && i + 1 < text.size() && text[i + 1] == b; };
      size_t len = 1;
      if (two('=', '=')) { t.kind = Tok::kEq2; len = 2; }
      else if (two('!', '=')) { t.kind = Tok::kNe; len = 2; }
      else if (two('<', '=')) { t.kind = Tok::kLe; len = 2; }
      else if (two('>', '=')) { t.kind = Tok::kGe; len = 2; }
      else if (two('&', '&')) { t.kind = Tok::kAnd; len = 2; }
      else if (two('|', '|')) { t.kind = Tok::kOr; len = 2; }
      else if (two(':', ':')) { t.kind = Tok::kColon2; len = 2; }
      else {
        switch (c) {
          case '(': t.kind = Tok::kLParen; break;
          case ')': t.kind = Tok::kRParen; break;
          case '[': t.kind = Tok::kLBracket; break;
          case ']': t.kind = Tok::kRBracket; break;
          case '{': t.kind = Tok::kLBrace; break;
          case '}': t.kind = Tok::kRBrace; break;
          case ',': t.kind = Tok::kComma; break;
          case ';': t.kind = Tok::kSemi; break;
          case ':': t.kind = Tok::kColon; break;
          case '.': t.kind = Tok::kDot; break;
          case '@': t.kind = Tok::kAt; break;
          case '?': t.kind = Tok::kQuestion; break;
          case '<': t.kind = Tok::kLt; break;
          case '>': t.kind = Tok::kGt; break;
          case '!': t.kind = Tok::kBang; break;
          case '+': t.kind = Tok::kPlus; break;
          case '-': t.kind = Tok::kMinus; break;
          case '*': t.kind = Tok::kStar; break;
          case '=': t.kind = Tok::kAssign; break;
          default: {
            size_t n = Utf8Len(text, i);
            if (n == 0) return fail(i, "invalid UTF-8 in input");
            return fail(i, "unexpected character `" + std::string(text.substr(i, n)) + "`");
          }
        }
      }
      i += len;
      t.text = text.substr(start, len);
    }
    t.span.end = static_cast<uint32_t>(i);
    out.push_back(t);
  }
  Token eof;
  eof.kind = Tok::kEof;
  eof.span = span_at(text.size(), text.size());
  out.push_back(eof);
  return out;
}

std::string Describe(const Token& token) {
  switch (token.kind) {
    case Tok::kEof: return "end of input";
    case Tok::kString: return "string literal";
    case Tok::kInt: return "integer `" + std::string(token.text) + "`";
    case Tok::kIdent: return "identifier `" + std::string(token.text) + "`";
    case Tok::kSlot: return "slot `?" + std::string(token.text) + "`";
    default: return "`" + std::string(token.text) + "`";
  }
}

}  // namespace writ::cedar::internal
