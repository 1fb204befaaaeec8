#include "cli/decision_commands.h"

#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/connection.h"

namespace writ::cli {
namespace {

constexpr size_t kMaxPolicyFileBytes = 4 << 20;


bool IsPolicySetFile(const std::string& name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".cedar") || ends(".cedarschema") || ends(".cedarschema.json") || ends("entities.json");
}

// The policy-set files of `dir` (not recursive) as {"name": "text"}.
Result<json::Value> ReadPolicyDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return Fail(Code::kNotFound, fmt::format("cannot read directory `{}`: {}", dir, ec.message()));
  json::Value files = json::Object{};
  size_t count = 0;
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !IsPolicySetFile(name)) continue;
    if (entry.file_size() > kMaxPolicyFileBytes) return Fail(Code::kResourceExhausted, fmt::format("`{}` is too large", name));
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return Fail(Code::kUnavailable, fmt::format("cannot read `{}`", name));
    files.Set(name, text.str());
    ++count;
  }
  if (count == 0) return Fail(Code::kInvalidArgument, fmt::format("`{}` holds no .cedar file", dir));
  return files;
}

void PrintVersion(std::ostream& out, const json::Value& version) {
  std::vector<std::vector<std::string>> rows;
  for (std::string_view key : {"version", "active", "content_hash", "author", "reason", "created_at"}) {
    rows.push_back({std::string(key), CellText(version.Find(key))});
  }
  PrintTable(out, {"FIELD", "VALUE"}, rows);
}

void PrintVersions(std::ostream& out, const json::Value& body) {
  std::vector<std::vector<std::string>> rows;
  if (const json::Value* versions = body.Find("versions"); versions != nullptr && versions->is_array()) {
    for (const auto& v : versions->as_array()) {
      const json::Value* active = v.Find("active");
      rows.push_back({CellText(v.Find("version")), active != nullptr && active->is_bool() && active->as_bool() ? "*" : "",
                      CellText(v.Find("created_at")), CellText(v.Find("author")), CellText(v.Find("reason")),
                      CellText(v.Find("content_hash")).substr(0, 12)});
    }
  }
  PrintTable(out, {"VERSION", "ACTIVE", "CREATED", "AUTHOR", "REASON", "HASH"}, rows);
}

void PrintApprovals(std::ostream& out, const json::Value& body) {
  std::vector<std::vector<std::string>> rows;
  if (const json::Value* items = body.Find("approvals"); items != nullptr && items->is_array()) {
    for (const auto& a : items->as_array()) {
      rows.push_back({CellText(a.Find("id")), CellText(a.Find("state")), CellText(a.Find("principal")),
                      CellText(a.Find("action")), CellText(a.Find("resource")), CellText(a.Find("expires_at"))});
    }
  }
  PrintTable(out, {"ID", "STATE", "PRINCIPAL", "ACTION", "RESOURCE", "EXPIRES"}, rows);
}

void PrintApproval(std::ostream& out, const json::Value& approval) {
  std::vector<std::vector<std::string>> rows;
  if (approval.is_object()) {
    for (const auto& [key, value] : approval.as_object()) rows.push_back({key, CellText(&value)});
  }
  PrintTable(out, {"FIELD", "VALUE"}, rows);
}

// `writ policy shadow-report` (and stage/unstage): counts, then the recent disagreements.
void PrintShadowReport(std::ostream& out, const json::Value& body) {
  const json::Value* staged = body.Find("staged");
  if (staged == nullptr || !staged->is_bool() || !staged->as_bool()) {
    out << "no policy set version is staged\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (std::string_view key : {"version", "active", "staged_by", "staged_at", "evaluated", "agreed", "disagreed"}) {
    if (body.Find(key) != nullptr) rows.push_back({std::string(key), CellText(body.Find(key))});
  }
  PrintTable(out, {"FIELD", "VALUE"}, rows);
  const json::Value* recent = body.Find("recent");
  if (recent == nullptr || !recent->is_array() || recent->as_array().empty()) return;
  auto side = [](const json::Value* decision) {
    if (decision == nullptr) return std::string();
    std::string text = CellText(decision->Find("decision"));
    if (const json::Value* ids = decision->Find("policy_ids"); ids != nullptr && ids->is_array() && !ids->as_array().empty()) {
      std::string joined;
      for (const auto& id : ids->as_array()) joined += (joined.empty() ? "" : ",") + CellText(&id);
      text += " (" + joined + ")";
    }
    return text;
  };
  rows.clear();
  for (const auto& d : recent->as_array()) {
    rows.push_back({CellText(d.Find("time")), CellText(d.Find("principal")), CellText(d.Find("action")),
                    CellText(d.Find("resource")), side(d.Find("active")), side(d.Find("shadow"))});
  }
  out << '\n';
  PrintTable(out, {"TIME", "PRINCIPAL", "ACTION", "RESOURCE", "ACTIVE", "SHADOW"}, rows);
}

struct PolicyState {
  std::string dir, reason, version, from, to;
  bool activate = false;
  bool shadow = false;
};

struct ApprovalState {
  std::string id, state, ttl, reason;
};

void AddPolicy(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto* policy = app.add_subcommand("policy", "versioned Cedar policy sets: apply, list, show, diff, activate, rollback, stage, unstage, shadow-report");
  policy->require_subcommand(1);
  auto state = std::make_shared<PolicyState>();

  auto* apply = policy->add_subcommand("apply", "store the policy set in DIR as a new version");
  apply->add_option("dir", state->dir, "directory with .cedar files, optional .cedarschema and entities.json")->required();
  apply->add_option("--reason", state->reason, "why (recorded with the version)");
  apply->add_flag("--activate", state->activate, "activate the new version at once");
  apply->add_flag("--shadow", state->shadow, "stage the new version for shadow evaluation (see shadow-report)");
  apply->callback([state, action, &global]() {
    *action = MakeDaemonAction(global, [state](Connection& connection) -> Result<json::Value> {
      WRIT_ASSIGN_OR_RETURN(json::Value files, ReadPolicyDir(state->dir));
      json::Value body = json::Object{{"files", std::move(files)}, {"activate", state->activate}, {"stage", state->shadow}};
      if (!state->reason.empty()) body.Set("reason", state->reason);
      return connection.Call("POST", "/v1/policies", &body);
    }, PrintVersion);
  });

  auto* list = policy->add_subcommand("list", "every stored version (* = active)");
  list->callback([action, &global]() {
    *action = MakeDaemonAction(global, [](Connection& connection) { return connection.Call("GET", "/v1/policies"); }, PrintVersions);
  });

  auto* show = policy->add_subcommand("show", "one version with its files");
  show->add_option("version", state->version, "version number")->required();
  show->callback([state, action, &global]() {
    *action = MakeDaemonAction(global, [state](Connection& connection) {
      return connection.Call("GET", "/v1/policies/" + UrlEncode(state->version));
    }, [](std::ostream& out, const json::Value& body) {
      PrintVersion(out, body);
      if (const json::Value* files = body.Find("files"); files != nullptr && files->is_object()) {
        for (const auto& [name, text] : files->as_object()) out << "\n== " << name << "\n" << CellText(&text) << '\n';
      }
    });
  });

  auto* diff = policy->add_subcommand("diff", "line diff between two versions");
  diff->add_option("from", state->from, "older version")->required();
  diff->add_option("to", state->to, "newer version")->required();
  diff->callback([state, action, &global]() {
    *action = MakeDaemonAction(global, [state](Connection& connection) {
      return connection.Call("GET", "/v1/policies/diff?from=" + UrlEncode(state->from) + "&to=" + UrlEncode(state->to));
    }, [](std::ostream& out, const json::Value& body) {
      const json::Value* text = body.Find("diff");
      if (text != nullptr && text->is_string()) out << text->as_string();
    });
  });

  // The version changes: POST {"reason"} to /v1/policies/<version>/<verb>, or /v1/policies/<verb>.
  struct Change {
    const char* name;
    const char* help;
    bool takes_version;
    void (*print)(std::ostream&, const json::Value&);
  };
  for (const Change& change : {Change{"activate", "make a stored version the active one", true, PrintVersion},
                               Change{"rollback", "re-activate the version active before the current one", false, PrintVersion},
                               Change{"stage", "evaluate a stored version beside the active one (shadow), not changing answers",
                                      true, PrintShadowReport},
                               Change{"unstage", "stop shadow evaluation and print its final report", false, PrintShadowReport}}) {
    auto* command = policy->add_subcommand(change.name, change.help);
    if (change.takes_version) command->add_option("version", state->version, "version number")->required();
    command->add_option("--reason", state->reason, "why (recorded)");
    command->callback([state, action, &global, change]() {
      *action = MakeDaemonAction(global, [state, change](Connection& connection) {
        json::Value body = json::Object{{"reason", state->reason}};
        const std::string path = change.takes_version ? "/v1/policies/" + UrlEncode(state->version) + "/" + change.name
                                                      : std::string("/v1/policies/") + change.name;
        return connection.Call("POST", path, &body);
      }, change.print);
    });
  }

  auto* report = policy->add_subcommand("shadow-report", "how often the staged version agreed with the active one");
  report->callback([action, &global]() {
    *action = MakeDaemonAction(global, [](Connection& connection) { return connection.Call("GET", "/v1/policies/shadow"); },
                               PrintShadowReport);
  });
}

void AddApprovals(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto* approvals = app.add_subcommand("approvals", "human approval requests: list, grant, deny");
  approvals->require_subcommand(1);
  auto state = std::make_shared<ApprovalState>();

  auto* list = approvals->add_subcommand("list", "approval requests, newest first");
  list->add_option("--state", state->state, "pending, granted, denied, expired or used");
  list->callback([state, action, &global]() {
    *action = MakeDaemonAction(global, [state](Connection& connection) {
      std::string path = "/v1/approvals";
      if (!state->state.empty()) path += "?state=" + UrlEncode(state->state);
      return connection.Call("GET", path);
    }, PrintApprovals);
  });

  auto* grant = approvals->add_subcommand("grant", "allow the request once, or for a time with --for");
  grant->add_option("id", state->id, "approval request id")->required();
  grant->add_option("--for", state->ttl, "allow matching requests for this long, e.g. 15m");
  grant->add_option("--reason", state->reason, "why (recorded)");
  grant->callback([state, action, &global]() {
    *action = MakeDaemonAction(global, [state](Connection& connection) {
      json::Value body = json::Object{{"reason", state->reason}};
      if (!state->ttl.empty()) body.Set("for", state->ttl);
      return connection.Call("POST", "/v1/approvals/" + UrlEncode(state->id) + "/grant", &body);
    }, PrintApproval);
  });

  auto* deny = approvals->add_subcommand("deny", "refuse the request");
  deny->add_option("id", state->id, "approval request id")->required();
  deny->add_option("--reason", state->reason, "why (recorded)");
  deny->callback([state, action, &global]() {
    *action = MakeDaemonAction(global, [state](Connection& connection) {
      json::Value body = json::Object{{"reason", state->reason}};
      return connection.Call("POST", "/v1/approvals/" + UrlEncode(state->id) + "/deny", &body);
    }, PrintApproval);
  });
}

}  // namespace

void AddDecisionCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  AddPolicy(app, global, action);
  AddApprovals(app, global, action);
}

}  // namespace writ::cli
