// CRC-32C for the repo's per-block checksums, written here because no preinstalled library offers the Castagnoli
// polynomial with the x86 crc32 instruction (zlib's crc32 is the IEEE polynomial and several times slower). The
// hardware path computes the same function as the portable bitwise one; tests pin both to the RFC 3720 vectors and
// long inputs to a bitwise reference.
#include <stdint.h>
#include <string.h>
#include "CStoreSupport.h"

static uint32_t crc32c_portable(uint32_t crc, const unsigned char *p, size_t n) {
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return crc;
}

#if defined(__x86_64__)
#include <pthread.h>

// The crc32 instruction has a latency of 3 cycles and a throughput of 1 per cycle, so one dependency chain uses a
// third of it. Inputs of 12 KiB and more run three chains over the three 4 KiB segments of each 12 KiB chunk and
// join them with "append 4 KiB / 8 KiB of zero bytes" operators (CRC is linear: crc(r, A|B) = zeros(crc(r, A), |B|)
// xor crc(0, B)): about 2.6x the bytes per cycle of one chain.
enum { kSegment = 4096 };
/// Column i: the register 1 << i after appending kSegment (shiftOne) or 2 * kSegment (shiftTwo) zero bytes.
static uint32_t shiftOne[32], shiftTwo[32];
static pthread_once_t shiftsOnce = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2"))) static uint64_t crc32c_chain(uint64_t c, const unsigned char *p, size_t n) {
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
  }
  return c;
}

__attribute__((target("sse4.2"))) static void crc32c_make_shifts(void) {
  static const unsigned char zeros[2 * kSegment];
  for (int i = 0; i < 32; i++) {
    shiftOne[i] = (uint32_t)crc32c_chain(1u << i, zeros, kSegment);
    shiftTwo[i] = (uint32_t)crc32c_chain(1u << i, zeros, 2 * kSegment);
  }
}

/// The linear operator `m` (32 columns) applied to `v`.
static uint32_t crc32c_shift(const uint32_t m[32], uint32_t v) {
  uint32_t r = 0;
  for (int i = 0; i < 32; i++) r ^= m[i] & (0u - ((v >> i) & 1u));
  return r;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t n) {
  uint64_t c = crc;
  if (n >= 3 * kSegment) {
    pthread_once(&shiftsOnce, crc32c_make_shifts);
    for (; n >= 3 * kSegment; n -= 3 * kSegment, p += 3 * kSegment) {
      uint64_t a = c, b = 0, d = 0;
      for (size_t k = 0; k < kSegment; k += 8) {
        uint64_t x, y, z;
        memcpy(&x, p + k, 8);
        memcpy(&y, p + kSegment + k, 8);
        memcpy(&z, p + 2 * kSegment + k, 8);
        a = __builtin_ia32_crc32di(a, x);
        b = __builtin_ia32_crc32di(b, y);
        d = __builtin_ia32_crc32di(d, z);
      }
      c = crc32c_shift(shiftTwo, (uint32_t)a) ^ crc32c_shift(shiftOne, (uint32_t)b) ^ (uint32_t)d;
    }
  }
  c = crc32c_chain(c, p, n & ~(size_t)7);
  p += n & ~(size_t)7;
  n &= 7;
  uint32_t c32 = (uint32_t)c;
  while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}
#endif

uint32_t cstore_crc32c(const void *data, size_t length) {
  const unsigned char *p = (const unsigned char *)data;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) return ~crc32c_sse42(0xFFFFFFFFu, p, length);
#endif
  return ~crc32c_portable(0xFFFFFFFFu, p, length);
}
