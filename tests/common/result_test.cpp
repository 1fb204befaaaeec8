#include "common/result.h"

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ {
namespace {

Result<int> Half(int value) {
  if (value % 2 != 0) return Fail(Code::kInvalidArgument, "odd");
  return value / 2;
}

Result<int> Quarter(int value) {
  WRIT_ASSIGN_OR_RETURN(int half, Half(value));
  WRIT_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int value) {
  WRIT_RETURN_IF_ERROR(Half(value));
  return Ok();
}

TEST(ResultTest, AssignOrReturnPropagatesTheFirstFailure) {
  EXPECT_EQ(Quarter(8).value(), 2);
  EXPECT_THAT(Quarter(6), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(CheckEven(3), FailsWith(Code::kInvalidArgument, "odd"));
  EXPECT_THAT(CheckEven(4), IsOk());
}

TEST(ResultTest, CodeNamesRoundTripAndAreStable) {
  EXPECT_EQ(CodeName(Code::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(CodeName(Code::kFailedPrecondition), "failed_precondition");
  EXPECT_EQ(CodeName(Code::kInternal), "internal");
  for (int index = 0; index <= static_cast<int>(Code::kInternal); ++index) {
    Code parsed;
    ASSERT_TRUE(ParseCodeName(CodeName(static_cast<Code>(index)), &parsed));
    EXPECT_EQ(static_cast<int>(parsed), index);
  }
  Code ignored;
  EXPECT_FALSE(ParseCodeName("no_such_code", &ignored));
}

TEST(ResultTest, ErrorToStringPutsTheCodeFirst) {
  EXPECT_EQ((Error{Code::kNotFound, "agent `x` not found"}).ToString(), "not_found: agent `x` not found");
}

}  // namespace
}  // namespace writ
