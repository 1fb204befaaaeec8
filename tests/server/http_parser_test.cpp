// The server's request-head parser on its own: what it accepts, what it rejects with which status,
// and that it finds a head split over many reads without reading past its limits.
#include "server/internal/http_parser.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace writ::server::internal {
namespace {

using ::testing::HasSubstr;

struct Parsed {
  HeadStatus status;
  RequestHead head;
  HeadFailure failure;
};

Parsed Parse(std::string_view data, HeadLimits limits = {}) {
  Parsed parsed;
  size_t scanned = 0;
  parsed.status = ParseRequestHead(data, limits, &scanned, &parsed.head, &parsed.failure);
  return parsed;
}

TEST(HttpParserTest, ParsesARequestLineAndFields) {
  const Parsed parsed = Parse(
      "POST /access/v1/evaluation?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type:  application/json \r\n"
      "Content-Length: 2\r\n\r\n{}");
  ASSERT_EQ(parsed.status, HeadStatus::kComplete);
  EXPECT_EQ(parsed.head.method, "POST");
  EXPECT_EQ(parsed.head.target, "/access/v1/evaluation?x=1");
  EXPECT_EQ(parsed.head.minor_version, 1);
  ASSERT_EQ(parsed.head.fields.size(), 3u);
  EXPECT_EQ(parsed.head.fields[1].first, "Content-Type");
  EXPECT_EQ(parsed.head.fields[1].second, "application/json");  // surrounding whitespace trimmed
  EXPECT_EQ(parsed.head.content_length, 2u);
  EXPECT_TRUE(parsed.head.keep_alive);
  EXPECT_EQ(parsed.head.head_bytes, std::string_view(
      "POST /access/v1/evaluation?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type:  application/json \r\n"
      "Content-Length: 2\r\n\r\n").size());
}

TEST(HttpParserTest, KeepAliveFollowsVersionAndConnection) {
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").head.keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n").head.keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.0\r\n\r\n").head.keep_alive);
  EXPECT_TRUE(Parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").head.keep_alive);
  EXPECT_TRUE(Parse("GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n").head.keep_alive);
}

TEST(HttpParserTest, ExpectContinueIsNoted) {
  EXPECT_TRUE(Parse("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n").head.expect_continue);
  EXPECT_FALSE(Parse("POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n").head.expect_continue);
}

TEST(HttpParserTest, LeadingEmptyLinesAreSkipped) {
  const Parsed parsed = Parse("\r\n\r\nGET /x HTTP/1.1\r\n\r\n");
  ASSERT_EQ(parsed.status, HeadStatus::kComplete);
  EXPECT_EQ(parsed.head.target, "/x");
  EXPECT_EQ(parsed.head.head_bytes, 4 + std::string_view("GET /x HTTP/1.1\r\n\r\n").size());
  EXPECT_EQ(Parse("\r\n\r\n\r\n").status, HeadStatus::kIncomplete);
}

TEST(HttpParserTest, HeadSplitAcrossReadsIsFoundOnceComplete) {
  const std::string request = "GET /split HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(300, 'v') + "\r\n\r\n";
  RequestHead head;
  HeadFailure failure;
  size_t scanned = 0;
  for (size_t length = 1; length < request.size(); ++length) {
    ASSERT_EQ(ParseRequestHead(std::string_view(request).substr(0, length), {}, &scanned, &head, &failure),
              HeadStatus::kIncomplete)
        << length;
  }
  ASSERT_EQ(ParseRequestHead(request, {}, &scanned, &head, &failure), HeadStatus::kComplete);
  EXPECT_EQ(head.target, "/split");
  EXPECT_EQ(head.head_bytes, request.size());
}

struct RejectCase {
  std::string name;
  std::string request;
  int status;
  std::string message;
};

class HttpParserRejects : public ::testing::TestWithParam<RejectCase> {};

TEST_P(HttpParserRejects, WithTheRightStatus) {
  const RejectCase& c = GetParam();
  const Parsed parsed = Parse(c.request, {.max_header_bytes = 1024, .max_fields = 8, .max_body_bytes = 100});
  ASSERT_EQ(parsed.status, HeadStatus::kRejected) << c.name;
  EXPECT_EQ(parsed.failure.status, c.status) << c.name;
  EXPECT_THAT(parsed.failure.message, HasSubstr(c.message)) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, HttpParserRejects,
    ::testing::Values(
        RejectCase{"not_http", "THIS IS NOT HTTP\r\n\r\n", 400, "HTTP/1.1"},
        RejectCase{"no_version", "GET /\r\n\r\n", 400, "request line"},
        RejectCase{"bad_method_char", "G(T / HTTP/1.1\r\n\r\n", 400, "bad method"},
        RejectCase{"empty_method", " / HTTP/1.1\r\n\r\n", 400, "bad method"},
        RejectCase{"nul_in_target", std::string("GET /\0 HTTP/1.1\r\n\r\n", 20), 400, "request target"},
        RejectCase{"two_spaces", "GET  / HTTP/1.1\r\n\r\n", 400, "request target"},
        RejectCase{"http2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "HTTP/1.1"},
        RejectCase{"future_version", "GET / HTTP/9.9\r\n\r\n", 400, "HTTP/1.1"},
        RejectCase{"lowercase_version", "GET / http/1.1\r\n\r\n", 400, "HTTP/1.1"},
        RejectCase{"no_colon", "GET / HTTP/1.1\r\nNoColonHere\r\n\r\n", 400, "without a colon"},
        RejectCase{"space_before_colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "field name"},
        RejectCase{"empty_name", "GET / HTTP/1.1\r\n: x\r\n\r\n", 400, "field name"},
        RejectCase{"obs_fold", "GET / HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n", 400, "folding"},
        RejectCase{"bare_lf_in_value", "GET / HTTP/1.1\r\nX-A: 1\nX-B: 2\r\n\r\n", 400, "control character"},
        RejectCase{"bare_cr_in_value", "GET / HTTP/1.1\r\nX-A: 1\rX-B: 2\r\n\r\n", 400, "control character"},
        RejectCase{"nul_in_value", "GET / HTTP/1.1\r\nX-A: a" + std::string(1, '\0') + "b\r\n\r\n", 400, "control character"},
        RejectCase{"two_lengths", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
                   "more than one Content-Length"},
        RejectCase{"same_length_twice", "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", 400,
                   "more than one Content-Length"},
        RejectCase{"negative_length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "decimal"},
        RejectCase{"plus_length", "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400, "decimal"},
        RejectCase{"list_length", "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", 400, "decimal"},
        RejectCase{"empty_length", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, "decimal"},
        RejectCase{"chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "Content-Length"},
        RejectCase{"chunked_and_length", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                   411, "Content-Length"},
        RejectCase{"body_over_limit", "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413, "exceeds 100 bytes"},
        RejectCase{"length_overflows", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413,
                   "exceeds 100 bytes"},
        RejectCase{"head_over_limit", "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", 431,
                   "exceed 1024 bytes"},
        RejectCase{"endless_head", "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a'), 431, "exceed 1024 bytes"},
        RejectCase{"endless_empty_lines", [] {
                     std::string lines;
                     for (int index = 0; index < 600; ++index) lines += "\r\n";
                     return lines;
                   }(),
                   431, "exceed 1024 bytes"},
        RejectCase{"too_many_fields", "GET / HTTP/1.1\r\n" + [] {
                     std::string fields;
                     for (int index = 0; index < 9; ++index) fields += "X-" + std::to_string(index) + ": v\r\n";
                     return fields;
                   }() + "\r\n",
                   431, "more than 8 header fields"}),
    [](const ::testing::TestParamInfo<RejectCase>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace writ::server::internal
