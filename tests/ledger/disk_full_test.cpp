// A real full disk: the ledger's database on a small tmpfs. Appends fail with a clear kUnavailable
// error (which authz turns into a deny: tests/authz/engine_test.cpp LedgerFailureTurnsAnAllowIntoADeny),
// nothing acknowledged is lost, and once space returns a reopened ledger verifies and appends again.
// Mounting needs root (CAP_SYS_ADMIN); elsewhere the test is skipped and says so.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

#include "ledger/verify.h"
#include "ledger_test_util.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::ledger {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

// A tmpfs of `size` mounted on a fresh directory, unmounted on destruction.
class SmallFilesystem {
 public:
  explicit SmallFilesystem(const std::string& size) {
    path_ = dir_.file("fs");
    std::filesystem::create_directory(path_);
    const std::string options = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~SmallFilesystem() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Gives the filesystem more room (space returns).
  bool Grow(const std::string& size) {
    const std::string options = "size=" + size + ",mode=0700";
    return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
  }

 private:
  TempDir dir_;
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

TEST(DiskFullTest, AppendsFailClosedAndNothingAcknowledgedIsLost) {
  SmallFilesystem fs("3m");
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs (needs root): " << fs.error();
  const std::string path = fs.file("writ.db");
  NoteSigner signer = testing::TestSigner();
  std::vector<NoteVerifier> verifiers{testing::TestVerifier()};
  std::vector<Receipt> acknowledged;
  {
    testing::TestStore store(path);
    auto ledger = Ledger::Open({.checkpoint_every_events = 200, .signer = &signer}, *store.ledger).value();
    Result<Receipt> failed = Fail(Code::kInternal, "never failed");
    for (int i = 0; i < 100000; ++i) {
      Event event = testing::MakeEvent(i);
      event.details.Set("padding", std::string(200, 'p'));
      auto receipt = ledger->Append(std::move(event));
      if (!receipt) {
        failed = receipt;
        break;
      }
      acknowledged.push_back(*receipt);
    }
    ASSERT_FALSE(failed.has_value()) << "the disk never filled up";
    EXPECT_EQ(failed.error().code, Code::kUnavailable);
    EXPECT_THAT(failed.error().message, HasSubstr("ledger cannot write"));
    EXPECT_THAT(failed.error().message, AnyOf(HasSubstr("full"), HasSubstr("disk I/O error")));
    EXPECT_GT(acknowledged.size(), 50u);
    // Every later append is refused too (fail closed), synchronous or not.
    EXPECT_THAT(ledger->Append(testing::MakeEvent(1)), FailsWith(Code::kUnavailable));
    bool refused = false;
    ledger->AppendAsync(testing::MakeEvent(2), [&](Result<Receipt> receipt) { refused = !receipt.has_value(); });
    EXPECT_TRUE(refused);
    EXPECT_EQ(ledger->Size(), acknowledged.size());
  }
  // Space returns: reopen, find every acknowledged event, verify, append again.
  ASSERT_TRUE(fs.Grow("64m"));
  testing::TestStore store(path);
  auto ledger = Ledger::Open({.signer = &signer}, *store.ledger);
  ASSERT_THAT(ledger, IsOk());
  EXPECT_EQ((*ledger)->Size(), acknowledged.size());
  for (const Receipt& receipt : acknowledged) {
    auto event = (*ledger)->Get(receipt.index);
    ASSERT_THAT(event, IsOk());
    ASSERT_TRUE(event->has_value()) << "acknowledged event " << receipt.index << " lost";
    ASSERT_EQ((*event)->event.id, receipt.id);
  }
  ASSERT_THAT((*ledger)->Append(testing::MakeEvent(7)), IsOk());
  ASSERT_THAT((*ledger)->Checkpoint(), IsOk());
  auto report = Verify(*store.ledger, {.verifiers = verifiers});
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok()) << report->problem->what;
  EXPECT_EQ(report->events, acknowledged.size() + 1);
}

}  // namespace
}  // namespace writ::ledger
