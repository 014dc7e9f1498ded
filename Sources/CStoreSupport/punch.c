#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <limits.h>
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

static int open_direct(const char *path, int access) {
#if defined(__linux__) && defined(O_DIRECT)
  return open(path, access | O_DIRECT | O_CLOEXEC);
#else
  (void)path;
  (void)access;
  errno = EINVAL;
  return -1;
#endif
}

int cstore_open_direct(const char *path) { return open_direct(path, O_WRONLY); }

int cstore_open_direct_read(const char *path) { return open_direct(path, O_RDONLY); }

int cstore_pwritev_all(int fd, const void *const *bases, const int64_t *lengths, int count, int64_t offset) {
  enum { MAXV = 64 };
  struct iovec iov[MAXV];
  int i = 0;
  int64_t skip = 0; /* bytes of bases[i] already written */
  while (i < count) {
    int n = 0;
    for (int k = i; k < count && n < MAXV; k++, n++) {
      iov[n].iov_base = (char *)bases[k] + (k == i ? skip : 0);
      iov[n].iov_len = (size_t)(lengths[k] - (k == i ? skip : 0));
    }
    ssize_t w = pwritev(fd, iov, n, (off_t)offset);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (w == 0) { errno = EIO; return -1; }
    offset += w;
    while (w > 0 && i < count) {
      int64_t left = lengths[i] - skip;
      if (w >= left) { w -= left; i++; skip = 0; }
      else { skip += w; w = 0; }
    }
  }
  return 0;
}
