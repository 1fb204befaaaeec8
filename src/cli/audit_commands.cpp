#include "cli/audit_commands.h"

#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/connection.h"
#include "common/encoding.h"
#include "ledger/note.h"
#include "ledger/verify.h"
#include "server/client.h"
#include "store/ledger_store.h"
#include "store/sqlite/database.h"

namespace writ::cli {
namespace {

constexpr int kExitTampered = 3;

// GETs a text/plain resource from writd. Errors: as Connection::Call.
Result<std::string> GetText(const std::string& socket, std::string_view path) {
  server::Client client({.unix_socket = socket});
  WRIT_ASSIGN_OR_RETURN(const server::ClientResponse response, client.Request("GET", path));
  if (auto error = response.AsError()) return Fail(std::move(*error));
  return response.body;
}

struct VerifyFlags {
  std::string data_dir, vkey, checkpoint_file;
};

int RunVerify(const GlobalOptions& global, const VerifyFlags& flags, std::ostream& out, std::ostream& err) {
  const std::string socket = ResolveSocketPath(global.socket);
  const std::string data_dir =
      flags.data_dir.empty() ? std::filesystem::path(socket).parent_path().string() : flags.data_dir;
  std::string vkey = flags.vkey;
  if (vkey.empty()) {
    auto fetched = GetText(socket, "/v1/audit/key");
    if (!fetched) {
      err << "writ: no --vkey given and cannot ask writd for it: " << fetched.error().message << '\n';
      return 1;
    }
    vkey = *fetched;
    while (!vkey.empty() && (vkey.back() == '\n' || vkey.back() == ' ')) vkey.pop_back();
  }
  auto verifier = ledger::NoteVerifier::FromVerifierKey(vkey);
  if (!verifier) {
    err << "writ: " << verifier.error().message << '\n';
    return 1;
  }
  ledger::VerifyOptions options;
  const ledger::NoteVerifier verifiers[] = {*verifier};
  options.verifiers = verifiers;
  if (!flags.checkpoint_file.empty()) {
    std::ifstream file(flags.checkpoint_file);
    if (!file) {
      err << "writ: cannot read checkpoint file `" << flags.checkpoint_file << "`\n";
      return 1;
    }
    std::stringstream text;
    text << file.rdbuf();
    options.trusted_checkpoint = text.str();
  }
  options.progress_every = 1 << 18;
  options.progress = [&err](uint64_t done, uint64_t total) {
    if (total > 0) err << fmt::format("writ: verified {} of {} events\n", done, total);
  };
  auto database = store::sqlite::Database::Open(data_dir + "/writ.db", {.read_only = true});
  if (!database) {
    err << "writ: " << database.error().message << '\n';
    return 1;
  }
  auto store = store::sqlite::OpenLedgerStore(**database);
  if (!store) {
    err << "writ: " << store.error().message << '\n';
    return 1;
  }
  auto report = ledger::Verify(**store, options);
  if (!report) {
    err << "writ: " << report.error().message << '\n';
    return 1;
  }
  const std::string root = Base64Encode(std::string_view(reinterpret_cast<const char*>(report->root.data()), report->root.size()));
  if (global.output == "json") {
    json::Value body;
    body.Set("ok", report->ok());
    body.Set("events", static_cast<int64_t>(report->events));
    body.Set("bytes", static_cast<int64_t>(report->bytes));
    body.Set("checkpoints", static_cast<int64_t>(report->checkpoints));
    body.Set("uncovered", static_cast<int64_t>(report->uncovered));
    body.Set("root", root);
    if (report->problem) {
      json::Value problem;
      problem.Set("index", static_cast<int64_t>(report->problem->index));
      problem.Set("id", report->problem->id);
      problem.Set("what", report->problem->what);
      body.Set("problem", std::move(problem));
    }
    PrintJson(out, body);
  } else if (report->ok()) {
    out << fmt::format("ledger verifies: {} events ({} bytes), {} checkpoints, {} events after the last checkpoint, "
                       "root {}\n",
                       report->events, report->bytes, report->checkpoints, report->uncovered, root);
  } else {
    out << fmt::format("ledger does NOT verify: event {} (id `{}`): {}\n", report->problem->index,
                       report->problem->id, report->problem->what);
  }
  return report->ok() ? 0 : kExitTampered;
}

}  // namespace

void AddAuditCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  CLI::App* audit = app.add_subcommand("audit", "read and verify the tamper-evident audit ledger");
  audit->require_subcommand(1);

  struct State {
    std::string id, subject, kind, correlation_id, from, to;
    int64_t limit = 50;
    uint64_t tree_size = 0;
    VerifyFlags verify;
  };
  auto state = std::make_shared<State>();

  CLI::App* checkpoint = audit->add_subcommand("checkpoint", "print the latest signed checkpoint (C2SP note)");
  checkpoint->callback([&global, action] {
    *action = [&global](std::ostream& out, std::ostream& err) {
      auto note = GetText(ResolveSocketPath(global.socket), "/v1/audit/checkpoint");
      if (!note) {
        err << "writ: " << note.error().message << '\n';
        return 1;
      }
      out << *note;
      return 0;
    };
  });

  CLI::App* prove = audit->add_subcommand("prove", "inclusion proof of one event in the ledger");
  prove->add_option("--id", state->id, "event id")->required();
  prove->add_option("--tree-size", state->tree_size, "prove against this tree size (default: current)");
  prove->callback([=, &global] {
    *action = [=, &global](std::ostream& out, std::ostream& err) {
      Connection connection(ResolveSocketPath(global.socket));
      std::string path = "/v1/audit/proof/inclusion?id=" + UrlEncode(state->id);
      if (state->tree_size > 0) path += "&tree_size=" + std::to_string(state->tree_size);
      auto proof = connection.Call("GET", path);
      if (!proof) {
        err << "writ: " << proof.error().message << '\n';
        return 1;
      }
      PrintJson(out, *proof);
      return 0;
    };
  });

  CLI::App* query = audit->add_subcommand("query", "events, filtered by identity, kind, correlation id, time");
  query->alias("tail");
  query->add_option("--subject", state->subject, "only events about this identity");
  query->add_option("--kind", state->kind, "decision, token_issued, identity_changed, …");
  query->add_option("--correlation-id", state->correlation_id, "only events of this correlation id");
  query->add_option("--from", state->from, "RFC 3339 time (inclusive)");
  query->add_option("--to", state->to, "RFC 3339 time (exclusive)");
  query->add_option("--limit", state->limit, "at most this many (1..10000)");
  query->callback([=, &global] {
    *action = [=, &global](std::ostream& out, std::ostream& err) {
      Connection connection(ResolveSocketPath(global.socket));
      std::string path = "/v1/audit/events?limit=" + std::to_string(state->limit);
      if (!state->subject.empty()) path += "&subject=" + UrlEncode(state->subject);
      if (!state->kind.empty()) path += "&kind=" + UrlEncode(state->kind);
      if (!state->correlation_id.empty()) path += "&correlation_id=" + UrlEncode(state->correlation_id);
      if (!state->from.empty()) path += "&from=" + UrlEncode(state->from);
      if (!state->to.empty()) path += "&to=" + UrlEncode(state->to);
      auto events = connection.Call("GET", path);
      if (!events) {
        err << "writ: " << events.error().message << '\n';
        return 1;
      }
      if (global.output == "json") {
        PrintJson(out, *events);
        return 0;
      }
      std::vector<std::vector<std::string>> rows;
      const json::Value* items = events->Find("items");
      if (items != nullptr && items->is_array()) {
        for (const json::Value& item : items->as_array()) {
          rows.push_back({CellText(item.Find("index")), CellText(item.Find("time")), CellText(item.Find("kind")),
                          CellText(item.Find("subject")), CellText(item.Find("action")),
                          CellText(item.Find("resource")), CellText(item.Find("decision"))});
        }
      }
      PrintTable(out, {"INDEX", "TIME", "KIND", "SUBJECT", "ACTION", "RESOURCE", "DECISION"}, rows);
      return 0;
    };
  });

  CLI::App* verify = audit->add_subcommand(
      "verify", "re-hash every event, rebuild the tree, check every checkpoint (offline; exit 3 if tampered)");
  verify->add_option("--data-dir", state->verify.data_dir, "writd's data directory (default: the socket's)");
  verify->add_option("--vkey", state->verify.vkey, "checkpoint verifier key (default: ask writd)");
  verify->add_option("--from-checkpoint", state->verify.checkpoint_file,
                     "a checkpoint kept elsewhere that the ledger must contain");
  verify->callback([=, &global] {
    *action = [=, &global](std::ostream& out, std::ostream& err) { return RunVerify(global, state->verify, out, err); };
  });
}

}  // namespace writ::cli
