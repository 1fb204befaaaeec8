#include "common/json.h"

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ::json {
namespace {

using ::testing::HasSubstr;

TEST(JsonTest, ParsesEveryTypeAndKeepsMemberOrder) {
  const Value value = Parse(R"({"b":1,"a":[true,null,"x",2.5,-3],"big":18446744073709551615})").value();
  ASSERT_TRUE(value.is_object());
  EXPECT_EQ(value.as_object()[0].first, "b");
  EXPECT_EQ(value.Find("b")->as_int(), 1);
  const Array& array = value.Find("a")->as_array();
  ASSERT_EQ(array.size(), 5u);
  EXPECT_TRUE(array[0].as_bool());
  EXPECT_TRUE(array[1].is_null());
  EXPECT_EQ(array[2].as_string(), "x");
  EXPECT_DOUBLE_EQ(array[3].as_double(), 2.5);
  EXPECT_EQ(array[4].as_int(), -3);
  EXPECT_EQ(value.Find("big")->type(), Type::kUint);
  EXPECT_EQ(value.Find("missing"), nullptr);
}

TEST(JsonTest, SerializeRoundTrips) {
  const std::string text = R"({"s":"a\"b\\c\n\u0001é","n":[1,-2,3.5,true,false,null],"o":{}})";
  const Value value = Parse(text).value();
  EXPECT_EQ(Serialize(value), text);
  EXPECT_EQ(Parse(Serialize(value)).value(), value);
}

TEST(JsonTest, DoublesStayDoublesWhenWritten) {
  // Found by the fuzzer: 2.2e19 printed as a bare integer too large for 64 bits, which Parse refuses.
  for (const char* text : {"22222222222222222223.0", "666666666666667666666.67", "1.0", "-1e300", "0.5"}) {
    const Value value = Parse(text).value();
    ASSERT_EQ(value.type(), Type::kDouble) << text;
    const std::string written = Serialize(value);
    const auto reread = Parse(written);
    ASSERT_TRUE(reread.has_value()) << text << " written as " << written;
    EXPECT_EQ(reread->type(), Type::kDouble) << written;
    EXPECT_EQ(reread->as_double(), value.as_double()) << written;
  }
  EXPECT_EQ(Serialize(Value(2.0)), "2.0");
}

TEST(JsonTest, RejectsMalformedInput) {
  for (const char* text : {"", "{", "[1,]", "{\"a\"}", "tru", "\"\xff\"", "{\"a\":1}x", "01"}) {
    EXPECT_THAT(Parse(text), FailsWith(Code::kInvalidArgument)) << text;
  }
}

TEST(JsonTest, RejectsDuplicateKeysByDefault) {
  EXPECT_THAT(Parse(R"({"a":1,"a":2})"), FailsWith(Code::kInvalidArgument, HasSubstr("\"a\" twice")));
  std::string many = "{";
  for (int index = 0; index < 40; ++index) many += "\"k" + std::to_string(index) + "\":1,";
  many += "\"k7\":2}";
  EXPECT_THAT(Parse(many), FailsWith(Code::kInvalidArgument, HasSubstr("\"k7\" twice")));
  EXPECT_THAT(Parse(R"({"a":1,"a":2})", {.reject_duplicate_keys = false}), IsOk());
}

TEST(JsonTest, EnforcesDepthAndSizeLimits) {
  const std::string deep = std::string(65, '[') + std::string(65, ']');
  EXPECT_THAT(Parse(deep), FailsWith(Code::kInvalidArgument, HasSubstr("deeper than 64")));
  const std::string ok_depth = std::string(64, '[') + std::string(64, ']');
  EXPECT_THAT(Parse(ok_depth), IsOk());
  const std::string hostile = std::string(100'000, '[');
  EXPECT_THAT(Parse(hostile), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(Parse(std::string(2000, ' ') + "1", {.max_bytes = 1000}), FailsWith(Code::kResourceExhausted));
}

TEST(JsonTest, QuotingReplacesInvalidUtf8AndEscapesControls) {
  std::string out;
  AppendQuoted(out, std::string_view("a\xff" "b\x7f\x1f", 5));
  EXPECT_EQ(out, "\"a\xef\xbf\xbd" "b\\u007f\\u001f\"");
  EXPECT_THAT(Parse(out), IsOk());
  out.clear();
  AppendQuoted(out, "\xed\xa0\x80");  // an encoded surrogate is not valid UTF-8
  EXPECT_EQ(out, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
}

TEST(JsonTest, WriterInsertsCommas) {
  Writer writer;
  writer.BeginObject().Key("a").Int(1).Key("b").BeginArray().String("x").Bool(false).Null().EndArray();
  writer.Key("c").BeginObject().EndObject().EndObject();
  EXPECT_EQ(writer.str(), R"({"a":1,"b":["x",false,null],"c":{}})");
}

TEST(JsonTest, ObjectReaderGivesPreciseErrors) {
  const Value body = Parse(R"({"name":"bot","tier":3,"extra":true})").value();
  ObjectReader reader(body, "identity");
  ASSERT_THAT(reader.CheckIsObject(), IsOk());
  EXPECT_EQ(reader.RequiredString("name").value(), "bot");
  EXPECT_THAT(reader.OptionalString("tier"), FailsWith(Code::kInvalidArgument, "identity.tier must be a string, not integer"));
  EXPECT_THAT(reader.RequiredString("owner"), FailsWith(Code::kInvalidArgument, "identity.owner is required"));
  EXPECT_THAT(reader.RejectUnknown(), FailsWith(Code::kInvalidArgument, "identity has an unknown field \"extra\""));
  const Value array = Array{};
  ObjectReader not_object(array, "identity");
  EXPECT_THAT(not_object.CheckIsObject(), FailsWith(Code::kInvalidArgument, HasSubstr("not array")));
}

}  // namespace
}  // namespace writ::json
