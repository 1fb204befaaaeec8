#include "server/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace writ::server {
namespace {

constexpr mode_t kDataDirMode = 0700;
constexpr size_t kPidTextMax = 32;

Code CodeForErrno(int error) { return error == EACCES || error == EPERM ? Code::kPermissionDenied : Code::kUnavailable; }

}  // namespace

Status PrepareDataDir(const std::string& path) {
  if (path.empty()) return Fail(Code::kInvalidArgument, "data dir path is empty");
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno != ENOENT) {
      return Fail(CodeForErrno(errno), fmt::format("cannot inspect data dir `{}`: {}", path, std::strerror(errno)));
    }
    const std::filesystem::path dir(path);
    if (dir.has_parent_path() && !dir.parent_path().empty()) {
      std::error_code error;
      std::filesystem::create_directories(dir.parent_path(), error);
      if (error) return Fail(Code::kUnavailable, fmt::format("cannot create `{}`: {}", dir.parent_path().string(), error.message()));
    }
    if (::mkdir(path.c_str(), kDataDirMode) != 0 && errno != EEXIST) {
      return Fail(CodeForErrno(errno), fmt::format("cannot create data dir `{}`: {}", path, std::strerror(errno)));
    }
    if (::stat(path.c_str(), &info) != 0) {
      return Fail(CodeForErrno(errno), fmt::format("cannot inspect data dir `{}`: {}", path, std::strerror(errno)));
    }
  }
  if (!S_ISDIR(info.st_mode)) return Fail(Code::kFailedPrecondition, fmt::format("data dir `{}` is not a directory", path));
  if (info.st_uid != ::geteuid()) {
    return Fail(Code::kFailedPrecondition,
                fmt::format("data dir `{}` is owned by uid {}, not by uid {} that runs writd; use a directory of your own",
                            path, info.st_uid, ::geteuid()));
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Fail(Code::kFailedPrecondition,
                fmt::format("data dir `{}` is writable by group or others (mode {:04o}); run `chmod 700 {}`", path,
                            info.st_mode & 07777, path));
  }
  return Ok();
}

Result<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(const std::string& data_dir) {
  std::string path = data_dir + "/writd.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Fail(CodeForErrno(errno), fmt::format("cannot open lock file `{}`: {}", path, std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    std::string holder = "unknown pid";
    char text[kPidTextMax] = {};
    const ssize_t size = ::pread(fd, text, sizeof(text) - 1, 0);
    int64_t pid = 0;
    if (size > 0) {
      const auto [end, parse_error] = std::from_chars(text, text + size, pid);
      if (parse_error == std::errc() && pid > 0) holder = fmt::format("pid {}", pid);
    }
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return Fail(Code::kFailedPrecondition, fmt::format("another writd ({}) is using data dir `{}`", holder, data_dir));
    }
    return Fail(Code::kUnavailable, fmt::format("cannot lock `{}`: {}", path, std::strerror(error)));
  }
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int error = errno;
    ::close(fd);
    return Fail(Code::kUnavailable, fmt::format("cannot write lock file `{}`: {}", path, std::strerror(error)));
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd, std::move(path)));
}

DataDirLock::~DataDirLock() {
  // The pid is left in place: harmless, and rewritten by the next holder.
  ::close(fd_);
}

}  // namespace writ::server
