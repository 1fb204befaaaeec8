#include "cli/token_commands.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/connection.h"
#include "common/clock.h"
#include "common/encoding.h"

namespace writ::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// Runs `call`; prints JSON with -o json, else `print`.
Action MakeTokenAction(const GlobalOptions& global, std::function<Result<json::Value>(Connection&)> call,
                       std::function<void(std::ostream&, std::ostream&, const json::Value&)> print) {
  return [&global, call = std::move(call), print = std::move(print)](std::ostream& out, std::ostream& err) {
    auto format = ParseFormat(global.output);
    if (!format) {
      err << "writ: " << format.error().message << '\n';
      return kExitUsage;
    }
    Connection connection(ResolveSocketPath(global.socket));
    auto result = call(connection);
    if (!result) {
      err << "writ: " << result.error().message << '\n';
      return kExitError;
    }
    if (*format == Format::kJson) {
      PrintJson(out, *result);
    } else {
      print(out, err, *result);
    }
    return kExitOk;
  };
}

// The token in file `path` ("-" = stdin): its first line, trimmed. Bounded: a token file is small.
Result<std::string> ReadTokenFile(const std::string& path) {
  constexpr size_t kMaxTokenFileBytes = 64 << 10;
  std::string text;
  if (path == "-") {
    std::getline(std::cin, text);
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Fail(Code::kNotFound, fmt::format("cannot read token file `{}`", path));
    text.resize(kMaxTokenFileBytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxTokenFileBytes) return Fail(Code::kInvalidArgument, fmt::format("token file `{}` is too large", path));
    text = text.substr(0, text.find('\n'));
  }
  while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.pop_back();
  if (text.empty()) {
    return Fail(Code::kInvalidArgument, path == "-" ? std::string("no token on stdin") : fmt::format("token file `{}` is empty", path));
  }
  return text;
}

// The token to work on: the argument; "-" = stdin; none = $WRIT_TOKEN_FILE's content, else stdin.
Result<std::string> ReadTokenArgument(const std::string& argument) {
  if (argument.empty()) {
    if (const char* file = std::getenv("WRIT_TOKEN_FILE"); file != nullptr && *file != '\0') return ReadTokenFile(file);
  }
  if (argument.empty() || argument == "-") return ReadTokenFile("-");
  std::string token = argument;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return Fail(Code::kInvalidArgument, "no token given (argument, stdin or WRIT_TOKEN_FILE)");
  return token;
}

// Decodes one base64url JSON part of a token without verifying anything.
json::Value DecodePart(std::string_view part) {
  auto bytes = Base64UrlDecode(part);
  if (!bytes) return json::Value("(not base64url)");
  auto parsed = json::Parse(*bytes, {.max_bytes = 1 << 16, .max_depth = 16});
  if (!parsed) return json::Value("(not JSON)");
  return *parsed;
}

std::string TimeCell(const json::Value* seconds) {
  if (seconds == nullptr || !seconds->is_int()) return "";
  return FormatRfc3339(TimePoint(std::chrono::seconds(seconds->as_int())));
}

void PrintObjectRows(std::ostream& out, const json::Value& object) {
  std::vector<std::vector<std::string>> rows;
  if (object.is_object()) {
    for (const auto& [key, value] : object.as_object()) {
      std::string cell = CellText(&value);
      if ((key == "exp" || key == "iat" || key == "nbf") && value.is_int()) cell += "  (" + TimeCell(&value) + ")";
      rows.push_back({key, cell});
    }
  }
  PrintTable(out, {"FIELD", "VALUE"}, rows);
}

}  // namespace

void AddTokenCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  struct State {
    std::string agent, ttl, task, scope, token, jti, subject_token_file, actor_token_file;
    std::vector<std::string> audience;
  };
  auto state = std::make_shared<State>();

  CLI::App* token = app.add_subcommand("token", "issue, inspect and revoke agent tokens");
  token->require_subcommand(1);

  CLI::App* issue = token->add_subcommand(
      "issue", "issue a token: for --agent (administrators), else for the agent this process attests as");
  issue->add_option("--agent", state->agent, "the agent's name (administrators only)");
  issue->add_option("--audience", state->audience, "audience (repeatable; default writ)");
  issue->add_option("--ttl", state->ttl, "lifetime, e.g. 5m (capped by the agent's max_ttl)");
  issue->add_option("--task", state->task, "task claim");
  issue->add_option("--scope", state->scope, "scope claim (space-separated)");
  issue->callback([=, &global] {
    *action = MakeTokenAction(
        global,
        [state](Connection& connection) {
          json::Value body = json::Object{};
          if (!state->agent.empty()) body.Set("agent", state->agent);
          if (!state->ttl.empty()) body.Set("ttl", state->ttl);
          if (!state->task.empty()) body.Set("task", state->task);
          if (!state->scope.empty()) body.Set("scope", state->scope);
          if (!state->audience.empty()) {
            json::Value audience = json::Array{};
            for (const auto& item : state->audience) audience.Append(item);
            body.Set("audience", std::move(audience));
          }
          return connection.Call("POST", "/v1/token", &body);
        },
        [](std::ostream& out, std::ostream& err, const json::Value& body) {
          // The token alone on stdout (TOKEN=$(writ token issue ...)); what it is on stderr.
          out << CellText(body.Find("access_token")) << '\n';
          err << "issued token " << CellText(body.Find("jti")) << " for agent " << CellText(body.Find("agent"))
              << ", expires in " << CellText(body.Find("expires_in")) << "s\n";
        });
  });

  CLI::App* exchange = token->add_subcommand(
      "exchange", "delegate (RFC 8693): trade a parent agent's token for one this agent uses on its behalf");
  exchange->add_option("--subject-token-file", state->subject_token_file,
                       "file holding the delegating agent's token (- for stdin)")
      ->required();
  exchange->add_option("--actor-token-file", state->actor_token_file,
                       "file holding the acting agent's own token (default $WRIT_TOKEN_FILE)");
  exchange->add_option("--audience", state->audience, "audience (repeatable; default the subject token's)");
  exchange->add_option("--scope", state->scope, "space-separated scopes, a subset of the subject token's");
  exchange->add_option("--ttl", state->ttl, "lifetime, e.g. 2m (capped by the subject token's remaining lifetime)");
  exchange->callback([=, &global] {
    *action = MakeTokenAction(
        global,
        [state](Connection& connection) -> Result<json::Value> {
          std::string actor_file = state->actor_token_file;
          if (actor_file.empty()) {
            const char* from_env = std::getenv("WRIT_TOKEN_FILE");
            if (from_env == nullptr || *from_env == '\0') {
              return Fail(Code::kInvalidArgument, "no actor token: give --actor-token-file or run under `writ run`");
            }
            actor_file = from_env;
          }
          if (actor_file == "-" && state->subject_token_file == "-") {
            return Fail(Code::kInvalidArgument, "only one of the token files can be stdin");
          }
          WRIT_ASSIGN_OR_RETURN(const std::string subject, ReadTokenFile(state->subject_token_file));
          WRIT_ASSIGN_OR_RETURN(const std::string actor, ReadTokenFile(actor_file));
          constexpr std::string_view kJwtType = "urn:ietf:params:oauth:token-type:jwt";
          json::Value body = json::Object{};
          body.Set("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange");
          body.Set("subject_token", subject);
          body.Set("subject_token_type", kJwtType);
          body.Set("actor_token", actor);
          body.Set("actor_token_type", kJwtType);
          if (!state->scope.empty()) body.Set("scope", state->scope);
          if (!state->ttl.empty()) body.Set("ttl", state->ttl);
          if (!state->audience.empty()) {
            json::Value audience = json::Array{};
            for (const auto& item : state->audience) audience.Append(item);
            body.Set("audience", std::move(audience));
          }
          return connection.Call("POST", "/v1/token", &body);
        },
        [](std::ostream& out, std::ostream& err, const json::Value& body) {
          out << CellText(body.Find("access_token")) << '\n';
          const json::Value* claims = body.Find("claims");
          const json::Value* act = claims != nullptr ? claims->Find("act") : nullptr;
          err << "delegated token " << CellText(body.Find("jti")) << " for agent " << CellText(body.Find("agent"))
              << " acted by " << CellText(act != nullptr ? act->Find("sub") : nullptr) << ", expires in "
              << CellText(body.Find("expires_in")) << "s\n";
        });
  });

  CLI::App* inspect = token->add_subcommand(
      "inspect", "decode a token and ask writd whether it is active (argument, - for stdin, or $WRIT_TOKEN_FILE)");
  inspect->add_option("token", state->token, "the token");
  inspect->callback([=, &global] {
    *action = [state, &global](std::ostream& out, std::ostream& err) {
      auto token_value = ReadTokenArgument(state->token);
      if (!token_value) {
        err << "writ: " << token_value.error().message << '\n';
        return kExitUsage;
      }
      json::Value result;
      const size_t first = token_value->find('.');
      const size_t second = first == std::string::npos ? first : token_value->find('.', first + 1);
      if (second == std::string::npos) {
        err << "writ: not a compact JWS token\n";
        return kExitError;
      }
      result.Set("header", DecodePart(std::string_view(*token_value).substr(0, first)));
      result.Set("claims", DecodePart(std::string_view(*token_value).substr(first + 1, second - first - 1)));
      Connection connection(ResolveSocketPath(global.socket));
      json::Value body;
      body.Set("token", *token_value);
      auto introspection = connection.Call("POST", "/v1/introspect", &body);
      if (introspection) {
        const json::Value* active = introspection->Find("active");
        result.Set("active", active != nullptr && active->is_bool() && active->as_bool());
      } else {
        result.Set("active", json::Value());
        result.Set("introspection_error", introspection.error().message);
      }
      if (global.output == "json") {
        PrintJson(out, result);
      } else {
        out << "header:\n";
        PrintObjectRows(out, *result.Find("header"));
        out << "claims:\n";
        PrintObjectRows(out, *result.Find("claims"));
        const json::Value* active = result.Find("active");
        out << "active: " << (active->is_bool() ? (active->as_bool() ? "yes" : "no") : "unknown (writd not reachable)")
            << '\n';
      }
      return kExitOk;
    };
  });

  CLI::App* revoke = token->add_subcommand("revoke", "revoke a token (--token, or $WRIT_TOKEN_FILE), a --jti, or every token of an --agent");
  revoke->add_option("--token", state->token, "the token itself (- for stdin)");
  revoke->add_option("--jti", state->jti, "a token id (administrators)");
  revoke->add_option("--agent", state->agent, "every token of this agent issued so far (administrators)");
  revoke->callback([=, &global] {
    *action = MakeTokenAction(
        global,
        [state](Connection& connection) -> Result<json::Value> {
          json::Value body = json::Object{};
          if (!state->jti.empty()) {
            body.Set("jti", state->jti);
          } else if (!state->agent.empty()) {
            body.Set("agent", state->agent);
          } else {
            WRIT_ASSIGN_OR_RETURN(const std::string token_value, ReadTokenArgument(state->token));
            body.Set("token", token_value);
          }
          return connection.Call("POST", "/v1/revoke", &body);
        },
        [](std::ostream& out, std::ostream&, const json::Value& body) {
          if (const json::Value* jti = body.Find("revoked")) {
            out << "revoked token " << CellText(jti) << '\n';
          } else if (const json::Value* agent = body.Find("revoked_agent")) {
            out << "revoked every token of agent " << CellText(agent) << '\n';
          } else {
            out << "nothing to revoke (the token is not one of writd's)\n";
          }
        });
  });

  CLI::App* keys = app.add_subcommand("keys", "list and rotate the token signing keys (administrators)");
  keys->require_subcommand(1);
  CLI::App* list = keys->add_subcommand("list", "the signing keys: the active one and those still verifying");
  list->callback([=, &global] {
    *action = MakeTokenAction(
        global, [](Connection& connection) { return connection.Call("GET", "/v1/keys"); },
        [](std::ostream& out, std::ostream&, const json::Value& body) {
          std::vector<std::vector<std::string>> rows;
          if (const json::Value* items = body.Find("keys"); items != nullptr && items->is_array()) {
            for (const json::Value& key : items->as_array()) {
              rows.push_back({CellText(key.Find("kid")), CellText(key.Find("alg")), CellText(key.Find("state")),
                              CellText(key.Find("created_at")), CellText(key.Find("verifies_until"))});
            }
          }
          PrintTable(out, {"KID", "ALG", "STATE", "CREATED", "VERIFIES UNTIL"}, rows);
        });
  });
  CLI::App* rotate = keys->add_subcommand("rotate", "make a new signing key; the previous one verifies for the overlap");
  rotate->callback([=, &global] {
    *action = MakeTokenAction(
        global,
        [](Connection& connection) {
          json::Value body = json::Object{};
          return connection.Call("POST", "/v1/keys/rotate", &body);
        },
        [](std::ostream& out, std::ostream&, const json::Value& body) {
          out << "new signing key " << CellText(body.Find("kid")) << " (sequence " << CellText(body.Find("sequence"))
              << ")\n";
        });
  });
}

}  // namespace writ::cli
