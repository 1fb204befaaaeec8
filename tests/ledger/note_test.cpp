#include "ledger/note.h"

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ::ledger {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kExampleVkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
constexpr std::string_view kExampleNote =
    "This is an example message.\n"
    "\n"
    "\xe2\x80\x94 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

TEST(NoteTest, C2spExampleVerifies) {
  auto verifier = NoteVerifier::FromVerifierKey(kExampleVkey);
  ASSERT_THAT(verifier, IsOk());
  EXPECT_EQ(verifier->name(), "example.com/foo");
  EXPECT_EQ(verifier->key_id(), 0x530d903au);
  std::vector<NoteVerifier> verifiers{*verifier};
  auto text = OpenNote(kExampleNote, verifiers);
  ASSERT_THAT(text, IsOk());
  EXPECT_EQ(*text, "This is an example message.\n");

  std::string tampered(kExampleNote);
  tampered[5] = 'X';
  EXPECT_THAT(OpenNote(tampered, verifiers), FailsWith(Code::kUnauthenticated));
}

TEST(NoteTest, UnknownKeysAreIgnoredButOneKnownKeyMustVerify) {
  auto key = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEd25519).value();
  auto signer = NoteSigner::Create("writ.test/log", key).value();
  std::string note = signer.Sign("hello\n").value();
  std::vector<NoteVerifier> example{NoteVerifier::FromVerifierKey(kExampleVkey).value()};
  EXPECT_THAT(OpenNote(note, example), FailsWith(Code::kUnauthenticated, HasSubstr("no signature by a known key")));
  std::vector<NoteVerifier> both{example[0], NoteVerifier::FromVerifierKey(signer.VerifierKey()).value()};
  EXPECT_THAT(OpenNote(note, both), IsOk());
}

TEST(NoteTest, SignerRoundTripAndVerifierKeyText) {
  auto key = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEd25519).value();
  auto signer = NoteSigner::Create("writ.test/log", key);
  ASSERT_THAT(signer, IsOk());
  auto verifier = NoteVerifier::FromVerifierKey(signer->VerifierKey());
  ASSERT_THAT(verifier, IsOk());
  EXPECT_EQ(verifier->key_id(), signer->key_id());
  std::vector<NoteVerifier> verifiers{*verifier};
  auto note = signer->Sign("a\nb\n");
  ASSERT_THAT(note, IsOk());
  EXPECT_EQ(OpenNote(*note, verifiers).value(), "a\nb\n");
}

TEST(NoteTest, MalformedInputIsRejected) {
  auto key = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEd25519).value();
  auto signer = NoteSigner::Create("writ.test/log", key).value();
  EXPECT_THAT(signer.Sign("no newline"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(signer.Sign("a\n\nb\n"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(signer.Sign("tab\there\n"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(NoteSigner::Create("has space", key), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(NoteSigner::Create("a+b", key), FailsWith(Code::kInvalidArgument));
  auto es256 = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEs256).value();
  EXPECT_THAT(NoteSigner::Create("x", es256), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseNote("text\n"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseNote("text\n\n- x AAAA\n"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(NoteVerifier::FromVerifierKey("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
              FailsWith(Code::kInvalidArgument, HasSubstr("does not match")));
}

TEST(CheckpointTest, TextRoundTrip) {
  Checkpoint checkpoint{.origin = "writ.test/log", .size = 42, .root = HashLeaf("x"), .extensions = {}};
  std::string text = checkpoint.Text();
  auto parsed = ParseCheckpoint(text);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->origin, "writ.test/log");
  EXPECT_EQ(parsed->size, 42u);
  EXPECT_EQ(parsed->root, checkpoint.root);
}

TEST(CheckpointTest, RejectsBadFields) {
  std::string root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  EXPECT_THAT(ParseCheckpoint("o\n042\n" + root + "\n"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseCheckpoint("o\n-1\n" + root + "\n"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseCheckpoint("o\n1\nAAAA\n"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseCheckpoint("o\n1\n"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseCheckpoint("o\n0\n" + root + "\n"), IsOk());
}

}  // namespace
}  // namespace writ::ledger
