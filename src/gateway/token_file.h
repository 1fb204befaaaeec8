// The agent's token as `writ run` keeps it in $WRIT_TOKEN_FILE: replaced (renamed over) at each
// renewal, removed at expiry. Read by `writ mcp` before every request to writd, so the file is not
// looked at on every call: its identity (inode, size, mtime) is checked at most once per
// `recheck`, and at once when the caller says writd refused the token it got (Reread). A token
// used a little after its file was replaced is still valid (writ run renews at two thirds of the
// lifetime), and a token writd refuses is never used again once a new one is on disk.
#pragma once
#include <chrono>
#include <ctime>
#include <mutex>
#include <string>

#include <sys/types.h>

#include "common/clock.h"
#include "common/result.h"

namespace writ::gateway {

struct TokenFileOptions {
  std::chrono::milliseconds recheck{1000};  // 0: look at the file on every Current()
  size_t max_bytes = 16 << 10;
  const Clock* clock = nullptr;  // borrowed; nullptr = SystemClock()
};

// Thread-safe.
class TokenFile {
 public:
  explicit TokenFile(std::string path, TokenFileOptions options = {});

  // The token (surrounding whitespace removed). Looks at the file only when the last look is older
  // than options.recheck (or the clock went back), and reads it again only when its inode, size or
  // mtime changed. Errors: kUnauthenticated when the file is missing, unreadable, empty, larger
  // than max_bytes or holds more than one word (the message names the file, never the token).
  Result<std::string> Current();

  // Looks at the file now (then as Current). For a caller whose token writd just refused.
  Result<std::string> Reread();

  const std::string& path() const { return path_; }

 private:
  Result<std::string> Look(TimePoint now);  // REQUIRES: mu_ held

  const std::string path_;
  const TokenFileOptions options_;
  std::mutex mu_;
  std::string token_;  // guarded by mu_, with the file facts it was read under and the time of the last look
  ino_t ino_ = 0;
  off_t size_ = 0;
  timespec mtime_{};
  TimePoint looked_at_{};
};

}  // namespace writ::gateway
