/* compiler/arena.c — bump allocator for the front end (see arena.h). */
#include "arena.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/mem.h"

struct ArenaBlock {
  ArenaBlock *next;
  size_t size;            /* bytes of data */
  max_align_t data[];
};

/* Blocks start at 64 KiB and double up to 4 MiB, so a big source takes a
 * few dozen blocks, not hundreds.  They come zeroed (mem_calloc, mem_map) and no
 * byte of a block is handed out twice, so allocations need no memset. */
enum {
  ARENA_BLOCK = 64 * 1024, ARENA_BLOCK_MAX = 4 * 1024 * 1024,
  ARENA_MAP_MIN = 1024 * 1024,   /* blocks this big come from mem_map */
};

void arena_init(Arena *a) { memset(a, 0, sizeof *a); }

void arena_free(Arena *a) {
  ArenaBlock *b = a->head;
  while (b) {
    ArenaBlock *next = b->next;
    if (b->size >= ARENA_MAP_MIN - sizeof *b) mem_unmap(b, sizeof *b + b->size);
    else mem_free(b, sizeof *b + b->size);
    b = next;
  }
  a->head = NULL;
  a->cur = a->end = NULL;
  a->total = 0;
}

static _Noreturn void arena_oom(Arena *a) {
  if (a->oom) longjmp(*a->oom, 1);
  fputs("hitl: out of memory\n", stderr);
  abort();
}

_Static_assert(ARENA_ALIGN >= _Alignof(void *) && ARENA_ALIGN >= _Alignof(int64_t) &&
                   ARENA_ALIGN >= _Alignof(double) && ARENA_ALIGN >= _Alignof(size_t),
               "arena allocations hold pointers, int64_t and double");

/* arena_alloc when the head block has no room (or size is 0 or absurd) */
void *arena_alloc_slow(Arena *a, size_t size) {
  size_t align = ARENA_ALIGN;
  if (size > SIZE_MAX / 2) arena_oom(a);
  size = (size + align - 1) / align * align;
  if (size == 0) size = align;
  if ((size_t)((uintptr_t)a->end - (uintptr_t)a->cur) >= size) {   /* only size 0 comes here with room */
    void *p = a->cur;
    a->cur += size;
    return p;
  }
  /* the next block in the doubling series: its size follows the total so far */
  size_t step = ARENA_BLOCK;
  while (step < ARENA_BLOCK_MAX && step <= a->total / 2) step *= 2;
  bool oneoff = size > step / 2;
  size_t bsize = oneoff ? size : step;
  /* a big block of the series takes exactly `step` bytes with its header,
   * so that it is whole 2 MiB pages (mem_map) */
  if (!oneoff && bsize >= ARENA_MAP_MIN) bsize -= sizeof(ArenaBlock);
  if (a->limit && a->total + bsize > a->limit) arena_oom(a);
  ArenaBlock *nb = bsize >= ARENA_MAP_MIN - sizeof(ArenaBlock) ? mem_map(sizeof *nb + bsize)
                                                               : mem_calloc(sizeof *nb + bsize);
  if (!nb) arena_oom(a);
  a->total += bsize;
  nb->size = bsize;
  if (a->head && oneoff) {
    /* a big one-off block: keep the current block for small allocations */
    nb->next = a->head->next;
    a->head->next = nb;
    return nb->data;
  }
  nb->next = a->head;
  a->head = nb;
  a->cur = (char *)nb->data + size;
  a->end = (char *)nb->data + bsize;
  return nb->data;
}

void *arena_grow(Arena *a, void *old, size_t elem, size_t old_n, size_t new_cap) {
  if (elem && new_cap > SIZE_MAX / elem) arena_oom(a);
  void *p = arena_alloc(a, elem * new_cap);
  if (old && old_n) memcpy(p, old, elem * old_n);
  return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  if (n == SIZE_MAX) arena_oom(a);
  char *p = arena_alloc(a, n + 1);
  if (n) memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  char *p = arena_alloc(a, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}
