#include "token/attestation.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "identity/registry.h"

namespace writ::token {
namespace {

constexpr size_t kReadChunk = 1 << 16;
constexpr int64_t kListPage = 1000;

struct ProcStatus {
  uint32_t uid = 0;  // effective
  uint32_t gid = 0;
  bool found = false;
};

Result<ProcStatus> ReadStatus(int32_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  if (!in) return Fail(Code::kPermissionDenied, fmt::format("process {} is gone", pid));
  ProcStatus status;
  std::string line;
  int fields = 0;
  while (std::getline(in, line)) {
    uint32_t real = 0, effective = 0;
    if (std::sscanf(line.c_str(), "Uid:\t%u\t%u", &real, &effective) == 2) {
      status.uid = effective;
      ++fields;
    } else if (std::sscanf(line.c_str(), "Gid:\t%u\t%u", &real, &effective) == 2) {
      status.gid = effective;
      ++fields;
    }
  }
  status.found = fields == 2;
  if (!status.found) return Fail(Code::kPermissionDenied, fmt::format("process {} has no readable status", pid));
  return status;
}

// Field `wanted` (>= 3) of /proc/<pid>/stat.
Result<uint64_t> ReadStatField(int32_t pid, int wanted) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');  // the command name may hold spaces and parentheses
  if (!in.good() && text.empty()) return Fail(Code::kPermissionDenied, fmt::format("process {} is gone", pid));
  if (close == std::string::npos) return Fail(Code::kPermissionDenied, fmt::format("process {} has no readable stat", pid));
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  // After ")": field 3 (state) is the first.
  for (int index = 3; index <= wanted; ++index) {
    if (!(fields >> field)) return Fail(Code::kPermissionDenied, "process stat is truncated");
  }
  uint64_t value = 0;
  if (std::sscanf(field.c_str(), "%lu", &value) != 1) return Fail(Code::kPermissionDenied, "process stat is malformed");
  return value;
}

// Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat).
Result<uint64_t> ReadStartTicks(int32_t pid) { return ReadStatField(pid, 22); }

Result<std::string> ReadExeLink(int32_t pid) {
  std::string target(4096, '\0');
  const std::string link = fmt::format("/proc/{}/exe", pid);
  const ssize_t size = ::readlink(link.c_str(), target.data(), target.size());
  if (size < 0 || static_cast<size_t>(size) >= target.size()) {
    return Fail(Code::kPermissionDenied, fmt::format("executable of process {} cannot be read: {}", pid,
                                                     size < 0 ? std::strerror(errno) : "path too long"));
  }
  target.resize(static_cast<size_t>(size));
  return target;
}

bool PidfdAlive(int pidfd) { return ::syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0; }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

int64_t BootTimeNow() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

Result<std::string> HashFile(const std::string& path, bool follow) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)));
  if (fd.get() < 0) return Fail(Code::kPermissionDenied, fmt::format("cannot read `{}`: {}", path, std::strerror(errno)));
  crypto::Sha256Hasher hasher;
  std::string buffer(kReadChunk, '\0');
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Fail(Code::kPermissionDenied, fmt::format("cannot read `{}`: {}", path, std::strerror(errno)));
    if (got == 0) break;
    hasher.Update(std::string_view(buffer.data(), static_cast<size_t>(got)));
  }
  const crypto::Sha256Digest digest = hasher.Finish();
  return HexEncode(digest);
}

Result<ProcessFacts> InspectProcess(const PeerCredentials& peer, int64_t not_after_boot_ns) {
  if (peer.pid <= 0) return Fail(Code::kPermissionDenied, "the caller's process id is unknown");
  // Pin the process: from here on, the pidfd refers to this process and never to a reused pid.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, peer.pid, 0)));
  if (pidfd.get() < 0) return Fail(Code::kPermissionDenied, fmt::format("process {} is gone", peer.pid));
  // The pid may have been reused before pidfd_open: a process that started after the request
  // arrived cannot be the one that sent it.
  WRIT_ASSIGN_OR_RETURN(const uint64_t start_ticks, ReadStartTicks(peer.pid));
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  const int64_t start_ns = static_cast<int64_t>(start_ticks) * (1'000'000'000 / ticks_per_second);
  if (start_ns > not_after_boot_ns) {
    return Fail(Code::kPermissionDenied, fmt::format("process {} started after the request: pid reused", peer.pid));
  }
  WRIT_ASSIGN_OR_RETURN(const ProcStatus status, ReadStatus(peer.pid));
  if (status.uid != peer.uid || status.gid != peer.gid) {
    return Fail(Code::kPermissionDenied,
                fmt::format("process {} now runs as uid {} gid {}, not as the socket reported", peer.pid, status.uid, status.gid));
  }
  ProcessFacts facts{.pid = peer.pid, .uid = peer.uid, .gid = peer.gid};
  WRIT_ASSIGN_OR_RETURN(facts.exe_path, ReadExeLink(peer.pid));
  // /proc/<pid>/exe opens the very file the process runs, even if the path was replaced since.
  WRIT_ASSIGN_OR_RETURN(facts.exe_sha256, HashFile(fmt::format("/proc/{}/exe", peer.pid), true));
  // Re-check after the (slow) hash: same process alive, same executable, same credentials.
  if (!PidfdAlive(pidfd.get())) {
    return Fail(Code::kPermissionDenied, fmt::format("process {} exited during attestation", peer.pid));
  }
  WRIT_ASSIGN_OR_RETURN(const std::string exe_again, ReadExeLink(peer.pid));
  WRIT_ASSIGN_OR_RETURN(const uint64_t start_again, ReadStartTicks(peer.pid));
  WRIT_ASSIGN_OR_RETURN(const ProcStatus status_again, ReadStatus(peer.pid));
  if (exe_again != facts.exe_path || start_again != start_ticks || status_again.uid != peer.uid ||
      status_again.gid != peer.gid) {
    return Fail(Code::kPermissionDenied, fmt::format("process {} changed during attestation", peer.pid));
  }
  return facts;
}

Result<ProcessFacts> InspectChildProcess(const PeerCredentials& parent, int32_t child_pid, int64_t not_after_boot_ns) {
  if (child_pid <= 0 || parent.pid <= 0) return Fail(Code::kPermissionDenied, "the process id is unknown");
  WRIT_ASSIGN_OR_RETURN(const uint64_t parent_pid, ReadStatField(child_pid, 4));
  if (parent_pid != static_cast<uint64_t>(parent.pid)) {
    return Fail(Code::kPermissionDenied, fmt::format("process {} is not a child of the caller", child_pid));
  }
  WRIT_ASSIGN_OR_RETURN(const ProcStatus status, ReadStatus(child_pid));
  // An unprivileged caller can only start children with its own credentials.
  if (parent.uid != 0 && (status.uid != parent.uid || status.gid != parent.gid)) {
    return Fail(Code::kPermissionDenied, fmt::format("process {} runs with other credentials than the caller", child_pid));
  }
  WRIT_ASSIGN_OR_RETURN(ProcessFacts facts, InspectProcess({child_pid, status.uid, status.gid}, not_after_boot_ns));
  // Still the caller's child after the hash (not re-parented to init by an exit).
  WRIT_ASSIGN_OR_RETURN(const uint64_t parent_again, ReadStatField(child_pid, 4));
  if (parent_again != static_cast<uint64_t>(parent.pid)) {
    return Fail(Code::kPermissionDenied, fmt::format("process {} changed during attestation", child_pid));
  }
  return facts;
}

bool SelectorsMatch(const identity::Selectors& selectors, const ProcessFacts& facts) {
  if (selectors.empty()) return false;
  if (selectors.uid && *selectors.uid != facts.uid) return false;
  if (selectors.gid && *selectors.gid != facts.gid) return false;
  if (selectors.exe_path && *selectors.exe_path != facts.exe_path) return false;
  if (selectors.exe_sha256 && !ConstantTimeEquals(*selectors.exe_sha256, facts.exe_sha256)) return false;
  return true;
}

Result<identity::Identity> MatchAgent(const std::vector<identity::Identity>& agents, const ProcessFacts& facts) {
  std::vector<const identity::Identity*> matches;
  for (const identity::Identity& agent : agents) {
    if (agent.kind == identity::Kind::kAgent && SelectorsMatch(agent.selectors, facts)) matches.push_back(&agent);
  }
  if (matches.empty()) {
    return Fail(Code::kPermissionDenied,
                fmt::format("no registered agent matches this process (uid {}, gid {}, exe `{}`)", facts.uid, facts.gid,
                            facts.exe_path));
  }
  if (matches.size() > 1) {
    std::string names;
    for (const auto* agent : matches) names += (names.empty() ? "" : ", ") + agent->name;
    return Fail(Code::kFailedPrecondition,
                fmt::format("this process matches several agents ({}); make their selectors distinct", names));
  }
  return *matches.front();
}

Result<identity::Identity> AttestAgent(identity::Registry& registry, const ProcessFacts& facts) {
  std::vector<identity::Identity> agents;
  identity::ListOptions options{.kind = identity::Kind::kAgent, .limit = kListPage};
  while (true) {
    WRIT_ASSIGN_OR_RETURN(std::vector<identity::Identity> page, registry.List(options));
    const bool last = static_cast<int64_t>(page.size()) < kListPage;
    if (!page.empty()) options.after = page.back().name;
    for (auto& agent : page) agents.push_back(std::move(agent));
    if (last) break;
  }
  return MatchAgent(agents, facts);
}

}  // namespace writ::token
