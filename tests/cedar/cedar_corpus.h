// The official Cedar corpus for the conformance runners: unpacked once into the build tree and
// shared by every test binary that reads it (the engine's and the validator's).
#pragma once
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace writ::cedar::testing {

// ../shared/conformance/cedar: the handwritten tests, sample data and the corpus tarball.
inline std::filesystem::path SharedCedarDir() {
  return std::filesystem::path(WRIT_SHARED_DIR) / "conformance" / "cedar";
}

// The whole file, or "" if it cannot be read (the caller's parse then fails and says which file).
inline std::string ReadTextFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Unpacks corpus-tests.tar.gz into <build>/cedar-corpus once (test binaries may run in parallel: an
// flock serialises them and a marker file records a complete unpack). Returns the directory holding
// `corpus-tests/`, or "" when unpacking failed.
inline std::filesystem::path UnpackedCorpusRoot() {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(WRIT_BINARY_DIR) / "cedar-corpus";
  fs::create_directories(root);
  const int lock = ::open((root / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) return {};
  const fs::path marker = root / ".unpacked";
  bool ok = fs::exists(marker);
  if (!ok) {
    const std::string command =
        "tar xzf '" + (SharedCedarDir() / "corpus-tests.tar.gz").string() + "' -C '" + root.string() + "'";
    ok = std::system(command.c_str()) == 0;
    if (ok) std::ofstream(marker) << "ok\n";
  }
  ::close(lock);  // releases the flock
  return ok ? root : fs::path();
}

// The corpus test files (`corpus-tests/<sha>.json`, not the entity files), sorted.
inline std::vector<std::filesystem::path> CorpusTestFiles(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(root / "corpus-tests")) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".json" && name.find(".entities.") == std::string::npos) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace writ::cedar::testing
