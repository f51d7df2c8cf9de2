/* compiler/arena.h — bump allocation for everything the front end builds.
 *
 * The syntax tree, its strings and the diagnostics' texts are allocated here
 * and freed all at once with arena_free.  When memory runs out the arena
 * jumps to the handler that the compile entry point installed (oom), so no
 * caller has to check for NULL and nothing is leaked. */
#ifndef HITL_ARENA_H
#define HITL_ARENA_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ArenaBlock ArenaBlock;

typedef struct Arena {
  ArenaBlock *head;
  char *cur, *end;        /* the free part of the head block */
  jmp_buf *oom;           /* where to jump when an allocation fails; NULL = abort */
  size_t total;           /* bytes obtained from malloc so far */
  size_t limit;           /* 0 = no limit; past it allocation fails as if out of memory */
} Arena;

void arena_init(Arena *a);
void arena_free(Arena *a);
/* Zeroed, aligned to ARENA_ALIGN (8) bytes: enough for pointers, int64_t
 * and double, which is all the front end stores (no long double, nothing
 * over-aligned).  Never returns NULL (see oom). */
enum { ARENA_ALIGN = 8 };
void *arena_alloc_slow(Arena *a, size_t size);
/* Inline: the syntax tree is half a million allocations for a big source.
 * The sum cannot wrap into the fast path: a size within 7 of SIZE_MAX rounds
 * to 0, and 0 - 1 is no room. */
static inline void *arena_alloc(Arena *a, size_t size) {
  size_t n = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  if (n - 1 < (size_t)((uintptr_t)a->end - (uintptr_t)a->cur)) {
    void *p = a->cur;
    a->cur += n;
    return p;
  }
  return arena_alloc_slow(a, size);
}
/* Grow an array allocated from the arena: returns a copy with room for
 * new_cap elements (the old block is simply abandoned). */
void *arena_grow(Arena *a, void *old, size_t elem, size_t old_n, size_t new_cap);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
/* printf into the arena */
char *arena_printf(Arena *a, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;

#endif
