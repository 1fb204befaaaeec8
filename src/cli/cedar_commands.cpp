#include "cli/cedar_commands.h"

#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cedar/authorizer.h"
#include "cedar/entities.h"
#include "cedar/policy.h"
#include "cedar/schema.h"
#include "cedar/validator.h"
#include "common/json.h"

namespace writ::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitDeny = 2;
constexpr int kExitInvalid = 3;

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(Code::kNotFound, "cannot read `" + path + "`");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Prints every parse error as `file:line:column: message` and returns kExitError.
int PrintParseErrors(std::ostream& err, const std::string& path, const cedar::ParseErrors& errors) {
  for (const auto& e : errors) {
    err << path << ':' << e.line << ':' << e.column << ": " << e.message << " ["
        << cedar::ParseErrorKindName(e.kind) << "]\n";
  }
  return kExitError;
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A schema file: `.json` in the JSON schema format, anything else in the human format.
Result<cedar::Schema> LoadSchema(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return Fail(text.error());
  auto schema = EndsWith(path, ".json") ? cedar::ParseSchemaJson(*text) : cedar::ParseSchema(*text);
  if (!schema) return Fail(Code::kInvalidArgument, path + ": " + schema.error().message);
  return schema;
}

struct CedarState {
  std::string policies, schema, entities, request_json, requests, output;
};

// Reads and parses --policies (ids from `@id`). On failure prints why on `err` (every parse error
// as file:line:column) and returns nullopt: the command then exits with kExitError.
std::optional<cedar::PolicySet> LoadPolicies(const CedarState& s, std::ostream& err) {
  auto text = ReadFile(s.policies);
  if (!text) {
    err << "writ: " << text.error().message << '\n';
    return std::nullopt;
  }
  auto set = cedar::ParsePolicySet(*text, {.ids_from_annotation = true});
  if (!set) {
    PrintParseErrors(err, s.policies, set.error());
    return std::nullopt;
  }
  return std::move(*set);
}

int Validate(const CedarState& s, const GlobalOptions& global, std::ostream& out, std::ostream& err) {
  auto set = LoadPolicies(s, err);
  if (!set) return kExitError;
  auto schema = LoadSchema(s.schema);
  if (!schema) {
    err << "writ: " << schema.error().message << '\n';
    return kExitError;
  }
  cedar::Validator validator(*schema);
  cedar::ValidationResult result = validator.Validate(*set);
  const bool json = (s.output.empty() ? global.output : s.output) == "json";
  if (json) {
    auto issues = [](const std::vector<cedar::ValidationIssue>& list) {
      json::Value arr = json::Array{};
      for (const auto& e : list) {
        json::Value item = json::Object{};
        item.Set("policy", e.policy_id);
        item.Set("kind", std::string(cedar::ValidationErrorKindName(e.kind)));
        item.Set("line", static_cast<int64_t>(e.span.line));
        item.Set("column", static_cast<int64_t>(e.span.column));
        item.Set("begin", static_cast<int64_t>(e.span.begin));
        item.Set("end", static_cast<int64_t>(e.span.end));
        item.Set("message", e.message);
        arr.Append(std::move(item));
      }
      return arr;
    };
    json::Value body = json::Object{};
    body.Set("valid", result.ok());
    body.Set("errors", issues(result.errors));
    body.Set("warnings", issues(result.warnings));
    out << json::Serialize(body) << '\n';
  } else {
    for (const auto& e : result.errors) {
      out << s.policies << ':' << e.span.line << ':' << e.span.column << ": error: policy `" << e.policy_id
          << "`: " << e.message << " [" << cedar::ValidationErrorKindName(e.kind) << "]\n";
    }
    for (const auto& w : result.warnings) {
      out << s.policies << ':' << w.span.line << ':' << w.span.column << ": warning: policy `" << w.policy_id
          << "`: " << w.message << " [" << cedar::ValidationErrorKindName(w.kind) << "]\n";
    }
    const size_t n = set->policies().size() + set->templates().size();
    if (result.ok()) {
      out << "ok: " << n << (n == 1 ? " policy validates" : " policies validate") << " against " << s.schema << '\n';
    } else {
      out << result.errors.size() << (result.errors.size() == 1 ? " error" : " errors") << " in " << s.policies
          << '\n';
    }
  }
  return result.ok() ? kExitOk : kExitInvalid;
}

int Authorize(const CedarState& s, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& message) {
    err << "writ: " << message << '\n';
    return kExitError;
  };
  if (s.request_json.empty() == s.requests.empty()) return fail("give exactly one of --request-json and --requests");
  auto set = LoadPolicies(s, err);
  if (!set) return kExitError;
  std::optional<cedar::Schema> schema;
  if (!s.schema.empty()) {
    auto loaded = LoadSchema(s.schema);
    if (!loaded) return fail(loaded.error().message);
    schema = std::move(*loaded);
  }
  const cedar::Schema* schema_ptr = schema ? &*schema : nullptr;
  auto entities_text = ReadFile(s.entities);
  if (!entities_text) return fail(entities_text.error().message);
  auto entities = cedar::ParseEntities(*entities_text, {.schema = schema_ptr});
  if (!entities) return fail(s.entities + ": " + entities.error().message);
  std::vector<cedar::Request> requests;
  const std::string& request_path = s.request_json.empty() ? s.requests : s.request_json;
  auto request_text = ReadFile(request_path);
  if (!request_text) return fail(request_text.error().message);
  if (!s.request_json.empty()) {
    auto r = cedar::ParseRequest(*request_text, schema_ptr);
    if (!r) return fail(request_path + ": " + r.error().message);
    requests.push_back(std::move(*r));
  } else {
    auto r = cedar::ParseRequests(*request_text, schema_ptr);
    if (!r) return fail(request_path + ": " + r.error().message);
    requests = std::move(*r);
  }
  if (schema) {
    cedar::Validator validator(*schema);
    for (size_t i = 0; i < requests.size(); ++i) {
      auto valid = validator.ValidateRequest(requests[i]);
      if (!valid) {
        return fail(request_path + (s.requests.empty() ? "" : " request " + std::to_string(i)) + ": " +
                    valid.error().message);
      }
    }
  }
  cedar::Authorizer authorizer(std::move(*set));
  bool all_allowed = true;
  cedar::Response response;
  for (const auto& request : requests) {
    authorizer.Authorize(request, *entities, &response);
    all_allowed = all_allowed && response.decision == cedar::Decision::kAllow;
    out << cedar::ResponseToJson(response) << '\n';
  }
  return all_allowed ? kExitOk : kExitDeny;
}

int CheckParse(const CedarState& s, std::ostream& out, std::ostream& err) {
  auto set = LoadPolicies(s, err);
  if (!set) return kExitError;
  out << "ok: " << set->policies().size() << " policies and " << set->templates().size() << " templates parse\n";
  return kExitOk;
}

int FormatPolicies(const CedarState& s, std::ostream& out, std::ostream& err) {
  auto set = LoadPolicies(s, err);
  if (!set) return kExitError;
  const std::string formatted = cedar::FormatPolicySet(*set);
  out << formatted;
  if (!formatted.empty() && formatted.back() != '\n') out << '\n';
  return kExitOk;
}

}  // namespace

void AddCedarCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  CLI::App* cedar = app.add_subcommand("cedar", "Cedar policy tools that work offline: validate, authorize, format");
  cedar->require_subcommand(1);
  // Options outlive parsing: the action runs after app.parse() returns.
  auto state = std::make_shared<CedarState>();
  auto add_policies = [&](CLI::App* command) {
    command->add_option("--policies", state->policies, "Cedar policy file")->required();
  };

  CLI::App* validate = cedar->add_subcommand("validate", "check policies against a schema (exit 3 if invalid)");
  add_policies(validate);
  validate->add_option("--schema", state->schema, "schema file (.cedarschema, or .json for the JSON format)")->required();
  validate->add_option("-o,--output", state->output, "output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  validate->callback([=, &global] {
    *action = [state, &global](std::ostream& out, std::ostream& err) { return Validate(*state, global, out, err); };
  });

  CLI::App* authorize = cedar->add_subcommand("authorize", "decide requests (exit 0 allow, 2 deny)");
  add_policies(authorize);
  authorize->add_option("--schema", state->schema, "schema file: entities and context are parsed and checked with it");
  authorize->add_option("--entities", state->entities, "entities JSON file")->required();
  authorize->add_option("--request-json", state->request_json, "one request {principal, action, resource, context}");
  authorize->add_option("--requests", state->requests, "a JSON array of requests: one answer line each");
  authorize->callback([=] {
    *action = [state](std::ostream& out, std::ostream& err) { return Authorize(*state, out, err); };
  });

  CLI::App* check = cedar->add_subcommand("check-parse", "check that policies parse");
  add_policies(check);
  check->callback([=] {
    *action = [state](std::ostream& out, std::ostream& err) { return CheckParse(*state, out, err); };
  });

  CLI::App* format = cedar->add_subcommand("format", "print policies in canonical form");
  add_policies(format);
  format->callback([=] {
    *action = [state](std::ostream& out, std::ostream& err) { return FormatPolicies(*state, out, err); };
  });
}

}  // namespace writ::cli
