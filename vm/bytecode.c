/* vm/bytecode.c — the pool that owns every allocation of a Module.
 *
 * A module is built once (by the code generator or by bc_read) and freed
 * whole, so its memory is a list of chunks handed out by bumping a pointer;
 * nothing inside a module is freed on its own.  Requests larger than a
 * quarter of a chunk get a chunk of their own, so a big code array does not
 * waste the rest of a shared one.  Every chunk comes from mem_alloc, so the
 * fail-the-Nth-allocation hook reaches the pool too. */
#include "vm/bytecode.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "vm/mem.h"

enum { BC_CHUNK = 16 * 1024 };

#define BC_ALIGN (alignof(max_align_t))

typedef struct BcChunk {
  struct BcChunk *next;
  size_t size;               /* bytes of data[] */
  size_t used;
  alignas(max_align_t) unsigned char data[];
} BcChunk;

typedef struct BcPool {
  BcChunk *chunks;           /* newest first; chunks->used is the bump pointer */
} BcPool;

/* bc_new allocates the Module and its pool together */
typedef struct ModuleBox {
  Module m;
  BcPool pool;
} ModuleBox;

Module *bc_new(void) {
  ModuleBox *b = mem_alloc(sizeof *b);
  if (!b) return NULL;
  memset(b, 0, sizeof *b);
  b->m.pool = &b->pool;
  return &b->m;
}

static BcChunk *chunk_new(size_t size) {
  if (size > SIZE_MAX - sizeof(BcChunk)) return NULL;
  BcChunk *c = mem_alloc(sizeof(BcChunk) + size);
  if (!c) return NULL;
  c->next = NULL;
  c->size = size;
  c->used = 0;
  return c;
}

void *bc_alloc(Module *m, size_t size) {
  if (!m || !m->pool) return NULL;
  BcPool *p = m->pool;
  if (size == 0) size = 1;
  if (size > SIZE_MAX - BC_ALIGN) return NULL;
  size_t rounded = (size + BC_ALIGN - 1) & ~(size_t)(BC_ALIGN - 1);

  BcChunk *c = p->chunks;
  if (!c || c->size - c->used < rounded) {
    if (rounded > BC_CHUNK / 4) {
      /* a chunk of its own, kept behind the current one so that the
       * current chunk's free space stays in use */
      BcChunk *big = chunk_new(rounded);
      if (!big) return NULL;
      big->used = rounded;
      if (c) {
        big->next = c->next;
        c->next = big;
      } else {
        p->chunks = big;
      }
      memset(big->data, 0, size);
      return big->data;
    }
    c = chunk_new(BC_CHUNK);
    if (!c) return NULL;
    c->next = p->chunks;
    p->chunks = c;
  }
  void *r = c->data + c->used;
  c->used += rounded;
  memset(r, 0, size);
  return r;
}

char *bc_strdup(Module *m, const char *s, size_t len) {
  if (len == SIZE_MAX) return NULL;
  char *r = bc_alloc(m, len + 1);
  if (!r) return NULL;
  if (len) memcpy(r, s, len);
  r[len] = '\0';
  return r;
}

void bc_free(Module *m) {
  if (!m) return;
  ModuleBox *b = (ModuleBox *)m;   /* m is the first member of its box */
  BcChunk *c = b->pool.chunks;
  while (c) {
    BcChunk *next = c->next;
    mem_free(c, sizeof(BcChunk) + c->size);
    c = next;
  }
  mem_free(b, sizeof *b);
}
