#include "gateway/stdio_proxy.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "common/ids.h"
#include "common/log.h"
#include "gateway/child_process.h"
#include "gateway/line_reader.h"

namespace writ::gateway {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr size_t kReadChunk = 64 << 10;
constexpr size_t kMaxJsonDepth = 128;
constexpr size_t kMaxCancelled = 10'000;

// Writes `line` and a newline, all of it. False when the peer is gone.
bool WriteLine(int fd, std::string_view line) {
  if (fd < 0) return false;
  char newline = '\n';
  iovec parts[2] = {{const_cast<char*>(line.data()), line.size()}, {&newline, 1}};
  int first = 0;
  while (first < 2) {
    const ssize_t wrote = ::writev(fd, parts + first, 2 - first);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    size_t left = static_cast<size_t>(wrote);
    while (first < 2 && left >= parts[first].iov_len) {
      left -= parts[first].iov_len;
      ++first;
    }
    if (first < 2) {
      parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + left;
      parts[first].iov_len -= left;
    }
  }
  return true;
}

// The JSON-RPC id of a message we could not keep whole, found in its first or last bytes.
json::Value GuessId(const std::string& head, const std::string& tail) {
  static const std::regex kId(R"re("id"\s*:\s*(-?[0-9]+|"(?:[^"\\]|\\.){0,200}"))re");
  for (const std::string* sample : {&tail, &head}) {
    std::smatch match;
    std::string::const_iterator begin = sample->begin();
    json::Value found;
    while (std::regex_search(begin, sample->cend(), match, kId)) {
      if (auto id = json::Parse(match[1].str())) found = std::move(*id);
      begin = match[0].second;
    }
    if (!found.is_null()) return found;
  }
  return json::Value();
}

std::string ErrorMessage(const json::Value& id, int code, std::string_view message, json::Value data = {}) {
  json::Writer writer;
  writer.BeginObject().Key("jsonrpc").String("2.0").Key("id").Json(id).Key("error").BeginObject();
  writer.Key("code").Int(code).Key("message").String(message);
  if (!data.is_null()) writer.Key("data").Json(data);
  writer.EndObject().EndObject();
  return writer.Take();
}

class Proxy {
 public:
  Proxy(const StdioProxyOptions& options, std::unique_ptr<ChildProcess> child, int client_out)
      : options_(options), child_(std::move(child)), client_out_(client_out) {}

  int Run(int client_in);

 private:
  void ReadClient();
  bool FillClientBuffer();
  enum class Kind : uint8_t { kOther, kCall, kList };
  struct Pending {
    Kind kind = Kind::kOther;
    ToolCall call;
    std::string approval_id;  // when the call waited for an approval
    SteadyClock::time_point forwarded;
  };

  void ReadServer();
  // REQUIRES: read_lock holds client_read_mu_; it is released while a tools/call is decided.
  void HandleClientLine(std::string_view line, std::unique_lock<std::mutex>& read_lock);
  void HandleClientOversize(const LineReader::Item& item);
  void HandleServerLine(std::string_view line);
  void HandleServerOversize(const LineReader::Item& item);
  void HandleCall(const json::Value& message, const json::Value& id, std::string_view line);
  void AwaitApproval(ToolCall call, json::Value id, std::string line, Decision decision);
  void Forward(const ToolCall& call, const json::Value& id, std::string_view line, std::string approval_id = "");
  void Record(const Pending& pending, std::string status, bool is_error = false);
  void FinishCall(Pending pending, json::Value message);
  void FilterList(const json::Value& id, json::Value message);
  void ReplyDenied(const json::Value& id, const ToolCall& call, const Decision& decision, std::string_view message);
  void FailAllPending(std::string_view message);

  bool WriteClient(std::string_view line);
  bool WriteServer(std::string_view line);
  void AddPending(const json::Value& id, Pending pending);
  std::optional<Pending> TakePending(const json::Value& id);
  bool IsCancelled(const json::Value& id);
  void SignalStop();
  std::string ToolLabel(const ToolCall& call) const { return fmt::format("{}/{}", call.server, call.tool); }

  const StdioProxyOptions& options_;
  std::unique_ptr<ChildProcess> child_;
  const int client_out_;
  int client_in_ = -1;

  std::mutex client_read_mu_;  // guards reading the client: the four members below
  LineReader client_reader_{options_.max_message_bytes};
  std::string client_chunk_ = std::string(kReadChunk, '\0');
  bool client_done_ = false;
  std::atomic<bool> client_closed_{false};
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};

  std::mutex client_write_mu_;
  std::mutex server_write_mu_;  // also guards closing the child's stdin
  std::mutex pending_mu_;
  std::map<std::string, Pending, std::less<>> pending_;  // key: the id's JSON text
  std::set<std::string, std::less<>> cancelled_;
  std::mutex waiters_mu_;
  std::vector<std::thread> waiters_;
};

bool Proxy::WriteClient(std::string_view line) {
  std::lock_guard lock(client_write_mu_);
  if (WriteLine(client_out_, line)) return true;
  SignalStop();  // the client is gone
  return false;
}

bool Proxy::WriteServer(std::string_view line) {
  std::lock_guard lock(server_write_mu_);
  return WriteLine(child_->stdin_fd(), line);
}

void Proxy::SignalStop() {
  const char byte = 1;
  [[maybe_unused]] const ssize_t wrote = ::write(stop_pipe_[1], &byte, 1);
}

void Proxy::AddPending(const json::Value& id, Pending pending) {
  std::lock_guard lock(pending_mu_);
  pending_[json::Serialize(id)] = std::move(pending);
}

std::optional<Proxy::Pending> Proxy::TakePending(const json::Value& id) {
  std::lock_guard lock(pending_mu_);
  const std::string key = json::Serialize(id);
  cancelled_.erase(key);  // answered: a late cancellation no longer matters
  auto found = pending_.find(key);
  if (found == pending_.end()) return std::nullopt;
  Pending pending = std::move(found->second);
  pending_.erase(found);
  return pending;
}

bool Proxy::IsCancelled(const json::Value& id) {
  std::lock_guard lock(pending_mu_);
  // Consumed on sight: the waiter that asks gives up, so the entry is not needed again.
  return cancelled_.erase(json::Serialize(id)) > 0;
}

int Proxy::Run(int client_in) {
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) return 1;
  client_in_ = client_in;
  std::thread server_reader([this] { ReadServer(); });
  // Several threads take turns reading the client, so calls are decided concurrently: a thread
  // that reads a tools/call hands the stream to the next one before it asks writd.
  std::vector<std::thread> client_readers;
  for (size_t index = 1; index < std::max<size_t>(options_.max_concurrent_calls, 1); ++index) {
    client_readers.emplace_back([this] { ReadClient(); });
  }
  ReadClient();
  for (std::thread& reader : client_readers) reader.join();
  const bool client_closed = client_closed_;
  stopping_ = true;
  if (client_closed) log::Debug("mcp client closed its stream: stopping the server");
  {
    std::lock_guard lock(server_write_mu_);
    child_->CloseStdin();
  }
  const int exit_code = child_->Stop(options_.shutdown_grace);
  server_reader.join();
  std::vector<std::thread> waiters;
  {
    std::lock_guard lock(waiters_mu_);
    waiters.swap(waiters_);
  }
  for (std::thread& waiter : waiters) waiter.join();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
  return exit_code;
}

bool Proxy::FillClientBuffer() {
  while (true) {
    pollfd fds[2] = {{client_in_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    const int ready = ::poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents != 0) return false;  // the server is gone, or the client stopped reading
    if (fds[0].revents == 0) continue;
    const ssize_t got = ::read(client_in_, client_chunk_.data(), client_chunk_.size());
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) {
      client_closed_ = true;
      if (client_reader_.pending_bytes() > 0) log::Warn("mcp client closed its stream in the middle of a message");
      return false;
    }
    client_reader_.Feed(std::string_view(client_chunk_.data(), static_cast<size_t>(got)));
    return true;
  }
}

void Proxy::ReadClient() {
  std::unique_lock lock(client_read_mu_);
  LineReader::Item item;
  while (true) {
    bool got = false;
    while (!client_done_ && !(got = client_reader_.Next(&item))) {
      if (!FillClientBuffer()) client_done_ = true;
    }
    if (!got) return;  // the stream ended or the proxy is stopping (client_done_)
    if (item.kind == LineReader::Kind::kOversize) {
      HandleClientOversize(item);
    } else {
      HandleClientLine(item.text, lock);
    }
  }
}

void Proxy::ReadServer() {
  LineReader reader(options_.max_message_bytes);
  std::string chunk(kReadChunk, '\0');
  while (true) {
    const ssize_t got = ::read(child_->stdout_fd(), chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    reader.Feed(std::string_view(chunk.data(), static_cast<size_t>(got)));
    LineReader::Item item;
    while (reader.Next(&item)) {
      if (item.kind == LineReader::Kind::kOversize) {
        HandleServerOversize(item);
      } else {
        HandleServerLine(item.text);
      }
    }
  }
  if (!stopping_) {
    log::Warn("mcp server closed its output: stopping", {{"server", options_.server_name}});
  }
  FailAllPending(fmt::format("mcp server `{}` exited before answering", options_.server_name));
  SignalStop();
}

void Proxy::FailAllPending(std::string_view message) {
  std::map<std::string, Pending, std::less<>> pending;
  {
    std::lock_guard lock(pending_mu_);
    pending.swap(pending_);
  }
  for (auto& [key, entry] : pending) {
    auto id = json::Parse(key);
    if (!id) continue;
    if (entry.kind == Kind::kCall) Record(entry, "failed");
    WriteClient(ErrorMessage(*id, kJsonRpcInternalError, message));
  }
}

void Proxy::HandleClientOversize(const LineReader::Item& item) {
  const json::Value id = GuessId(item.head, item.tail);
  log::Warn("mcp client message too large: refused",
            {{"bytes", static_cast<int64_t>(item.size)}, {"limit", static_cast<int64_t>(options_.max_message_bytes)}});
  WriteClient(ErrorMessage(id, kJsonRpcInvalidRequest,
                           fmt::format("writ: message of {} bytes exceeds the limit of {} bytes; not forwarded",
                                       item.size, options_.max_message_bytes)));
}

void Proxy::HandleClientLine(std::string_view line, std::unique_lock<std::mutex>& read_lock) {
  auto parsed = json::Parse(line, {.max_bytes = options_.max_message_bytes, .max_depth = kMaxJsonDepth});
  if (!parsed) {
    WriteClient(ErrorMessage(json::Value(), kJsonRpcParseError,
                             fmt::format("writ: parse error: {}", parsed.error().message)));
    return;
  }
  const json::Value& message = *parsed;
  if (!message.is_object()) {
    WriteClient(ErrorMessage(json::Value(), kJsonRpcInvalidRequest,
                             "writ: a message must be one JSON-RPC object (batches are not part of MCP)"));
    return;
  }
  const json::Value* method = message.Find("method");
  const json::Value* id = message.Find("id");
  if (method != nullptr && method->is_string() && id != nullptr) {
    const std::string& name = method->as_string();
    if (name == "tools/call") {
      // Let another thread read on while this call is decided. `line` lives in the reader's buffer.
      const std::string kept(line);
      read_lock.unlock();
      HandleCall(message, *id, kept);
      read_lock.lock();
      return;
    }
    AddPending(*id, {.kind = name == "tools/list" ? Kind::kList : Kind::kOther});
    if (!WriteServer(line)) {
      TakePending(*id).reset();
      WriteClient(ErrorMessage(*id, kJsonRpcInternalError,
                               fmt::format("mcp server `{}` is not running", options_.server_name)));
    }
    return;
  }
  if (method != nullptr && method->is_string() && method->as_string() == "notifications/cancelled") {
    const json::Value* params = message.Find("params");
    if (const json::Value* request_id = params != nullptr ? params->Find("requestId") : nullptr) {
      std::lock_guard lock(pending_mu_);
      // Calls still being decided or held for approval look at this set; cap it against a client
      // that floods cancellations.
      if (cancelled_.size() >= kMaxCancelled) cancelled_.clear();
      cancelled_.insert(json::Serialize(*request_id));
    }
  }
  WriteServer(line);  // notifications, and answers to the server's own requests
}

void Proxy::HandleCall(const json::Value& message, const json::Value& id, std::string_view line) {
  const json::Value* params = message.Find("params");
  const json::Value* name = params != nullptr ? params->Find("name") : nullptr;
  if (name == nullptr || !name->is_string() || name->as_string().empty()) {
    WriteClient(ErrorMessage(id, kJsonRpcInvalidParams, "writ: tools/call needs a string `params.name`"));
    return;
  }
  const json::Value* arguments = params->Find("arguments");
  if (arguments != nullptr && !arguments->is_null() && !arguments->is_object()) {
    WriteClient(ErrorMessage(id, kJsonRpcInvalidParams, "writ: tools/call `params.arguments` must be an object"));
    return;
  }
  ToolCall call{.agent = options_.agent,
                .server = options_.server_name,
                .tool = name->as_string(),
                .arguments = arguments != nullptr && arguments->is_object() ? *arguments : json::Value(json::Object{}),
                .correlation_id = NewUuidV7()};
  // The arguments are part of the line, so only a long line needs measuring (a serialisation).
  if (const size_t size = line.size() > options_.max_argument_bytes ? json::Serialize(call.arguments).size() : 0;
      size > options_.max_argument_bytes) {
    ReplyDenied(id, call, Decision{.reason = fmt::format("arguments of {} bytes exceed the decision limit of {} bytes",
                                                         size, options_.max_argument_bytes)},
                "denied");
    return;
  }
  auto decision = options_.decisions->Decide(call);
  if (!decision) {
    log::Error("no decision: tools/call refused",
               {{"correlation_id", call.correlation_id}, {"tool", ToolLabel(call)}, {"error", decision.error().message}});
    json::Value data;
    data.Set("correlation_id", call.correlation_id);
    WriteClient(ErrorMessage(id, kJsonRpcInternalError,
                             fmt::format("writ: no decision for tool `{}`, so it was not called: {}", ToolLabel(call),
                                         decision.error().message),
                             std::move(data)));
    return;
  }
  switch (decision->verdict) {
    case Verdict::kAllow:
      Forward(call, id, line);
      return;
    case Verdict::kDeny:
      ReplyDenied(id, call, *decision, "denied");
      return;
    case Verdict::kApprovalRequired: {
      log::Info("tools/call waits for approval", {{"correlation_id", call.correlation_id},
                                                  {"tool", ToolLabel(call)},
                                                  {"approval_id", decision->approval_id}});
      std::lock_guard lock(waiters_mu_);
      waiters_.emplace_back(&Proxy::AwaitApproval, this, std::move(call), id, std::string(line), std::move(*decision));
      return;
    }
  }
}

void Proxy::AwaitApproval(ToolCall call, json::Value id, std::string line, Decision decision) {
  const auto deadline = SteadyClock::now() + options_.approval_timeout;
  const Pending waiting{.kind = Kind::kCall, .call = call, .approval_id = decision.approval_id,
                        .forwarded = SteadyClock::now()};
  while (true) {
    if (stopping_ || IsCancelled(id)) {
      Record(waiting, "cancelled");
      return;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) {
      ReplyDenied(id, call, decision,
                  fmt::format("no approval within {}s (approval `{}`)",
                              std::chrono::duration_cast<std::chrono::seconds>(options_.approval_timeout).count(),
                              decision.approval_id));
      return;
    }
    auto state = options_.decisions->WaitForApproval(decision.approval_id, std::min(left, options_.approval_poll));
    if (!state) {
      json::Value data;
      data.Set("correlation_id", call.correlation_id);
      data.Set("approval_id", decision.approval_id);
      WriteClient(ErrorMessage(id, kJsonRpcInternalError,
                               fmt::format("writ: lost track of approval `{}` for tool `{}`, so it was not called: {}",
                                           decision.approval_id, ToolLabel(call), state.error().message),
                               std::move(data)));
      return;
    }
    switch (*state) {
      case ApprovalState::kPending:
        continue;
      case ApprovalState::kDenied:
        ReplyDenied(id, call, decision, fmt::format("approval `{}` was denied", decision.approval_id));
        return;
      case ApprovalState::kExpired:
        ReplyDenied(id, call, decision, fmt::format("approval `{}` expired", decision.approval_id));
        return;
      case ApprovalState::kGranted:
        break;
    }
    if (stopping_ || IsCancelled(id)) {
      Record(waiting, "cancelled");
      return;
    }
    auto again = options_.decisions->Decide(call);  // consumes the grant; a policy change still wins
    if (!again) {
      WriteClient(ErrorMessage(id, kJsonRpcInternalError,
                               fmt::format("writ: no decision for tool `{}` after approval, so it was not called: {}",
                                           ToolLabel(call), again.error().message)));
    } else if (again->verdict == Verdict::kAllow) {
      Forward(call, id, line, decision.approval_id);
    } else {
      again->approval_id = decision.approval_id;
      ReplyDenied(id, call, *again, "denied after approval");
    }
    return;
  }
}

void Proxy::ReplyDenied(const json::Value& id, const ToolCall& call, const Decision& decision,
                        std::string_view message) {
  Record({.kind = Kind::kCall, .call = call, .approval_id = decision.approval_id, .forwarded = SteadyClock::now()},
         "denied");
  log::Info("tools/call denied",
            {{"correlation_id", call.correlation_id}, {"tool", ToolLabel(call)}, {"reason", decision.reason}});
  json::Value data;
  data.Set("correlation_id", call.correlation_id);
  data.Set("decision", "deny");
  data.Set("reason", decision.reason);
  json::Value policies = json::Array{};
  for (const std::string& policy : decision.policies) policies.Append(policy);
  data.Set("policies", std::move(policies));
  if (!decision.approval_id.empty()) data.Set("approval_id", decision.approval_id);
  std::string text = fmt::format("writ: tools/call `{}` for agent `{}` {}", ToolLabel(call), call.agent, message);
  if (!decision.reason.empty() && message == "denied") text += fmt::format(": {}", decision.reason);
  if (!decision.policies.empty()) text += fmt::format(" (policies: {})", fmt::join(decision.policies, ", "));
  WriteClient(ErrorMessage(id, kJsonRpcDenied, text, std::move(data)));
}

void Proxy::Record(const Pending& pending, std::string status, bool is_error) {
  options_.decisions->RecordOutcome(
      pending.call, {.status = std::move(status),
                     .is_error = is_error,
                     .duration = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - pending.forwarded),
                     .approval_id = pending.approval_id});
}

void Proxy::Forward(const ToolCall& call, const json::Value& id, std::string_view line, std::string approval_id) {
  Pending pending{.kind = Kind::kCall, .call = call, .approval_id = std::move(approval_id), .forwarded = SteadyClock::now()};
  if (IsCancelled(id)) {  // the client cancelled while the call was decided: it expects no answer
    Record(pending, "cancelled");
    return;
  }
  AddPending(id, std::move(pending));
  if (!WriteServer(line)) {
    if (auto taken = TakePending(id)) {
      Record(*taken, "failed");
      WriteClient(ErrorMessage(id, kJsonRpcInternalError,
                               fmt::format("mcp server `{}` is not running", options_.server_name)));
    }
  }
}

void Proxy::HandleServerOversize(const LineReader::Item& item) {
  const json::Value id = GuessId(item.head, item.tail);
  log::Warn("mcp server message too large: dropped",
            {{"bytes", static_cast<int64_t>(item.size)}, {"limit", static_cast<int64_t>(options_.max_message_bytes)}});
  auto pending = id.is_null() ? std::nullopt : TakePending(id);
  if (!pending) return;
  if (pending->kind == Kind::kCall) Record(*pending, "failed");
  WriteClient(ErrorMessage(id, kJsonRpcInternalError,
                           fmt::format("writ: the answer of mcp server `{}` ({} bytes) exceeds the limit of {} bytes",
                                       options_.server_name, item.size, options_.max_message_bytes)));
}

void Proxy::HandleServerLine(std::string_view line) {
  auto parsed = json::Parse(line, {.max_bytes = options_.max_message_bytes, .max_depth = kMaxJsonDepth});
  if (!parsed || !parsed->is_object()) {
    log::Warn("mcp server wrote a line that is not a JSON-RPC message: dropped", {{"server", options_.server_name}});
    return;
  }
  const json::Value* id = parsed->Find("id");
  if (parsed->Find("method") != nullptr || id == nullptr) {
    WriteClient(line);  // the server's requests and notifications
    return;
  }
  auto pending = TakePending(*id);
  if (!pending || pending->kind == Kind::kOther) {
    WriteClient(line);
    return;
  }
  if (pending->kind == Kind::kCall) {
    FinishCall(std::move(*pending), std::move(*parsed));
  } else {
    FilterList(*id, std::move(*parsed));
  }
}

void Proxy::FinishCall(Pending pending, json::Value message) {
  std::string status = "error";
  bool is_error = false;
  for (json::Member& member : message.mutable_object()) {
    if (member.first != "result" || !member.second.is_object()) continue;
    status = "ok";
    const json::Value* flag = member.second.Find("isError");
    is_error = flag != nullptr && flag->is_bool() && flag->as_bool();
    json::Value meta;
    if (const json::Value* existing = member.second.Find("_meta"); existing != nullptr && existing->is_object()) {
      meta = *existing;
    }
    meta.Set(std::string(kCorrelationMetaKey), pending.call.correlation_id);
    member.second.Set("_meta", std::move(meta));
  }
  WriteClient(json::Serialize(message));
  Record(pending, std::move(status), is_error);  // after the answer: recording is off the call's path
}

void Proxy::FilterList(const json::Value& id, json::Value message) {
  json::Value* tools = nullptr;
  for (json::Member& member : message.mutable_object()) {
    if (member.first != "result" || !member.second.is_object()) continue;
    for (json::Member& field : member.second.mutable_object()) {
      if (field.first == "tools" && field.second.is_array()) tools = &field.second;
    }
  }
  if (tools == nullptr) {
    WriteClient(json::Serialize(message));
    return;
  }
  std::vector<std::string> names;
  for (const json::Value& tool : tools->as_array()) {
    const json::Value* name = tool.Find("name");
    names.push_back(name != nullptr && name->is_string() ? name->as_string() : std::string());
  }
  auto decisions = options_.decisions->DecideList(options_.agent, options_.server_name, names);
  if (!decisions) {
    WriteClient(ErrorMessage(id, kJsonRpcInternalError,
                             fmt::format("writ: cannot decide which tools of `{}` to list: {}", options_.server_name,
                                         decisions.error().message)));
    return;
  }
  json::Array kept;
  json::Array& all = tools->mutable_array();
  for (size_t index = 0; index < all.size() && index < decisions->size(); ++index) {
    if (!names[index].empty() && (*decisions)[index].verdict != Verdict::kDeny) kept.push_back(std::move(all[index]));
  }
  *tools = json::Value(std::move(kept));
  WriteClient(json::Serialize(message));
}

}  // namespace

Result<int> RunStdioProxy(const StdioProxyOptions& options, int client_in, int client_out) {
  if (options.decisions == nullptr) return Fail(Code::kInvalidArgument, "no decision client");
  if (options.agent.empty()) return Fail(Code::kInvalidArgument, "an agent name is required (--as)");
  if (options.server_name.empty() || options.server_name.find('/') != std::string::npos) {
    return Fail(Code::kInvalidArgument, "a server name without `/` is required (--server)");
  }
  ::signal(SIGPIPE, SIG_IGN);  // a closed peer shows up as EPIPE on write
  WRIT_ASSIGN_OR_RETURN(auto child, ChildProcess::Start(options.command));
  Proxy proxy(options, std::move(child), client_out);
  return proxy.Run(client_in);
}

}  // namespace writ::gateway
