#include "ledger/verify.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "common/encoding.h"
#include "common/json.h"
#include "store/ledger_store.h"

namespace writ::ledger {
namespace {

constexpr std::string_view kLinkMismatch = "link mismatch";

struct SignedSize {
  uint64_t size;
  Hash root;
  std::string source;  // "checkpoint" or "trusted checkpoint"
};

// Cheap structural checks of one stored row against its own bytes (no JSON parse on the fast path):
// the leaf must start with the id, time and kind columns and end with its position and chain link.
std::optional<std::string> CheckRow(const store::LedgerRow& row, uint64_t index, const Hash& prev) {
  std::string_view data = row.data;
  std::string head = "{\"v\":1,\"id\":";
  json::AppendQuoted(head, row.id);
  head += fmt::format(",\"time\":{},\"kind\":", row.time_ms);
  json::AppendQuoted(head, row.kind);
  std::string tail = fmt::format(",\"seq\":{},\"prev\":\"{}\"}}", index, Base64Encode(crypto::AsBytes(prev)));
  if (data.size() < tail.size() || data.substr(data.size() - tail.size()) != tail) {
    // Say precisely which: decode the position.
    auto seq_at = data.rfind(",\"seq\":");
    if (seq_at != std::string_view::npos) {
      uint64_t seq = 0;
      bool any = false;
      for (size_t i = seq_at + 7; i < data.size() && data[i] >= '0' && data[i] <= '9'; ++i) {
        seq = seq * 10 + static_cast<uint64_t>(data[i] - '0');
        any = true;
      }
      if (any && seq != index) {
        return fmt::format("event records position {} but is stored at position {}", seq, index);
      }
    }
    return std::string(kLinkMismatch);
  }
  if (data.substr(0, head.size()) != head) {
    return std::string("stored id, time or kind column differs from the event");
  }
  auto field = [&](std::string_view name, const std::string& value) -> bool {
    std::string needle = fmt::format(",\"{}\":", name);
    if (value.empty()) return data.find(needle) == std::string_view::npos;
    json::AppendQuoted(needle, value);
    return data.find(needle) != std::string_view::npos;
  };
  if (!field("subject", row.subject)) return std::string("stored subject column differs from the event");
  if (!field("correlation_id", row.correlation_id)) {
    return std::string("stored correlation_id column differs from the event");
  }
  return std::nullopt;
}

}  // namespace

Result<VerifyReport> Verify(store::LedgerStore& store, const VerifyOptions& options) {
  VerifyReport report;
  WRIT_ASSIGN_OR_RETURN(uint64_t total, store.Size());
  WRIT_ASSIGN_OR_RETURN(std::vector<store::LedgerCheckpointRow> rows, store.Checkpoints());

  // 1. Every checkpoint signature and text.
  std::vector<SignedSize> signed_sizes;
  for (const auto& row : rows) {
    auto text = OpenNote(row.note, options.verifiers);
    auto checkpoint = text ? ParseCheckpoint(*text) : Result<Checkpoint>(Fail(text.error()));
    std::string what;
    if (!text) {
      what = "signature does not verify: " + text.error().message;
    } else if (!checkpoint) {
      what = "text is malformed: " + checkpoint.error().message;
    } else if (checkpoint->size != row.size) {
      what = fmt::format("signed size {} differs from its stored size", checkpoint->size);
    } else if (!options.origin.empty() && checkpoint->origin != options.origin) {
      what = fmt::format("origin `{}` is not `{}`", checkpoint->origin, options.origin);
    }
    if (!what.empty()) {
      report.problem = VerifyProblem{row.size, "", fmt::format("checkpoint at size {}: {}", row.size, what)};
      return report;
    }
    signed_sizes.push_back(SignedSize{checkpoint->size, checkpoint->root, "checkpoint"});
    ++report.checkpoints;
  }
  if (options.trusted_checkpoint) {
    WRIT_ASSIGN_OR_RETURN(std::string text, OpenNote(*options.trusted_checkpoint, options.verifiers));
    WRIT_ASSIGN_OR_RETURN(Checkpoint trusted, ParseCheckpoint(text));
    signed_sizes.push_back(SignedSize{trusted.size, trusted.root, "trusted checkpoint"});
  }
  std::stable_sort(signed_sizes.begin(), signed_sizes.end(),
                   [](const SignedSize& a, const SignedSize& b) { return a.size < b.size; });
  size_t next_signed = 0;
  uint64_t last_good_size = 0;

  // 2. Every event in order, rebuilding the tree's right edge.
  CompactRange range;
  Hash prev{};
  std::string prev_id;
  uint64_t expected = 0;
  auto check_signed = [&]() -> bool {
    while (next_signed < signed_sizes.size() && signed_sizes[next_signed].size == range.size()) {
      const SignedSize& item = signed_sizes[next_signed++];
      if (item.size == 0) continue;
      if (range.Root() != item.root) {
        report.problem = VerifyProblem{
            last_good_size, "",
            fmt::format("events in [{}, {}) do not hash to the signed root of the {} at size {}: they were "
                        "rewritten after signing",
                        last_good_size, item.size, item.source, item.size)};
        return false;
      }
      last_good_size = item.size;
    }
    return true;
  };
  if (!check_signed()) return report;
  WRIT_RETURN_IF_ERROR(store.Scan(0, [&](const store::LedgerRow& row) {
    if (row.index != expected) {
      report.problem = VerifyProblem{expected, "",
                                     fmt::format("event at position {} is missing (the next stored is {})",
                                                 expected, row.index)};
      return false;
    }
    Hash hash = HashLeaf(row.data);
    if (std::memcmp(hash.data(), row.leaf_hash.data(), std::min(row.leaf_hash.size(), hash.size())) != 0 ||
        row.leaf_hash.size() != hash.size()) {
      report.problem = VerifyProblem{row.index, row.id, "event bytes do not hash to the stored leaf hash"};
      return false;
    }
    if (auto what = CheckRow(row, expected, prev)) {
      if (*what == kLinkMismatch && expected > 0) {
        // The position is right but the link is not: the previous event's bytes changed after this
        // one linked to them (and its leaf hash was rewritten to match).
        report.problem = VerifyProblem{expected - 1, prev_id,
                                       fmt::format("event differs from the version that event {} links to", expected)};
      } else {
        report.problem = VerifyProblem{row.index, row.id, *what};
      }
      return false;
    }
    prev = hash;
    prev_id = row.id;
    range.Append(hash);
    report.bytes += row.data.size();
    ++expected;
    if (!check_signed()) return false;
    if (options.progress && options.progress_every > 0 && expected % options.progress_every == 0) {
      options.progress(expected, total);
    }
    return true;
  }));
  report.events = expected;
  report.root = range.Root();
  if (options.progress) options.progress(expected, total);
  if (report.problem) return report;
  if (next_signed < signed_sizes.size()) {
    const SignedSize& item = signed_sizes[next_signed];
    report.problem = VerifyProblem{expected, "",
                                   fmt::format("the {} at size {} covers events that are missing (the store "
                                               "holds {}): events were removed",
                                               item.source, item.size, expected)};
    return report;
  }
  report.uncovered = expected - last_good_size;
  return report;
}

}  // namespace writ::ledger
