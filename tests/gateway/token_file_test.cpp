#include "gateway/token_file.h"

#include <sys/stat.h>
#include <fcntl.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "testing/fake_clock.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::gateway {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class TokenFileTest : public ::testing::Test {
 protected:
  // As `writ run` renews: write a new file beside it, then rename it over the old one.
  void Replace(const std::string& content) {
    const std::string fresh = path_ + ".new";
    std::ofstream(fresh, std::ios::trunc) << content;
    std::filesystem::rename(fresh, path_);
  }

  TempDir dir_;
  FakeClock clock_;
  const std::string path_ = dir_.file("agent.token");
};

TEST_F(TokenFileTest, ReadsTheTokenOnceAndLooksAgainOnlyAfterTheRecheckInterval) {
  Replace("token-one\n");
  TokenFile file(path_, {.recheck = 1s, .clock = &clock_});
  EXPECT_EQ(file.Current().value(), "token-one");
  Replace("token-two\n");
  // Within the interval the file is not looked at (no system call per request)...
  clock_.Advance(999ms);
  EXPECT_EQ(file.Current().value(), "token-one");
  // ...after it, the replaced file is noticed and read.
  clock_.Advance(1ms);
  EXPECT_EQ(file.Current().value(), "token-two");
}

// The file replaced on disk, then the old token refused by writd: Reread gives the new token at once.
TEST_F(TokenFileTest, RereadPicksUpAReplacedFileAtOnce) {
  Replace("token-one");
  TokenFile file(path_, {.recheck = 1h, .clock = &clock_});
  EXPECT_EQ(file.Current().value(), "token-one");
  Replace("token-two");
  EXPECT_EQ(file.Reread().value(), "token-two");
  EXPECT_EQ(file.Current().value(), "token-two");
  // The same file, unchanged: Reread keeps the token it has.
  EXPECT_EQ(file.Reread().value(), "token-two");
}

TEST_F(TokenFileTest, ZeroRecheckLooksEveryTimeAndSeesAnInPlaceRewrite) {
  Replace("aaaa");
  TokenFile file(path_, {.recheck = 0ms, .clock = &clock_});
  EXPECT_EQ(file.Current().value(), "aaaa");
  // Same inode and size, another mtime.
  std::ofstream(path_, std::ios::trunc) << "bbbb";
  const timespec later[2] = {{0, UTIME_OMIT}, {2'000'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path_.c_str(), later, 0), 0);
  EXPECT_EQ(file.Current().value(), "bbbb");
}

TEST_F(TokenFileTest, ClockGoingBackMakesItLookAgain) {
  Replace("token-one");
  TokenFile file(path_, {.recheck = 1h, .clock = &clock_});
  EXPECT_EQ(file.Current().value(), "token-one");
  Replace("token-two");
  clock_.Advance(-1s);
  EXPECT_EQ(file.Current().value(), "token-two");
}

TEST_F(TokenFileTest, MissingEmptyOversizeOrMalformedFilesAreRefusedWithoutTheToken) {
  TokenFile file(path_, {.recheck = 1s, .max_bytes = 64, .clock = &clock_});
  EXPECT_THAT(file.Current(), FailsWith(Code::kUnauthenticated, HasSubstr("cannot read the token file")));
  Replace("");
  EXPECT_THAT(file.Current(), FailsWith(Code::kUnauthenticated, HasSubstr("is empty or too large")));
  Replace(std::string(65, 'x'));
  EXPECT_THAT(file.Current(), FailsWith(Code::kUnauthenticated, HasSubstr("is empty or too large")));
  Replace("two words-secret");
  auto refused = file.Current();
  EXPECT_THAT(refused, FailsWith(Code::kUnauthenticated, HasSubstr("holds no token")));
  EXPECT_THAT(refused.error().message, ::testing::Not(HasSubstr("secret")));
  // Removed at expiry: once looked at again, the kept token is forgotten.
  Replace("token-one");
  EXPECT_EQ(file.Current().value(), "token-one");
  std::filesystem::remove(path_);
  EXPECT_THAT(file.Reread(), FailsWith(Code::kUnauthenticated, HasSubstr("cannot read the token file")));
  EXPECT_THAT(file.Current(), FailsWith(Code::kUnauthenticated));
}

}  // namespace
}  // namespace writ::gateway
