// A validating one-pass reader of a JSON object's top-level members, for messages the MCP proxies
// relay without changing: it checks the whole text (RFC 8259 grammar, UTF-8, nesting depth) and
// returns each member's decoded key and the raw bytes of its value, without building a tree or
// copying values. The proxies parse a message fully (json::Parse) only when they must read deeper
// (tools/call, tools/list, notifications/cancelled).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace writ::gateway {

struct RawMember {
  std::string key;         // decoded (escapes resolved)
  std::string_view value;  // the value's bytes in the scanned text, from its first to its last byte
};

// The members of `text`, which must be exactly one JSON object (whitespace around it allowed).
// Values are views into `text`. A key that appears twice at the top level is refused (peers that
// keep the first and peers that keep the last would read different messages); nested duplicates
// are not looked for.
// Errors: kInvalidArgument when `text` is not one JSON object, is malformed, holds invalid UTF-8 or
// nests deeper than `max_depth`; the message says what and where (a byte offset, never content).
Result<std::vector<RawMember>> ScanObject(std::string_view text, size_t max_depth = 128);

// The member named `key` in `members`, or nullptr.
const RawMember* FindMember(const std::vector<RawMember>& members, std::string_view key);

// The decoded text of `raw`, a JSON string literal (quotes included) that ScanObject accepted;
// nullopt when `raw` is not a string.
std::optional<std::string> DecodeString(std::string_view raw);

// A canonical text for the JSON-RPC id `raw` (a value ScanObject accepted), so that an id and the
// same id written differently by a peer (escapes, exponent) give the same key: the raw text when it
// is a plain integer or a printable-ASCII string without escapes, else json::Serialize(json::Parse(raw)).
std::string IdKey(std::string_view raw);

}  // namespace writ::gateway
