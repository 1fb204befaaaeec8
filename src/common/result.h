// writ's one error type and one result type. Every fallible function returns Result<T>; a failure
// carries a stable machine code (chosen by what the caller should do next) and a human sentence.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace writ {

// Stable machine codes. Their names (CodeName) are part of the API (HTTP error bodies, CLI JSON):
// never rename one. Pick the code by what the caller does next:
enum class Code : uint8_t {
  kInvalidArgument,     // fix the input (HTTP 400)
  kUnauthenticated,     // get a new credential (401)
  kPermissionDenied,    // policy or role said no (403)
  kNotFound,            // no such thing (404)
  kConflict,            // it already exists / version mismatch (409)
  kFailedPrecondition,  // fix the state first, e.g. the agent is suspended (409)
  kOutOfRange,          // index or size past the end (400)
  kResourceExhausted,   // too big or too many (413/429)
  kUnavailable,         // retry the same call later (503)
  kDeadlineExceeded,    // timed out (504)
  kDataLoss,            // stored data is corrupt: page a human (500)
  kUnimplemented,       // not supported (501)
  kInternal,            // a bug (500)
};

// The snake_case name of `code`, e.g. "invalid_argument". Never empty.
std::string_view CodeName(Code code);

// Parses a name produced by CodeName. Returns false if `name` is not one of them.
bool ParseCodeName(std::string_view name, Code* code);

struct Error {
  Code code = Code::kInternal;
  // Lowercase, no final period, user input in backticks, never a secret (STYLE.md habit 4).
  std::string message;

  // "<code>: <message>", for logs and test failures.
  std::string ToString() const;
};

// The result of a fallible call: a T, or an Error. Discarding it does not compile (-Werror).
template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
};

// Result of a call that returns nothing on success.
using Status = Result<void>;

// The one way to build a failure: `return Fail(Code::kNotFound, "agent `x` not found");`
inline tl::unexpected<Error> Fail(Code code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}
inline tl::unexpected<Error> Fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

// Success for Status-returning functions: `return Ok();`
inline Status Ok() { return {}; }

}  // namespace writ

// Propagates a failure from an expression returning Result/Status, else yields nothing.
#define WRIT_RETURN_IF_ERROR(expr)                                     \
  do {                                                                 \
    auto writ_status_ = (expr);                                        \
    if (!writ_status_) return ::writ::Fail(std::move(writ_status_).error()); \
  } while (false)

#define WRIT_CONCAT_INNER_(a, b) a##b
#define WRIT_CONCAT_(a, b) WRIT_CONCAT_INNER_(a, b)
// `WRIT_ASSIGN_OR_RETURN(auto x, Compute());` declares x from a successful Result, else returns its error.
#define WRIT_ASSIGN_OR_RETURN(lhs, expr) \
  WRIT_ASSIGN_OR_RETURN_IMPL_(WRIT_CONCAT_(writ_result_, __LINE__), lhs, expr)
#define WRIT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)      \
  auto tmp = (expr);                                     \
  if (!tmp) return ::writ::Fail(std::move(tmp).error()); \
  lhs = std::move(tmp).value()
