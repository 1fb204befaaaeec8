#include "cli/app.h"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/temp_dir.h"

namespace writ::cli {
namespace {

using ::testing::HasSubstr;

int RunWrit(std::vector<const char*> args, std::string* out_text, std::string* err_text) {
  args.insert(args.begin(), "writ");
  std::ostringstream out, err;
  const int code = RunCli(static_cast<int>(args.size()), args.data(), out, err);
  *out_text = out.str();
  *err_text = err.str();
  return code;
}

TEST(AppTest, HelpExitsZeroAndUsageErrorsExitTwo) {
  std::string out, err;
  EXPECT_EQ(RunWrit({"--help"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("identity"));
  EXPECT_EQ(RunWrit({}, &out, &err), 2);
  EXPECT_EQ(RunWrit({"identity", "frobnicate"}, &out, &err), 2);
  EXPECT_EQ(RunWrit({"-o", "yaml", "status"}, &out, &err), 2);
}

TEST(AppTest, UnreachableDaemonIsOneSentenceAndExitOne) {
  TempDir dir;
  const std::string socket = dir.file("none.sock");
  std::string out, err;
  EXPECT_EQ(RunWrit({"--socket", socket.c_str(), "identity", "list"}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("writd is not running"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  EXPECT_EQ(RunWrit({"--socket", socket.c_str(), "status"}, &out, &err), 1);
}

TEST(AppTest, BadLabelIsRejectedBeforeAnyCall) {
  TempDir dir;
  const std::string socket = dir.file("none.sock");
  std::string out, err;
  EXPECT_EQ(RunWrit({"--socket", socket.c_str(), "identity", "create", "bot", "--owner", "a", "--label", "novalue"}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("--label `novalue` must be key=value"));
}

}  // namespace
}  // namespace writ::cli
