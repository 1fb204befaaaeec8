#include "common/ids.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace writ {
namespace {

struct MonotonicState {
  std::mutex mu;
  int64_t last_millis = 0;
  uint16_t last_counter = 0;  // 12 bits used
};

MonotonicState& State() {
  static MonotonicState state;
  return state;
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
  FillRandom(bytes.data(), bytes.size());
  int64_t millis = ToUnixMillis(clock.Now());
  uint16_t counter = static_cast<uint16_t>(((bytes[6] & 0x0f) << 8 | bytes[7]) & 0x7ff);
  {
    // Monotonic within the process: a repeated (or backwards) millisecond bumps the 12-bit counter.
    MonotonicState& state = State();
    std::lock_guard lock(state.mu);
    if (millis <= state.last_millis) {
      millis = state.last_millis;
      counter = static_cast<uint16_t>(state.last_counter + 1);
      if (counter > 0xfff) {
        ++millis;
        counter = 0;
      }
    }
    state.last_millis = millis;
    state.last_counter = counter;
  }
  for (int index = 5; index >= 0; --index) {
    bytes[static_cast<size_t>(index)] = static_cast<unsigned char>(millis & 0xff);
    millis >>= 8;
  }
  bytes[6] = static_cast<unsigned char>(0x70 | ((counter >> 8) & 0x0f));
  bytes[7] = static_cast<unsigned char>(counter & 0xff);
  bytes[8] = static_cast<unsigned char>(0x80 | (bytes[8] & 0x3f));  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (size_t index = 0; index < bytes.size(); ++index) {
    if (index == 4 || index == 6 || index == 8 || index == 10) text += '-';
    text += kHex[bytes[index] >> 4];
    text += kHex[bytes[index] & 0x0f];
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
