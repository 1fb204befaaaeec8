// Workload attestation: recognises the process on the other end of writd's Unix socket with no
// secret. The kernel's peer credentials (SO_PEERCRED pid/uid/gid) name the process; its
// executable (/proc/<pid>/exe) is resolved and hashed; the facts are matched against the
// registered agents' selectors. A pid reused between the check and the issue is detected: the
// process is pinned with a pidfd, its start time must precede the request, and after hashing the
// pidfd must still be alive with the same executable and credentials.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "identity/identity.h"

namespace writ::identity {
class Registry;
}

namespace writ::token {

struct ProcessFacts {
  int32_t pid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string exe_path;    // the resolved executable path
  std::string exe_sha256;  // lowercase hex
};

struct PeerCredentials {
  int32_t pid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// Reads the facts of `peer`'s process. `not_after_boot_ns` is a CLOCK_BOOTTIME instant taken
// when the request arrived (BootTimeNow()): a process that started later cannot be the peer.
// Errors: kPermissionDenied when the process is gone, was replaced (pid reuse), runs with other
// credentials than the socket reported, or its executable cannot be read (the message says which).
Result<ProcessFacts> InspectProcess(const PeerCredentials& peer, int64_t not_after_boot_ns);

// The facts of `child_pid`, which must be a child of `parent` (the socket peer): how `writ run`
// gets a token for the command it started (stopped right after exec, so the executable is the
// command's). Errors: kPermissionDenied when it is not the peer's child; else as InspectProcess.
Result<ProcessFacts> InspectChildProcess(const PeerCredentials& parent, int32_t child_pid, int64_t not_after_boot_ns);

// CLOCK_BOOTTIME now, in nanoseconds.
int64_t BootTimeNow();

// True when every selector the agent sets matches `facts` (an agent with no selectors never matches).
bool SelectorsMatch(const identity::Selectors& selectors, const ProcessFacts& facts);

// The one agent among `agents` whose selectors match `facts`.
// Errors: kPermissionDenied when none matches; kFailedPrecondition when several do (naming them).
Result<identity::Identity> MatchAgent(const std::vector<identity::Identity>& agents, const ProcessFacts& facts);

// MatchAgent over every registered agent (all states: a suspended match is refused by the issuer
// with its own error). Errors: as MatchAgent; kUnavailable if the registry cannot be read.
Result<identity::Identity> AttestAgent(identity::Registry& registry, const ProcessFacts& facts);

// The lowercase hex SHA-256 of the file at `path`, read from an fd opened with O_NOFOLLOW unless
// `follow` is set. Errors: kPermissionDenied when it cannot be read.
Result<std::string> HashFile(const std::string& path, bool follow);

}  // namespace writ::token
