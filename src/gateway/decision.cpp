#include "gateway/decision.h"

namespace writ::gateway {

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAllow:
      return "allow";
    case Verdict::kDeny:
      return "deny";
    case Verdict::kApprovalRequired:
      return "approval_required";
  }
  return "deny";
}

}  // namespace writ::gateway
