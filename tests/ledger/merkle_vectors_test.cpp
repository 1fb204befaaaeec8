// Every inclusion and consistency vector of transparency-dev/merkle gives the expected verdict.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "common/json.h"
#include "ledger/merkle.h"

namespace writ::ledger {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> VectorFiles(const std::string& kind) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(std::string(WRIT_SHARED_DIR) +
                                                            "/conformance/merkle/testdata/" + kind)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

json::Value Load(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return json::Parse(buffer.str()).value();
}

// A base64 hash, or an error for anything that is not 32 bytes.
Result<Hash> DecodeHash(const json::Value* value) {
  if (value == nullptr || !value->is_string()) return Fail(Code::kInvalidArgument, "missing hash");
  WRIT_ASSIGN_OR_RETURN(std::string bytes, Base64Decode(value->as_string()));
  return HashFromBytes(bytes);
}

Result<std::vector<Hash>> DecodeProof(const json::Value* value) {
  std::vector<Hash> proof;
  if (value == nullptr || value->is_null()) return proof;
  for (const json::Value& item : value->as_array()) {
    WRIT_ASSIGN_OR_RETURN(Hash hash, DecodeHash(&item));
    proof.push_back(hash);
  }
  return proof;
}

Result<uint64_t> Size(const json::Value* value) {
  if (value == nullptr || !value->is_int() || value->as_int() < 0) return Fail(Code::kInvalidArgument, "bad size");
  return static_cast<uint64_t>(value->as_int());
}

// Raw bytes of a base64 member (any length: the verifier judges lengths).
Result<std::string> Bytes(const json::Value* value) {
  if (value == nullptr || !value->is_string()) return Fail(Code::kInvalidArgument, "missing hash");
  return Base64Decode(value->as_string());
}

Result<std::vector<std::string>> ProofBytes(const json::Value* value) {
  std::vector<std::string> proof;
  if (value == nullptr || value->is_null()) return proof;
  for (const json::Value& item : value->as_array()) {
    WRIT_ASSIGN_OR_RETURN(std::string bytes, Bytes(&item));
    proof.push_back(std::move(bytes));
  }
  return proof;
}

Status CheckInclusion(const json::Value& vector) {
  WRIT_ASSIGN_OR_RETURN(uint64_t index, Size(vector.Find("leafIdx")));
  WRIT_ASSIGN_OR_RETURN(uint64_t size, Size(vector.Find("treeSize")));
  WRIT_ASSIGN_OR_RETURN(std::string root, Bytes(vector.Find("root")));
  WRIT_ASSIGN_OR_RETURN(std::string leaf, Bytes(vector.Find("leafHash")));
  WRIT_ASSIGN_OR_RETURN(std::vector<std::string> proof, ProofBytes(vector.Find("proof")));
  return VerifyInclusionBytes(index, size, leaf, proof, root);
}

Status CheckConsistency(const json::Value& vector) {
  WRIT_ASSIGN_OR_RETURN(uint64_t size1, Size(vector.Find("size1")));
  WRIT_ASSIGN_OR_RETURN(uint64_t size2, Size(vector.Find("size2")));
  WRIT_ASSIGN_OR_RETURN(std::string root1, Bytes(vector.Find("root1")));
  WRIT_ASSIGN_OR_RETURN(std::string root2, Bytes(vector.Find("root2")));
  WRIT_ASSIGN_OR_RETURN(std::vector<std::string> proof, ProofBytes(vector.Find("proof")));
  return VerifyConsistencyBytes(size1, size2, proof, root1, root2);
}

TEST(MerkleVectorsTest, EveryInclusionVector) {
  auto files = VectorFiles("inclusion");
  EXPECT_EQ(files.size(), 98u);
  int checked = 0;
  for (const auto& file : files) {
    json::Value vector = Load(file);
    bool want_error = vector.Find("wantErr")->as_bool();
    Status status = CheckInclusion(vector);
    EXPECT_EQ(!status.has_value(), want_error) << file;
    ++checked;
  }
  EXPECT_EQ(checked, 98);
}

TEST(MerkleVectorsTest, EveryConsistencyVector) {
  auto files = VectorFiles("consistency");
  EXPECT_EQ(files.size(), 98u);
  for (const auto& file : files) {
    json::Value vector = Load(file);
    bool want_error = vector.Find("wantErr")->as_bool();
    Status status = CheckConsistency(vector);
    EXPECT_EQ(!status.has_value(), want_error) << file << (status ? "" : ": " + status.error().message);
  }
}

// The happy-path vectors were generated from the classic 8-leaf tree: our own proofs must match.
TEST(MerkleVectorsTest, GeneratedProofsMatchHappyPathVectors) {
  const char* leaves_hex[] = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                              "606162636465666768696a6b6c6d6e6f"};
  MerkleTree tree;
  for (const char* hex : leaves_hex) tree.Append(HashLeaf(HexDecode(hex).value()));
  EXPECT_EQ(HexEncode(crypto::AsBytes(tree.Root())),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  int matched = 0;
  for (const auto& file : VectorFiles("inclusion")) {
    if (file.filename() != "happy-path.json") continue;
    json::Value vector = Load(file);
    uint64_t index = Size(vector.Find("leafIdx")).value();
    uint64_t size = Size(vector.Find("treeSize")).value();
    if (size > 8) continue;
    auto proof = tree.InclusionProof(index, size);
    ASSERT_TRUE(proof.has_value()) << file;
    EXPECT_EQ(*proof, DecodeProof(vector.Find("proof")).value()) << file;
    EXPECT_EQ(tree.RootAt(size).value(), DecodeHash(vector.Find("root")).value()) << file;
    ++matched;
  }
  for (const auto& file : VectorFiles("consistency")) {
    if (file.filename() != "happy-path.json") continue;
    json::Value vector = Load(file);
    uint64_t size1 = Size(vector.Find("size1")).value();
    uint64_t size2 = Size(vector.Find("size2")).value();
    if (size2 > 8) continue;
    auto proof = tree.ConsistencyProof(size1, size2);
    ASSERT_TRUE(proof.has_value()) << file;
    EXPECT_EQ(*proof, DecodeProof(vector.Find("proof")).value()) << file;
    ++matched;
  }
  EXPECT_GT(matched, 4);
}

}  // namespace
}  // namespace writ::ledger
