// kill -9 during sustained appends, repeated: after each restart every acknowledged event is
// present, the tree verifies, and the last checkpoint is consistent with the new head.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "ledger/verify.h"
#include "ledger_test_util.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::ledger {
namespace {

struct Ack {
  uint64_t index;
  std::string id;
};

// Runs the helper until it has acknowledged at least `target` events, then SIGKILLs it.
std::vector<Ack> RunAndKill(const std::string& path, size_t target) {
  int pipe_fds[2];
  EXPECT_EQ(::pipe(pipe_fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execl(WRIT_LEDGER_CRASH_HELPER, WRIT_LEDGER_CRASH_HELPER, path.c_str(), "8", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string buffer;
  size_t lines = 0;
  char chunk[4096];
  while (lines < target) {
    ssize_t got = ::read(pipe_fds[0], chunk, sizeof(chunk));
    if (got <= 0) break;
    for (ssize_t i = 0; i < got; ++i) lines += chunk[i] == '\n';
    buffer.append(chunk, static_cast<size_t>(got));
  }
  ::kill(pid, SIGKILL);
  // Whatever the helper printed before dying was acknowledged too: read it all.
  for (;;) {
    ssize_t got = ::read(pipe_fds[0], chunk, sizeof(chunk));
    if (got <= 0) break;
    buffer.append(chunk, static_cast<size_t>(got));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "helper exited early with status " << status;
  std::vector<Ack> acks;
  std::istringstream in(buffer.substr(0, buffer.rfind('\n') + 1));
  Ack ack;
  while (in >> ack.index >> ack.id) acks.push_back(ack);
  return acks;
}

TEST(CrashTest, KillNineDuringAppendsLosesNothingAcknowledged) {
  TempDir dir;
  std::string path = dir.file("writ.db");
  NoteSigner signer = testing::TestSigner();
  std::vector<NoteVerifier> verifiers{testing::TestVerifier()};
  std::mt19937 random(12345);
  size_t total_acks = 0;
  // 20 rounds in every CI run; the nightly target (CTest label `nightly`) sets WRIT_CRASH_ROUNDS.
  const char* rounds_env = std::getenv("WRIT_CRASH_ROUNDS");
  const int rounds = rounds_env != nullptr ? std::max(1, std::atoi(rounds_env)) : 20;
  for (int round = 0; round < rounds; ++round) {
    std::vector<Ack> acks = RunAndKill(path, 200 + random() % 3000);
    ASSERT_FALSE(acks.empty()) << "round " << round;
    total_acks += acks.size();
    testing::TestStore store(path);
    auto ledger = Ledger::Open({.origin = "writ.test/ledger", .signer = &signer}, *store.ledger);
    ASSERT_THAT(ledger, IsOk()) << "round " << round;
    for (const Ack& ack : acks) {
      auto event = (*ledger)->Get(ack.index);
      ASSERT_THAT(event, IsOk());
      ASSERT_TRUE(event->has_value()) << "round " << round << ": acknowledged event " << ack.index << " lost";
      ASSERT_EQ((*event)->event.id, ack.id);
    }
    auto report = Verify(*store.ledger, {.verifiers = verifiers, .origin = "writ.test/ledger"});
    ASSERT_THAT(report, IsOk());
    ASSERT_TRUE(report->ok()) << "round " << round << ": " << report->problem->what;
    auto latest = (*ledger)->LatestCheckpoint().value();
    if (latest) {
      auto checkpoint = ParseCheckpoint(OpenNote(*latest, verifiers).value()).value();
      uint64_t head = (*ledger)->Size();
      auto proof = (*ledger)->ProveConsistency(checkpoint.size, head);
      ASSERT_THAT(proof, IsOk());
      EXPECT_THAT(VerifyConsistency(checkpoint.size, head, *proof, checkpoint.root, (*ledger)->Root(head).value()),
                  IsOk());
    }
  }
  EXPECT_GT(total_acks, static_cast<size_t>(rounds) * 200u);
}

}  // namespace
}  // namespace writ::ledger
