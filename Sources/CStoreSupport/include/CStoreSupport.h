// Small POSIX helpers for CodexStore that Swift's Glibc module does not expose.
#ifndef CSTORESUPPORT_H
#define CSTORESUPPORT_H

#include <stdint.h>

/// Frees the disk space of [offset, offset+length) in the file without changing its size
/// (fallocate PUNCH_HOLE|KEEP_SIZE on Linux). Returns 0, or -1 with errno set (EOPNOTSUPP when the
/// file system cannot punch holes).
int cstore_punch_hole(int fd, int64_t offset, int64_t length);

/// Bytes the file actually occupies on disk (st_blocks * 512), or -1 with errno set.
int64_t cstore_allocated_bytes(int fd);

#endif
