// The one-pass JSON object scanner the MCP proxies relay messages with: what it accepts must be
// exactly one well-formed JSON object, and what it reports must be what a JSON parser reads.
#include "gateway/json_scan.h"

#include <string>

#include <gtest/gtest.h>

#include "common/json.h"
#include "testing/matchers.h"

namespace writ::gateway {
namespace {

TEST(JsonScanTest, ReportsTopLevelMembersWithTheirRawBytes) {
  const std::string text = R"( { "jsonrpc" : "2.0", "id":7 ,"params":{"a":[1, 2.50e+3,{"b":null}]},"ok":true } )";
  auto members = ScanObject(text);
  ASSERT_TRUE(members.has_value()) << members.error().message;
  ASSERT_EQ(members->size(), 4u);
  EXPECT_EQ((*members)[0].key, "jsonrpc");
  EXPECT_EQ((*members)[0].value, R"("2.0")");
  EXPECT_EQ((*members)[1].value, "7");
  EXPECT_EQ(FindMember(*members, "params")->value, R"({"a":[1, 2.50e+3,{"b":null}]})");
  EXPECT_EQ(FindMember(*members, "ok")->value, "true");
  EXPECT_EQ(FindMember(*members, "missing"), nullptr);
  // The views point into the text itself: no copies.
  EXPECT_GE(FindMember(*members, "params")->value.data(), text.data());
  EXPECT_LT(FindMember(*members, "params")->value.data(), text.data() + text.size());
}

TEST(JsonScanTest, KeysAreDecoded) {
  auto members = ScanObject(R"({"meth\u006fd":"x","a\/b":1,"\u00e9\ud83d\ude00":2})");
  ASSERT_TRUE(members.has_value());
  EXPECT_EQ((*members)[0].key, "method");
  EXPECT_EQ((*members)[1].key, "a/b");
  EXPECT_EQ((*members)[2].key, "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(JsonScanTest, RefusesWhatIsNotExactlyOneWellFormedObject) {
  for (const char* bad : {"", "   ", "[]", "1", "\"s\"", "null", "{", "{}}", "{} {}", "{\"a\"}", "{\"a\":}",
                          "{\"a\":1,}", "{,}", "{a:1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}",
                          "{\"a\":-}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":[1,]}", "{\"a\":[1 2]}",
                          "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\x01\"}", "{\"a\":\"open}",
                          "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xe2\x82\"}",
                          "{\"a\":1 \"b\":2}", "{\"a\":'x'}", "{\"a\":NaN}"}) {
    EXPECT_THAT(ScanObject(bad), FailsWith(Code::kInvalidArgument)) << bad;
  }
}

TEST(JsonScanTest, RefusesADuplicateTopLevelKeyEvenWhenWrittenWithEscapes) {
  EXPECT_THAT(ScanObject(R"({"method":"ping","method":"tools/call"})"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ScanObject(R"({"method":"ping","meth\u006fd":"tools/call"})"), FailsWith(Code::kInvalidArgument));
  EXPECT_TRUE(ScanObject(R"({"a":{"b":1},"c":{"b":2}})").has_value());
}

TEST(JsonScanTest, NestingIsBounded) {
  const std::string deep = "{\"a\":" + std::string(200, '[') + std::string(200, ']') + "}";
  EXPECT_THAT(ScanObject(deep, 128), FailsWith(Code::kInvalidArgument));
  EXPECT_TRUE(ScanObject(deep, 256).has_value());
}

TEST(JsonScanTest, AcceptsWhatJsonParseAccepts) {
  for (const char* good : {R"({})", R"({"a":[]})", R"({"a":-0.5E-7,"b":0,"c":"\"\\\/\b\f\n\r\t\u0000"})",
                           "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", "\t{\"a\" :\r\n1}\n"}) {
    ASSERT_TRUE(json::Parse(good).has_value()) << good;
    EXPECT_TRUE(ScanObject(good).has_value()) << good;
  }
}

TEST(JsonScanTest, DecodeString) {
  EXPECT_EQ(DecodeString(R"("tools/call")"), "tools/call");
  EXPECT_EQ(DecodeString(R"("tools\/call")"), "tools/call");
  EXPECT_EQ(DecodeString("12"), std::nullopt);
  EXPECT_EQ(DecodeString("{}"), std::nullopt);
}

TEST(JsonScanTest, IdKeyIsTheSameForTheSameIdWrittenDifferently) {
  EXPECT_EQ(IdKey("7"), "7");
  EXPECT_EQ(IdKey(R"("abc")"), R"("abc")");
  EXPECT_EQ(IdKey(R"("a\/b")"), IdKey(R"("a/b")"));
  EXPECT_EQ(IdKey(R"("\u00e9")"), IdKey("\"\xc3\xa9\""));
  EXPECT_EQ(IdKey("1e2"), json::Serialize(*json::Parse("1e2")));
  // Every form the fast path keeps must be what json::Serialize writes for it.
  for (const char* id : {"0", "-5", "123456789012345678", R"("x y")", R"("")"}) {
    EXPECT_EQ(IdKey(id), json::Serialize(*json::Parse(id))) << id;
  }
  EXPECT_NE(IdKey("1"), IdKey(R"("1")"));
}

}  // namespace
}  // namespace writ::gateway
