// RFC 9162 Merkle trees (SHA-256, 0x00 leaf / 0x01 node prefixes): hashing, roots, inclusion and
// consistency proofs (generation and verification), the compact right edge ("frontier") of a
// growing tree, and MerkleTree, which keeps enough of the tree in memory to answer proofs in
// O(log n) without rehashing. Format details: docs/ledger_format.md.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/hash.h"

namespace writ::ledger {

using Hash = crypto::Sha256Digest;
using LeafIndex = uint64_t;

Hash HashLeaf(std::string_view data);                      // SHA-256(0x00 ‖ data)
// The same with a hasher kept by the caller: no allocation per leaf (for loops over many leaves).
Hash HashLeaf(crypto::Sha256Hasher& hasher, std::string_view data);
Hash HashChildren(const Hash& left, const Hash& right);    // SHA-256(0x01 ‖ left ‖ right)
Hash EmptyRoot();                                          // SHA-256("")
// A hash from 32 raw bytes. Errors: kInvalidArgument on any other length.
Result<Hash> HashFromBytes(std::string_view bytes);

// Root of the tree whose leaf hashes are `leaves` (EmptyRoot() for none). O(n).
Hash RootOf(std::span<const Hash> leaves);

// RFC 9162 §2.1.3.2. Errors: kInvalidArgument when index >= size, or the proof does not lead from
// `leaf_hash` to `root`.
Status VerifyInclusion(LeafIndex index, uint64_t size, const Hash& leaf_hash,
                       std::span<const Hash> proof, const Hash& root);

// RFC 9162 §2.1.4.2. size1 = 0 is refused (nothing to prove), as transparency-dev does.
// Errors: kInvalidArgument when the sizes are out of order or the proof does not hold.
Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const Hash> proof,
                         const Hash& root1, const Hash& root2);

// The same checks on untrusted wire bytes (proofs over HTTP, test vectors). Every hash must be 32
// bytes, except that equal sizes compare the two roots byte for byte, as transparency-dev does.
// Errors: kInvalidArgument as above, or when a hash has the wrong length.
Status VerifyInclusionBytes(LeafIndex index, uint64_t size, std::string_view leaf_hash,
                            std::span<const std::string> proof, std::string_view root);
Status VerifyConsistencyBytes(uint64_t size1, uint64_t size2, std::span<const std::string> proof,
                              std::string_view root1, std::string_view root2);

// The right edge of a tree: one complete-subtree root per set bit of size(). Appending is O(1)
// amortised (O(log n) worst case); Root() is O(log n). 32 bytes per set bit: what verification and
// start-up keep instead of the whole tree.
class CompactRange {
 public:
  void Append(const Hash& leaf_hash);
  uint64_t size() const { return size_; }
  Hash Root() const;
  // Subtree roots, largest (leftmost) first.
  const std::vector<Hash>& nodes() const { return nodes_; }
  // Rebuilds from persisted state. Errors: kInvalidArgument unless nodes.size() == popcount(size).
  static Result<CompactRange> FromNodes(uint64_t size, std::vector<Hash> nodes);

 private:
  uint64_t size_ = 0;
  std::vector<Hash> nodes_;  // INVARIANT: nodes_.size() == popcount(size_)
};

// Supplies leaf hashes [begin, end) that MerkleTree does not keep (REQUIRES: end <= size()).
using LeafHashReader = std::function<Result<std::vector<Hash>>(LeafIndex begin, LeafIndex end)>;

struct MerkleTreeOptions {
  // Complete subtrees of 2^cached_level leaves and above are kept in memory (2^(6 - level) bytes
  // per leaf: 4 B at level 4). Below that, leaf hashes come from `reader`. 0 = keep every leaf.
  int cached_level = 0;
  LeafHashReader reader;  // REQUIRED when cached_level > 0
};

// A growing Merkle tree answering roots and proofs for any size up to size(). Not thread-safe:
// the ledger guards it with its own mutex.
class MerkleTree {
 public:
  explicit MerkleTree(MerkleTreeOptions options = {});

  // A node completed by an Append: persist it to restore the tree without rehashing.
  struct Node {
    int level;       // >= cached_level
    uint64_t index;  // subtree [index << level, (index + 1) << level)
    Hash hash;
  };

  // Appends one leaf hash; calls `on_node` (if set) for every cached node it completes.
  void Append(const Hash& leaf_hash, const std::function<void(const Node&)>& on_node = nullptr);
  uint64_t size() const { return size_; }

  // Restores a tree of `size` leaves from the persisted nodes (any order; each level's nodes
  // 0..count-1) and the leaf hashes after the last complete 2^cached_level block.
  // Errors: kDataLoss when nodes are missing or the tail has the wrong length.
  Status Restore(uint64_t size, const std::vector<Node>& nodes, std::vector<Hash> tail);

  // Root of the first `size` leaves. Errors: kOutOfRange unless size <= size(); errors of reader.
  Result<Hash> RootAt(uint64_t size) const;
  Hash Root() const;

  // Errors: kOutOfRange unless index < size <= size().
  Result<std::vector<Hash>> InclusionProof(LeafIndex index, uint64_t size) const;
  // Errors: kOutOfRange unless 0 < old_size <= size <= size().
  Result<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t size) const;

 private:
  class Query;
  Result<Hash> Complete(int level, uint64_t index) const;
  std::vector<Hash>& Level(int level);

  MerkleTreeOptions options_;
  uint64_t size_ = 0;
  std::vector<std::vector<Hash>> levels_;  // levels_[l - cached_level][i]: complete node (l, i)
  std::vector<Hash> tail_;                 // leaves after the last complete block
};

}  // namespace writ::ledger
