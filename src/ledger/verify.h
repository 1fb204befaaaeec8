// Full verification of a stored ledger: re-hashes every event, checks each event's position and
// chain link, rebuilds the tree, checks every stored checkpoint's signature and that its root is the
// root of the rebuilt tree at its size (so consecutive checkpoints are consistent with each other),
// and reports the first bad event. Reads the store only; safe while a Ledger appends.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "common/result.h"
#include "ledger/merkle.h"
#include "ledger/note.h"

namespace writ::store {
class LedgerStore;
}

namespace writ::ledger {

struct VerifyOptions {
  std::span<const NoteVerifier> verifiers;  // keys that may sign checkpoints (borrowed)
  std::string origin;                       // expected checkpoint origin; empty = any
  // A checkpoint obtained elsewhere (a witness, a file): the ledger must contain it exactly.
  std::optional<std::string> trusted_checkpoint;
  // Called every progress_every events and at the end with (events checked, events stored).
  std::function<void(uint64_t done, uint64_t total)> progress;
  uint64_t progress_every = 1 << 20;
};

struct VerifyProblem {
  uint64_t index = 0;  // position of the first bad event (or the checkpoint size)
  std::string id;      // its id when known
  std::string what;    // what differs, one lowercase sentence
};

struct VerifyReport {
  uint64_t events = 0;       // events checked
  uint64_t bytes = 0;        // event bytes hashed
  uint64_t checkpoints = 0;  // checkpoints checked
  uint64_t uncovered = 0;    // events after the last checkpoint (not yet signed)
  Hash root{};               // root of all events checked
  std::optional<VerifyProblem> problem;  // the first problem; none = the ledger verifies
  bool ok() const { return !problem.has_value(); }
};

// A corrupt or tampered ledger is a report with a problem, not an error.
// Errors: kUnavailable when the store cannot be read; kInvalidArgument for a malformed
// trusted_checkpoint.
Result<VerifyReport> Verify(store::LedgerStore& store, const VerifyOptions& options);

}  // namespace writ::ledger
