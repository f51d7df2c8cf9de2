/* vm/snapshot.c — turn a suspended VM into bytes and back.
 *
 * The format is versioned and verified on load like bytecode: a snapshot
 * is bound to the SHA-256 of its program (.hbc bytes) and refused by any
 * other, carries a checksum of its body, and every index, count and tag is
 * checked before use; the frames must sit exactly where the program could
 * have suspended (after a CALL in every frame but the top, after a
 * CHECKPOINT or at an action call in doubt in the top one) with the
 * operand-stack depth the verifier computes there.
 *
 * Version 3 (written since schema v5's store work; docs/store.md):
 *
 *   "HSNP" u16 version u16 flags | check[16] | body
 *   check: the first 16 bytes of SHA-256(program hash[32] ‖ body): another
 *          program's snapshot and a corrupt one are both refused by it
 *   body: u8 flags (1 started, 2 inputs_set, 4 defaults_set, 8 routed call,
 *                   16 ended, 32 ended failed, 64 pending by reference)
 *         uv ncalls, zz pending_site, zz pending_call
 *         flag 64: uv item, payload check[16] (SHA-256 of the payload's JSON
 *                  text, truncated): the pending payload is that item's, and
 *                  vm_restore_pending is given its text back
 *         uv nobjs, objects: u8 type, then a string's uv len + bytes,
 *                                      a list's uv n + values,
 *                                      a map's uv n + (uv key object, value)*
 *         [value pending, unless flag 64] | uv nglobals values | uv sp values
 *         uv nframes (uv fn, uv pc, uv base)*
 *         uv nsteps (value name, uv frame)*
 *         uv nhandlers (uv frame, uv target, uv sp, uv nsteps)*
 *         value result | uv error-json length + 1 (0: none) + bytes
 *         uv nactive (uv site, uv frame, uv nhandlers, value title, value step, value calls)*
 *         uv nopen (uv item, zz site, zz call, value payload, value kept)*
 *   value: u8 tag, then bool u8 | int zz | float f64 | object uv index
 *   uv: unsigned LEB128; zz: zigzag, then uv; numbers little-endian
 *
 * Equal strings are written once (strings never change, so sharing one
 * object is invisible).  Versions 1 and 2 (still read) had the program hash
 * and a 32-byte body hash in the header, fixed-size u32/u64 numbers, the
 * pending payload always inline, and the handlers before the steps:
 *
 *   "HSNP" u16 version u16 flags | program hash[32] | body hash[32] | body
 *   body: u8 flags u64 ncalls i32 pending_site i32 pending_call
 *         u32 nobjs, objects (u32 where v3 has uv) | value pending
 *         u32 nglobals values | u32 sp values | u32 nframes (u32 fn, pc, base)*
 *         u32 nhandlers (u32 frame, target, sp, nsteps)* | u32 nsteps (value name, u32 frame)*
 *         version 2: value result | u32 error-json length (0xFFFFFFFF: none) + bytes
 *         u32 nactive (u16 site, u32 frame, u32 nhandlers, value title, value step, value calls)*
 *         u32 nopen (i64 item, i32 site, i32 call, value payload, value kept)*
 *   value: u8 tag, then bool u8 | int i64 | float f64 | object u32 index
 *
 * Flag 16 (version 2) marks a VM whose body has ended (completed, or failed
 * with flag 32) but whose review items are still open: no frames, no
 * pending item, and the outcome kept.
 *
 * Objects are numbered in the order a walk from the roots first meets them,
 * so shared and cyclic structure comes back shared. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compiler/utf8.h"

#include "bcinsn.h"
#include "mem.h"
#include "opcodes.h"
#include "sha256.h"
#include "vm_internal.h"

#define SNAP_MAGIC "HSNP"
#define SNAP_VERSION 3
enum {
  SNAP_HEADER_OLD = 4 + 2 + 2 + 32 + 32,   /* versions 1 and 2 */
  SNAP_CHECK = 16,
  SNAP_HEADER = 4 + 2 + 2 + SNAP_CHECK,   /* version 3 */
  SNAP_BY_ITEM = 64,                      /* body flag: the pending payload is an item's */
};

/* ---- writing ------------------------------------------------------------------- */

typedef struct W {
  uint8_t *p;
  size_t len, cap;
  bool oom;
  /* object -> index: open addressing on the pointer */
  Obj **keys;
  uint32_t *vals;
  size_t hcap, nkeys;        /* nkeys: objects seen, equal strings counted each */
  Obj **order;               /* objects by index */
  uint32_t nobj;
  size_t ocap;
  /* string contents -> the index of the first string with them */
  uint32_t *sidx;            /* index + 1, 0 = empty slot */
  size_t scap, nstr;
} W;

static void w_bytes(W *w, const void *s, size_t n) {
  if (w->oom) return;
  if (w->cap - w->len < n) {
    size_t nc = w->cap ? w->cap : 256;
    while (nc - w->len < n) nc *= 2;
    uint8_t *np = mem_realloc(w->p, w->cap, nc);
    if (!np) {
      w->oom = true;
      return;
    }
    w->p = np;
    w->cap = nc;
  }
  memcpy(w->p + w->len, s, n);
  w->len += n;
}
static void w_u8(W *w, uint8_t v) { w_bytes(w, &v, 1); }
static void w_u16(W *w, uint16_t v) { w_bytes(w, &v, 2); }

/* unsigned LEB128 */
static void w_uv(W *w, uint64_t v) {
  uint8_t b[10];
  size_t n = 0;
  do {
    b[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) b[n] |= 0x80;
    n++;
  } while (v);
  w_bytes(w, b, n);
}
static void w_zz(W *w, int64_t v) { w_uv(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); }

static size_t ptr_hash(const Obj *o, size_t cap) { return ((uintptr_t)o >> 4) * 0x9E3779B97F4A7C15ull & (cap - 1); }

static uint64_t text_hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;   /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  return h;
}

/* The index of an earlier string object with the same contents as o, or
 * UINT32_MAX (o's index-to-be is remembered for the strings after it). */
static uint32_t w_same_str(W *w, const Str *o) {
  if ((w->nstr + 1) * 2 > w->scap) {
    size_t nc = w->scap ? w->scap * 2 : 64;
    uint32_t *ns = mem_alloc(nc * sizeof *ns);
    if (!ns) {
      w->oom = true;
      return UINT32_MAX;
    }
    memset(ns, 0, nc * sizeof *ns);
    for (size_t i = 0; i < w->scap; i++) {
      if (!w->sidx[i]) continue;
      const Str *t = (const Str *)w->order[w->sidx[i] - 1];
      size_t h = (size_t)text_hash(t->s, t->len) & (nc - 1);
      while (ns[h]) h = (h + 1) & (nc - 1);
      ns[h] = w->sidx[i];
    }
    mem_free(w->sidx, w->scap * sizeof *w->sidx);
    w->sidx = ns;
    w->scap = nc;
  }
  size_t h = (size_t)text_hash(o->s, o->len) & (w->scap - 1);
  while (w->sidx[h]) {
    const Str *t = (const Str *)w->order[w->sidx[h] - 1];
    if (t->len == o->len && memcmp(t->s, o->s, o->len) == 0) return w->sidx[h] - 1;
    h = (h + 1) & (w->scap - 1);
  }
  w->sidx[h] = w->nobj + 1;
  w->nstr++;
  return UINT32_MAX;
}

/* the index of o, numbering it if it is new; UINT32_MAX on out of memory */
static uint32_t w_obj(W *w, Obj *o) {
  if (w->oom) return UINT32_MAX;
  if ((w->nkeys + 1) * 2 > w->hcap) {
    size_t nc = w->hcap ? w->hcap * 2 : 64;
    Obj **nk = mem_alloc(nc * sizeof *nk);
    uint32_t *nv = mem_alloc(nc * sizeof *nv);
    if (!nk || !nv) {
      mem_free(nk, nc * sizeof *nk);
      mem_free(nv, nc * sizeof *nv);
      w->oom = true;
      return UINT32_MAX;
    }
    memset(nk, 0, nc * sizeof *nk);
    for (size_t i = 0; i < w->hcap; i++) {
      if (!w->keys[i]) continue;
      size_t h = ptr_hash(w->keys[i], nc);
      while (nk[h]) h = (h + 1) & (nc - 1);
      nk[h] = w->keys[i];
      nv[h] = w->vals[i];
    }
    mem_free(w->keys, w->hcap * sizeof *w->keys);
    mem_free(w->vals, w->hcap * sizeof *w->vals);
    w->keys = nk;
    w->vals = nv;
    w->hcap = nc;
  }
  size_t h = ptr_hash(o, w->hcap);
  while (w->keys[h]) {
    if (w->keys[h] == o) return w->vals[h];
    h = (h + 1) & (w->hcap - 1);
  }
  /* a string equal to one numbered before is that one */
  uint32_t same = o->type == V_STR ? w_same_str(w, (const Str *)o) : UINT32_MAX;
  if (w->oom) return UINT32_MAX;
  w->nkeys++;
  if (same != UINT32_MAX) {
    w->keys[h] = o;
    w->vals[h] = same;
    return same;
  }
  if (w->nobj == w->ocap) {
    size_t nc = w->ocap ? w->ocap * 2 : 64;
    Obj **no = mem_realloc(w->order, w->ocap * sizeof *no, nc * sizeof *no);
    if (!no) {
      w->oom = true;
      return UINT32_MAX;
    }
    w->order = no;
    w->ocap = nc;
  }
  w->keys[h] = o;
  w->vals[h] = w->nobj;
  w->order[w->nobj] = o;
  return w->nobj++;
}

static void w_value(W *w, Value v) {
  w_u8(w, (uint8_t)v.t);
  switch (v.t) {
    case V_NIL: break;
    case V_BOOL: w_u8(w, v.u.b ? 1 : 0); break;
    case V_INT: w_zz(w, v.u.i); break;
    case V_FLOAT: w_bytes(w, &v.u.f, 8); break;
    default: w_uv(w, w_obj(w, v.u.o)); break;
  }
}

/* number every object reachable from the roots, in walk order */
static void w_number(W *w, Value v) {
  if (val_is_obj(v)) w_obj(w, v.u.o);
}

static void w_number_all(W *w, VM *vm, bool by_item) {
  bool ended = vm->finished;
  if (!by_item) w_number(w, vm->pending);
  for (uint32_t i = 0; i < vm->m->nglobals; i++) w_number(w, vm->globals[i]);
  for (size_t i = 0; !ended && i < vm->sp; i++) w_number(w, vm->stack[i]);
  for (uint32_t i = 0; !ended && i < vm->nsteps; i++) w_number(w, vm->steps[i].name);
  w_number(w, vm->result);
  for (uint32_t i = 0; i < vm->nactive; i++) {
    w_number(w, vm->active[i].title);
    w_number(w, vm->active[i].step);
    w_number(w, vm->active[i].calls);
  }
  for (uint32_t i = 0; i < vm->nopen; i++) {
    w_number(w, vm->open[i].payload);
    w_number(w, vm->open[i].kept);
  }
  /* breadth first through lists and maps: order[] grows as we go */
  for (uint32_t i = 0; i < w->nobj && !w->oom; i++) {
    Obj *o = w->order[i];
    if (o->type == V_LIST) {
      List *l = (List *)o;
      for (uint32_t k = 0; k < l->n; k++) w_number(w, l->v[k]);
    } else if (o->type == V_MAP) {
      Map *m = (Map *)o;
      for (uint32_t k = 0; k < m->n; k++) {
        w_obj(w, &m->e[k].key->h);
        w_number(w, m->e[k].val);
      }
    }
  }
}

/* Does v come back the same from its JSON text (json_to_value of
 * vm_value_to_json)?  Finite floats and valid UTF-8 do; the pending payload
 * is only left to its item when it does. */
static bool json_exact(Value v, int depth) {
  if (depth > 64) return false;
  switch (v.t) {
    case V_FLOAT: return isfinite(v.u.f);
    case V_STR: return utf8_valid_prefix(AS_STR(v)->s, AS_STR(v)->len) == AS_STR(v)->len;
    case V_LIST:
      for (uint32_t i = 0; i < AS_LIST(v)->n; i++)
        if (!json_exact(AS_LIST(v)->v[i], depth + 1)) return false;
      return true;
    case V_MAP:
      for (uint32_t i = 0; i < AS_MAP(v)->n; i++) {
        const Str *k = AS_MAP(v)->e[i].key;
        if (utf8_valid_prefix(k->s, k->len) != k->len || !json_exact(AS_MAP(v)->e[i].val, depth + 1)) return false;
      }
      return true;
    default: return true;
  }
}

void vm_set_pending_item(VM *vm, int64_t item) {
  vm->pending_item = vm->status == VM_SUSPENDED && vm->pending.t == V_MAP && vm->pending_json && item > 0 ? item : 0;
}

bool vm_snapshot(VM *vm, const uint8_t program_hash[32], uint8_t **out, size_t *len) {
  bool ended = vm->finished && vm->nopen > 0;
  if (!ended && (vm->status != VM_SUSPENDED || !vm->nframes)) return false;
  if (ended) vm->pending = v_nil();
  bool by_item = !ended && vm->pending_item > 0 && vm->pending_json && json_exact(vm->pending, 0);
  W w = {0};
  w_bytes(&w, SNAP_MAGIC, 4);
  w_u16(&w, SNAP_VERSION);
  w_u16(&w, 0);
  /* the program hash, where the check goes: hashed with the body below */
  w_bytes(&w, program_hash, 32);
  size_t body = w.len;

  w_u8(&w, (uint8_t)((vm->started ? 1 : 0) | (vm->inputs_set ? 2 : 0) | (vm->defaults_set ? 4 : 0) |
                     (vm->pending_call_routed && !ended ? 8 : 0) | (ended ? 16 : 0) |
                     (ended && vm->status == VM_FAILED ? 32 : 0) | (by_item ? SNAP_BY_ITEM : 0)));
  w_uv(&w, vm->ncalls);
  w_zz(&w, ended ? -1 : vm->pending_site);
  w_zz(&w, ended ? -1 : vm->pending_call);
  if (by_item) {
    uint8_t sum[32];
    hitl_sha256(sum, vm->pending_json, strlen(vm->pending_json));
    w_uv(&w, (uint64_t)vm->pending_item);
    w_bytes(&w, sum, SNAP_CHECK);
  }

  w_number_all(&w, vm, by_item);
  w_uv(&w, w.nobj);
  for (uint32_t i = 0; i < w.nobj && !w.oom; i++) {
    Obj *o = w.order[i];
    w_u8(&w, o->type);
    if (o->type == V_STR) {
      Str *s = (Str *)o;
      w_uv(&w, s->len);
      w_bytes(&w, s->s, s->len);
    } else if (o->type == V_LIST) {
      List *l = (List *)o;
      w_uv(&w, l->n);
      for (uint32_t k = 0; k < l->n; k++) w_value(&w, l->v[k]);
    } else {
      Map *m = (Map *)o;
      w_uv(&w, m->n);
      for (uint32_t k = 0; k < m->n; k++) {
        w_uv(&w, w_obj(&w, &m->e[k].key->h));
        w_value(&w, m->e[k].val);
      }
    }
  }
  if (!by_item) w_value(&w, vm->pending);
  w_uv(&w, vm->m->nglobals);
  for (uint32_t i = 0; i < vm->m->nglobals; i++) w_value(&w, vm->globals[i]);
  /* an ended body keeps nothing of its frames */
  size_t sp = ended ? 0 : vm->sp;
  uint32_t nframes = ended ? 0 : vm->nframes, nhandlers = ended ? 0 : vm->nhandlers,
           nsteps = ended ? 0 : vm->nsteps;
  w_uv(&w, sp);
  for (size_t i = 0; i < sp; i++) w_value(&w, vm->stack[i]);
  w_uv(&w, nframes);
  for (uint32_t i = 0; i < nframes; i++) {
    const Frame *f = &vm->frames[i];
    w_uv(&w, f->fn_index);
    w_uv(&w, (uint64_t)(f->pc - f->fn->code));
    w_uv(&w, f->base);
  }
  w_uv(&w, nsteps);
  for (uint32_t i = 0; i < nsteps; i++) {
    w_value(&w, vm->steps[i].name);
    w_uv(&w, vm->steps[i].frame);
  }
  w_uv(&w, nhandlers);
  for (uint32_t i = 0; i < nhandlers; i++) {
    const Handler *h = &vm->handlers[i];
    const Frame *f = &vm->frames[h->frame];
    w_uv(&w, h->frame);
    w_uv(&w, (uint64_t)(h->target - f->fn->code));
    w_uv(&w, h->sp);
    w_uv(&w, h->nsteps);
  }
  w_value(&w, vm->result);
  if (ended && vm->status == VM_FAILED && vm->error_json) {
    w_uv(&w, (uint64_t)strlen(vm->error_json) + 1);
    w_bytes(&w, vm->error_json, strlen(vm->error_json));
  } else {
    w_uv(&w, 0);
  }
  w_uv(&w, vm->nactive);
  for (uint32_t i = 0; i < vm->nactive; i++) {
    const ActiveReview *a = &vm->active[i];
    w_uv(&w, a->site);
    w_uv(&w, a->frame);
    w_uv(&w, a->nhandlers);
    w_value(&w, a->title);
    w_value(&w, a->step);
    w_value(&w, a->calls);
  }
  w_uv(&w, vm->nopen);
  for (uint32_t i = 0; i < vm->nopen; i++) {
    const OpenReview *o = &vm->open[i];
    w_uv(&w, (uint64_t)o->item);
    w_zz(&w, o->site);
    w_zz(&w, o->call);
    w_value(&w, o->payload);
    w_value(&w, o->kept);
  }
  mem_free(w.keys, w.hcap * sizeof *w.keys);
  mem_free(w.vals, w.hcap * sizeof *w.vals);
  mem_free(w.order, w.ocap * sizeof *w.order);
  mem_free(w.sidx, w.scap * sizeof *w.sidx);
  if (w.oom) {
    mem_free(w.p, w.cap);
    return false;
  }
  /* check = SHA-256(program hash ‖ body), truncated; the body moves up over
   * the rest of the hash */
  uint8_t sum[32];
  hitl_sha256(sum, w.p + 8, w.len - 8);
  memcpy(w.p + 8, sum, SNAP_CHECK);
  memmove(w.p + SNAP_HEADER, w.p + body, w.len - body);
  w.len -= body - SNAP_HEADER;
  /* hand out exactly len bytes */
  uint8_t *exact = mem_realloc(w.p, w.cap, w.len);
  *out = exact ? exact : w.p;
  if (!exact) {
    /* shrinking failed: copy into an exact block so mem_free(p, len) is right */
    uint8_t *c = mem_alloc(w.len);
    if (!c) {
      mem_free(w.p, w.cap);
      return false;
    }
    memcpy(c, w.p, w.len);
    mem_free(w.p, w.cap);
    *out = c;
  }
  *len = w.len;
  return true;
}

/* ---- reading ------------------------------------------------------------------- */

typedef struct R {
  const uint8_t *p;
  size_t len, pos;
  char *err;
  size_t n;
  bool bad;
  VM *vm;
  List *objs;                /* the objects by index (rooted) */
  uint32_t nobjs;
  uint16_t version;
} R;

static bool r_fail(R *r, const char *what) {
  if (!r->bad) snprintf(r->err, r->n, "snapshot: %s (at byte %zu)", what, r->pos);
  r->bad = true;
  return false;
}

static bool r_bytes(R *r, void *out, size_t n) {
  if (r->bad) return false;
  if (r->len - r->pos < n) return r_fail(r, "truncated");
  memcpy(out, r->p + r->pos, n);
  r->pos += n;
  return true;
}
static uint8_t r_u8(R *r) { uint8_t v = 0; r_bytes(r, &v, 1); return v; }
static uint32_t r_u32(R *r) { uint32_t v = 0; r_bytes(r, &v, 4); return v; }
static uint64_t r_u64(R *r) { uint64_t v = 0; r_bytes(r, &v, 8); return v; }

/* unsigned LEB128, at most 64 bits */
static uint64_t r_uv(R *r) {
  uint64_t v = 0;
  for (unsigned shift = 0; !r->bad; shift += 7) {
    if (r->pos >= r->len) return r_fail(r, "truncated"), 0;
    uint8_t b = r->p[r->pos++];
    if (shift == 63 && b > 1) return r_fail(r, "a number is too big"), 0;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
    if (shift == 63) return r_fail(r, "a number is too big"), 0;
  }
  return 0;
}

/* A count or index: u32 (versions 1, 2), uv below 2^32 (3). */
static uint32_t r_n(R *r) {
  if (r->version < 3) return r_u32(r);
  uint64_t v = r_uv(r);
  if (v > UINT32_MAX) r_fail(r, "a count or index is too big");
  return (uint32_t)v;
}
/* A 64-bit count or id: u64, or uv. */
static uint64_t r_n64(R *r) { return r->version < 3 ? r_u64(r) : r_uv(r); }
/* A site (-1 = none): i32, or zz within int32. */
static int32_t r_site(R *r) {
  if (r->version < 3) return (int32_t)r_u32(r);
  uint64_t z = r_uv(r);
  int64_t v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
  if (v < INT32_MIN || v > INT32_MAX) r_fail(r, "a site is out of range");
  return (int32_t)v;
}

/* a count of items each at least `min` bytes long, bounded by what is left */
static uint32_t r_count(R *r, size_t min, uint32_t limit, const char *what) {
  uint32_t n = r_n(r);
  if (r->bad) return 0;
  if (n > limit || (size_t)n * min > r->len - r->pos) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s count %u is impossible here", what, n);
    r_fail(r, msg);
    return 0;
  }
  return n;
}

static Value r_value(R *r) {
  uint8_t t = r_u8(r);
  if (r->bad) return v_nil();
  switch (t) {
    case V_NIL: return v_nil();
    case V_BOOL: {
      uint8_t b = r_u8(r);
      if (b > 1) r_fail(r, "a bool is neither 0 nor 1");
      return v_bool(b == 1);
    }
    case V_INT: {
      if (r->version < 3) return v_int((int64_t)r_u64(r));
      uint64_t z = r_uv(r);
      return v_int((int64_t)(z >> 1) ^ -(int64_t)(z & 1));
    }
    case V_FLOAT: {
      double d = 0;
      r_bytes(r, &d, 8);
      return v_float(d);
    }
    case V_STR: case V_LIST: case V_MAP: {
      uint32_t i = r_n(r);
      if (r->bad) return v_nil();
      if (i >= r->nobjs) {
        r_fail(r, "an object reference is out of range");
        return v_nil();
      }
      Value v = r->objs->v[i];
      if (v.t != t) {
        r_fail(r, "an object reference has the wrong type");
        return v_nil();
      }
      return v;
    }
    default:
      r_fail(r, "unknown value tag");
      return v_nil();
  }
}

/* Step over a value (the first pass over the objects, which only makes
 * them): its tag and what follows. */
static bool r_skip_value(R *r) {
  uint8_t vt = r_u8(r);
  if (r->bad) return false;
  if (vt > V_MAP) return r_fail(r, "unknown value tag");
  if (vt == V_NIL) return true;
  if (vt == V_BOOL) return r_u8(r), !r->bad;
  if (vt == V_FLOAT || (r->version < 3 && vt == V_INT)) {
    if (r->len - r->pos < 8) return r_fail(r, "truncated");
    r->pos += 8;
    return true;
  }
  if (r->version < 3) return r_u32(r), !r->bad;
  r_uv(r);
  return !r->bad;
}

/* Is pc the start of an instruction of fn? */
static bool insn_start(const BcFunc *fn, uint32_t pc) {
  uint32_t at = 0;
  while (at < pc) {
    uint32_t l = bc_insn_len(fn->code[at]);
    if (!l) return false;
    at += l;
  }
  return at == pc && pc < fn->code_len;
}

static uint16_t op_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/* version 2: the outcome of an ended body, the review blocks running and
 * the review items open */
static bool restore_reviews(R *r, uint32_t nf, uint32_t nh, bool ended) {
  VM *vm = r->vm;
  const Module *m = vm->m;
  vm->result = r_value(r);
  uint32_t elen = UINT32_MAX;
  if (r->version < 3) {
    elen = r_u32(r);
  } else {
    uint64_t e = r_uv(r);
    if (e > UINT32_MAX) r_fail(r, "a bad error text");
    elen = e ? (uint32_t)(e - 1) : UINT32_MAX;
  }
  if (r->bad) return false;
  if (elen != UINT32_MAX) {
    if (!ended || elen > r->len - r->pos) return r_fail(r, "a bad error text");
    vm->error_json = mem_alloc((size_t)elen + 1);
    if (!vm->error_json) vm_oom(vm, "out of memory");
    memcpy(vm->error_json, r->p + r->pos, elen);
    vm->error_json[elen] = 0;
    r->pos += elen;
    Value e;
    char jerr[64];
    Value *k = NULL;
    if (json_to_value(vm, vm->error_json, elen, &e, jerr, sizeof jerr) && e.t == V_MAP)
      k = map_get_cstr(AS_MAP(e), "kind", 4);
    if (!k || k->t != V_STR) return r_fail(r, "the error text is not an error");
    snprintf(vm->error_kind, sizeof vm->error_kind, "%s", AS_STR(*k)->s);
  }
  uint32_t na = r_count(r, r->version < 3 ? 2 + 4 + 4 + 3 : 1 + 1 + 1 + 3, 1u << 20, "review block");
  if (r->bad) return false;
  if (ended && na) return r_fail(r, "an ended instance inside a review block");
  if (na) {
    vm->active = mem_alloc((size_t)na * sizeof *vm->active);
    if (!vm->active) vm_oom(vm, "out of memory");
    vm->capactive = na;
  }
  for (uint32_t i = 0; i < na; i++) {
    uint16_t site = 0;
    if (r->version < 3) {
      r_bytes(r, &site, 2);
    } else {
      uint32_t sv = r_n(r);
      if (sv > UINT16_MAX) r_fail(r, "a review block's site is out of range");
      site = (uint16_t)sv;
    }
    uint32_t fr = r_n(r), hn = r_n(r);
    Value title = r_value(r), step = r_value(r), calls = r_value(r);
    if (r->bad) return false;
    if (site >= m->nreviews) return r_fail(r, "a review block's site is out of range");
    if (fr >= nf || (i && fr < vm->active[i - 1].frame) || hn > nh)
      return r_fail(r, "a review block's frame or handlers are out of range");
    if (title.t != V_STR || (step.t != V_STR && step.t != V_NIL) || calls.t != V_LIST)
      return r_fail(r, "a review block's values are of the wrong types");
    vm->active[vm->nactive++] = (ActiveReview){site, fr, hn, title, step, calls};
  }
  uint32_t no = r_count(r, r->version < 3 ? 8 + 4 + 4 + 2 : 1 + 1 + 1 + 2, 1u << 20, "open review");
  if (r->bad) return false;
  if (ended && !no) return r_fail(r, "an ended instance without open reviews");
  if (no) {
    vm->open = mem_alloc((size_t)no * sizeof *vm->open);
    if (!vm->open) vm_oom(vm, "out of memory");
    vm->capopen = no;
  }
  for (uint32_t i = 0; i < no; i++) {
    int64_t item = (int64_t)r_n64(r);
    int32_t site = r_site(r), call = r_site(r);
    Value payload = r_value(r), kept = r_value(r);
    if (r->bad) return false;
    if (item < 0) return r_fail(r, "an open review's item is negative");
    if (site < -1 || site >= (int64_t)m->nreviews || (site >= 0) == (call >= 0) || call >= (int64_t)m->ncalls)
      return r_fail(r, "an open review's site or call is out of range");
    if (payload.t != V_MAP || kept.t != V_LIST)
      return r_fail(r, "an open review's values are of the wrong types");
    if (call >= 0 && (AS_LIST(kept)->n != 2 || AS_LIST(kept)->v[0].t != V_MAP))
      return r_fail(r, "a routed review does not keep its call's arguments and result");
    vm->open[vm->nopen++] = (OpenReview){item, site, call, payload, kept, 0};
  }
  return true;
}

/* The steps (name, frame), each at least min bytes. */
static bool restore_steps(R *r, uint32_t nf, uint32_t nsteps_total, size_t min) {
  VM *vm = r->vm;
  if (r->bad) return false;
  if (nsteps_total > (r->len - r->pos) / min) return r_fail(r, "step count is impossible here");
  if (nsteps_total) {
    vm->steps = mem_realloc(vm->steps, vm->capsteps * sizeof(StepRec), (size_t)nsteps_total * sizeof(StepRec));
    if (!vm->steps) vm_oom(vm, "out of memory");
    vm->capsteps = nsteps_total;
  }
  vm->nsteps = 0;
  for (uint32_t i = 0; i < nsteps_total; i++) {
    Value name = r_value(r);
    uint32_t fr = r_n(r);
    if (r->bad) return false;
    if (name.t != V_STR) return r_fail(r, "a step's name is not a string");
    if (fr >= nf || (i && fr < vm->steps[i - 1].frame)) return r_fail(r, "a step's frame is out of range");
    vm->steps[vm->nsteps++] = (StepRec){name, fr};
  }
  return true;
}

/* The handlers (frame, target, sp, step depth), nh of them. */
static bool restore_handlers(R *r, uint32_t nf, uint32_t nh, uint32_t nsteps_total) {
  VM *vm = r->vm;
  const Module *m = vm->m;
  vm->nhandlers = 0;
  for (uint32_t i = 0; i < nh; i++) {
    uint32_t fr = r_n(r), target = r_n(r), hsp = r_n(r), hsteps = r_n(r);
    if (r->bad) return false;
    if (fr >= nf) return r_fail(r, "a handler's frame is out of range");
    if (i && fr < vm->handlers[i - 1].frame) return r_fail(r, "handlers out of order");
    const Frame *f = &vm->frames[fr];
    if (!insn_start(f->fn, target)) return r_fail(r, "a handler's target is not an instruction");
    int32_t d = bc_depth_at(m, f->fn_index, target);
    if (hsp < f->base + f->fn->nlocals || d < 1 || (size_t)d != hsp - (f->base + f->fn->nlocals) + 1)
      return r_fail(r, "a handler's stack height does not match its target");
    if (hsteps > nsteps_total) return r_fail(r, "a handler's step depth is out of range");
    vm->handlers[vm->nhandlers++] = (Handler){fr, f->fn->code + target, hsp, hsteps};
  }
  return true;
}

static bool grow_handlers(R *r, uint32_t nh) {
  VM *vm = r->vm;
  if (nh) {
    vm->handlers = mem_realloc(vm->handlers, vm->caphandlers * sizeof(Handler), (size_t)nh * sizeof(Handler));
    if (!vm->handlers) vm_oom(vm, "out of memory");
    vm->caphandlers = nh;
  }
  return true;
}

/* pending_json: the payload of the item a version 3 snapshot refers to
 * (flag SNAP_BY_ITEM), or NULL. */
static bool restore(R *r, const char *pending_json) {
  VM *vm = r->vm;
  const Module *m = vm->m;
  bool v3 = r->version >= 3;
  uint8_t flags = r_u8(r);
  uint64_t ncalls = r_n64(r);
  int32_t site = r_site(r), call = r_site(r);
  if (r->bad) return false;
  bool ended = (flags & 16) != 0, by_item = v3 && (flags & SNAP_BY_ITEM);
  if (flags > (v3 ? 127 : r->version >= 2 ? 63 : 15) || !(flags & 1) || ((flags & 32) && !ended))
    return r_fail(r, "bad state flags");
  if ((flags & 8) && call < 0) return r_fail(r, "a routed call without a call");
  if (ended && (site >= 0 || call >= 0 || (flags & 8) || by_item)) return r_fail(r, "an ended instance waits on nothing");
  if (!ended && (site >= 0) == (call >= 0)) return r_fail(r, "not suspended at exactly one checkpoint or call");
  if (site >= 0 && (uint32_t)site >= m->ncheckpoints) return r_fail(r, "checkpoint site out of range");
  if (call >= 0 && (uint32_t)call >= m->ncalls) return r_fail(r, "call site out of range");
  int64_t pending_item = 0;
  uint8_t pending_check[SNAP_CHECK];
  if (by_item) {
    uint64_t item = r_uv(r);
    r_bytes(r, pending_check, SNAP_CHECK);
    if (r->bad) return false;
    if (item == 0 || item > INT64_MAX) return r_fail(r, "the pending payload's item is out of range");
    pending_item = (int64_t)item;
  }

  /* objects: strings complete, lists and maps empty, then filled */
  r->nobjs = r_count(r, v3 ? 2 : 5, 1u << 26, "object");
  if (r->bad) return false;
  r->objs = list_new(vm, r->nobjs);
  vm_push_root(vm, v_obj(&r->objs->h));
  size_t first = r->pos;
  for (uint32_t i = 0; i < r->nobjs && !r->bad; i++) {
    uint8_t t = r_u8(r);
    uint32_t n = r_n(r);
    if (r->bad) break;
    Value v;
    if (t == V_STR) {
      if (n > r->len - r->pos) return r_fail(r, "string longer than the snapshot");
      v = v_obj(&str_new(vm, (const char *)r->p + r->pos, n)->h);
      r->pos += n;
    } else if (t == V_LIST) {
      if ((size_t)n * 1 > r->len - r->pos) return r_fail(r, "list longer than the snapshot");
      v = v_obj(&list_new(vm, n)->h);
      for (uint32_t k = 0; k < n && !r->bad; k++) r_skip_value(r);   /* the values later */
    } else if (t == V_MAP) {
      if ((size_t)n * (v3 ? 2 : 5) > r->len - r->pos) return r_fail(r, "map longer than the snapshot");
      v = v_obj(&map_new(vm, n)->h);
      for (uint32_t k = 0; k < n && !r->bad; k++) {
        r_n(r);
        r_skip_value(r);
      }
    } else {
      return r_fail(r, "unknown object type");
    }
    if (r->bad) return false;
    list_push(vm, r->objs, v);
  }
  if (r->bad) return false;
  size_t after = r->pos;
  r->pos = first;
  for (uint32_t i = 0; i < r->nobjs && !r->bad; i++) {
    uint8_t t = r_u8(r);
    uint32_t n = r_n(r);
    Value o = r->objs->v[i];
    if (t == V_STR) {
      r->pos += n;
    } else if (t == V_LIST) {
      for (uint32_t k = 0; k < n && !r->bad; k++) list_push(vm, AS_LIST(o), r_value(r));
    } else {
      for (uint32_t k = 0; k < n && !r->bad; k++) {
        uint32_t ki = r_n(r);
        if (ki >= r->nobjs || r->objs->v[ki].t != V_STR) return r_fail(r, "a map key is not a string object");
        Value val = r_value(r);
        if (!r->bad) map_set(vm, AS_MAP(o), AS_STR(r->objs->v[ki]), val);
      }
    }
  }
  if (r->bad) return false;
  if (r->pos != after) return r_fail(r, "objects read inconsistently");

  Value pending = v_nil();
  if (by_item) {
    /* the item's payload, as its JSON text was when the snapshot was taken */
    uint8_t sum[32];
    char jerr[160];
    if (!pending_json) {
      snprintf(r->err, r->n, "snapshot: its pending payload is item %lld's, which was not given", (long long)pending_item);
      r->bad = true;
      return false;
    }
    hitl_sha256(sum, pending_json, strlen(pending_json));
    if (memcmp(sum, pending_check, SNAP_CHECK) != 0)
      return r_fail(r, "the pending item's payload is not the one the instance stopped with");
    if (!json_to_value(vm, pending_json, strlen(pending_json), &pending, jerr, sizeof jerr))
      return r_fail(r, "the pending item's payload does not parse");
  } else {
    pending = r_value(r);
  }
  if (r->bad) return false;
  if (pending.t != (ended ? V_NIL : V_MAP)) return r_fail(r, "the pending payload is not a map");
  vm->pending = pending;

  uint32_t ng = r_n(r);
  if (r->bad) return false;
  if (ng != m->nglobals) return r_fail(r, "the number of globals does not match the program");
  for (uint32_t i = 0; i < ng && !r->bad; i++) vm->globals[i] = r_value(r);

  uint32_t sp = r_count(r, 1, 1u << 24, "stack");
  if (r->bad) return false;
  vm_grow_stack(vm, (size_t)sp + 1);
  for (uint32_t i = 0; i < sp && !r->bad; i++) vm->stack[i] = r_value(r);
  vm->sp = sp;
  if (r->bad) return false;

  uint32_t nf = r_count(r, v3 ? 3 : 12, vm->lim.max_depth, "frame");
  if (r->bad) return false;
  if ((nf == 0) != ended) return r_fail(r, ended ? "an ended instance with frames" : "no frames");
  if (ended && sp != 0) return r_fail(r, "an ended instance with a stack");
  vm->frames = mem_realloc(vm->frames, vm->capframes * sizeof(Frame), ((size_t)nf + 16) * sizeof(Frame));
  if (!vm->frames) vm_oom(vm, "out of memory");
  vm->capframes = nf + 16;
  vm->nframes = 0;
  for (uint32_t i = 0; i < nf; i++) {
    uint32_t fi = r_n(r), pc = r_n(r), base = r_n(r);
    if (r->bad) return false;
    if (fi >= m->nfuncs) return r_fail(r, "a frame's function is out of range");
    if ((i == 0) != (fi == 0)) return r_fail(r, "the bottom frame must be the body and only it");
    if (i == 0 && base != 0) return r_fail(r, "the body's frame must start the stack");
    const BcFunc *fn = &m->funcs[fi];
    if (!insn_start(fn, pc)) return r_fail(r, "a frame's pc is not an instruction");
    if ((size_t)base + fn->nlocals > sp) return r_fail(r, "a frame's locals pass the stack top");
    if (i > 0 && base < vm->frames[i - 1].base + vm->frames[i - 1].fn->nlocals)
      return r_fail(r, "frames overlap");
    vm->frames[vm->nframes++] = (Frame){fn, fn->code + pc, base, fi};
  }
  /* each frame is where the program could have stopped, with its stack depth */
  for (uint32_t i = 0; i < nf; i++) {
    const Frame *f = &vm->frames[i];
    uint32_t pc = (uint32_t)(f->pc - f->fn->code);
    int32_t depth = bc_depth_at(m, f->fn_index, pc);
    size_t top = i + 1 < nf ? vm->frames[i + 1].base : sp;
    size_t have = top - (f->base + f->fn->nlocals);
    if (depth < 0) return r_fail(r, "a frame's pc is unreachable");
    if (i + 1 < nf) {
      /* after a CALL of the next frame's function, whose arguments start its locals */
      if (pc < 4 || f->fn->code[pc - 4] != OP_CALL || op_u16(f->fn->code + pc - 3) != vm->frames[i + 1].fn_index)
        return r_fail(r, "a frame is not stopped after a call of the next one");
      if ((size_t)depth != have + 1) return r_fail(r, "a frame's stack depth does not match its pc");
    } else if (site >= 0) {
      if (pc < 3 || f->fn->code[pc - 3] != OP_CHECKPOINT || op_u16(f->fn->code + pc - 2) != (uint32_t)site)
        return r_fail(r, "the top frame is not stopped after its checkpoint");
      if ((size_t)depth != have + 1) return r_fail(r, "the top frame's stack depth does not match its pc");
    } else {
      if (f->fn->code[pc] != OP_CALL_ACTION || op_u16(f->fn->code + pc + 1) != (uint32_t)call)
        return r_fail(r, "the top frame is not stopped at its call");
      if ((size_t)depth != have) return r_fail(r, "the top frame's stack depth does not match its pc");
    }
  }

  uint32_t nh, nsteps_total;
  if (v3) {
    /* the steps, then the handlers that refer to them */
    nsteps_total = r_n(r);
    if (!restore_steps(r, nf, nsteps_total, 3)) return false;
    nh = r_count(r, 4, 1u << 20, "handler");
    if (r->bad || !grow_handlers(r, nh) || !restore_handlers(r, nf, nh, nsteps_total)) return false;
  } else {
    nh = r_count(r, 16, 1u << 20, "handler");
    if (r->bad) return false;
    grow_handlers(r, nh);
    /* the step count comes after the handlers; handlers refer to it */
    size_t save = r->pos;
    r->pos += (size_t)nh * 16;
    nsteps_total = r_u32(r);
    size_t steps_pos = r->pos;
    r->pos = save;
    if (r->bad || !restore_handlers(r, nf, nh, nsteps_total)) return false;
    r->pos = steps_pos;
    if (!restore_steps(r, nf, nsteps_total, 5)) return false;
  }
  if (ended && (nh || nsteps_total)) return r_fail(r, "an ended instance with handlers or steps");
  if (r->version >= 2 && !restore_reviews(r, nf, nh, ended)) return false;
  if (r->pos != r->len) return r_fail(r, "bytes after the end");

  if (nf) vm_grow_stack(vm, sp + (size_t)vm->frames[nf - 1].fn->max_stack + 2);
  vm->started = true;
  vm->inputs_set = (flags & 2) != 0;
  vm->defaults_set = (flags & 4) != 0;
  vm->ncalls = ncalls;
  vm->pending_site = site;
  vm->pending_call = call;
  vm->pending_call_routed = (flags & 8) != 0;
  vm->status = VM_SUSPENDED;
  if (ended) {
    vm->status = (flags & 32) ? VM_FAILED : VM_COMPLETED;
    vm->finished = true;
    vm->result_json = vm_value_to_json(vm, vm->result);
  } else if (by_item) {
    size_t n = strlen(pending_json) + 1;
    vm->pending_json = mem_alloc(n);
    if (!vm->pending_json) vm_oom(vm, "out of memory");
    memcpy(vm->pending_json, pending_json, n);
    vm->pending_item = pending_item;
  } else {
    vm->pending_json = vm_value_to_json(vm, pending);
  }
  vm_pop_root(vm, 1);
  return true;
}

/* The header: magic and a version this VM reads (1, 2, 3), else NULL with
 * the message. */
static bool snap_header(const uint8_t *data, size_t len, uint16_t *version, char *err, size_t n) {
  uint16_t flags;
  if (len < 8 || memcmp(data, SNAP_MAGIC, 4) != 0) {
    snprintf(err, n, "snapshot: not a hitl snapshot");
    return false;
  }
  memcpy(version, data + 4, 2);
  memcpy(&flags, data + 6, 2);
  if ((*version < 1 || *version > SNAP_VERSION) || flags != 0) {
    snprintf(err, n, "snapshot: format version %u (this VM reads 1 to %u)", *version, SNAP_VERSION);
    return false;
  }
  if (len < (*version >= 3 ? (size_t)SNAP_HEADER : (size_t)SNAP_HEADER_OLD)) {
    snprintf(err, n, "snapshot: not a hitl snapshot");
    return false;
  }
  return true;
}

int64_t vm_snapshot_pending_item(const uint8_t *data, size_t len) {
  char err[128];
  uint16_t version;
  if (!snap_header(data, len, &version, err, sizeof err)) return -1;
  if (version < 3) return 0;
  R r = {data, len, SNAP_HEADER, err, sizeof err, false, NULL, NULL, 0, version};
  uint8_t flags = r_u8(&r);
  r_uv(&r);
  r_site(&r);
  r_site(&r);
  if (r.bad) return -1;
  if (!(flags & SNAP_BY_ITEM)) return 0;
  uint64_t item = r_uv(&r);
  return r.bad || item == 0 || item > INT64_MAX ? -1 : (int64_t)item;
}

VM *vm_restore_pending(const Module *m, const uint8_t program_hash[32], const uint8_t *data, size_t len,
                       const char *pending_json, const VmLimits *lim, char *err, size_t n) {
  uint16_t version;
  if (!snap_header(data, len, &version, err, n)) return NULL;
  size_t header = version >= 3 ? SNAP_HEADER : SNAP_HEADER_OLD;
  uint8_t sum[32];
  if (version >= 3) {
    /* SHA-256(program hash ‖ body): another program's and a corrupt one fail alike */
    uint8_t *buf = mem_alloc(32 + len - header);
    if (!buf) {
      snprintf(err, n, "snapshot: out of memory");
      return NULL;
    }
    memcpy(buf, program_hash, 32);
    memcpy(buf + 32, data + header, len - header);
    hitl_sha256(sum, buf, 32 + len - header);
    mem_free(buf, 32 + len - header);
    if (memcmp(sum, data + 8, SNAP_CHECK) != 0) {
      snprintf(err, n, "snapshot: it belongs to another program, or is corrupt (checksum mismatch)");
      return NULL;
    }
  } else {
    if (memcmp(data + 8, program_hash, 32) != 0) {
      snprintf(err, n, "snapshot: it belongs to another program");
      return NULL;
    }
    hitl_sha256(sum, data + header, len - header);
    if (memcmp(sum, data + 40, 32) != 0) {
      snprintf(err, n, "snapshot: checksum mismatch (the snapshot is corrupt)");
      return NULL;
    }
  }
  VM *vm = vm_new(m, lim);
  if (!vm) {
    snprintf(err, n, "snapshot: out of memory");
    return NULL;
  }
  jmp_buf jb;
  vm->oom = &jb;
  /* volatile: read after longjmp */
  R r = {data, len, header, err, n, false, vm, NULL, 0, version};
  if (setjmp(jb)) {
    snprintf(err, n, "snapshot: %s", vm->oom_what);
    vm->oom = NULL;
    vm_free(vm);
    return NULL;
  }
  bool ok = restore(&r, pending_json);
  vm->oom = NULL;
  if (!ok) {
    vm_free(vm);
    return NULL;
  }
  vm->nroots = 0;
  return vm;
}

VM *vm_restore(const Module *m, const uint8_t program_hash[32], const uint8_t *data, size_t len,
               const VmLimits *lim, char *err, size_t n) {
  return vm_restore_pending(m, program_hash, data, len, NULL, lim, err, n);
}
