#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "CStoreSupport.h"

int cstore_punch_hole(int fd, int64_t offset, int64_t length) {
#if defined(__linux__)
  return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
#else
  (void)fd; (void)offset; (void)length;
  errno = EOPNOTSUPP;
  return -1;
#endif
}

int64_t cstore_allocated_bytes(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -1;
  return (int64_t)st.st_blocks * 512;
}
