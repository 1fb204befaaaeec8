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

#include "common/log.h"
#include "gateway/child_process.h"
#include "gateway/interceptor.h"
#include "gateway/json_scan.h"
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

class Proxy {
 public:
  Proxy(const StdioProxyOptions& options, std::unique_ptr<ChildProcess> child, int client_out)
      : options_(options),
        interceptor_({.server_name = options.server_name,
                      .decisions = options.decisions,
                      .max_argument_bytes = options.max_argument_bytes,
                      .approval_timeout = options.approval_timeout,
                      .approval_poll = options.approval_poll}),
        child_(std::move(child)),
        client_out_(client_out) {}

  int Run(int client_in);

 private:
  enum class Kind : uint8_t { kOther, kCall, kList };
  struct Pending {
    Kind kind = Kind::kOther;
    ToolCall call;
    std::string approval_id;  // when the call waited for an approval
    SteadyClock::time_point forwarded;
  };

  void ReadClient();
  bool FillClientBuffer();  // REQUIRES: client_read_mu_ held
  void ReadServer();
  // REQUIRES: read_lock holds client_read_mu_; it is released while a tools/call is decided.
  void HandleClientLine(std::string_view line, std::unique_lock<std::mutex>& read_lock);
  void HandleClientOversize(const LineReader::Item& item);
  void HandleServerLine(std::string_view line);
  void HandleServerOversize(const LineReader::Item& item);
  // REQUIRES: read_lock holds client_read_mu_; released (and taken again before returning) only if
  // the client sends more while the call is decided, so another thread reads it.
  void HandleCall(const json::Value& message, const json::Value& id, std::string_view line,
                  std::unique_lock<std::mutex>& read_lock);
  void AwaitApproval(CallCheck check, json::Value id, std::string line);
  // Takes the call (moved: its arguments are dropped, the outcome does not need them).
  void Forward(ToolCall call, const json::Value& id, std::string_view line, std::string approval_id = "");
  void FailAllPending(std::string_view message);

  bool WriteClient(std::string_view line);
  bool WriteServer(std::string_view line);
  // `key`: IdKey of the request's id (json::Serialize of a parsed id gives the same text).
  void AddPending(std::string key, Pending pending);
  std::optional<Pending> TakePending(std::string_view key);
  bool IsCancelled(const json::Value& id);
  void SignalStop();

  const StdioProxyOptions& options_;
  const Interceptor interceptor_;
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

void Proxy::AddPending(std::string key, Pending pending) {
  std::lock_guard lock(pending_mu_);
  pending_[std::move(key)] = std::move(pending);
}

std::optional<Proxy::Pending> Proxy::TakePending(std::string_view key) {
  std::lock_guard lock(pending_mu_);
  if (!cancelled_.empty()) {
    if (auto found = cancelled_.find(key); found != cancelled_.end()) cancelled_.erase(found);
  }  // answered: a late cancellation no longer matters
  auto found = pending_.find(key);
  if (found == pending_.end()) return std::nullopt;
  Pending pending = std::move(found->second);
  pending_.erase(found);
  return pending;
}

bool Proxy::IsCancelled(const json::Value& id) {
  std::lock_guard lock(pending_mu_);
  if (cancelled_.empty()) return false;
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
    if (entry.kind == Kind::kCall) interceptor_.FailCall(entry.call, entry.forwarded, entry.approval_id);
    WriteClient(JsonRpcError(*id, kJsonRpcInternalError, message));
  }
}

void Proxy::HandleClientOversize(const LineReader::Item& item) {
  const json::Value id = GuessId(item.head, item.tail);
  log::Warn("mcp client message too large: refused",
            {{"bytes", static_cast<int64_t>(item.size)}, {"limit", static_cast<int64_t>(options_.max_message_bytes)}});
  WriteClient(JsonRpcError(id, kJsonRpcInvalidRequest,
                           fmt::format("writ: message of {} bytes exceeds the limit of {} bytes; not forwarded",
                                       item.size, options_.max_message_bytes)));
}

void Proxy::HandleClientLine(std::string_view line, std::unique_lock<std::mutex>& read_lock) {
  // Only tools/call and notifications/cancelled are read as a whole; everything else is checked in
  // one pass and forwarded byte for byte.
  auto members = ScanObject(line, kMaxJsonDepth);
  const RawMember* method = members ? FindMember(*members, "method") : nullptr;
  const RawMember* id = members ? FindMember(*members, "id") : nullptr;
  // A method name written with escapes takes the whole-parse path below, like anything unusual.
  const bool plain_method = method != nullptr && method->value.front() == '"' &&
                            method->value.find('\\') == std::string_view::npos;
  const std::string_view name = plain_method ? method->value.substr(1, method->value.size() - 2) : std::string_view();
  if (members && (method == nullptr || plain_method) && name != "tools/call" && name != "notifications/cancelled") {
    if (method != nullptr && id != nullptr) {
      const std::string key = IdKey(id->value);
      AddPending(key, {.kind = name == "tools/list" ? Kind::kList : Kind::kOther});
      if (!WriteServer(line)) {
        TakePending(key).reset();
        auto parsed_id = json::Parse(id->value);
        WriteClient(JsonRpcError(parsed_id ? *parsed_id : json::Value(), kJsonRpcInternalError,
                                 fmt::format("mcp server `{}` is not running", options_.server_name)));
      }
      return;
    }
    WriteServer(line);  // notifications, and answers to the server's own requests
    return;
  }
  auto parsed = json::Parse(line, {.max_bytes = options_.max_message_bytes, .max_depth = kMaxJsonDepth});
  if (!parsed) {
    WriteClient(JsonRpcError(json::Value(), kJsonRpcParseError,
                             fmt::format("writ: parse error: {}", parsed.error().message)));
    return;
  }
  const json::Value& message = *parsed;
  if (!message.is_object()) {
    WriteClient(JsonRpcError(json::Value(), kJsonRpcInvalidRequest,
                             "writ: a message must be one JSON-RPC object (batches are not part of MCP)"));
    return;
  }
  const json::Value* method_value = message.Find("method");
  const json::Value* id_value = message.Find("id");
  if (method_value != nullptr && method_value->is_string() && id_value != nullptr) {
    const std::string& method_name = method_value->as_string();
    if (method_name == "tools/call") {
      HandleCall(message, *id_value, line, read_lock);
      return;
    }
    const std::string key = json::Serialize(*id_value);
    AddPending(key, {.kind = method_name == "tools/list" ? Kind::kList : Kind::kOther});
    if (!WriteServer(line)) {
      TakePending(key).reset();
      WriteClient(JsonRpcError(*id_value, kJsonRpcInternalError,
                               fmt::format("mcp server `{}` is not running", options_.server_name)));
    }
    return;
  }
  if (method_value != nullptr && method_value->is_string() && method_value->as_string() == "notifications/cancelled") {
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

void Proxy::HandleCall(const json::Value& message, const json::Value& id, std::string_view line,
                       std::unique_lock<std::mutex>& read_lock) {
  // While the call is decided, this thread keeps the client's stream unless the client sends more:
  // then another reader takes it (no thread is woken for a call that arrives alone). `line` lives in
  // the reader's buffer, which the next reader may overwrite, so it is copied before the hand-off.
  std::string kept;
  WhileDeciding watch{.fd = client_in_, .on_readable = [&] {
                        if (!read_lock.owns_lock()) return;
                        kept.assign(line);
                        line = kept;
                        read_lock.unlock();
                      }};
  if (client_reader_.HasLine()) watch.on_readable();  // more is here already
  CallCheck check = interceptor_.CheckCall(options_.agent, message, id, {}, &watch);
  switch (check.next) {
    case CallCheck::Next::kForward:
      Forward(std::move(check.call), id, line);
      break;
    case CallCheck::Next::kReply:
      WriteClient(check.reply);
      break;
    case CallCheck::Next::kAwaitApproval: {
      std::lock_guard lock(waiters_mu_);
      waiters_.emplace_back(&Proxy::AwaitApproval, this, std::move(check), id, std::string(line));
      break;
    }
  }
  if (!read_lock.owns_lock()) read_lock.lock();
}

void Proxy::AwaitApproval(CallCheck check, json::Value id, std::string line) {
  auto next = interceptor_.AwaitApproval(std::move(check), id, [this, &id] { return stopping_ || IsCancelled(id); });
  if (!next) return;
  if (next->next == CallCheck::Next::kForward) {
    Forward(std::move(next->call), id, line, next->decision.approval_id);
  } else {
    WriteClient(next->reply);
  }
}

void Proxy::Forward(ToolCall call, const json::Value& id, std::string_view line, std::string approval_id) {
  if (IsCancelled(id)) {  // the client cancelled while the call was decided: it expects no answer
    interceptor_.CancelCall(call, approval_id);
    return;
  }
  std::string key = json::Serialize(id);
  call.arguments = json::Value();
  call.arguments_json.clear();
  AddPending(key, {.kind = Kind::kCall, .call = std::move(call), .approval_id = std::move(approval_id),
                   .forwarded = SteadyClock::now()});
  if (!WriteServer(line)) {
    if (auto pending = TakePending(key)) {
      interceptor_.FailCall(pending->call, pending->forwarded, pending->approval_id);
      WriteClient(JsonRpcError(id, kJsonRpcInternalError,
                               fmt::format("mcp server `{}` is not running", options_.server_name)));
    }
  }
}

void Proxy::HandleServerOversize(const LineReader::Item& item) {
  const json::Value id = GuessId(item.head, item.tail);
  log::Warn("mcp server message too large: dropped",
            {{"bytes", static_cast<int64_t>(item.size)}, {"limit", static_cast<int64_t>(options_.max_message_bytes)}});
  auto pending = id.is_null() ? std::nullopt : TakePending(json::Serialize(id));
  if (!pending) return;
  if (pending->kind == Kind::kCall) interceptor_.FailCall(pending->call, pending->forwarded, pending->approval_id);
  WriteClient(JsonRpcError(id, kJsonRpcInternalError,
                           fmt::format("writ: the answer of mcp server `{}` ({} bytes) exceeds the limit of {} bytes",
                                       options_.server_name, item.size, options_.max_message_bytes)));
}

void Proxy::HandleServerLine(std::string_view line) {
  // Checked in one pass and relayed byte for byte; only a tools/list answer is read as a whole, and
  // a tools/call answer gets its correlation id spliced in.
  auto members = ScanObject(line, kMaxJsonDepth);
  if (!members) {
    log::Warn("mcp server wrote a line that is not a JSON-RPC message: dropped", {{"server", options_.server_name}});
    return;
  }
  const RawMember* id = FindMember(*members, "id");
  if (FindMember(*members, "method") != nullptr || id == nullptr) {
    WriteClient(line);  // the server's requests and notifications
    return;
  }
  auto pending = TakePending(IdKey(id->value));
  if (!pending || pending->kind == Kind::kOther) {
    WriteClient(line);
    return;
  }
  if (pending->kind == Kind::kCall) {
    FinishedCall finished = interceptor_.StampCall(pending->call, pending->forwarded, line, *members, pending->approval_id);
    WriteClient(finished.message);
    interceptor_.RecordOutcome(pending->call, finished.outcome);  // after the client has its answer
    return;
  }
  auto parsed = json::Parse(line, {.max_bytes = options_.max_message_bytes, .max_depth = kMaxJsonDepth});
  auto parsed_id = json::Parse(id->value);
  if (!parsed || !parsed_id) {
    log::Warn("mcp server wrote a tools/list answer that is not valid JSON: refused", {{"server", options_.server_name}});
    WriteClient(JsonRpcError(parsed_id ? *parsed_id : json::Value(), kJsonRpcInternalError,
                             fmt::format("writ: mcp server `{}` answered tools/list with invalid JSON",
                                         options_.server_name)));
    return;
  }
  WriteClient(interceptor_.FilterList(options_.agent, *parsed_id, std::move(*parsed)));
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
