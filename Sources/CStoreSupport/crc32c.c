// CRC-32C for the repo's per-block checksums, written here because no preinstalled library offers the Castagnoli
// polynomial with the x86 crc32 instruction (zlib's crc32 is the IEEE polynomial and several times slower). The
// hardware path computes the same function as the portable bitwise one; tests pin both to the RFC 3720 vectors.
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
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t n) {
  uint64_t c = crc;
  // One dependency chain of 8-byte steps: ~8 bytes per 3 cycles (several GB/s), a small fraction of SHA-256's cost.
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    n -= 8;
  }
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
