// The real Recorder: appends decision and policy events to writ's ledger (durability as the
// ledger was opened: strict by default, so Record returns once the event is fsync'd).
#pragma once
#include "authz/engine.h"

namespace writ::ledger {
class Ledger;
}

namespace writ::authz {

class LedgerRecorder final : public Recorder {
 public:
  // `ledger` is borrowed and must outlive the recorder.
  explicit LedgerRecorder(ledger::Ledger& ledger) : ledger_(ledger) {}
  // Errors: as Ledger::Append (kUnavailable when nothing was recorded).
  Status Record(ledger::Event event) override;

 private:
  ledger::Ledger& ledger_;
};

}  // namespace writ::authz
