// OCSF (Open Cybersecurity Schema Framework 1.8.0) JSON for ledger events, one object per line, for
// SIEM shippers. Decisions are API Activity (6003); token issuance and revocation Authentication
// (3002); identity lifecycle and breaker trips Entity Management (3004); everything else API
// Activity with activity "Other". writ-specific fields go under `unmapped.writ`.
#pragma once
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "ledger/ledger.h"

namespace writ::ledger {

struct OcsfOptions {
  std::string product_name = "writ";
  std::string vendor_name = "writ";
  std::string product_version = "0.1.0";
};

// One OCSF event object as compact JSON (no trailing newline).
std::string ToOcsfJson(const StoredEvent& event, const OcsfOptions& options = {});

// Streams every event matching `query` (ignoring its limit: it pages through all of them) to `sink`
// as one JSON line each ("…}\n"). Stops early when `sink` returns false.
// Errors: those of Ledger::Query.
Status ExportOcsf(const Ledger& ledger, const EventQuery& query,
                  const std::function<bool(std::string_view line)>& sink, const OcsfOptions& options = {});

}  // namespace writ::ledger
