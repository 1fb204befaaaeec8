#include "common/encoding.h"

#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ {
namespace {

TEST(EncodingTest, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Base64Decode(encoded).value(), plain);
  }
}

TEST(EncodingTest, AppendUtf8AtEachLengthBoundary) {
  const std::pair<uint32_t, std::string_view> cases[] = {
      {0x0, std::string_view("\0", 1)}, {0x7f, "\x7f"},          {0x80, "\xc2\x80"},
      {0x7ff, "\xdf\xbf"},             {0x800, "\xe0\xa0\x80"}, {0xffff, "\xef\xbf\xbf"},
      {0x10000, "\xf0\x90\x80\x80"}, {0x10ffff, "\xf4\x8f\xbf\xbf"}, {0xe9, "é"}};
  for (const auto& [code_point, expected] : cases) {
    std::string out = "x";
    AppendUtf8(out, code_point);
    EXPECT_EQ(out, "x" + std::string(expected)) << code_point;
  }
}

TEST(EncodingTest, Base64UrlUsesUrlAlphabetWithoutPadding) {
  const std::string bytes("\xfb\xff\xfe", 3);
  EXPECT_EQ(Base64UrlEncode(bytes), "-__-");
  EXPECT_EQ(Base64UrlDecode("-__-").value(), bytes);
  EXPECT_EQ(Base64UrlEncode(std::string_view("fo")), "Zm8");
}

TEST(EncodingTest, Base64UrlIsStrict) {
  EXPECT_THAT(Base64UrlDecode("Zm8="), FailsWith(Code::kInvalidArgument));   // padding
  EXPECT_THAT(Base64UrlDecode("+/+/"), FailsWith(Code::kInvalidArgument));   // std alphabet
  EXPECT_THAT(Base64UrlDecode("Zm9"), FailsWith(Code::kInvalidArgument));    // non-canonical bits
  EXPECT_THAT(Base64UrlDecode("Z"), FailsWith(Code::kInvalidArgument));      // impossible length
  EXPECT_THAT(Base64UrlDecode("Zm 8"), FailsWith(Code::kInvalidArgument));
}

TEST(EncodingTest, HexRoundTripsAndRejectsJunk) {
  EXPECT_EQ(HexEncode(std::string_view("\x00\xab\xff", 3)), "00abff");
  EXPECT_EQ(HexDecode("00ABff").value(), std::string("\x00\xab\xff", 3));
  EXPECT_THAT(HexDecode("abc"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(HexDecode("zz"), FailsWith(Code::kInvalidArgument));
}

TEST(EncodingTest, HexDigitValueAcceptsExactlyTheTwentyTwoHexDigits) {
  int accepted = 0;
  for (int byte = 0; byte < 256; ++byte) {
    const char ch = static_cast<char>(byte);
    const int value = HexDigitValue(ch);
    if (value < 0) continue;
    ++accepted;
    EXPECT_LT(value, 16) << byte;
  }
  EXPECT_EQ(accepted, 22);
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
  EXPECT_EQ(HexDigitValue('\xff'), -1);
}

TEST(EncodingTest, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secrets"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace writ
