// Cryptographic randomness from OpenSSL's DRBG (seeded by the kernel).
#pragma once
#include <cstddef>
#include <string>

namespace writ::crypto {

// `size` random bytes. Aborts the process if the DRBG fails: weak keys would be worse than stopping.
std::string RandomBytes(size_t size);

// Fills `size` bytes at `out`. Same failure rule as RandomBytes.
void RandomFill(void* out, size_t size);

}  // namespace writ::crypto
