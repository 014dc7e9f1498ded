// Small POSIX helpers for CodexStore that Swift's Glibc module does not expose.
#ifndef CSTORESUPPORT_H
#define CSTORESUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// Frees the disk space of [offset, offset+length) in the file without changing its size
/// (fallocate PUNCH_HOLE|KEEP_SIZE on Linux). Returns 0, or -1 with errno set (EOPNOTSUPP when the
/// file system cannot punch holes).
int cstore_punch_hole(int fd, int64_t offset, int64_t length);

/// Bytes the file actually occupies on disk (st_blocks * 512), or -1 with errno set.
int64_t cstore_allocated_bytes(int fd);

/// Opens an existing file for writing with O_DIRECT (page-cache bypass), close-on-exec. Returns the descriptor, or -1
/// with errno set (EINVAL when the file system has no direct I/O, e.g. tmpfs).
int cstore_open_direct(const char *path);

/// Opens an existing file read-only with O_DIRECT, close-on-exec. Returns the descriptor, or -1 with errno set.
int cstore_open_direct_read(const char *path);

/// Writes all `count` buffers at `offset` with pwritev, retrying short writes and EINTR. Returns 0, or -1 with errno
/// set. With a direct-I/O descriptor every buffer address, length and the offset must be aligned to the device's
/// logical block size (EINVAL otherwise).
int cstore_pwritev_all(int fd, const void *const *bases, const int64_t *lengths, int count, int64_t offset);

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF) of `length` bytes:
/// the checksum the repo stores per block. Uses the SSE4.2 crc32 instruction where the CPU has it.
uint32_t cstore_crc32c(const void *data, size_t length);

/// 1 when `cstore_sha256_lanes` can run on this CPU (x86-64 with AVX-512 F and BW), else 0.
int cstore_sha256_lanes_available(void);

/// 1 when `cstore_sha256_lanes` is available and this file was compiled with optimization (a debug build of it
/// hashes slower than one-message-at-a-time SHA-NI code), else 0.
int cstore_sha256_lanes_preferred(void);

/// SHA-256 of `count` (1...16) messages of `length` bytes each (a multiple of 64), message `i` at `base + i * stride`,
/// computed together in the lanes of AVX-512 registers; digest `i` goes to `out + 32 * i`. Returns 0, or -1 (nothing
/// written) when the CPU lacks AVX-512 or `count` or `length` is out of range.
int cstore_sha256_lanes(const uint8_t *base, size_t stride, size_t length, int count, uint8_t *out);

/// As `cstore_sha256_lanes`, with message `i` at `messages[i]` (anywhere in memory).
int cstore_sha256_lanes_messages(const uint8_t *const *messages, size_t length, int count, uint8_t *out);

/// 1 when `cstore_sha256_pair` can run on this CPU (x86-64 with the SHA extensions and SSE4.1), else 0.
int cstore_sha256_pairs_available(void);

/// 1 when `cstore_sha256_pair` is available and this file was compiled with optimization, else 0.
int cstore_sha256_pairs_preferred(void);

/// SHA-256 of two messages of `length` bytes each (any length), at `a` and `b`, computed together with the SHA
/// extensions; the digests go to `outA` and `outB` (32 bytes each). Returns 0, or -1 (nothing written) when the CPU
/// lacks the SHA extensions.
int cstore_sha256_pair(const uint8_t *a, const uint8_t *b, size_t length, uint8_t *outA, uint8_t *outB);

#endif
