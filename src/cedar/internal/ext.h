// The four Cedar extensions (ipaddr, decimal, datetime/duration): constructors from strings and
// every method, registered in one table built once. Each failure carries a message in Cedar's style.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "cedar/value.h"

namespace writ::cedar::internal {

// Parsers behind `ip(..)`, `decimal(..)`, `datetime(..)`, `duration(..)`. The error is a message.
tl::expected<IpAddr, std::string> ParseIpAddr(std::string_view text);
tl::expected<int64_t, std::string> ParseDecimal(std::string_view text);
tl::expected<int64_t, std::string> ParseDatetime(std::string_view text);
tl::expected<int64_t, std::string> ParseDuration(std::string_view text);

// `ip("10.0.0.1/8")`, `decimal("1.5000")`, ... as Cedar text.
std::string ExtToString(const ExtValue& ext);

// An error from calling an extension function: a type error or a failed application.
struct ExtError {
  bool type_error = false;
  std::string message;
};
using ExtResult = tl::expected<Value, ExtError>;
using ExtImpl = ExtResult (*)(std::span<const Value> args);

struct ExtFunction {
  std::string_view name;
  bool method = false;  // called as `x.name(..)` (receiver is args[0]); else `name(..)`
  int arity = 0;        // including the receiver
  ExtImpl impl = nullptr;
};

// The function or method called `name`, or nullptr.
const ExtFunction* FindExtFunction(std::string_view name, bool method);

// Constructor name for an extension type name ("ipaddr" -> ip, "decimal", "datetime", "duration").
// Returns nullptr for an unknown type name.
const ExtFunction* ConstructorForType(std::string_view type_name);

}  // namespace writ::cedar::internal
