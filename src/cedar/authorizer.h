// The Cedar authorizer: forbid overrides permit, default deny, an erroring policy is skipped and
// reported. Policies are indexed by their scope so a request evaluates only those that can match.
// An Authorizer is immutable after construction and safe to share between threads.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cedar/entities.h"
#include "cedar/policy.h"
#include "cedar/value.h"
#include "common/result.h"

namespace writ::json {
class Value;
}

namespace writ::cedar {

// principal, action and resource are entity values (a request with anything else is denied);
// context is a record. Build once and reuse: Authorize does not copy it.
struct Request {
  Value principal;
  Value action;
  Value resource;
  Value context = Value::Record({});
  static Request Make(EntityUid principal, EntityUid action, EntityUid resource, Value context = Value::Record({}));
};

// Written in responses: never rename (see ErrorKindName).
enum class EvalErrorKind : uint8_t {
  kEntityDoesNotExist,
  kEntityAttrDoesNotExist,  // also a missing tag
  kRecordAttrDoesNotExist,
  kTypeError,
  kWrongNumArguments,
  kIntegerOverflow,
  kUnlinkedSlot,
  kExtensionError,
  kRecursionLimit,
};
// "entity_does_not_exist", "type_error", ...
std::string_view ErrorKindName(EvalErrorKind kind);

enum class Decision : uint8_t { kDeny, kAllow };

struct PolicyError {
  std::string_view policy_id;  // views into the Authorizer's policy set
  EvalErrorKind kind = EvalErrorKind::kTypeError;
  std::string message;
};

struct Response {
  Decision decision = Decision::kDeny;
  std::vector<std::string_view> reasons;  // ids of the determining policies (views, as above)
  std::vector<PolicyError> errors;        // policies skipped because they erred
};

class Authorizer {
 public:
  // Takes the policies of `set` (linked templates included) and builds the scope index.
  explicit Authorizer(PolicySet set);
  ~Authorizer();
  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;

  // Decides `request` against `entities`. Never fails: errors are reported in the response.
  // Returned views stay valid while this Authorizer lives.
  Response Authorize(const Request& request, const Entities& entities) const;
  // Same, reusing `out`'s storage (no allocation when nothing errs and reasons fit its capacity).
  void Authorize(const Request& request, const Entities& entities, Response* out) const;

  const PolicySet& policies() const;

 private:
  struct Index;
  std::unique_ptr<Index> index_;
};

// `{"decision":"allow","reason":["p1"],"errors":[{"policy":"p2","kind":"type_error","message":".."}]}`
std::string ResponseToJson(const Response& response);

// A request from `{"principal":uid,"action":uid,"resource":uid,"context":{..}}`; with a schema the
// context is parsed as the action's context type. Errors: kInvalidArgument.
Result<Request> RequestFromJson(const json::Value& v, const Schema* schema = nullptr);

// The same from JSON text: one request object, or an array of them (`--requests`).
Result<Request> ParseRequest(std::string_view json_text, const Schema* schema = nullptr);
Result<std::vector<Request>> ParseRequests(std::string_view json_text, const Schema* schema = nullptr);

// Evaluates one expression against a request (for tests and tools).
// Errors: kInvalidArgument with the evaluation error message.
Result<Value> EvaluateExpression(const Expr& expr, const Request& request, const Entities& entities);

}  // namespace writ::cedar
