// Reads one JSON case per line on stdin -- {"policies": text, "entities": [...], "principal": uid,
// "action": uid, "resource": uid, "context": {...}} -- and prints one line per case: the
// ResponseToJson answer, or {"error": "..."} when the policies, entities or request do not parse.
// Used by diff.mjs to compare writ's engine with @cedar-policy/cedar-wasm.
#include <iostream>
#include <string>

#include "cedar/cedar.h"
#include "common/json.h"

namespace {

std::string ErrorLine(const std::string& message) {
  writ::json::Writer w;
  w.BeginObject().Key("error").String(message).EndObject();
  return w.Take();
}

std::string RunCase(const std::string& line) {
  using namespace writ;
  auto doc = json::Parse(line, {.max_bytes = 64 << 20, .max_depth = 256});
  if (!doc) return ErrorLine("case: " + doc.error().message);
  const json::Value* policies = doc->Find("policies");
  const json::Value* entities = doc->Find("entities");
  if (policies == nullptr || !policies->is_string() || entities == nullptr) return ErrorLine("case: bad shape");
  auto set = cedar::ParsePolicySet(policies->as_string());
  if (!set) return ErrorLine("policies: " + set.error().front().ToString());
  auto store = cedar::EntitiesFromJson(*entities);
  if (!store) return ErrorLine("entities: " + store.error().message);
  auto request = cedar::RequestFromJson(*doc);
  if (!request) return ErrorLine("request: " + request.error().message);
  cedar::Authorizer authorizer(std::move(*set));
  return cedar::ResponseToJson(authorizer.Authorize(*request, *store));
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::cout << RunCase(line) << '\n';
  }
  return 0;
}
