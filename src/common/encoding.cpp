#include "common/encoding.h"

#include <array>

namespace writ {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr int8_t kInvalid = -1;

using DecodeTable = std::array<int8_t, 256>;

constexpr DecodeTable MakeDecodeTable(const char* alphabet) {
  DecodeTable table{};
  for (auto& entry : table) entry = kInvalid;
  for (int8_t index = 0; index < 64; ++index) {
    table[static_cast<unsigned char>(alphabet[index])] = index;
  }
  return table;
}

constexpr DecodeTable kStdTable = MakeDecodeTable(kBase64Std);
constexpr DecodeTable kUrlTable = MakeDecodeTable(kBase64Url);

std::string Encode(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t index = 0;
  auto byte_at = [&](size_t at) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])); };
  for (; index + 3 <= bytes.size(); index += 3) {
    const uint32_t chunk = byte_at(index) << 16 | byte_at(index + 1) << 8 | byte_at(index + 2);
    out += alphabet[(chunk >> 18) & 63];
    out += alphabet[(chunk >> 12) & 63];
    out += alphabet[(chunk >> 6) & 63];
    out += alphabet[chunk & 63];
  }
  const size_t rest = bytes.size() - index;
  if (rest == 1) {
    const uint32_t chunk = byte_at(index) << 16;
    out += alphabet[(chunk >> 18) & 63];
    out += alphabet[(chunk >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    const uint32_t chunk = byte_at(index) << 16 | byte_at(index + 1) << 8;
    out += alphabet[(chunk >> 18) & 63];
    out += alphabet[(chunk >> 12) & 63];
    out += alphabet[(chunk >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

// Decodes unpadded symbols; rejects a lone trailing symbol and non-zero leftover bits.
Result<std::string> DecodeSymbols(std::string_view text, const DecodeTable& table, std::string_view name) {
  if (text.size() % 4 == 1) return Fail(Code::kInvalidArgument, std::string(name) + " text has an impossible length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (const char ch : text) {
    const int8_t value = table[static_cast<unsigned char>(ch)];
    if (value == kInvalid) return Fail(Code::kInvalidArgument, std::string(name) + " text has a character outside its alphabet");
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) {
    return Fail(Code::kInvalidArgument, std::string(name) + " text has non-canonical trailing bits");
  }
  return out;
}

}  // namespace

std::string HexEncode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const uint8_t byte : bytes) {
    out += kHexDigits[byte >> 4];
    out += kHexDigits[byte & 0x0f];
  }
  return out;
}

std::string HexEncode(std::string_view bytes) {
  return HexEncode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

Result<std::string> HexDecode(std::string_view text) {
  if (text.size() % 2 != 0) return Fail(Code::kInvalidArgument, "hex text has an odd length");
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t index = 0; index < text.size(); index += 2) {
    const int high = HexDigitValue(text[index]);
    const int low = HexDigitValue(text[index + 1]);
    if (high < 0 || low < 0) return Fail(Code::kInvalidArgument, "hex text has a non-hex character");
    out += static_cast<char>(high << 4 | low);
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) { return Encode(bytes, kBase64Std, true); }

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Fail(Code::kInvalidArgument, "base64 text length is not a multiple of 4");
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  return DecodeSymbols(text.substr(0, text.size() - padding), kStdTable, "base64");
}

std::string Base64UrlEncode(std::string_view bytes) { return Encode(bytes, kBase64Url, false); }

std::string Base64UrlEncode(std::span<const uint8_t> bytes) {
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Result<std::string> Base64UrlDecode(std::string_view text) { return DecodeSymbols(text, kUrlTable, "base64url"); }

bool ConstantTimeEquals(std::string_view left, std::string_view right) {
  if (left.size() != right.size()) return false;
  volatile unsigned char difference = 0;
  for (size_t index = 0; index < left.size(); ++index) {
    difference = difference | static_cast<unsigned char>(left[index] ^ right[index]);
  }
  return difference == 0;
}

void AppendUtf8(std::string& out, uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
    return;
  }
  char bytes[4];
  size_t count = 0;
  if (code_point < 0x800) {
    bytes[count++] = static_cast<char>(0xc0 | (code_point >> 6));
  } else if (code_point < 0x10000) {
    bytes[count++] = static_cast<char>(0xe0 | (code_point >> 12));
    bytes[count++] = static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
  } else {
    bytes[count++] = static_cast<char>(0xf0 | (code_point >> 18));
    bytes[count++] = static_cast<char>(0x80 | ((code_point >> 12) & 0x3f));
    bytes[count++] = static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
  }
  bytes[count++] = static_cast<char>(0x80 | (code_point & 0x3f));
  out.append(bytes, count);
}

}  // namespace writ
