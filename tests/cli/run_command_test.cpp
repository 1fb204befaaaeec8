#include "cli/run_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace writ::cli {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> DefaultPatterns() {
  return std::vector<std::string>(std::begin(kAmbientCredentials), std::end(kAmbientCredentials));
}

TEST(RunCommandTest, AmbientCredentialsAreRemovedByNameAndPrefix) {
  const auto filtered = FilterEnvironment({"PATH=/bin", "AWS_ACCESS_KEY_ID=a", "AWS_SESSION_TOKEN=b", "GITHUB_TOKEN=c",
                                           "SSH_AUTH_SOCK=/s", "HOME=/h", "OPENAI_API_KEY=k"},
                                          DefaultPatterns(), {});
  EXPECT_THAT(filtered.kept, ElementsAre("PATH=/bin", "HOME=/h"));
  EXPECT_THAT(filtered.removed,
              ElementsAre("AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "SSH_AUTH_SOCK", "OPENAI_API_KEY"));
}

TEST(RunCommandTest, ExtraPatternsAndKeepList) {
  auto patterns = DefaultPatterns();
  patterns.push_back("MY_SECRET_*");
  const auto filtered =
      FilterEnvironment({"MY_SECRET_X=1", "SSH_AUTH_SOCK=/s", "MY_SECRETS=2"}, patterns, {"SSH_AUTH_SOCK"});
  EXPECT_THAT(filtered.kept, ElementsAre("SSH_AUTH_SOCK=/s", "MY_SECRETS=2"));
  EXPECT_THAT(filtered.removed, ElementsAre("MY_SECRET_X"));
}

TEST(RunCommandTest, TheParentsTokenSettingsNeverReachTheCommand) {
  const auto filtered = FilterEnvironment({"WRIT_TOKEN_FILE=/old", "WRIT_AGENT=old", "WRIT_SOCKET=/s"}, {}, {});
  EXPECT_THAT(filtered.kept, ElementsAre("WRIT_SOCKET=/s"));
  EXPECT_TRUE(filtered.removed.empty());
}

}  // namespace
}  // namespace writ::cli
