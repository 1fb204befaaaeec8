#include "ledger/merkle.h"

#include <bit>
#include <cstring>

#include <fmt/format.h>

namespace writ::ledger {
namespace {

bool IsPowerOfTwo(uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

// Largest power of two strictly smaller than n. REQUIRES: n > 1.
uint64_t SplitPoint(uint64_t n) { return uint64_t{1} << (63 - std::countl_zero(n - 1)); }

Status ProofMismatch(std::string_view what) { return Fail(Code::kInvalidArgument, std::string(what)); }

}  // namespace

Hash HashLeaf(std::string_view data) {
  crypto::Sha256Hasher hasher;
  return HashLeaf(hasher, data);
}

Hash HashLeaf(crypto::Sha256Hasher& hasher, std::string_view data) {
  const char prefix = 0x00;
  hasher.Update(std::string_view(&prefix, 1));
  hasher.Update(data);
  return hasher.Finish();
}

Hash HashChildren(const Hash& left, const Hash& right) {
  char buffer[1 + 2 * crypto::kSha256Size];
  buffer[0] = 0x01;
  std::memcpy(buffer + 1, left.data(), left.size());
  std::memcpy(buffer + 1 + left.size(), right.data(), right.size());
  return crypto::Sha256(std::string_view(buffer, sizeof(buffer)));
}

Hash EmptyRoot() { return crypto::Sha256(std::string_view()); }

Result<Hash> HashFromBytes(std::string_view bytes) {
  if (bytes.size() != crypto::kSha256Size) {
    return Fail(Code::kInvalidArgument, fmt::format("hash must be 32 bytes, got {}", bytes.size()));
  }
  Hash hash;
  std::memcpy(hash.data(), bytes.data(), hash.size());
  return hash;
}

Hash RootOf(std::span<const Hash> leaves) {
  if (leaves.empty()) return EmptyRoot();
  if (leaves.size() == 1) return leaves[0];
  uint64_t k = SplitPoint(leaves.size());
  return HashChildren(RootOf(leaves.subspan(0, k)), RootOf(leaves.subspan(k)));
}

Status VerifyInclusion(LeafIndex index, uint64_t size, const Hash& leaf_hash, std::span<const Hash> proof,
                       const Hash& root) {
  if (index >= size) return Fail(Code::kInvalidArgument, fmt::format("index {} is not below size {}", index, size));
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return ProofMismatch("inclusion proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      r = HashChildren(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return ProofMismatch("inclusion proof is too short");
  if (r != root) return ProofMismatch("inclusion proof does not lead to the root");
  return Ok();
}

Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const Hash> proof, const Hash& root1,
                         const Hash& root2) {
  if (size1 == 0) return Fail(Code::kInvalidArgument, "consistency from an empty tree proves nothing");
  if (size1 > size2) {
    return Fail(Code::kInvalidArgument, fmt::format("size {} is larger than size {}", size1, size2));
  }
  if (size1 == size2) {
    if (!proof.empty()) return ProofMismatch("consistency proof between equal sizes must be empty");
    if (root1 != root2) return ProofMismatch("roots differ for equal sizes");
    return Ok();
  }
  if (proof.empty()) return ProofMismatch("consistency proof is empty");
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (IsPowerOfTwo(size1)) path.push_back(root1);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return ProofMismatch("consistency proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return ProofMismatch("consistency proof is too short");
  if (fr != root1) return ProofMismatch("consistency proof does not lead to the old root");
  if (sr != root2) return ProofMismatch("consistency proof does not lead to the new root");
  return Ok();
}

namespace {
Result<std::vector<Hash>> ProofFromBytes(std::span<const std::string> proof) {
  std::vector<Hash> hashes;
  hashes.reserve(proof.size());
  for (const std::string& item : proof) {
    WRIT_ASSIGN_OR_RETURN(Hash hash, HashFromBytes(item));
    hashes.push_back(hash);
  }
  return hashes;
}
}  // namespace

Status VerifyInclusionBytes(LeafIndex index, uint64_t size, std::string_view leaf_hash,
                            std::span<const std::string> proof, std::string_view root) {
  WRIT_ASSIGN_OR_RETURN(Hash leaf, HashFromBytes(leaf_hash));
  WRIT_ASSIGN_OR_RETURN(Hash root_hash, HashFromBytes(root));
  WRIT_ASSIGN_OR_RETURN(std::vector<Hash> hashes, ProofFromBytes(proof));
  return VerifyInclusion(index, size, leaf, hashes, root_hash);
}

Status VerifyConsistencyBytes(uint64_t size1, uint64_t size2, std::span<const std::string> proof,
                              std::string_view root1, std::string_view root2) {
  if (size1 != 0 && size1 == size2) {
    if (!proof.empty()) return ProofMismatch("consistency proof between equal sizes must be empty");
    if (root1 != root2) return ProofMismatch("roots differ for equal sizes");
    return Ok();
  }
  WRIT_ASSIGN_OR_RETURN(Hash first, HashFromBytes(root1));
  WRIT_ASSIGN_OR_RETURN(Hash second, HashFromBytes(root2));
  WRIT_ASSIGN_OR_RETURN(std::vector<Hash> hashes, ProofFromBytes(proof));
  return VerifyConsistency(size1, size2, hashes, first, second);
}

// ---------------------------------------------------------------------------------------------
// CompactRange

void CompactRange::Append(const Hash& leaf_hash) {
  Hash carry = leaf_hash;
  for (uint64_t s = size_; (s & 1) == 1; s >>= 1) {
    carry = HashChildren(nodes_.back(), carry);
    nodes_.pop_back();
  }
  nodes_.push_back(carry);
  ++size_;
}

Hash CompactRange::Root() const {
  if (nodes_.empty()) return EmptyRoot();
  Hash acc = nodes_.back();
  for (size_t i = nodes_.size() - 1; i-- > 0;) acc = HashChildren(nodes_[i], acc);
  return acc;
}

Result<CompactRange> CompactRange::FromNodes(uint64_t size, std::vector<Hash> nodes) {
  if (nodes.size() != static_cast<size_t>(std::popcount(size))) {
    return Fail(Code::kInvalidArgument,
                fmt::format("a range of size {} needs {} nodes, got {}", size, std::popcount(size), nodes.size()));
  }
  CompactRange range;
  range.size_ = size;
  range.nodes_ = std::move(nodes);
  return range;
}

// ---------------------------------------------------------------------------------------------
// MerkleTree

// One proof or root computation for a tree of `size` leaves. Caches the right edge of that tree
// and the last block of leaves read through the reader.
class MerkleTree::Query {
 public:
  Query(const MerkleTree& tree, uint64_t size) : tree_(tree), size_(size) {}

  // Hashes of [begin, size) for every right-edge node, root included.
  Status BuildSpine() {
    bool have = false;
    Hash acc{};
    for (int level = 0; level < 64; ++level) {
      if (((size_ >> level) & 1) == 0) continue;
      uint64_t begin = (size_ >> (level + 1)) << (level + 1);
      WRIT_ASSIGN_OR_RETURN(Hash complete, CompleteNode(level, begin >> level));
      acc = have ? HashChildren(complete, acc) : complete;
      have = true;
      spine_.push_back({begin, acc});
    }
    return Ok();
  }

  // MTH(D[begin:end]) for a node of this tree: complete and aligned, or on the right edge.
  Result<Hash> Mth(uint64_t begin, uint64_t end) {
    uint64_t length = end - begin;
    if (IsPowerOfTwo(length) && begin % length == 0) {
      return CompleteNode(std::countr_zero(length), begin >> std::countr_zero(length));
    }
    for (const auto& [spine_begin, hash] : spine_) {
      if (spine_begin == begin && end == size_) return hash;
    }
    return Fail(Code::kInternal, fmt::format("[{}, {}) is not a node of a tree of size {}", begin, end, size_));
  }

  Status Path(uint64_t m, uint64_t begin, uint64_t end, std::vector<Hash>& out) {
    if (end - begin == 1) return Ok();
    uint64_t k = SplitPoint(end - begin);
    if (m < begin + k) {
      WRIT_RETURN_IF_ERROR(Path(m, begin, begin + k, out));
      WRIT_ASSIGN_OR_RETURN(Hash sibling, Mth(begin + k, end));
      out.push_back(sibling);
    } else {
      WRIT_RETURN_IF_ERROR(Path(m, begin + k, end, out));
      WRIT_ASSIGN_OR_RETURN(Hash sibling, Mth(begin, begin + k));
      out.push_back(sibling);
    }
    return Ok();
  }

  Status SubProof(uint64_t m, uint64_t begin, uint64_t end, bool whole, std::vector<Hash>& out) {
    if (m == end) {
      if (!whole) {
        WRIT_ASSIGN_OR_RETURN(Hash node, Mth(begin, end));
        out.push_back(node);
      }
      return Ok();
    }
    uint64_t k = SplitPoint(end - begin);
    if (m <= begin + k) {
      WRIT_RETURN_IF_ERROR(SubProof(m, begin, begin + k, whole, out));
      WRIT_ASSIGN_OR_RETURN(Hash node, Mth(begin + k, end));
      out.push_back(node);
    } else {
      WRIT_RETURN_IF_ERROR(SubProof(m, begin + k, end, false, out));
      WRIT_ASSIGN_OR_RETURN(Hash node, Mth(begin, begin + k));
      out.push_back(node);
    }
    return Ok();
  }

  Hash root() const { return spine_.empty() ? EmptyRoot() : spine_.back().second; }

 private:
  Result<Hash> CompleteNode(int level, uint64_t index) {
    int cached = tree_.options_.cached_level;
    if (level >= cached) return tree_.Complete(level, index);
    // Below the cached level: fold leaf hashes of the enclosing block.
    uint64_t first = index << level;
    uint64_t count = uint64_t{1} << level;
    uint64_t block = first >> cached;
    uint64_t full_blocks = tree_.size_ >> cached;
    std::span<const Hash> leaves;
    if (block >= full_blocks) {
      uint64_t offset = first - (full_blocks << cached);
      if (offset + count > tree_.tail_.size()) return Fail(Code::kInternal, "leaf past the end of the tree");
      leaves = std::span<const Hash>(tree_.tail_).subspan(offset, count);
    } else {
      if (!block_loaded_ || block_index_ != block) {
        if (!tree_.options_.reader) return Fail(Code::kInternal, "merkle tree has no leaf reader");
        // Only the leaves below size_: the tree in memory may be ahead of the store (events being
        // committed), so a block it holds complete may be partly stored still.
        const uint64_t block_begin = block << cached;
        const uint64_t block_end = std::min(block_begin + (uint64_t{1} << cached), size_);
        WRIT_ASSIGN_OR_RETURN(block_, tree_.options_.reader(block_begin, block_end));
        if (block_.size() != block_end - block_begin) return Fail(Code::kDataLoss, "leaf hashes missing");
        block_loaded_ = true;
        block_index_ = block;
      }
      if (first + count > (block << cached) + block_.size())
        return Fail(Code::kInternal, "leaf past the end of the tree");
      leaves = std::span<const Hash>(block_).subspan(first - (block << cached), count);
    }
    return RootOf(leaves);
  }

  const MerkleTree& tree_;
  uint64_t size_;
  std::vector<std::pair<uint64_t, Hash>> spine_;  // smallest first; back() is the root
  bool block_loaded_ = false;
  uint64_t block_index_ = 0;
  std::vector<Hash> block_;
};

MerkleTree::MerkleTree(MerkleTreeOptions options) : options_(std::move(options)) {}

std::vector<Hash>& MerkleTree::Level(int level) {
  size_t slot = static_cast<size_t>(level - options_.cached_level);
  if (levels_.size() <= slot) levels_.resize(slot + 1);
  return levels_[slot];
}

Result<Hash> MerkleTree::Complete(int level, uint64_t index) const {
  size_t slot = static_cast<size_t>(level - options_.cached_level);
  if (slot >= levels_.size() || index >= levels_[slot].size()) {
    return Fail(Code::kInternal, fmt::format("node ({}, {}) is not in the tree", level, index));
  }
  return levels_[slot][index];
}

void MerkleTree::Append(const Hash& leaf_hash, const std::function<void(const Node&)>& on_node) {
  tail_.push_back(leaf_hash);
  ++size_;
  int level = options_.cached_level;
  if (tail_.size() < (size_t{1} << level)) return;
  Hash hash = RootOf(tail_);
  tail_.clear();
  for (;;) {
    std::vector<Hash>& nodes = Level(level);
    nodes.push_back(hash);
    if (on_node) on_node(Node{level, nodes.size() - 1, hash});
    if (nodes.size() % 2 != 0) break;
    hash = HashChildren(nodes[nodes.size() - 2], nodes[nodes.size() - 1]);
    ++level;
  }
}

Status MerkleTree::Restore(uint64_t size, const std::vector<Node>& nodes, std::vector<Hash> tail) {
  int cached = options_.cached_level;
  if (tail.size() != (size & ((uint64_t{1} << cached) - 1))) {
    return Fail(Code::kDataLoss, fmt::format("tree of size {} needs {} tail leaves, got {}", size,
                                             size & ((uint64_t{1} << cached) - 1), tail.size()));
  }
  levels_.clear();
  for (int level = cached; level < 64 && (size >> level) > 0; ++level) Level(level).resize(size >> level);
  std::vector<std::vector<bool>> seen(levels_.size());
  for (size_t slot = 0; slot < levels_.size(); ++slot) seen[slot].resize(levels_[slot].size());
  for (const Node& node : nodes) {
    if (node.level < cached) continue;
    size_t slot = static_cast<size_t>(node.level - cached);
    if (slot >= levels_.size() || node.index >= levels_[slot].size()) continue;  // beyond size: ignore
    levels_[slot][node.index] = node.hash;
    seen[slot][node.index] = true;
  }
  for (size_t slot = 0; slot < seen.size(); ++slot) {
    for (size_t index = 0; index < seen[slot].size(); ++index) {
      if (!seen[slot][index]) {
        return Fail(Code::kDataLoss,
                    fmt::format("tree node ({}, {}) is missing", slot + static_cast<size_t>(cached), index));
      }
    }
  }
  size_ = size;
  tail_ = std::move(tail);
  return Ok();
}

Result<Hash> MerkleTree::RootAt(uint64_t size) const {
  if (size > size_) return Fail(Code::kOutOfRange, fmt::format("size {} is past the tree size {}", size, size_));
  Query query(*this, size);
  WRIT_RETURN_IF_ERROR(query.BuildSpine());
  return query.root();
}

Hash MerkleTree::Root() const {
  auto root = RootAt(size_);
  return root ? *root : EmptyRoot();  // the current size never needs the reader
}

Result<std::vector<Hash>> MerkleTree::InclusionProof(LeafIndex index, uint64_t size) const {
  if (index >= size || size > size_) {
    return Fail(Code::kOutOfRange, fmt::format("need index {} < size {} <= tree size {}", index, size, size_));
  }
  Query query(*this, size);
  WRIT_RETURN_IF_ERROR(query.BuildSpine());
  std::vector<Hash> proof;
  WRIT_RETURN_IF_ERROR(query.Path(index, 0, size, proof));
  return proof;
}

Result<std::vector<Hash>> MerkleTree::ConsistencyProof(uint64_t old_size, uint64_t size) const {
  if (old_size == 0 || old_size > size || size > size_) {
    return Fail(Code::kOutOfRange,
                fmt::format("need 0 < old size {} <= size {} <= tree size {}", old_size, size, size_));
  }
  Query query(*this, size);
  WRIT_RETURN_IF_ERROR(query.BuildSpine());
  std::vector<Hash> proof;
  WRIT_RETURN_IF_ERROR(query.SubProof(old_size, 0, size, true, proof));
  return proof;
}

}  // namespace writ::ledger
