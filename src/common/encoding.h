// Byte-to-text encodings: hex, base64 (RFC 4648 §4) and base64url without padding (§5, as JOSE uses);
// and UTF-8 for one code point.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace writ {

// The value (0 to 15) of one hex digit, upper or lower case; -1 for any other character.
constexpr int HexDigitValue(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

std::string HexEncode(std::span<const uint8_t> bytes);
std::string HexEncode(std::string_view bytes);
// Accepts upper or lower case. Errors: kInvalidArgument on odd length or a non-hex character.
Result<std::string> HexDecode(std::string_view text);

std::string Base64Encode(std::string_view bytes);  // with '=' padding
// Errors: kInvalidArgument on a character outside the alphabet, bad padding or non-zero trailing bits.
Result<std::string> Base64Decode(std::string_view text);

std::string Base64UrlEncode(std::string_view bytes);  // no padding
std::string Base64UrlEncode(std::span<const uint8_t> bytes);
// Strict: rejects padding, the standard alphabet's '+' and '/', and non-canonical trailing bits,
// so one byte string has exactly one accepted encoding (JWS requires this).
Result<std::string> Base64UrlDecode(std::string_view text);

// Appends the UTF-8 encoding (1 to 4 bytes) of `code_point`. REQUIRES: code_point <= 0x10FFFF.
// Surrogates (U+D800..U+DFFF) are encoded like any other value: callers that must produce valid
// UTF-8 replace or refuse them first.
void AppendUtf8(std::string& out, uint32_t code_point);

// Compares two byte strings in time that depends only on their lengths (for secrets and MACs).
bool ConstantTimeEquals(std::string_view left, std::string_view right);

}  // namespace writ
