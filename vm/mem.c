/* vm/mem.c — the allocation hook with a fail-the-Nth-allocation mode. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS, MAP_POPULATE, MADV_HUGEPAGE */
#endif
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

/* Per thread, so instances on distinct threads share no mutable state
 * (include/hitl.h); initial-exec keeps the access one instruction in the
 * shared library too. */
#if defined(__GNUC__)
#define MEM_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define MEM_TLS _Thread_local
#endif
static MEM_TLS long fail_countdown = -1;   /* -1: not initialised from the environment */
static MEM_TLS unsigned long n_allocs;

static void mem_init_env(void) {
  if (fail_countdown != -1) return;
  const char *e = getenv("HITL_FAIL_ALLOC");
  fail_countdown = e ? strtol(e, NULL, 10) : 0;
  if (fail_countdown < 0) fail_countdown = 0;
}

static int mem_should_fail(void) {
  mem_init_env();
  n_allocs++;
  if (fail_countdown > 0 && --fail_countdown == 0) return 1;
  return 0;
}

void mem_fail_after(long n) { fail_countdown = n > 0 ? n : 0; }

unsigned long mem_count(void) { return n_allocs; }

void *mem_alloc(size_t size) {
  if (mem_should_fail()) return NULL;
  return malloc(size ? size : 1);
}

/* calloc, not malloc + memset: memory fresh from the system is already zero,
 * and calloc knows when it need not clear it again. */
void *mem_calloc(size_t size) {
  if (mem_should_fail()) return NULL;
  return calloc(1, size ? size : 1);
}

#if defined(__linux__) && defined(MAP_POPULATE)
/* Transparent huge pages for blocks of 2 MiB and more, where the kernel
 * grants them to regions that ask (`enabled` is `always` or `madvise`):
 * the front end's arena fills ~25 MB for a 100,000-line source, and mapping
 * that as 4 KiB pages, even all at once with MAP_POPULATE, cost the kernel
 * more (~6,000 page allocations, their accounting and their unmapping) than
 * a 2 MiB page per 2 MiB, which also spares the TLB.  The block is mapped at
 * a 2 MiB boundary (over-map, trim both ends) and faulted in as it is used.
 * Otherwise, and for smaller blocks, the pages come up front (MAP_POPULATE). */
enum { MEM_HUGE = 2u << 20 };

static int thp_usable(void) {
  static MEM_TLS int state = -1;   /* read once per thread: two system calls */
  if (state < 0) {
    state = 0;
    int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char b[96];
      ssize_t n = read(fd, b, sizeof b - 1);
      close(fd);
      if (n > 0) {
        b[n] = 0;
        state = strstr(b, "[always]") || strstr(b, "[madvise]");
      }
    }
  }
  return state;
}

static void *map_huge(size_t size) {
  size_t len = (size + 4095) & ~(size_t)4095;
  if (len > SIZE_MAX - MEM_HUGE) return NULL;
  char *q = mmap(NULL, len + MEM_HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (q == MAP_FAILED) return NULL;
  char *p = (char *)(((uintptr_t)q + MEM_HUGE - 1) & ~(uintptr_t)(MEM_HUGE - 1));
  if (p > q) munmap(q, (size_t)(p - q));
  size_t tail = (size_t)((q + len + MEM_HUGE) - (p + len));
  if (tail) munmap(p + len, tail);
  madvise(p, len, MADV_HUGEPAGE);   /* a hint: on failure the pages are small */
  return p;
}

void *mem_map(size_t size) {
  if (mem_should_fail()) return NULL;
  if (size >= MEM_HUGE && thp_usable()) return map_huge(size);
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                 -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void mem_unmap(void *p, size_t size) {
  if (p) munmap(p, size);
}
#else
void *mem_map(size_t size) { return mem_calloc(size); }
void mem_unmap(void *p, size_t size) { mem_free(p, size); }
#endif

void *mem_realloc(void *p, size_t old_size, size_t new_size) {
  (void)old_size;
  if (mem_should_fail()) return NULL;
  return realloc(p, new_size ? new_size : 1);
}

void mem_free(void *p, size_t size) {
  (void)size;
  free(p);
}
