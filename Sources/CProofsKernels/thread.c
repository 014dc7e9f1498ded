#define _GNU_SOURCE
#include "proofs_kernels.h"

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int codex_proofs_lower_thread_priority(int niceness) {
  pid_t tid = (pid_t)syscall(SYS_gettid);
  return setpriority(PRIO_PROCESS, (id_t)tid, niceness);
}
#else
int codex_proofs_lower_thread_priority(int niceness) {
  (void)niceness;
  return 0;
}
#endif
