#include "common/ids.h"

#include <pthread.h>
#include <sys/random.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace writ {
namespace {

// The last id's (milliseconds << 12 | counter): ids are strictly increasing without a lock.
std::atomic<uint64_t> last_stamp{0};

// Bumped in a forked child, so that it never reuses random bytes buffered by its parent.
std::atomic<uint64_t> fork_generation{0};

// Random bytes for ids, drawn from the kernel CSPRNG in blocks: one getrandom call serves 256 ids
// instead of one (the call was ~2.5% of a decision's CPU). Per thread, so no lock.
class IdRandomBuffer {
 public:
  void Take(unsigned char* out, size_t size) {
    const uint64_t generation = fork_generation.load(std::memory_order_relaxed);
    if (generation != generation_) {
      used_ = bytes_.size();  // drop what the parent process had buffered
      generation_ = generation;
    }
    if (bytes_.size() - used_ < size) {
      FillRandom(bytes_.data(), bytes_.size());
      used_ = 0;
    }
    std::memcpy(out, bytes_.data() + used_, size);
    std::memset(bytes_.data() + used_, 0, size);  // handed-out bytes do not stay in memory
    used_ += size;
  }

 private:
  std::array<unsigned char, 4096> bytes_{};
  size_t used_ = bytes_.size();
  uint64_t generation_ = 0;
};

void TakeIdRandom(unsigned char* out, size_t size) {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
    return true;
  }();
  (void)registered;
  thread_local IdRandomBuffer buffer;
  buffer.Take(out, size);
}

}  // namespace

void FillRandom(void* out, size_t size) {
  auto* bytes = static_cast<unsigned char*>(out);
  while (size > 0) {
    const ssize_t got = getrandom(bytes, size, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::fputs("writ: getrandom failed; refusing to continue without randomness\n", stderr);
      std::abort();
    }
    bytes += got;
    size -= static_cast<size_t>(got);
  }
}

std::string NewUuidV7(const Clock& clock) {
  std::array<unsigned char, 16> bytes{};
  TakeIdRandom(bytes.data(), bytes.size());
  const auto millis = static_cast<uint64_t>(std::max<int64_t>(0, ToUnixMillis(clock.Now())));
  // A random start for the 12-bit counter (top bit clear, leaving room to count up within a
  // millisecond); a repeated or backwards millisecond continues from the last id instead, and a
  // counter overflow carries into the milliseconds.
  uint64_t stamp = millis << 12 | (((bytes[6] & 0x0fu) << 8 | bytes[7]) & 0x7ffu);
  uint64_t last = last_stamp.load(std::memory_order_relaxed);
  do {
    if (stamp <= last) stamp = last + 1;
  } while (!last_stamp.compare_exchange_weak(last, stamp, std::memory_order_relaxed));
  const uint16_t counter = static_cast<uint16_t>(stamp & 0xfff);
  uint64_t stamp_millis = stamp >> 12;
  for (int index = 5; index >= 0; --index) {
    bytes[static_cast<size_t>(index)] = static_cast<unsigned char>(stamp_millis & 0xff);
    stamp_millis >>= 8;
  }
  bytes[6] = static_cast<unsigned char>(0x70 | ((counter >> 8) & 0x0f));
  bytes[7] = static_cast<unsigned char>(counter & 0xff);
  bytes[8] = static_cast<unsigned char>(0x80 | (bytes[8] & 0x3f));  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text(36, '-');
  size_t at = 0;
  for (size_t index = 0; index < bytes.size(); ++index) {
    if (index == 4 || index == 6 || index == 8 || index == 10) ++at;
    text[at++] = kHex[bytes[index] >> 4];
    text[at++] = kHex[bytes[index] & 0x0f];
  }
  return text;
}

bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t index = 0; index < text.size(); ++index) {
    const char ch = text[index];
    if (index == 8 || index == 13 || index == 18 || index == 23) {
      if (ch != '-') return false;
    } else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
      return false;
    }
  }
  return true;
}

}  // namespace writ
