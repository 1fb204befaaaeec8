// Cedar lexer: splits policy (and schema) text into tokens with positions. Strings keep their raw
// escaped text; Unescape decodes them (patterns keep `\*` as a literal star).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "cedar/ast.h"

namespace writ::cedar::internal {

enum class Tok : uint8_t {
  kEof, kIdent, kString, kInt, kSlot,
  kLParen, kRParen, kLBracket, kRBracket, kLBrace, kRBrace,
  kComma, kSemi, kColon, kColon2, kDot, kAt, kQuestion,
  kEq2, kNe, kLt, kLe, kGt, kGe, kAnd, kOr, kBang, kPlus, kMinus, kStar, kAssign,
};

struct Token {
  Tok kind = Tok::kEof;
  std::string_view text;  // the identifier, the raw string contents, the digits, the slot name
  SourceSpan span;
};

struct LexError {
  SourceSpan span;
  std::string message;
};

// Tokenizes all of `text`. REQUIRES: `text` outlives the tokens (they view into it).
// Errors: invalid UTF-8, an unknown character, an unterminated string.
tl::expected<std::vector<Token>, LexError> Lex(std::string_view text);

// Decodes a raw string literal. With `pattern`, `\*` becomes a literal star (PatternElem) and a
// bare `*` a wildcard; `pattern_out` receives the elements. Returns an error message on a bad escape.
tl::expected<std::string, std::string> Unescape(std::string_view raw);
tl::expected<std::vector<PatternElem>, std::string> UnescapePattern(std::string_view raw);

// Human-readable token name for messages, e.g. "`)`", "end of input".
std::string Describe(const Token& token);

}  // namespace writ::cedar::internal
