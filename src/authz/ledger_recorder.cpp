#include "authz/ledger_recorder.h"

#include "ledger/ledger.h"

namespace writ::authz {

Status LedgerRecorder::Record(ledger::Event event) {
  auto receipt = ledger_.Append(std::move(event));
  if (!receipt) return Fail(std::move(receipt).error());
  return Ok();
}

}  // namespace writ::authz
