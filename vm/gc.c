/* vm/gc.c — the VM heap: allocation with accounting, and a mark-and-sweep
 * collector.
 *
 * Every object is on vm->objects.  A collection marks from the roots (the
 * value stack, globals, constants, C roots, the raised error, the result and
 * the pending payload, the step names) with an explicit gray stack — no
 * recursion, so deep structures cannot overflow the C stack — then frees
 * what is unmarked.  Array sizes are always computed as capacity times
 * element size, the same way value.c allocates them.
 *
 * Stress mode (HITL_GC_STRESS=1 or vm_gc_stress) collects at every
 * allocation; the heap limit and allocation failures raise `memory`. */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "vm_internal.h"

enum { GC_MIN_NEXT = 1 << 20 };

static size_t obj_size(const Obj *o) {
  switch (o->type) {
    case V_STR: return sizeof(Str) + ((const Str *)o)->len + 1;
    case V_LIST: return sizeof(List);
    case V_MAP: return sizeof(Map);
    default: return 0;
  }
}

static void obj_free(VM *vm, Obj *o) {
  size_t size = obj_size(o);
  if (o->type == V_LIST) {
    List *l = (List *)o;
    size_t a = (size_t)l->cap * sizeof(Value);
    mem_free(l->v, a);
    vm->bytes -= a;
  } else if (o->type == V_MAP) {
    Map *m = (Map *)o;
    size_t a = (size_t)m->cap * sizeof(struct MEntry), b = (size_t)m->icap * sizeof(uint32_t);
    mem_free(m->e, a);
    mem_free(m->index, b);
    vm->bytes -= a + b;
  }
  vm->bytes -= size;
  mem_free(o, size);
}

static void gray_push(VM *vm, Obj *o) {
  if (vm->ngray == vm->capgray) {
    size_t nc = vm->capgray ? vm->capgray * 2 : 256;
    Obj **ng = mem_realloc(vm->gray, vm->capgray * sizeof *ng, nc * sizeof *ng);
    if (!ng) vm_oom(vm, "out of memory while collecting");
    vm->gray = ng;
    vm->capgray = nc;
  }
  vm->gray[vm->ngray++] = o;
}

static inline void mark_obj(VM *vm, Obj *o) {
  if (!o || o->marked) return;
  o->marked = 1;
  if (o->type != V_STR) gray_push(vm, o);
}

static inline void mark_value(VM *vm, Value v) {
  if (val_is_obj(v)) mark_obj(vm, v.u.o);
}

static void mark_values(VM *vm, const Value *v, size_t n) {
  for (size_t i = 0; i < n; i++) mark_value(vm, v[i]);
}

static void trace(VM *vm) {
  while (vm->ngray) {
    Obj *o = vm->gray[--vm->ngray];
    if (o->type == V_LIST) {
      List *l = (List *)o;
      mark_values(vm, l->v, l->n);
    } else if (o->type == V_MAP) {
      Map *m = (Map *)o;
      for (uint32_t i = 0; i < m->n; i++) {
        mark_obj(vm, &m->e[i].key->h);
        mark_value(vm, m->e[i].val);
      }
    }
  }
}

void gc_collect(VM *vm) {
  mark_values(vm, vm->stack, vm->sp);
  if (vm->m) {
    mark_values(vm, vm->consts, vm->m->nconsts);
    mark_values(vm, vm->globals, vm->m->nglobals);
    if (vm->route_text) mark_values(vm, vm->route_text, 2 * (size_t)vm->m->nactions);
  }
  mark_values(vm, vm->roots, vm->nroots);
  for (uint32_t i = 0; i < vm->nsteps; i++) mark_value(vm, vm->steps[i].name);
  mark_value(vm, vm->error);
  mark_value(vm, vm->result);
  mark_value(vm, vm->pending);
  mark_value(vm, vm->held_payload);
  for (uint32_t i = 0; i < vm->nactive; i++) {
    mark_value(vm, vm->active[i].title);
    mark_value(vm, vm->active[i].step);
    mark_value(vm, vm->active[i].calls);
  }
  for (uint32_t i = 0; i < vm->nopen; i++) {
    mark_value(vm, vm->open[i].payload);
    mark_value(vm, vm->open[i].kept);
  }
  trace(vm);

  Obj **p = &vm->objects;
  while (*p) {
    Obj *o = *p;
    if (o->marked) {
      o->marked = 0;
      p = &o->next;
    } else {
      *p = o->next;
      obj_free(vm, o);
    }
  }
  vm->next_gc = vm->bytes * 2 > GC_MIN_NEXT ? vm->bytes * 2 : GC_MIN_NEXT;
}

/* Make room for `size` more bytes: collect when due, refuse past the limit. */
static void gc_reserve(VM *vm, size_t size) {
  if (vm->stress || vm->bytes + size > vm->next_gc) gc_collect(vm);
  if (size > vm->lim.heap_bytes || vm->bytes > vm->lim.heap_bytes - size)
    vm_oom(vm, "heap limit reached");
}

Obj *gc_new(VM *vm, size_t size, uint8_t type) {
  gc_reserve(vm, size);
  Obj *o = mem_alloc(size);
  if (!o) vm_oom(vm, "out of memory");
  memset(o, 0, size);
  o->type = type;
  o->next = vm->objects;
  vm->objects = o;
  vm->bytes += size;
  return o;
}

void *gc_realloc(VM *vm, void *p, size_t old_size, size_t new_size) {
  if (new_size > old_size) gc_reserve(vm, new_size - old_size);
  void *q = mem_realloc(p, old_size, new_size);
  if (!q && new_size) vm_oom(vm, "out of memory");
  vm->bytes = vm->bytes - old_size + new_size;
  return q;
}

void gc_free_array(VM *vm, void *p, size_t size) {
  mem_free(p, size);
  vm->bytes -= size;
}

void gc_free_all(VM *vm) {
  Obj *o = vm->objects;
  while (o) {
    Obj *next = o->next;
    obj_free(vm, o);
    o = next;
  }
  vm->objects = NULL;
  mem_free(vm->gray, vm->capgray * sizeof *vm->gray);
  vm->gray = NULL;
  vm->ngray = vm->capgray = 0;
}

void vm_gc_stress(VM *vm, bool on) { vm->stress = on; }
