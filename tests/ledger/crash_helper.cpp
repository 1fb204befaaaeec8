// Appends events in a loop from several threads and prints "<index> <id>" for every acknowledged
// (durable) append. crash_test kills it with SIGKILL and checks every printed event survived.
//   writ_ledger_crash_helper <db path> <threads>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ledger_test_util.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <db path> <threads>\n", argv[0]);
    return 2;
  }
  using namespace writ::ledger;
  // A small WAL bound, so that every round is killed among WAL copies, restarts and truncations
  // (docs/ledger_format.md §4), not only among commits.
  testing::TestStore store(argv[1], {.checkpoint_wal_pages = 32, .checkpoint_idle = std::chrono::milliseconds(5)});
  NoteSigner signer = testing::TestSigner();
  auto ledger = Ledger::Open({.origin = "writ.test/ledger", .checkpoint_every_events = 500,
                              .checkpoint_interval = std::chrono::milliseconds(20), .signer = &signer},
                             *store.ledger);
  if (!ledger) {
    std::fprintf(stderr, "open: %s\n", ledger.error().ToString().c_str());
    return 1;
  }
  std::mutex out_mu;
  std::vector<std::thread> threads;
  int count = std::atoi(argv[2]);
  for (int t = 0; t < count; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        auto receipt = (*ledger)->Append(testing::MakeEvent(t * 1000000 + i));
        if (!receipt) {
          std::fprintf(stderr, "append: %s\n", receipt.error().ToString().c_str());
          std::_Exit(1);
        }
        std::string line = std::to_string(receipt->index) + " " + receipt->id + "\n";
        std::lock_guard<std::mutex> lock(out_mu);
        if (::write(STDOUT_FILENO, line.data(), line.size()) < 0) std::_Exit(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  return 0;
}
