#include "common/result.h"

#include <array>

namespace writ {
namespace {

// Indexed by Code. Persisted in API responses: never rename.
constexpr std::array<std::string_view, 13> kCodeNames = {
    "invalid_argument", "unauthenticated", "permission_denied", "not_found",
    "conflict",         "failed_precondition", "out_of_range",  "resource_exhausted",
    "unavailable",      "deadline_exceeded",   "data_loss",     "unimplemented",
    "internal",
};

}  // namespace

std::string_view CodeName(Code code) {
  const auto index = static_cast<size_t>(code);
  return index < kCodeNames.size() ? kCodeNames[index] : std::string_view("internal");
}

bool ParseCodeName(std::string_view name, Code* code) {
  for (size_t index = 0; index < kCodeNames.size(); ++index) {
    if (kCodeNames[index] == name) {
      *code = static_cast<Code>(index);
      return true;
    }
  }
  return false;
}

std::string Error::ToString() const {
  std::string text(CodeName(code));
  text += ": ";
  text += message;
  return text;
}

}  // namespace writ
