#include "cli/identity_commands.h"

#include <ostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/connection.h"

namespace writ::cli {
namespace {

// Every flag that sets an identity field; shared by create and update.
struct FieldFlags {
  std::string owner, tier, max_ttl, description, email, exe_path, exe_sha256;
  std::vector<std::string> labels, groups;
  std::optional<int64_t> uid, gid;
  bool clear_uid = false;
};

void AddFieldFlags(CLI::App& command, FieldFlags& flags) {
  command.add_option("--owner", flags.owner, "(agent) the accountable human's name");
  command.add_option("--tier", flags.tier, "(agent) risk tier: low, medium or high");
  command.add_option("--max-ttl", flags.max_ttl, "(agent) longest token lifetime, e.g. 15m");
  command.add_option("--label", flags.labels, "label key=value (repeatable)");
  command.add_option("--group", flags.groups, "group it belongs to (repeatable)");
  command.add_option("--description", flags.description, "free text");
  command.add_option("--selector-uid", flags.uid, "(agent) attest: process uid");
  command.add_option("--selector-gid", flags.gid, "(agent) attest: process gid");
  command.add_option("--selector-exe", flags.exe_path, "(agent) attest: absolute executable path");
  command.add_option("--selector-sha256", flags.exe_sha256, "(agent) attest: executable SHA-256 (hex)");
  command.add_option("--email", flags.email, "(human) e-mail address");
}

Result<json::Value> FieldsToJson(const FieldFlags& flags, std::optional<int64_t> human_uid) {
  json::Value body = json::Object{};
  if (!flags.owner.empty()) body.Set("owner", flags.owner);
  if (!flags.tier.empty()) body.Set("tier", flags.tier);
  if (!flags.max_ttl.empty()) body.Set("max_ttl", flags.max_ttl);
  if (!flags.description.empty()) body.Set("description", flags.description);
  if (!flags.email.empty()) body.Set("email", flags.email);
  if (!flags.groups.empty()) {
    json::Value groups = json::Array{};
    for (const auto& group : flags.groups) groups.Append(group);
    body.Set("groups", std::move(groups));
  }
  if (!flags.labels.empty()) {
    json::Value labels = json::Object{};
    for (const auto& label : flags.labels) {
      const size_t equals = label.find('=');
      if (equals == std::string::npos) {
        return Fail(Code::kInvalidArgument, fmt::format("--label `{}` must be key=value", label));
      }
      labels.Set(label.substr(0, equals), label.substr(equals + 1));
    }
    body.Set("labels", std::move(labels));
  }
  if (flags.uid || flags.gid || !flags.exe_path.empty() || !flags.exe_sha256.empty()) {
    json::Value selectors = json::Object{};
    if (flags.uid) selectors.Set("uid", *flags.uid);
    if (flags.gid) selectors.Set("gid", *flags.gid);
    if (!flags.exe_path.empty()) selectors.Set("exe_path", flags.exe_path);
    if (!flags.exe_sha256.empty()) selectors.Set("exe_sha256", flags.exe_sha256);
    body.Set("selectors", std::move(selectors));
  }
  if (human_uid) body.Set("uid", *human_uid);
  return body;
}

// The array at body[key], or an empty array when writd sent none.
const json::Array& ArrayAt(const json::Value& body, std::string_view key) {
  static const json::Array kEmpty;
  const json::Value* items = body.Find(key);
  return items != nullptr && items->is_array() ? items->as_array() : kEmpty;
}

void PrintIdentity(std::ostream& out, const json::Value& identity) {
  std::vector<std::vector<std::string>> rows;
  if (!identity.is_object()) return;
  for (const auto& [key, value] : identity.as_object()) rows.push_back({key, CellText(&value)});
  PrintTable(out, {"FIELD", "VALUE"}, rows);
}

void PrintIdentities(std::ostream& out, const json::Array& items) {
  std::vector<std::vector<std::string>> rows;
  for (const json::Value& item : items) {
    rows.push_back({CellText(item.Find("name")), CellText(item.Find("kind")), CellText(item.Find("state")),
                    CellText(item.Find("owner")), CellText(item.Find("tier")), CellText(item.Find("version"))});
  }
  PrintTable(out, {"NAME", "KIND", "STATE", "OWNER", "TIER", "VERSION"}, rows);
}

void PrintHistory(std::ostream& out, const json::Array& items) {
  std::vector<std::vector<std::string>> rows;
  for (const json::Value& item : items) {
    const json::Value* identity = item.Find("identity");
    rows.push_back({CellText(item.Find("version")), CellText(item.Find("changed_at")), CellText(item.Find("change")),
                    identity != nullptr ? CellText(identity->Find("state")) : "", CellText(item.Find("author")),
                    CellText(item.Find("reason"))});
  }
  PrintTable(out, {"VERSION", "TIME", "CHANGE", "STATE", "AUTHOR", "REASON"}, rows);
}

std::string IdentityPath(const std::string& kind, const std::string& name) {
  return fmt::format("/v1/identities/{}/{}", UrlEncode(kind), UrlEncode(name));
}

}  // namespace

void AddIdentityCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  CLI::App* identity = app.add_subcommand("identity", "register and manage agents, humans and groups");
  identity->require_subcommand(1);

  // Options outlive parsing: the action runs after app.parse() returns.
  struct State {
    std::string kind = "agent", name, reason, state, owner, tier, after;
    int64_t limit = 100;
    std::optional<int64_t> expected_version, human_uid;
    FieldFlags fields;
  };
  auto state = std::make_shared<State>();
  auto add_kind = [&](CLI::App* command) {
    command->add_option("--kind", state->kind, "agent (default), human or group");
  };
  auto add_name = [&](CLI::App* command) { command->add_option("name", state->name, "identity name")->required(); };
  auto add_reason = [&](CLI::App* command) { command->add_option("--reason", state->reason, "why (recorded in history)"); };

  CLI::App* create = identity->add_subcommand("create", "register a new identity (agents need --owner)");
  add_name(create);
  add_kind(create);
  add_reason(create);
  AddFieldFlags(*create, state->fields);
  create->add_option("--uid", state->human_uid, "(human) the local Unix uid this human acts as");
  create->callback([=, &global] {
    *action = MakeDaemonAction(
        global,
        [state](Connection& connection) -> Result<json::Value> {
          WRIT_ASSIGN_OR_RETURN(json::Value body, FieldsToJson(state->fields, state->human_uid));
          body.Set("kind", state->kind);
          body.Set("name", state->name);
          if (!state->reason.empty()) body.Set("reason", state->reason);
          return connection.Call("POST", "/v1/identities", &body);
        },
        PrintIdentity);
  });

  CLI::App* get = identity->add_subcommand("get", "show one identity");
  add_name(get);
  add_kind(get);
  get->callback([=, &global] {
    *action = MakeDaemonAction(
        global, [state](Connection& connection) { return connection.Call("GET", IdentityPath(state->kind, state->name)); },
        PrintIdentity);
  });

  CLI::App* list = identity->add_subcommand("list", "list identities, filtered and paged");
  add_kind(list);
  list->add_option("--state", state->state, "only in this state");
  list->add_option("--owner", state->owner, "only agents owned by this human");
  list->add_option("--tier", state->tier, "only agents of this tier");
  list->add_option("--after", state->after, "start after this name (paging)");
  list->add_option("--limit", state->limit, "at most this many (1..1000)");
  list->callback([=, &global] {
    *action = MakeDaemonAction(
        global,
        [state](Connection& connection) -> Result<json::Value> {
          std::string path = "/v1/identities?kind=" + UrlEncode(state->kind) + "&limit=" + std::to_string(state->limit);
          if (!state->state.empty()) path += "&state=" + UrlEncode(state->state);
          if (!state->owner.empty()) path += "&owner=" + UrlEncode(state->owner);
          if (!state->tier.empty()) path += "&tier=" + UrlEncode(state->tier);
          if (!state->after.empty()) path += "&after=" + UrlEncode(state->after);
          return connection.Call("GET", path);
        },
        [](std::ostream& out, const json::Value& body) {
          PrintIdentities(out, ArrayAt(body, "items"));
          const json::Value* next = body.Find("next");
          if (next != nullptr && next->is_string()) out << "(more: --after " << next->as_string() << ")\n";
        });
  });

  CLI::App* update = identity->add_subcommand("update", "change fields of an identity (a new version)");
  add_name(update);
  add_kind(update);
  add_reason(update);
  AddFieldFlags(*update, state->fields);
  update->add_option("--uid", state->human_uid, "(human) the local Unix uid this human acts as");
  update->add_option("--expected-version", state->expected_version, "fail unless this is the current version");
  update->callback([=, &global] {
    *action = MakeDaemonAction(
        global,
        [state](Connection& connection) -> Result<json::Value> {
          WRIT_ASSIGN_OR_RETURN(json::Value body, FieldsToJson(state->fields, state->human_uid));
          if (!state->reason.empty()) body.Set("reason", state->reason);
          if (state->expected_version) body.Set("expected_version", *state->expected_version);
          return connection.Call("PATCH", IdentityPath(state->kind, state->name), &body);
        },
        PrintIdentity);
  });

  const std::pair<const char*, const char*> transitions[] = {
      {"suspend", "suspend an identity (its tokens stop working)"},
      {"resume", "make a suspended identity active again"},
      {"revoke", "revoke an identity for good (it can only be retired after)"},
      {"retire", "retire an identity (frozen, kept for the record)"}};
  for (const auto& [verb, help] : transitions) {
    CLI::App* command = identity->add_subcommand(verb, help);
    add_name(command);
    add_kind(command);
    add_reason(command);
    const std::string path_verb = verb;
    command->callback([=, &global] {
      *action = MakeDaemonAction(
          global,
          [state, path_verb](Connection& connection) -> Result<json::Value> {
            json::Value body = json::Object{};
            if (!state->reason.empty()) body.Set("reason", state->reason);
            return connection.Call("POST", IdentityPath(state->kind, state->name) + "/" + path_verb, &body);
          },
          PrintIdentity);
    });
  }

  CLI::App* history = identity->add_subcommand("history", "every version of an identity, who changed it and why");
  add_name(history);
  add_kind(history);
  history->callback([=, &global] {
    *action = MakeDaemonAction(
        global,
        [state](Connection& connection) {
          return connection.Call("GET", IdentityPath(state->kind, state->name) + "/history");
        },
        [](std::ostream& out, const json::Value& body) { PrintHistory(out, ArrayAt(body, "items")); });
  });
}

}  // namespace writ::cli
