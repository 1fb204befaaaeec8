#include "common/ids.h"

#include <set>

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

TEST(IdsTest, IsUuidRejectsNonCanonicalText) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("01934567-89AB-7000-8000-000000000000"));  // upper case
  EXPECT_FALSE(IsUuid("0193456789ab-7000-8000-0000000000000"));
  EXPECT_TRUE(IsUuid("01934567-89ab-7000-8000-000000000000"));
}

}  // namespace
}  // namespace writ
