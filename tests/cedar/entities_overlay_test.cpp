// Entities::Over: a request's entities layered over a shared store must answer every Find and
// HasAncestor exactly as a merged copy finalized as a whole (the old, O(store) way) does.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "cedar/entities.h"
#include "testing/matchers.h"

namespace writ::cedar {
namespace {

EntityUid Uid(int n) { return {"T", std::to_string(n)}; }

Entity Make(int n, std::vector<int> parents, const std::string& tag = "") {
  Entity entity;
  entity.uid = Uid(n);
  for (int parent : parents) entity.parents.push_back(Uid(parent));
  if (!tag.empty()) entity.attrs = Value::Record({{"tag", Value::String(tag)}});
  return entity;
}

// Every (uid, ancestor) pair over `universe` answers the same on both stores, and Find returns
// the same attributes.
void ExpectSameAnswers(const Entities& merged, const Entities& overlay, int universe) {
  for (int a = 0; a < universe; ++a) {
    const Entity* in_merged = merged.Find(Uid(a));
    const Entity* in_overlay = overlay.Find(Uid(a));
    ASSERT_EQ(in_merged == nullptr, in_overlay == nullptr) << a;
    if (in_merged != nullptr) {
      EXPECT_EQ(in_merged->attrs, in_overlay->attrs) << a;
      EXPECT_EQ(in_merged->ancestors, in_overlay->ancestors) << a;
    }
    for (int b = 0; b < universe; ++b) {
      EXPECT_EQ(merged.HasAncestor(Uid(a), Uid(b)), overlay.HasAncestor(Uid(a), Uid(b))) << a << " in " << b;
    }
  }
}

TEST(EntitiesOverlay, NewPrincipalSeesBaseGroupsTransitively) {
  Entities base;
  base.Add(Make(1, {2}));
  base.Add(Make(2, {3}));
  ASSERT_TRUE(base.Finalize().has_value());
  Entities overlay = Entities::Over(base);
  overlay.Add(Make(10, {1}));
  ASSERT_TRUE(overlay.Finalize().has_value());
  EXPECT_TRUE(overlay.HasAncestor(Uid(10), Uid(3)));
  EXPECT_TRUE(overlay.HasAncestor(Uid(1), Uid(3)));
  EXPECT_FALSE(overlay.HasAncestor(Uid(1), Uid(10)));
  EXPECT_EQ(overlay.size(), 1u);
  EXPECT_EQ(base.Find(Uid(10)), nullptr);  // the base is not changed
}

TEST(EntitiesOverlay, WideningAGroupWidensTheStoredMembersBelowIt) {
  // Stored: user 1 in group 2. The request adds group 2 to group 5 (a registry group's own
  // groups): user 1 must now be in 5, or a `forbid ... principal in 5` would be missed.
  Entities base;
  base.Add(Make(1, {2}, "stored"));
  base.Add(Make(2, {}));
  ASSERT_TRUE(base.Finalize().has_value());
  Entities overlay = Entities::Over(base);
  overlay.Add(Make(2, {5}));
  ASSERT_TRUE(overlay.Finalize().has_value());
  EXPECT_TRUE(overlay.HasAncestor(Uid(1), Uid(5)));
  EXPECT_FALSE(base.HasAncestor(Uid(1), Uid(5)));
  ASSERT_NE(overlay.Find(Uid(1)), nullptr);
  EXPECT_EQ(overlay.Find(Uid(1))->attrs, Value::Record({{"tag", Value::String("stored")}}));
}

TEST(EntitiesOverlay, AddOfAStoredUidMergesParentsAndReplacesAttributes) {
  Entities base;
  base.Add(Make(1, {2}, "stored"));
  ASSERT_TRUE(base.Finalize().has_value());
  Entities overlay = Entities::Over(base);
  overlay.Add(Make(1, {3}, "given"));
  ASSERT_TRUE(overlay.Finalize().has_value());
  EXPECT_TRUE(overlay.HasAncestor(Uid(1), Uid(2)));
  EXPECT_TRUE(overlay.HasAncestor(Uid(1), Uid(3)));
  EXPECT_EQ(overlay.Find(Uid(1))->attrs, Value::Record({{"tag", Value::String("given")}}));
  EXPECT_EQ(base.Find(Uid(1))->attrs, Value::Record({{"tag", Value::String("stored")}}));
}

TEST(EntitiesOverlay, CyclesThroughBothLayersTerminate) {
  Entities base;
  base.Add(Make(1, {2}));
  base.Add(Make(2, {}));
  ASSERT_TRUE(base.Finalize().has_value());
  Entities overlay = Entities::Over(base);
  overlay.Add(Make(2, {1}));
  ASSERT_TRUE(overlay.Finalize().has_value());
  EXPECT_TRUE(overlay.HasAncestor(Uid(1), Uid(2)));
  EXPECT_TRUE(overlay.HasAncestor(Uid(2), Uid(1)));
}

TEST(EntitiesOverlay, HostileHierarchiesAreStillBounded) {
  Entities base;
  for (int n = 0; n < 200; ++n) base.Add(Make(n, {n + 1}));
  ASSERT_TRUE(base.Finalize().has_value());
  Entities overlay = Entities::Over(base);
  for (int n = 1000; n < 1100; ++n) overlay.Add(Make(n, {0}));
  EXPECT_THAT(overlay.Finalize(/*max_links=*/5000), FailsWith(Code::kResourceExhausted));
}

TEST(EntitiesOverlay, AgreesWithAMergedCopyOnRandomHierarchies) {
  std::mt19937 random(20261122);
  constexpr int kUniverse = 24;
  for (int round = 0; round < 300; ++round) {
    std::uniform_int_distribution<int> pick(0, kUniverse - 1);
    std::uniform_int_distribution<int> fanout(0, 3);
    Entities base;
    const int stored = 4 + round % 16;
    for (int k = 0; k < stored; ++k) {
      std::vector<int> parents;
      for (int p = fanout(random); p > 0; --p) parents.push_back(pick(random));
      base.Add(Make(pick(random), parents, "s" + std::to_string(k)));
    }
    ASSERT_TRUE(base.Finalize().has_value());

    Entities merged = base;
    Entities overlay = Entities::Over(base);
    const int given = 1 + round % 5;
    for (int k = 0; k < given; ++k) {
      std::vector<int> parents;
      for (int p = fanout(random); p > 0; --p) parents.push_back(pick(random));
      const Entity entity = Make(pick(random), parents, "g" + std::to_string(k));
      merged.Add(entity);
      overlay.Add(entity);
    }
    ASSERT_TRUE(merged.Finalize().has_value());
    ASSERT_TRUE(overlay.Finalize().has_value());
    SCOPED_TRACE("round " + std::to_string(round));
    ExpectSameAnswers(merged, overlay, kUniverse);
  }
}

}  // namespace
}  // namespace writ::cedar
