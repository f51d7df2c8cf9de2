/* vm/mem.c — the allocation hook with a fail-the-Nth-allocation mode. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS, MAP_POPULATE */
#endif
#include "mem.h"

#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
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
void *mem_map(size_t size) {
  if (mem_should_fail()) return NULL;
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
