// gMock matchers for writ::Result and writ::Status (LevelDB keeps an OK matcher for Status):
//   EXPECT_THAT(ledger.Append(e), IsOk());
//   EXPECT_THAT(Parse("{"), FailsWith(Code::kInvalidArgument));
//   EXPECT_THAT(Parse("{"), FailsWith(Code::kInvalidArgument, HasSubstr("malformed")));
#pragma once
#include <ostream>
#include <string>

#include <gmock/gmock.h>

#include "common/result.h"

namespace writ {

void PrintTo(const Error& error, std::ostream* os);
void PrintTo(Code code, std::ostream* os);

template <class T>
void PrintTo(const Result<T>& result, std::ostream* os) {
  if (result.has_value()) {
    *os << "ok";
  } else {
    *os << result.error().ToString();
  }
}

MATCHER(IsOk, "succeeds") {
  if (arg.has_value()) return true;
  *result_listener << "failed with " << arg.error().ToString();
  return false;
}

MATCHER_P(FailsWith, code, "fails with " + std::string(CodeName(code))) {
  if (arg.has_value()) {
    *result_listener << "succeeded";
    return false;
  }
  *result_listener << "failed with " << arg.error().ToString();
  return arg.error().code == code;
}

MATCHER_P2(FailsWith, code, message_matcher, "fails with " + std::string(CodeName(code))) {
  if (arg.has_value()) {
    *result_listener << "succeeded";
    return false;
  }
  *result_listener << "failed with " << arg.error().ToString();
  return arg.error().code == code &&
         ::testing::ExplainMatchResult(message_matcher, arg.error().message, result_listener);
}

}  // namespace writ
