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
  void HandleCall(const json::Value& message, const json::Value& id, std::string_view line);
  void AwaitApproval(CallCheck check, json::Value id, std::string line);
  void Forward(const ToolCall& call, const json::Value& id, std::string_view line, std::string approval_id = "");
  void FailAllPending(std::string_view message);

  bool WriteClient(std::string_view line);
  bool WriteServer(std::string_view line);
  void AddPending(const json::Value& id, Pending pending);
  std::optional<Pending> TakePending(const json::Value& id);
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
      WriteClient(JsonRpcError(*id, kJsonRpcInternalError,
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
  CallCheck check = interceptor_.CheckCall(options_.agent, message, id);
  switch (check.next) {
    case CallCheck::Next::kForward:
      Forward(check.call, id, line);
      return;
    case CallCheck::Next::kReply:
      WriteClient(check.reply);
      return;
    case CallCheck::Next::kAwaitApproval: {
      std::lock_guard lock(waiters_mu_);
      waiters_.emplace_back(&Proxy::AwaitApproval, this, std::move(check), id, std::string(line));
      return;
    }
  }
}

void Proxy::AwaitApproval(CallCheck check, json::Value id, std::string line) {
  auto next = interceptor_.AwaitApproval(std::move(check), id, [this, &id] { return stopping_ || IsCancelled(id); });
  if (!next) return;
  if (next->next == CallCheck::Next::kForward) {
    Forward(next->call, id, line, next->decision.approval_id);
  } else {
    WriteClient(next->reply);
  }
}

void Proxy::Forward(const ToolCall& call, const json::Value& id, std::string_view line, std::string approval_id) {
  if (IsCancelled(id)) {  // the client cancelled while the call was decided: it expects no answer
    interceptor_.CancelCall(call, approval_id);
    return;
  }
  AddPending(id, {.kind = Kind::kCall, .call = call, .approval_id = std::move(approval_id), .forwarded = SteadyClock::now()});
  if (!WriteServer(line)) {
    if (auto pending = TakePending(id)) {
      interceptor_.FailCall(call, pending->forwarded, pending->approval_id);
      WriteClient(JsonRpcError(id, kJsonRpcInternalError,
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
  if (pending->kind == Kind::kCall) interceptor_.FailCall(pending->call, pending->forwarded, pending->approval_id);
  WriteClient(JsonRpcError(id, kJsonRpcInternalError,
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
    WriteClient(interceptor_.FinishCall(pending->call, pending->forwarded, std::move(*parsed), pending->approval_id));
  } else {
    WriteClient(interceptor_.FilterList(options_.agent, *id, std::move(*parsed)));
  }
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
