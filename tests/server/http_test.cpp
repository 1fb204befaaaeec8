#include "server/http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(HttpStatusTest, EveryCodeMapsToItsStatus) {
  const std::pair<Code, int> table[] = {
      {Code::kInvalidArgument, 400}, {Code::kUnauthenticated, 401}, {Code::kPermissionDenied, 403},
      {Code::kNotFound, 404},        {Code::kConflict, 409},        {Code::kFailedPrecondition, 409},
      {Code::kOutOfRange, 400},      {Code::kResourceExhausted, 413}, {Code::kUnavailable, 503},
      {Code::kDeadlineExceeded, 504}, {Code::kDataLoss, 500},       {Code::kUnimplemented, 501},
      {Code::kInternal, 500},
  };
  for (const auto& [code, status] : table) EXPECT_EQ(HttpStatusFor(code), status) << CodeName(code);
}

TEST(HttpStatusTest, ErrorResponseUsesTheJsonErrorFormat) {
  const Response response = ErrorResponse(Error{Code::kNotFound, "agent `x` not found"});
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.headers.Get("content-type"), "application/json");
  EXPECT_EQ(response.body, R"({"error":{"code":"not_found","message":"agent `x` not found"}})");
}

TEST(HeadersTest, LookupIgnoresCase) {
  Headers headers;
  headers.Add("Content-Type", "application/json");
  headers.Add("X-Thing", "1");
  headers.Add("x-thing", "2");
  EXPECT_EQ(headers.Get("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(headers.Get("x-THING"), "1");
  EXPECT_FALSE(headers.Get("Accept").has_value());
  headers.Set("X-THING", "3");
  EXPECT_EQ(headers.Get("x-thing"), "3");
  EXPECT_EQ(headers.entries().size(), 2u);
}

TEST(HeadersTest, AssignReplacesEveryFieldInOrder) {
  Headers headers;
  headers.Add("Old-One", "1");
  headers.Add("Old-Two", "2");
  headers.Add("Old-Three", "3");
  const std::pair<std::string_view, std::string_view> two[] = {{"Host", "x"}, {"Authorization", "Bearer k"}};
  headers.Assign(two);
  EXPECT_THAT(headers.entries(), ElementsAre(Pair("Host", "x"), Pair("Authorization", "Bearer k")));
  EXPECT_FALSE(headers.Has("Old-Three"));
  const std::pair<std::string_view, std::string_view> three[] = {{"A", "1"}, {"B", "2"}, {"C", "3"}};
  headers.Assign(three);
  EXPECT_THAT(headers.entries(), ElementsAre(Pair("A", "1"), Pair("B", "2"), Pair("C", "3")));
  headers.Assign({});
  EXPECT_TRUE(headers.entries().empty());
}

TEST(HeadersTest, CaseFoldingIsAsciiLettersOnly) {
  Headers headers;
  headers.Add("X-[a]", "brackets");
  headers.Add("X-@", "at");
  headers.Add("X-1", "digit");
  EXPECT_FALSE(headers.Get("x-{A}").has_value());  // '[' and '{' differ by the case bit, but are not letters
  EXPECT_EQ(headers.Get("x-[A]"), "brackets");
  EXPECT_FALSE(headers.Get("X-`").has_value());
  EXPECT_FALSE(headers.Get("X-\x11").has_value());  // '1' | 0x20 is '1'; 0x11 | 0x20 is '1' too
  EXPECT_TRUE(IsJsonContentType("Application/JSON; charset=utf-8"));
  EXPECT_FALSE(IsJsonContentType("application/jsoN2"));
}

TEST(QueryTest, DecodesPercentEscapesAndPlus) {
  auto query = ParseQuery("name=triage%2Dbot&label=a+b&empty=&flag&name=second&&");
  ASSERT_THAT(query, IsOk());
  EXPECT_THAT(query->entries(), ElementsAre(Pair("name", "triage-bot"), Pair("label", "a b"), Pair("empty", ""),
                                            Pair("flag", ""), Pair("name", "second")));
  EXPECT_EQ(query->Get("name"), "triage-bot");
  EXPECT_THAT(query->GetAll("name"), ElementsAre("triage-bot", "second"));
  EXPECT_FALSE(query->Get("missing").has_value());
}

TEST(QueryTest, BadEscapesAreInvalidArgument) {
  EXPECT_THAT(ParseQuery("a=%zz"), FailsWith(Code::kInvalidArgument, HasSubstr("percent-escape")));
  EXPECT_THAT(ParseQuery("a=%4"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseQuery("a=%"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseQuery("a=%00"), FailsWith(Code::kInvalidArgument, HasSubstr("NUL")));
}

TEST(QueryTest, PathDecodingKeepsPlus) {
  EXPECT_EQ(PercentDecode("a+b%20c%2Fd", false).value(), "a+b c/d");
  EXPECT_EQ(PercentDecode("%C3%A9", false).value(), "\xC3\xA9");
}

TEST(JsonBodyTest, ContentTypeAcceptsParameters) {
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType("Application/JSON; charset=utf-8"));
  EXPECT_FALSE(IsJsonContentType("text/plain"));
  EXPECT_FALSE(IsJsonContentType("application/jsonx"));
  EXPECT_FALSE(IsJsonContentType(""));
}

TEST(JsonBodyTest, ParsesWithinTheRequestLimits) {
  Request request;
  request.body = R"({"name":"bot"})";
  ASSERT_THAT(ParseJsonBody(request), IsOk());
  request.body = "";
  EXPECT_THAT(ParseJsonBody(request), FailsWith(Code::kInvalidArgument, HasSubstr("required")));
  request.body = "{";
  EXPECT_THAT(ParseJsonBody(request), FailsWith(Code::kInvalidArgument));
  request.json_options.max_depth = 3;
  request.body = "[[[[1]]]]";
  EXPECT_THAT(ParseJsonBody(request), FailsWith(Code::kInvalidArgument));
  request.json_options.max_bytes = 4;
  request.body = "[1,2,3]";
  EXPECT_THAT(ParseJsonBody(request), FailsWith(Code::kResourceExhausted));
}

}  // namespace
}  // namespace writ::server
