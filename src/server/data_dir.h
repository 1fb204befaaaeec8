// The data directory: created 0700 when missing, refused when it is not safe, and locked so that
// only one writd uses it at a time.
#pragma once
#include <memory>
#include <string>

#include "common/result.h"

namespace writ::server {

// Creates `path` (and missing parents) with mode 0700 if it does not exist, then checks it.
// Errors: kFailedPrecondition when it is not a directory, is owned by a uid other than the
// effective uid, or is writable by group or others (the message says how to fix it);
// kPermissionDenied / kUnavailable when it cannot be created or inspected.
Status PrepareDataDir(const std::string& path);

// An exclusive flock(2) on <data_dir>/writd.lock holding the owner's pid, released when the
// object dies (or the process does: the kernel drops the lock, so a crash leaves no stale lock).
class DataDirLock {
 public:
  // Errors: kFailedPrecondition "another writd (pid N) is using data dir `D`" when it is held;
  // kUnavailable when the lock file cannot be opened.
  static Result<std::unique_ptr<DataDirLock>> Acquire(const std::string& data_dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  DataDirLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

}  // namespace writ::server
