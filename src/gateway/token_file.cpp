#include "gateway/token_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace writ::gateway {

TokenFile::TokenFile(std::string path, TokenFileOptions options) : path_(std::move(path)), options_(options) {}

Result<std::string> TokenFile::Current() {
  const TimePoint now = (options_.clock != nullptr ? *options_.clock : SystemClock()).Now();
  std::lock_guard lock(mu_);
  if (!token_.empty() && now >= looked_at_ && now - looked_at_ < options_.recheck) return token_;
  return Look(now);
}

Result<std::string> TokenFile::Reread() {
  const TimePoint now = (options_.clock != nullptr ? *options_.clock : SystemClock()).Now();
  std::lock_guard lock(mu_);
  return Look(now);
}

Result<std::string> TokenFile::Look(TimePoint now) {
  struct stat info {};
  if (::stat(path_.c_str(), &info) != 0) {
    token_.clear();  // a failed look forgets the token: the next call looks again
    return Fail(Code::kUnauthenticated, fmt::format("cannot read the token file `{}`: {}", path_, std::strerror(errno)));
  }
  if (!token_.empty() && info.st_ino == ino_ && info.st_size == size_ && info.st_mtim.tv_sec == mtime_.tv_sec &&
      info.st_mtim.tv_nsec == mtime_.tv_nsec) {
    looked_at_ = now;
    return token_;
  }
  token_.clear();
  if (info.st_size <= 0 || static_cast<size_t>(info.st_size) > options_.max_bytes) {
    return Fail(Code::kUnauthenticated, fmt::format("the token file `{}` is empty or too large", path_));
  }
  std::ifstream file(path_, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  std::string token = text.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (!file || token.empty() || token.size() > options_.max_bytes || token.find_first_of(" \t\r\n") != std::string::npos) {
    return Fail(Code::kUnauthenticated, fmt::format("the token file `{}` holds no token", path_));
  }
  token_ = std::move(token);
  ino_ = info.st_ino;
  size_ = info.st_size;
  mtime_ = info.st_mtim;
  looked_at_ = now;
  return token_;
}

}  // namespace writ::gateway
