// Identifiers: UUIDv7 (RFC 9562), time-ordered so that ids sort by creation time.
#pragma once
#include <string>
#include <string_view>

#include "common/clock.h"

namespace writ {

// A new UUIDv7 in canonical lowercase form ("0193...-7xxx-..."), 48 bits of `clock` milliseconds,
// then 74 random bits from the kernel CSPRNG (drawn in blocks per thread; a forked child never
// reuses its parent's block). Ids from one process are strictly increasing even within a
// millisecond (a monotonic counter in rand_a), across threads, without a lock. Thread-safe.
std::string NewUuidV7(const Clock& clock = SystemClock());

// True when `text` is a canonical lowercase UUID (any version).
bool IsUuid(std::string_view text);

// Fills `size` bytes at `out` from the kernel CSPRNG (getrandom). Aborts the process if the kernel
// cannot supply randomness: continuing with weak ids or keys would be worse than stopping.
void FillRandom(void* out, size_t size);

}  // namespace writ
