// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys (signature type 0x01), and
// the tlog-checkpoint text they carry (https://c2sp.org/tlog-checkpoint).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/keys.h"
#include "ledger/merkle.h"

namespace writ::ledger {

inline constexpr uint8_t kNoteTypeEd25519 = 0x01;

// key ID = first 4 bytes (big-endian) of SHA-256(name ‖ "\n" ‖ type ‖ public key).
uint32_t NoteKeyId(std::string_view name, uint8_t type, std::string_view public_key);

// Signs notes as `name` with an Ed25519 key. Thread-safe.
class NoteSigner {
 public:
  // Errors: kInvalidArgument unless the key is Ed25519 and the name is non-empty with no space,
  // '+' or control character.
  static Result<NoteSigner> Create(std::string name, crypto::PrivateKey key);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  // Verifier key text: "<name>+<hex8 key id>+<base64(0x01 ‖ public key)>".
  std::string VerifierKey() const;

  // The signed note: `text`, a blank line, one signature line.
  // Errors: kInvalidArgument unless text is non-empty, ends in '\n' and has no control character
  // other than newline, and no empty line.
  Result<std::string> Sign(std::string_view text) const;

 private:
  NoteSigner(std::string name, crypto::PrivateKey key, uint32_t key_id);
  std::string name_;
  crypto::PrivateKey key_;
  uint32_t key_id_;
};

// Checks signatures by one known key.
class NoteVerifier {
 public:
  // Parses a verifier key text. Errors: kInvalidArgument when malformed, not Ed25519, or the key
  // id does not match the name and key.
  static Result<NoteVerifier> FromVerifierKey(std::string_view vkey);
  static Result<NoteVerifier> FromPublicKey(std::string name, const crypto::PublicKey& key);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  bool Verify(std::string_view text, std::string_view signature) const;

 private:
  NoteVerifier(std::string name, crypto::PublicKey key, uint32_t key_id);
  std::string name_;
  crypto::PublicKey key_;
  uint32_t key_id_;
};

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // without the 4-byte key id
};

struct Note {
  std::string text;  // ends in '\n'
  std::vector<NoteSignature> signatures;
};

// Splits a note into text and signature lines. Errors: kInvalidArgument when malformed (missing
// blank line, bad signature line, control characters, more than 100 signatures).
Result<Note> ParseNote(std::string_view note);

// Parses `note` and checks it against `verifiers`: unknown keys are ignored, a known key whose
// signature fails rejects the note, and at least one known key must verify. Returns the text.
// Errors: kInvalidArgument when malformed; kUnauthenticated when the signatures do not hold.
Result<std::string> OpenNote(std::string_view note, std::span<const NoteVerifier> verifiers);

// The body of a tlog checkpoint.
struct Checkpoint {
  std::string origin;  // e.g. "writ.example/ledger"; non-empty, no control characters
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;  // extra non-empty lines (not recommended by C2SP)

  // "<origin>\n<size>\n<base64 root>\n" plus one line per extension.
  std::string Text() const;
};

// Errors: kInvalidArgument naming what is wrong (origin, size with leading zeros, root not a
// base64 32-byte hash, empty lines).
Result<Checkpoint> ParseCheckpoint(std::string_view text);

}  // namespace writ::ledger
