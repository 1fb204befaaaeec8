#include "common/ids.h"

#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "testing/fake_clock.h"

namespace writ {
namespace {

TEST(IdsTest, UuidV7HasVersionVariantAndTimestamp) {
  FakeClock clock(FromUnixMillis(0x0193'4567'89ab));
  const std::string id = NewUuidV7(clock);
  ASSERT_TRUE(IsUuid(id)) << id;
  EXPECT_EQ(id.substr(0, 13), "01934567-89ab");
  EXPECT_EQ(id[14], '7');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
}

TEST(IdsTest, IdsAreStrictlyIncreasingWithinOneMillisecond) {
  FakeClock clock;
  std::string previous = NewUuidV7(clock);
  std::set<std::string> seen{previous};
  for (int count = 0; count < 10'000; ++count) {
    const std::string next = NewUuidV7(clock);
    ASSERT_LT(previous, next);
    seen.insert(next);
    previous = next;
  }
  EXPECT_EQ(seen.size(), 10'001u);
}

TEST(IdsTest, IdsFromManyThreadsAreUniqueAndIncreasingPerThread) {
  FakeClock clock;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5'000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int thread = 0; thread < kThreads; ++thread) {
    threads.emplace_back([&clock, &mine = ids[static_cast<size_t>(thread)]] {
      for (int count = 0; count < kPerThread; ++count) mine.push_back(NewUuidV7(clock));
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> seen;
  for (const auto& mine : ids) {
    for (size_t index = 1; index < mine.size(); ++index) ASSERT_LT(mine[index - 1], mine[index]);
    seen.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(IdsTest, ForkedChildDoesNotReuseTheParentsRandomBytes) {
  (void)NewUuidV7();  // the parent now holds a block of buffered random bytes
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = NewUuidV7();
    const ssize_t written = write(fds[1], id.data(), id.size());
    _exit(written == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  const std::string parent_id = NewUuidV7();
  std::string child_id(36, '\0');
  ASSERT_EQ(read(fds[0], child_id.data(), child_id.size()), 36);
  int status = 0;
  waitpid(child, &status, 0);
  close(fds[0]);
  close(fds[1]);
  // The last 64 bits are random: the same bytes in both would mean the child reused the block.
  EXPECT_NE(parent_id.substr(19), child_id.substr(19));
}

TEST(IdsTest, IsUuidRejectsNonCanonicalText) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("01934567-89AB-7000-8000-000000000000"));  // upper case
  EXPECT_FALSE(IsUuid("0193456789ab-7000-8000-0000000000000"));
  EXPECT_TRUE(IsUuid("01934567-89ab-7000-8000-000000000000"));
}

}  // namespace
}  // namespace writ
