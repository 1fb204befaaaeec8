#include "ledger/merkle.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "testing/matchers.h"

namespace writ::ledger {
namespace {

std::string Hex(const Hash& hash) { return HexEncode(crypto::AsBytes(hash)); }

std::vector<Hash> Leaves(uint64_t count) {
  std::vector<Hash> leaves;
  for (uint64_t i = 0; i < count; ++i) leaves.push_back(HashLeaf("leaf " + std::to_string(i)));
  return leaves;
}

TEST(MerkleHashTest, Rfc6962Vectors) {
  EXPECT_EQ(Hex(EmptyRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(HashLeaf("")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_EQ(Hex(HashLeaf("L123456")), "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
  Hash left = crypto::Sha256("N123");
  Hash right = crypto::Sha256("N456");
  // The library's test feeds raw bytes "N123"/"N456" as child hashes; build them the same way.
  std::string node = std::string("\x01", 1) + "N123" + "N456";
  EXPECT_EQ(Hex(crypto::Sha256(node)), "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb");
  EXPECT_NE(HashChildren(left, right), HashChildren(right, left));
}

// The ledger's appending threads hash 0x00 ‖ body and hand the SHA-256 state to the writer, which
// finishes it with the position tail: the result must be the leaf hash of the whole leaf, wherever
// the split falls relative to the 64-byte blocks, and the handed-over state must stay reusable.
TEST(MerkleHashTest, LeafHashFinishedFromAHandedOverStateIsTheLeafHash) {
  std::string leaf;
  for (int i = 0; i < 300; ++i) leaf += static_cast<char>('a' + i % 26);
  for (size_t split = 0; split <= leaf.size(); ++split) {
    crypto::Sha256Partial partial;
    partial.Update(std::string(1, '\0'));
    partial.Update(std::string_view(leaf).substr(0, split));
    const crypto::Sha256Partial copy = partial;  // as queued
    ASSERT_EQ(copy.FinishWith(std::string_view(leaf).substr(split)), HashLeaf(leaf)) << split;
    ASSERT_EQ(copy.FinishWith(std::string_view(leaf).substr(split)), HashLeaf(leaf)) << "state reused at " << split;
    crypto::Sha256Partial whole = copy;
    whole.Update(std::string_view(leaf).substr(split));
    ASSERT_EQ(whole.Finish(), HashLeaf(leaf));
  }
  EXPECT_EQ(crypto::Sha256Partial().Finish(), crypto::Sha256(""));
}

TEST(MerkleHashTest, HashFromBytesRejectsWrongLengths) {
  EXPECT_THAT(HashFromBytes("short"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(HashFromBytes(std::string(32, 'x')), IsOk());
}

TEST(CompactRangeTest, RootMatchesFullComputationAtEverySize) {
  auto leaves = Leaves(130);
  CompactRange range;
  EXPECT_EQ(range.Root(), EmptyRoot());
  for (size_t n = 1; n <= leaves.size(); ++n) {
    range.Append(leaves[n - 1]);
    ASSERT_EQ(range.Root(), RootOf(std::span<const Hash>(leaves).subspan(0, n))) << n;
    auto restored = CompactRange::FromNodes(range.size(), range.nodes());
    ASSERT_THAT(restored, IsOk());
    EXPECT_EQ(restored->Root(), range.Root());
  }
  EXPECT_THAT(CompactRange::FromNodes(3, {}), FailsWith(Code::kInvalidArgument));
}

// Every proof between every pair of sizes up to 40, for the in-memory tree and for a tree that keeps
// only 8-leaf blocks and above (reading leaves back through the reader). The tree holds all 40 leaves
// while proofs are asked at smaller sizes, and the reader has only the leaves below the size asked:
// the ledger's tree runs ahead of its store while a batch is being committed.
class MerkleTreeTest : public ::testing::TestWithParam<int> {};

TEST_P(MerkleTreeTest, ProofsVerifyForAllSizes) {
  const uint64_t kMax = 40;
  auto leaves = Leaves(kMax);
  int reads = 0;
  uint64_t stored = kMax;
  MerkleTree tree(
      {.cached_level = GetParam(), .reader = [&](LeafIndex begin, LeafIndex end) -> Result<std::vector<Hash>> {
         ++reads;
         if (end > stored) return Fail(Code::kDataLoss, "leaf hashes not stored yet");
         return std::vector<Hash>(leaves.begin() + static_cast<ptrdiff_t>(begin),
                                  leaves.begin() + static_cast<ptrdiff_t>(end));
       }});
  for (const Hash& leaf : leaves) tree.Append(leaf);
  EXPECT_EQ(tree.Root(), RootOf(leaves));
  for (uint64_t size = 1; size <= kMax; ++size) {
    stored = size;
    Hash root = RootOf(std::span<const Hash>(leaves).subspan(0, size));
    ASSERT_EQ(tree.RootAt(size).value(), root);
    for (uint64_t index = 0; index < size; ++index) {
      auto proof = tree.InclusionProof(index, size);
      ASSERT_THAT(proof, IsOk());
      ASSERT_THAT(VerifyInclusion(index, size, leaves[index], *proof, root), IsOk()) << index << "/" << size;
      EXPECT_THAT(VerifyInclusion(index, size, leaves[(index + 1) % kMax], *proof, root),
                  FailsWith(Code::kInvalidArgument));
    }
    for (uint64_t old_size = 1; old_size <= size; ++old_size) {
      auto proof = tree.ConsistencyProof(old_size, size);
      ASSERT_THAT(proof, IsOk());
      Hash old_root = RootOf(std::span<const Hash>(leaves).subspan(0, old_size));
      ASSERT_THAT(VerifyConsistency(old_size, size, *proof, old_root, root), IsOk()) << old_size << "->" << size;
      if (old_size < size) {
        EXPECT_THAT(VerifyConsistency(old_size, size, *proof, root, root), FailsWith(Code::kInvalidArgument));
      }
    }
  }
  if (GetParam() == 0) {
    EXPECT_EQ(reads, 0);
  }
  EXPECT_THAT(tree.InclusionProof(5, kMax + 1), FailsWith(Code::kOutOfRange));
  EXPECT_THAT(tree.ConsistencyProof(0, 3), FailsWith(Code::kOutOfRange));
}

TEST_P(MerkleTreeTest, RestoreFromPersistedNodesGivesTheSameTree) {
  auto leaves = Leaves(77);
  auto reader = [&](LeafIndex begin, LeafIndex end) -> Result<std::vector<Hash>> {
    return std::vector<Hash>(leaves.begin() + static_cast<ptrdiff_t>(begin),
                             leaves.begin() + static_cast<ptrdiff_t>(end));
  };
  MerkleTree tree({.cached_level = GetParam(), .reader = reader});
  std::vector<MerkleTree::Node> nodes;
  for (const Hash& leaf : leaves) tree.Append(leaf, [&](const MerkleTree::Node& node) { nodes.push_back(node); });
  uint64_t block = uint64_t{1} << GetParam();
  uint64_t tail_start = (leaves.size() / block) * block;
  MerkleTree restored({.cached_level = GetParam(), .reader = reader});
  ASSERT_THAT(restored.Restore(leaves.size(), nodes,
                               std::vector<Hash>(leaves.begin() + static_cast<ptrdiff_t>(tail_start), leaves.end())),
              IsOk());
  EXPECT_EQ(restored.Root(), tree.Root());
  EXPECT_EQ(restored.InclusionProof(3, 70).value(), tree.InclusionProof(3, 70).value());
  restored.Append(HashLeaf("more"));
  tree.Append(HashLeaf("more"));
  EXPECT_EQ(restored.Root(), tree.Root());
  nodes.pop_back();
  MerkleTree broken({.cached_level = GetParam(), .reader = reader});
  if (!nodes.empty() || GetParam() == 0) {
    EXPECT_THAT(broken.Restore(leaves.size(), nodes, {}), FailsWith(Code::kDataLoss));
  }
}

INSTANTIATE_TEST_SUITE_P(CachedLevels, MerkleTreeTest, ::testing::Values(0, 1, 3));

}  // namespace
}  // namespace writ::ledger
