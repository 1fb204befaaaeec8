#include "cli/output.h"

#include <sstream>

#include <gtest/gtest.h>

#include "cli/connection.h"
#include "testing/matchers.h"

namespace writ::cli {
namespace {

TEST(OutputTest, TablesPadColumnsToTheWidestCell) {
  std::ostringstream out;
  PrintTable(out, {"NAME", "STATE"}, {{"triage-bot", "active"}, {"x", "suspended"}});
  EXPECT_EQ(out.str(),
            "NAME        STATE\n"
            "triage-bot  active\n"
            "x           suspended\n");
}

TEST(OutputTest, CellsFlattenJsonValues) {
  const auto value = json::Parse(R"({"a":null,"b":["x","y"],"c":{"k":"v"},"d":3,"e":true})").value();
  EXPECT_EQ(CellText(value.Find("a")), "");
  EXPECT_EQ(CellText(value.Find("b")), "x,y");
  EXPECT_EQ(CellText(value.Find("c")), "k=v");
  EXPECT_EQ(CellText(value.Find("d")), "3");
  EXPECT_EQ(CellText(value.Find("e")), "true");
  EXPECT_EQ(CellText(nullptr), "");
}

TEST(OutputTest, JsonIsIndentedAndParsesBack) {
  const auto value = json::Parse(R"({"items":[{"name":"a"}],"next":null,"empty":{}})").value();
  std::ostringstream out;
  PrintJson(out, value);
  EXPECT_EQ(out.str(), "{\n  \"items\": [\n    {\n      \"name\": \"a\"\n    }\n  ],\n  \"next\": null,\n  \"empty\": {}\n}\n");
  EXPECT_EQ(json::Parse(out.str()).value(), value);
}

TEST(OutputTest, FormatsAreTableOrJson) {
  EXPECT_EQ(ParseFormat("json").value(), Format::kJson);
  EXPECT_THAT(ParseFormat("yaml"), FailsWith(Code::kInvalidArgument));
}

TEST(ConnectionTest, UrlEncodingKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UrlEncode("triage-bot_1.x~"), "triage-bot_1.x~");
  EXPECT_EQ(UrlEncode("a b/c?d&e"), "a%20b%2Fc%3Fd%26e");
}

TEST(ConnectionTest, SocketPathPrefersFlagThenEnvironment) {
  EXPECT_EQ(ResolveSocketPath("/tmp/x.sock"), "/tmp/x.sock");
  ::setenv("WRIT_SOCKET", "/tmp/env.sock", 1);
  EXPECT_EQ(ResolveSocketPath(""), "/tmp/env.sock");
  ::unsetenv("WRIT_SOCKET");
  EXPECT_NE(ResolveSocketPath("").find("writd.sock"), std::string::npos);
}

}  // namespace
}  // namespace writ::cli
