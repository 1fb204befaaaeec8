#include "ledger/note.h"

#include <charconv>

#include <fmt/format.h>

#include "common/encoding.h"

namespace writ::ledger {
namespace {

constexpr std::string_view kEmDashSpace = "\xe2\x80\x94 ";
constexpr size_t kMaxSignatures = 100;

bool ValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c <= 0x20 || c == 0x7f || c == '+') return false;
  }
  return true;
}

bool HasControl(std::string_view text, bool allow_newline) {
  for (unsigned char c : text) {
    if (c == '\n' && allow_newline) continue;
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

Status CheckText(std::string_view text) {
  if (text.empty() || text.back() != '\n') return Fail(Code::kInvalidArgument, "note text must end with a newline");
  if (HasControl(text, true)) return Fail(Code::kInvalidArgument, "note text has a control character");
  if (text.front() == '\n' || text.find("\n\n") != std::string_view::npos) {
    return Fail(Code::kInvalidArgument, "note text has an empty line");
  }
  return Ok();
}

std::string BigEndian32(uint32_t value) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[static_cast<size_t>(i)] = static_cast<char>((value >> (24 - 8 * i)) & 0xff);
  return out;
}

uint32_t ReadBigEndian32(std::string_view bytes) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  return value;
}

}  // namespace

uint32_t NoteKeyId(std::string_view name, uint8_t type, std::string_view public_key) {
  crypto::Sha256Hasher hasher;
  hasher.Update(name);
  hasher.Update("\n");
  const char type_byte = static_cast<char>(type);
  hasher.Update(std::string_view(&type_byte, 1));
  hasher.Update(public_key);
  crypto::Sha256Digest digest = hasher.Finish();
  return ReadBigEndian32(crypto::AsBytes(digest));
}

// ---------------------------------------------------------------------------------------------

NoteSigner::NoteSigner(std::string name, crypto::PrivateKey key, uint32_t key_id)
    : name_(std::move(name)), key_(std::move(key)), key_id_(key_id) {}

Result<NoteSigner> NoteSigner::Create(std::string name, crypto::PrivateKey key) {
  if (!ValidKeyName(name)) return Fail(Code::kInvalidArgument, fmt::format("invalid note key name `{}`", name));
  if (key.algorithm() != crypto::KeyAlgorithm::kEd25519) {
    return Fail(Code::kInvalidArgument, "note keys must be ed25519");
  }
  uint32_t key_id = NoteKeyId(name, kNoteTypeEd25519, key.public_key().Raw());
  return NoteSigner(std::move(name), std::move(key), key_id);
}

std::string NoteSigner::VerifierKey() const {
  std::string typed(1, static_cast<char>(kNoteTypeEd25519));
  typed += key_.public_key().Raw();
  return fmt::format("{}+{:08x}+{}", name_, key_id_, Base64Encode(typed));
}

Result<std::string> NoteSigner::Sign(std::string_view text) const {
  WRIT_RETURN_IF_ERROR(CheckText(text));
  WRIT_ASSIGN_OR_RETURN(std::string signature, key_.Sign(text));
  std::string note(text);
  note += "\n";
  note += kEmDashSpace;
  note += name_;
  note += " ";
  note += Base64Encode(BigEndian32(key_id_) + signature);
  note += "\n";
  return note;
}

// ---------------------------------------------------------------------------------------------

NoteVerifier::NoteVerifier(std::string name, crypto::PublicKey key, uint32_t key_id)
    : name_(std::move(name)), key_(std::move(key)), key_id_(key_id) {}

Result<NoteVerifier> NoteVerifier::FromPublicKey(std::string name, const crypto::PublicKey& key) {
  if (!ValidKeyName(name)) return Fail(Code::kInvalidArgument, fmt::format("invalid note key name `{}`", name));
  if (key.algorithm() != crypto::KeyAlgorithm::kEd25519) {
    return Fail(Code::kInvalidArgument, "note keys must be ed25519");
  }
  uint32_t key_id = NoteKeyId(name, kNoteTypeEd25519, key.Raw());
  return NoteVerifier(std::move(name), key, key_id);
}

Result<NoteVerifier> NoteVerifier::FromVerifierKey(std::string_view vkey) {
  size_t first = vkey.find('+');
  size_t second = first == std::string_view::npos ? first : vkey.find('+', first + 1);
  if (second == std::string_view::npos) return Fail(Code::kInvalidArgument, "verifier key must be name+id+key");
  std::string_view name = vkey.substr(0, first);
  std::string_view id_hex = vkey.substr(first + 1, second - first - 1);
  auto id_bytes = HexDecode(id_hex);
  if (id_hex.size() != 8 || !id_bytes) return Fail(Code::kInvalidArgument, "verifier key id must be 8 hex digits");
  auto typed = Base64Decode(vkey.substr(second + 1));
  if (!typed || typed->empty()) return Fail(Code::kInvalidArgument, "verifier key is not base64");
  if (static_cast<uint8_t>((*typed)[0]) != kNoteTypeEd25519) {
    return Fail(Code::kInvalidArgument, "verifier key type is not ed25519");
  }
  auto key = crypto::PublicKey::FromRaw(crypto::KeyAlgorithm::kEd25519, std::string_view(*typed).substr(1));
  if (!key) return Fail(Code::kInvalidArgument, "verifier key holds an invalid ed25519 key");
  WRIT_ASSIGN_OR_RETURN(NoteVerifier verifier, FromPublicKey(std::string(name), *key));
  if (verifier.key_id_ != ReadBigEndian32(*id_bytes)) {
    return Fail(Code::kInvalidArgument, "verifier key id does not match its name and key");
  }
  return verifier;
}

bool NoteVerifier::Verify(std::string_view text, std::string_view signature) const {
  return key_.Verify(text, signature);
}

// ---------------------------------------------------------------------------------------------

Result<Note> ParseNote(std::string_view note) {
  if (note.empty() || note.back() != '\n') return Fail(Code::kInvalidArgument, "note must end with a newline");
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return Fail(Code::kInvalidArgument, "note has no signature block");
  Note parsed;
  parsed.text = std::string(note.substr(0, split + 1));
  WRIT_RETURN_IF_ERROR(CheckText(parsed.text));
  std::string_view rest = note.substr(split + 2);
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    if (line.substr(0, kEmDashSpace.size()) != kEmDashSpace) {
      return Fail(Code::kInvalidArgument, "signature line must start with an em dash");
    }
    line.remove_prefix(kEmDashSpace.size());
    size_t space = line.find(' ');
    if (space == std::string_view::npos) return Fail(Code::kInvalidArgument, "signature line has no signature");
    std::string_view name = line.substr(0, space);
    if (!ValidKeyName(name)) return Fail(Code::kInvalidArgument, "signature line has an invalid key name");
    auto blob = Base64Decode(line.substr(space + 1));
    if (!blob || blob->size() < 5) return Fail(Code::kInvalidArgument, "signature is not base64 of id and bytes");
    if (parsed.signatures.size() >= kMaxSignatures) return Fail(Code::kInvalidArgument, "note has too many signatures");
    parsed.signatures.push_back(NoteSignature{std::string(name), ReadBigEndian32(*blob), blob->substr(4)});
  }
  if (parsed.signatures.empty()) return Fail(Code::kInvalidArgument, "note has no signatures");
  return parsed;
}

Result<std::string> OpenNote(std::string_view note, std::span<const NoteVerifier> verifiers) {
  WRIT_ASSIGN_OR_RETURN(Note parsed, ParseNote(note));
  bool verified = false;
  for (const NoteSignature& signature : parsed.signatures) {
    for (const NoteVerifier& verifier : verifiers) {
      if (verifier.name() != signature.name || verifier.key_id() != signature.key_id) continue;
      if (!verifier.Verify(parsed.text, signature.signature)) {
        return Fail(Code::kUnauthenticated, fmt::format("note signature by `{}` does not verify", signature.name));
      }
      verified = true;
    }
  }
  if (!verified) return Fail(Code::kUnauthenticated, "note has no signature by a known key");
  return std::move(parsed.text);
}

// ---------------------------------------------------------------------------------------------

std::string Checkpoint::Text() const {
  std::string text = fmt::format("{}\n{}\n{}\n", origin, size, Base64Encode(crypto::AsBytes(root)));
  for (const std::string& extension : extensions) {
    text += extension;
    text += '\n';
  }
  return text;
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  WRIT_RETURN_IF_ERROR(CheckText(text));
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  if (lines.size() < 3) return Fail(Code::kInvalidArgument, "checkpoint needs origin, size and root lines");
  Checkpoint checkpoint;
  checkpoint.origin = std::string(lines[0]);
  std::string_view size_text = lines[1];
  auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), checkpoint.size);
  if (ec != std::errc() || end != size_text.data() + size_text.size() ||
      (size_text.size() > 1 && size_text[0] == '0')) {
    return Fail(Code::kInvalidArgument, fmt::format("checkpoint size `{}` is not a decimal number", size_text));
  }
  auto root = Base64Decode(lines[2]);
  if (!root) return Fail(Code::kInvalidArgument, "checkpoint root is not base64");
  WRIT_ASSIGN_OR_RETURN(checkpoint.root, HashFromBytes(*root));
  for (size_t i = 3; i < lines.size(); ++i) checkpoint.extensions.emplace_back(lines[i]);
  return checkpoint;
}

}  // namespace writ::ledger
