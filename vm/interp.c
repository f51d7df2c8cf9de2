/* vm/interp.c — the dispatch loop.
 *
 * One case per line of vm/opcodes.h.  The running frame's pc, locals base
 * and stack top live in C locals; SAVE() writes them back before anything
 * that can allocate (the collector scans the stack up to vm->sp), raise, or
 * leave the loop, and LOAD() reads them after a call changed frames.
 * Dispatch is computed goto under gcc/clang and a switch elsewhere; the
 * bodies read the same either way.  The module has been verified
 * (bc_verify), so operands are in range and stack depths are consistent. */
#include <string.h>

#include "calls.h"
#include "mem.h"
#include "opcodes.h"
#include "ops.h"
#include "valops.h"
#include "stdlib/stdlib.h"
#include "vm_internal.h"

#define READ_U8() (*pc++)
#define READ_I8() ((int8_t)*pc++)
/* operands are little-endian; the build targets are too, so one load each */
static inline uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline int32_t rd32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "interp.c reads operands as little-endian words"
#endif
#define READ_U16() (pc += 2, rd16(pc - 2))
#define READ_I32() (pc += 4, rd32(pc - 4))

/* Copy a value field by field, never as one 16-byte move: the fast paths
 * store only the 8-byte payload (an int result) or the tag, and a 16-byte
 * load over such a store waits for it to retire instead of forwarding
 * (a store-to-load forwarding stall, measured at ~20% of the integer loop). */
#define COPY(dst, src)                                                     \
  do {                                                                     \
    Value *d_ = (dst);                                                     \
    const Value *s_ = (src);                                               \
    d_->u = s_->u;                                                         \
    d_->t = s_->t;                                                         \
  } while (0)

/* a value read into a C variable, field by field (see COPY) */
static inline Value ldv(const Value *p) {
  Value v;
  v.t = p->t;
  v.u = p->u;
  return v;
}

#define SAVE() (vm->sp = (size_t)(sp - vm->stack), f->pc = pc, vm->fuel = fuel)
#define LOAD()                                  \
  do {                                          \
    f = &vm->frames[vm->nframes - 1];           \
    pc = f->pc;                                 \
    base = vm->stack + f->base;                 \
    sp = vm->stack + vm->sp;                    \
  } while (0)

/* raise: the error is in vm->error; leave the case through the handler search */
#define RAISE() do { SAVE(); goto raise; } while (0)
#define CHECK(call) do { SAVE(); if (!(call)) goto raise; } while (0)
#define SPEND_FUEL()                                                       \
  do {                                                                     \
    if (--fuel == 0) {                                                     \
      SAVE();                                                              \
      vm_raise(vm, "fuel", "out of fuel (limit %llu)", (unsigned long long)vm->lim.fuel); \
      goto raise;                                                          \
    }                                                                      \
  } while (0)

#if defined(__GNUC__)
#define DISPATCH() goto *labels[*pc++]
#define CASE(name) L_##name:
#else
#define DISPATCH() goto top
#define CASE(name) case OP_##name:
#endif

/* floor division and modulo of ints by a positive divisor; a 32-bit
 * division is several times faster than a 64-bit one, so use it when the
 * dividend is a small non-negative number */
static inline int64_t floor_div(int64_t a, int64_t k) {
  if ((uint64_t)a <= UINT32_MAX && k <= (int64_t)UINT32_MAX) return (int64_t)((uint32_t)a / (uint32_t)k);
  int64_t q = a / k;
  if (a % k != 0 && a < 0) q--;
  return q;
}
static inline int64_t floor_mod(int64_t a, int64_t k) {
  if ((uint64_t)a <= UINT32_MAX && k <= (int64_t)UINT32_MAX) return (int64_t)((uint32_t)a % (uint32_t)k);
  int64_t q = a % k;
  if (q < 0) q += k;
  return q;
}

/* Division by a small constant operand (the _K and _LK forms) without a
 * divide instruction: Lemire, Kaser and Kurz, "Faster remainder by direct
 * computation" (2019).  For 32-bit a and 2 <= k < 2^32, with
 * M = 2^64 / k rounded up: a / k = (M * a) >> 64 and
 * a % k = ((M * a mod 2^64) * k) >> 64, exactly. */
#if defined(__SIZEOF_INT128__)
#define FM(k) (UINT64_MAX / (k) + 1)
#define FM8(k) FM(k), FM(k + 1), FM(k + 2), FM(k + 3), FM(k + 4), FM(k + 5), FM(k + 6), FM(k + 7)
static const uint64_t fast_m[128] = {
  0, 0, FM(2), FM(3), FM(4), FM(5), FM(6), FM(7),
  FM8(8), FM8(16), FM8(24), FM8(32), FM8(40), FM8(48), FM8(56),
  FM8(64), FM8(72), FM8(80), FM8(88), FM8(96), FM8(104), FM8(112), FM8(120),
};
#undef FM8
#undef FM
static inline int64_t floor_div_k(int64_t a, int64_t k) {
  if ((uint64_t)a <= UINT32_MAX && k >= 2) return (int64_t)(((unsigned __int128)fast_m[k] * (uint64_t)a) >> 64);
  return floor_div(a, k);
}
static inline int64_t floor_mod_k(int64_t a, int64_t k) {
  if ((uint64_t)a <= UINT32_MAX && k >= 2)
    return (int64_t)(((unsigned __int128)(fast_m[k] * (uint64_t)a) * (uint64_t)k) >> 64);
  return floor_mod(a, k);
}
#else
#define floor_div_k floor_div
#define floor_mod_k floor_mod
#endif

static void push_frame(VM *vm, const BcFunc *fn, uint32_t index, size_t base) {
  if (vm->nframes == vm->capframes) {
    size_t cap = vm->capframes ? vm->capframes * 2 : 16;
    Frame *nf = mem_realloc(vm->frames, vm->capframes * sizeof *nf, cap * sizeof *nf);
    if (!nf) vm_oom(vm, "out of memory");
    vm->frames = nf;
    vm->capframes = (uint32_t)cap;
  }
  Frame *f = &vm->frames[vm->nframes++];
  f->fn = fn;
  f->pc = fn->code;
  f->base = base;
  f->fn_index = index;
  vm_grow_stack(vm, base + fn->nlocals + fn->max_stack + 1);
  for (size_t i = base + fn->nparams; i < base + fn->nlocals; i++) vm->stack[i] = v_nil();
  vm->sp = base + fn->nlocals;
}

/* leave the running frame: drop its handlers, end its steps */
static void close_frame(VM *vm) {
  uint32_t fi = vm->nframes - 1;
  while (vm->nhandlers && vm->handlers[vm->nhandlers - 1].frame >= fi) vm->nhandlers--;
  while (vm->nsteps && vm->steps[vm->nsteps - 1].frame >= fi) vm_step_end(vm);
}

/* internal outcomes of a nested run (vm_invoke) */
enum { VM_NESTED_DONE = 100, VM_NESTED_FAILED = 101 };

static VmStatus run_loop(VM *vm);

VmStatus vm_execute(VM *vm) {
  jmp_buf jb;
  /* the out-of-memory path reads nothing the loop keeps in registers */
  vm->oom = &jb;
  if (setjmp(jb)) {
    vm->oom = NULL;
    vm_fail_memory(vm);
    return vm->status;
  }
  if (!vm->started) {
    if (!vm_start(vm)) {
      vm->oom = NULL;
      return vm->status;
    }
  }
  vm->fuel = vm->lim.fuel;
  vm->status = VM_COMPLETED;
  VmStatus st = run_loop(vm);
  vm->oom = NULL;
  return st;
}

bool vm_invoke(VM *vm, uint32_t fi, const Value *args, int n, Value *out, bool pure) {
  const BcFunc *fn = &vm->m->funcs[fi];
  size_t sp0 = vm->sp;
  uint32_t nf0 = vm->nframes, floor0 = vm->floor, hfloor0 = vm->handler_floor, nsteps0 = vm->nsteps;
  bool pure0 = vm->pure;
  if (vm->nframes >= vm->lim.max_depth)
    return vm_raise(vm, "depth", "call depth limit (%u) reached calling '%s'", vm->lim.max_depth, fn->name);
  /* args may live on the stack, which growing moves */
  ptrdiff_t off = args >= vm->stack && args < vm->stack + vm->stack_cap ? args - vm->stack : -1;
  vm_grow_stack(vm, sp0 + (size_t)n + fn->nlocals + fn->max_stack + 2);
  if (off >= 0) args = vm->stack + off;
  for (int i = 0; i < n; i++) {
    Value a = args[i];
    if (!op_fit(&a, fn->param_types[i])) {
      char buf[64];
      return vm_raise(vm, "type", "argument %d of '%s' must be %s, found %s", i + 1, fn->name,
                      op_typeset_text(fn->param_types[i], buf, sizeof buf), val_type_name(a));
    }
    vm->stack[sp0 + (size_t)i] = a;
  }
  vm->sp = sp0 + (size_t)n;
  push_frame(vm, fn, fi, sp0);
  vm->floor = vm->nframes - 1;
  vm->handler_floor = vm->nhandlers;
  vm->nested++;
  vm->pure = pure;
  VmStatus st = run_loop(vm);
  vm->nested--;
  vm->pure = pure0;
  /* review blocks a failed flag block leaves end there */
  if ((int)st != VM_NESTED_DONE && vm->nactive) {
    Value err = vm->error;
    vm_push_root(vm, err);
    vm_review_leave_frames(vm, nf0);
    vm_pop_root(vm, 1);
    vm->error = err;
  }
  vm->floor = floor0;
  vm->handler_floor = hfloor0;
  vm->nframes = nf0;
  vm->nsteps = nsteps0;
  vm->sp = sp0;
  if ((int)st == VM_NESTED_DONE) {
    *out = vm->nested_result;
    vm->nested_result = v_nil();
    return true;
  }
  return false;   /* vm->error holds what was raised */
}

static VmStatus run_loop(VM *vm) {
  const Module *m = vm->m;
  uint64_t fuel = vm->fuel;   /* in a register; SAVE writes it back */

#if defined(__GNUC__)
  static const void *const labels[] = {
#define OP_LABEL(name, ops, pops, pushes, meaning) &&L_##name,
    HITL_OPCODES(OP_LABEL)
#undef OP_LABEL
  };
#endif

  Frame *f;
  const uint8_t *pc;
  Value *base, *sp;
  const Value *consts = vm->consts;
  LOAD();
  if (vm->raise_on_run) {        /* a verdict rejected what nothing handles */
    vm->raise_on_run = false;
    if (vm->held_site >= 0) {    /* a rejected routed call: its action event */
      vm_held_call_event(vm, vm->held_site, vm->held_payload, vm->error);
      vm->held_site = -1;
      vm->held_payload = v_nil();
    }
    goto raise;
  }
  DISPATCH();

#if !defined(__GNUC__)
top:
  switch (*pc++) {
#endif

  CASE(NOP) DISPATCH();
  CASE(CONST) { uint16_t k = READ_U16(); COPY(sp, &consts[k]); sp++; DISPATCH(); }
  CASE(SMALLINT) { *sp++ = v_int(READ_I8()); DISPATCH(); }
  CASE(NIL) { *sp++ = v_nil(); DISPATCH(); }
  CASE(TRUE) { *sp++ = v_bool(true); DISPATCH(); }
  CASE(FALSE) { *sp++ = v_bool(false); DISPATCH(); }
  CASE(POP) { sp--; DISPATCH(); }
  CASE(DUP) { COPY(sp, sp - 1); sp++; DISPATCH(); }
  CASE(GET_LOCAL) { uint16_t n = READ_U16(); COPY(sp, &base[n]); sp++; DISPATCH(); }
  CASE(SET_LOCAL) { uint16_t n = READ_U16(); sp--; COPY(&base[n], sp); DISPATCH(); }
  CASE(GET_GLOBAL) { uint16_t g = READ_U16(); *sp++ = vm->globals[g]; DISPATCH(); }

/* The fast paths read the operands' fields in place (no Value copies: see
 * COPY); the general cases go to vm/ops.c with the operands as they are. */
#define ARITH_SLOW(OPC, A, B, DST)                                         \
  do {                                                                     \
    Value out_;                                                            \
    CHECK(op_arith(vm, OPC, A, B, &out_));                                 \
    COPY(DST, &out_);                                                      \
  } while (0)

#define ARITH(NAME, BUILTIN, FOP)                                          \
  CASE(NAME) {                                                             \
    Value *a = &sp[-2], *b = &sp[-1];                                      \
    int64_t r;                                                             \
    if (a->t == V_INT && b->t == V_INT) {                                  \
      if (!BUILTIN(a->u.i, b->u.i, &r)) {                                  \
        a->u.i = r;                                                        \
        sp--;                                                              \
        DISPATCH();                                                        \
      }                                                                    \
    } else if (a->t == V_FLOAT && b->t == V_FLOAT) {                       \
      a->u.f = a->u.f FOP b->u.f;                                          \
      sp--;                                                                \
      DISPATCH();                                                          \
    }                                                                      \
    ARITH_SLOW(OP_##NAME, *a, *b, a);                                      \
    sp--;                                                                  \
    DISPATCH();                                                            \
  }
  ARITH(ADD, __builtin_add_overflow, +)
  ARITH(SUB, __builtin_sub_overflow, -)
  ARITH(MUL, __builtin_mul_overflow, *)
#undef ARITH
  CASE(DIV) { ARITH_SLOW(OP_DIV, sp[-2], sp[-1], &sp[-2]); sp--; DISPATCH(); }

  CASE(IDIV) {
    Value *a = &sp[-2], *b = &sp[-1];
    if (a->t == V_INT && b->t == V_INT && b->u.i > 0) {
      a->u.i = floor_div(a->u.i, b->u.i);
      sp--;
      DISPATCH();
    }
    ARITH_SLOW(OP_IDIV, *a, *b, a);
    sp--;
    DISPATCH();
  }
  CASE(MOD) {
    Value *a = &sp[-2], *b = &sp[-1];
    if (a->t == V_INT && b->t == V_INT && b->u.i > 0) {
      a->u.i = floor_mod(a->u.i, b->u.i);
      sp--;
      DISPATCH();
    }
    ARITH_SLOW(OP_MOD, *a, *b, a);
    sp--;
    DISPATCH();
  }
  CASE(NEG) { Value r; CHECK(op_neg(vm, sp[-1], &r)); COPY(&sp[-1], &r); DISPATCH(); }
  CASE(NOT) {
    if (sp[-1].t != V_BOOL) {
      SAVE();
      vm_raise(vm, "type", "'not' needs a bool, found %s", val_type_name(sp[-1]));
      goto raise;
    }
    sp[-1].u.b = !sp[-1].u.b;
    DISPATCH();
  }
  CASE(EQ) { bool r = val_eq(sp[-2], sp[-1]); sp[-2] = v_bool(r); sp--; DISPATCH(); }
  CASE(NE) { bool r = !val_eq(sp[-2], sp[-1]); sp[-2] = v_bool(r); sp--; DISPATCH(); }

/* r := A CMP B for the comparison OPC (an OP_EQ..OP_GE opcode): ints in
 * place, everything else through val_eq / op_compare */
#define CMP_VALUES(r, OPC, CMP, A, B)                                      \
  do {                                                                     \
    if ((A).t == V_INT && (B).t == V_INT) r = (A).u.i CMP (B).u.i;         \
    else if (OPC == OP_EQ) r = val_eq(A, B);                               \
    else if (OPC == OP_NE) r = !val_eq(A, B);                              \
    else {                                                                 \
      bool r_;                                                             \
      CHECK(op_compare(vm, OPC, A, B, &r_));                               \
      r = r_;                                                              \
    }                                                                      \
  } while (0)
/* r := A CMP k, k a small int operand */
#define CMP_K(r, OPC, CMP, A, k)                                           \
  do {                                                                     \
    if ((A).t == V_INT) r = (A).u.i CMP k;                                 \
    else CMP_VALUES(r, OPC, CMP, A, v_int(k));                             \
  } while (0)

#define COMPARE(NAME, CMP)                                                 \
  CASE(NAME) {                                                             \
    bool r;                                                                \
    CMP_VALUES(r, OP_##NAME, CMP, sp[-2], sp[-1]);                         \
    sp[-2] = v_bool(r);                                                    \
    sp--;                                                                  \
    DISPATCH();                                                            \
  }
  COMPARE(LT, <)
  COMPARE(LE, <=)
  COMPARE(GT, >)
  COMPARE(GE, >=)
#undef COMPARE
  CASE(IN) { bool r; CHECK(op_in(vm, sp[-2], sp[-1], &r)); sp[-2] = v_bool(r); sp--; DISPATCH(); }
  CASE(TEST_BOOL) {
    if (sp[-1].t != V_BOOL) {
      SAVE();
      vm_raise(vm, "type", "'and'/'or' need bools, found %s", val_type_name(sp[-1]));
      goto raise;
    }
    DISPATCH();
  }
  CASE(CHECK_TYPE) {
    uint16_t ts = READ_U16(), k = READ_U16();
    if (!(VT_BIT(sp[-1].t) & ts)) CHECK(op_check_type(vm, &sp[-1], ts, AS_STR(consts[k])->s));
    DISPATCH();
  }
  CASE(JUMP) {
    int32_t off = READ_I32();
    if (off < 0) SPEND_FUEL();
    pc += off;
    DISPATCH();
  }

/* take the jump (a backward one spends fuel) when r == SENSE */
#define JUMP_WHEN(r, SENSE, off)                                           \
  do {                                                                     \
    if ((r) == (SENSE)) {                                                  \
      if ((off) < 0) SPEND_FUEL();                                         \
      pc += (off);                                                         \
    }                                                                      \
  } while (0)

#define JUMP_BOOL(NAME, SENSE)                                             \
  CASE(NAME) {                                                             \
    int32_t off = READ_I32();                                              \
    sp--;                                                                  \
    if (sp->t != V_BOOL) {                                                 \
      sp++;                                                                \
      SAVE();                                                              \
      vm_raise(vm, "type", "a condition must be bool, found %s", val_type_name(sp[-1])); \
      goto raise;                                                          \
    }                                                                      \
    JUMP_WHEN(sp->u.b, SENSE, off);                                        \
    DISPATCH();                                                            \
  }
  JUMP_BOOL(JUMP_IF_FALSE, false)
  JUMP_BOOL(JUMP_IF_TRUE, true)
#undef JUMP_BOOL

/* compare the two top values, pop them, jump when the result is SENSE */
#define JUMP_CMP(NAME, OPC, CMP, SENSE)                                    \
  CASE(NAME) {                                                             \
    int32_t off = READ_I32();                                              \
    bool r;                                                                \
    CMP_VALUES(r, OPC, CMP, sp[-2], sp[-1]);                               \
    sp -= 2;                                                               \
    JUMP_WHEN(r, SENSE, off);                                              \
    DISPATCH();                                                            \
  }
  JUMP_CMP(JUMP_IF_NOT_LT, OP_LT, <, false)
  JUMP_CMP(JUMP_IF_NOT_LE, OP_LE, <=, false)
  JUMP_CMP(JUMP_IF_NOT_GT, OP_GT, >, false)
  JUMP_CMP(JUMP_IF_NOT_GE, OP_GE, >=, false)
  JUMP_CMP(JUMP_IF_NOT_EQ, OP_EQ, ==, false)
  JUMP_CMP(JUMP_IF_NOT_NE, OP_NE, !=, false)
  JUMP_CMP(JUMP_IF_LT, OP_LT, <, true)
  JUMP_CMP(JUMP_IF_LE, OP_LE, <=, true)
  JUMP_CMP(JUMP_IF_GT, OP_GT, >, true)
  JUMP_CMP(JUMP_IF_GE, OP_GE, >=, true)
  JUMP_CMP(JUMP_IF_EQ, OP_EQ, ==, true)
  JUMP_CMP(JUMP_IF_NE, OP_NE, !=, true)
#undef JUMP_CMP

/* compare two locals (a loop's test), jump when the result is SENSE */
#define JUMP_LL(NAME, OPC, CMP, SENSE)                                     \
  CASE(NAME) {                                                             \
    uint16_t x = READ_U16(), y = READ_U16();                               \
    int32_t off = READ_I32();                                              \
    bool r;                                                                \
    CMP_VALUES(r, OPC, CMP, base[x], base[y]);                             \
    JUMP_WHEN(r, SENSE, off);                                              \
    DISPATCH();                                                            \
  }
  JUMP_LL(JUMP_IF_LT_LL, OP_LT, <, true)
  JUMP_LL(JUMP_IF_LE_LL, OP_LE, <=, true)
  JUMP_LL(JUMP_IF_GT_LL, OP_GT, >, true)
  JUMP_LL(JUMP_IF_GE_LL, OP_GE, >=, true)
  JUMP_LL(JUMP_IF_NOT_LT_LL, OP_LT, <, false)
  JUMP_LL(JUMP_IF_NOT_LE_LL, OP_LE, <=, false)
  JUMP_LL(JUMP_IF_NOT_GT_LL, OP_GT, >, false)
  JUMP_LL(JUMP_IF_NOT_GE_LL, OP_GE, >=, false)
#undef JUMP_LL
  CASE(INC_LOCAL) {
    uint16_t n = READ_U16();
    int8_t k = READ_I8();
    Value *x = &base[n];
    int64_t r;
    if (x->t == V_INT && !__builtin_add_overflow(x->u.i, (int64_t)k, &r)) {
      x->u.i = r;
      DISPATCH();
    }
    ARITH_SLOW(OP_ADD, *x, v_int(k), x);
    DISPATCH();
  }
  CASE(GET_LOCAL2) {
    uint16_t a = READ_U16(), b = READ_U16();
    COPY(sp, &base[a]);
    COPY(sp + 1, &base[b]);
    sp += 2;
    DISPATCH();
  }
#define ARITH_LOCAL(NAME, OPC, BUILTIN)                                    \
  CASE(NAME) {                                                             \
    uint16_t n = READ_U16();                                               \
    Value *x = &base[n], *b = &sp[-1];                                     \
    int64_t r;                                                             \
    if (x->t == V_INT && b->t == V_INT && !BUILTIN(x->u.i, b->u.i, &r)) {  \
      x->u.i = r;                                                          \
      sp--;                                                                \
      DISPATCH();                                                          \
    }                                                                      \
    ARITH_SLOW(OPC, *x, *b, x);                                            \
    sp--;                                                                  \
    DISPATCH();                                                            \
  }
  ARITH_LOCAL(ADD_LOCAL, OP_ADD, __builtin_add_overflow)
  ARITH_LOCAL(SUB_LOCAL, OP_SUB, __builtin_sub_overflow)
#undef ARITH_LOCAL

/* *DST := *A OP k (k a small int operand); A and DST may be the same slot */
#define ARITH_K_INTO(OPC, BUILTIN, A, k, DST)                              \
  do {                                                                     \
    int64_t r;                                                             \
    if ((A)->t == V_INT && !BUILTIN((A)->u.i, k, &r)) {                    \
      (DST)->t = V_INT;                                                    \
      (DST)->u.i = r;                                                      \
    } else {                                                               \
      ARITH_SLOW(OPC, *(A), v_int(k), DST);                                \
    }                                                                      \
  } while (0)
/* the same for // and % (the code generator uses these with k > 0 only) */
#define DIV_K_INTO(OPC, FN, A, k, DST)                                     \
  do {                                                                     \
    if ((A)->t == V_INT && k > 0) {                                        \
      int64_t r = FN((A)->u.i, k);                                         \
      (DST)->t = V_INT;                                                    \
      (DST)->u.i = r;                                                      \
    } else {                                                               \
      ARITH_SLOW(OPC, *(A), v_int(k), DST);                                \
    }                                                                      \
  } while (0)
  CASE(ADD_K) { int64_t k = READ_I8(); ARITH_K_INTO(OP_ADD, __builtin_add_overflow, &sp[-1], k, &sp[-1]); DISPATCH(); }
  CASE(SUB_K) { int64_t k = READ_I8(); ARITH_K_INTO(OP_SUB, __builtin_sub_overflow, &sp[-1], k, &sp[-1]); DISPATCH(); }
  CASE(MUL_K) { int64_t k = READ_I8(); ARITH_K_INTO(OP_MUL, __builtin_mul_overflow, &sp[-1], k, &sp[-1]); DISPATCH(); }
  CASE(MOD_K) { int64_t k = READ_I8(); DIV_K_INTO(OP_MOD, floor_mod_k, &sp[-1], k, &sp[-1]); DISPATCH(); }
  CASE(IDIV_K) { int64_t k = READ_I8(); DIV_K_INTO(OP_IDIV, floor_div_k, &sp[-1], k, &sp[-1]); DISPATCH(); }
  /* push locals[n] OP k: the new slot is above vm->sp until it holds the result */
  CASE(ADD_LK) { uint16_t n = READ_U16(); int64_t k = READ_I8(); ARITH_K_INTO(OP_ADD, __builtin_add_overflow, &base[n], k, sp); sp++; DISPATCH(); }
  CASE(SUB_LK) { uint16_t n = READ_U16(); int64_t k = READ_I8(); ARITH_K_INTO(OP_SUB, __builtin_sub_overflow, &base[n], k, sp); sp++; DISPATCH(); }
  CASE(MUL_LK) { uint16_t n = READ_U16(); int64_t k = READ_I8(); ARITH_K_INTO(OP_MUL, __builtin_mul_overflow, &base[n], k, sp); sp++; DISPATCH(); }
  CASE(MOD_LK) { uint16_t n = READ_U16(); int64_t k = READ_I8(); DIV_K_INTO(OP_MOD, floor_mod_k, &base[n], k, sp); sp++; DISPATCH(); }
  CASE(IDIV_LK) { uint16_t n = READ_U16(); int64_t k = READ_I8(); DIV_K_INTO(OP_IDIV, floor_div_k, &base[n], k, sp); sp++; DISPATCH(); }
#undef ARITH_K_INTO
#undef DIV_K_INTO

/* compare the top with a small int operand, pop it, jump when the result is SENSE */
#define JUMP_K(NAME, OPC, CMP, SENSE)                                      \
  CASE(NAME) {                                                             \
    int64_t k = READ_I8();                                                 \
    int32_t off = READ_I32();                                              \
    bool r;                                                                \
    CMP_K(r, OPC, CMP, sp[-1], k);                                         \
    sp--;                                                                  \
    JUMP_WHEN(r, SENSE, off);                                              \
    DISPATCH();                                                            \
  }
  JUMP_K(JUMP_IF_NOT_EQ_K, OP_EQ, ==, false)
  JUMP_K(JUMP_IF_NOT_NE_K, OP_NE, !=, false)
  JUMP_K(JUMP_IF_NOT_LT_K, OP_LT, <, false)
  JUMP_K(JUMP_IF_NOT_LE_K, OP_LE, <=, false)
  JUMP_K(JUMP_IF_NOT_GT_K, OP_GT, >, false)
  JUMP_K(JUMP_IF_NOT_GE_K, OP_GE, >=, false)
  JUMP_K(JUMP_IF_EQ_K, OP_EQ, ==, true)
  JUMP_K(JUMP_IF_NE_K, OP_NE, !=, true)
  JUMP_K(JUMP_IF_LT_K, OP_LT, <, true)
  JUMP_K(JUMP_IF_LE_K, OP_LE, <=, true)
  JUMP_K(JUMP_IF_GT_K, OP_GT, >, true)
  JUMP_K(JUMP_IF_GE_K, OP_GE, >=, true)
#undef JUMP_K
  CASE(CALL) {
    uint16_t fi = READ_U16();
    uint8_t n = READ_U8();
    const BcFunc *callee = &m->funcs[fi];
    Value *args = sp - n;
    if (vm->nframes >= vm->lim.max_depth) {
      SAVE();
      vm_raise(vm, "depth", "call depth limit (%u) reached calling '%s'", vm->lim.max_depth, callee->name);
      goto raise;
    }
    SPEND_FUEL();
    for (uint8_t i = 0; i < n; i++) {
      uint32_t ts = callee->param_types[i];
      if (!(VT_BIT(args[i].t) & ts) && !op_fit(&args[i], ts)) {
        char buf[64];
        SAVE();
        vm_raise(vm, "type", "argument %u of '%s' must be %s, found %s", i + 1, callee->name,
                 op_typeset_text(ts, buf, sizeof buf), val_type_name(args[i]));
        goto raise;
      }
    }
    size_t nb = (size_t)(args - vm->stack);
    f->pc = pc;
    if (vm->nframes == vm->capframes || nb + callee->nlocals + callee->max_stack + 1 > vm->stack_cap) {
      SAVE();
      push_frame(vm, callee, fi, nb);   /* grows the stack and the frames */
      LOAD();
      DISPATCH();
    }
    Frame *nf = &vm->frames[vm->nframes++];
    nf->fn = callee;
    nf->pc = callee->code;
    nf->base = nb;
    nf->fn_index = fi;
    base = vm->stack + nb;
    for (uint16_t i = n; i < callee->nlocals; i++) base[i] = v_nil();
    f = nf;
    pc = callee->code;
    sp = base + callee->nlocals;
    DISPATCH();
  }
  CASE(CALL_BUILTIN) {
    uint8_t b = READ_U8(), n = READ_U8();
    Value out;
    SAVE();
    if (!bi_table[b](vm, sp - n, n, &out)) goto raise;
    sp -= n;
    COPY(sp, &out); sp++;
    DISPATCH();
  }
  CASE(CALL_ACTION) {
    uint16_t c = READ_U16();
    SAVE();
    if (vm->nested && vm->pure) {
      vm_raise(vm, "type", "an action cannot be called inside a rule or a blast expression");
      goto raise;
    }
    int r = vm_call_action(vm, c);
    /* rules and blast ran nested: they spent fuel and may have moved the
     * stack and the frames */
    fuel = vm->fuel;
    if (r == 0) goto raise;
    if (r == 2) {
      vm->frames[vm->nframes - 1].pc = pc - 3;   /* resume at this CALL_ACTION (see vm_resume) */
      return vm->status;
    }
    LOAD();
    DISPATCH();
  }
  CASE(RETURN) {
    Value r = ldv(&sp[-1]);
    uint32_t rt = f->fn->result_type;
    if (!(VT_BIT(r.t) & rt) && !op_fit(&r, rt)) {
      char buf[64];
      SAVE();
      vm_raise(vm, "type", "'%s' must return %s, found %s", f->fn->name, op_typeset_text(rt, buf, sizeof buf),
               val_type_name(r));
      goto raise;
    }
    uint32_t top = vm->nframes - 1;
    if ((vm->nhandlers && vm->handlers[vm->nhandlers - 1].frame >= top) ||
        (vm->nsteps && vm->steps[vm->nsteps - 1].frame >= top)) {
      SAVE();
      close_frame(vm);
    }
    if (top == vm->floor) {
      COPY(&sp[-1], &r);
      SAVE();
      if (vm->nested) {            /* the end of a nested run (vm_invoke) */
        vm->nested_result = r;
        return (VmStatus)VM_NESTED_DONE;
      }
      vm->sp = 0;
      vm_complete(vm, r);
      return vm->status;
    }
    size_t nb = f->base;
    vm->nframes = top;
    f = &vm->frames[top - 1];
    pc = f->pc;
    base = vm->stack + f->base;
    sp = vm->stack + nb;
    COPY(sp, &r); sp++;
    DISPATCH();
  }
  CASE(LIST) {
    uint16_t n = READ_U16();
    SAVE();
    List *l = list_new(vm, n);
    if (n) memcpy(l->v, sp - n, n * sizeof(Value));
    l->n = n;
    sp -= n;
    *sp++ = v_obj(&l->h);
    DISPATCH();
  }
  CASE(MAP) {
    uint16_t n = READ_U16();
    SAVE();
    Map *mp = map_new(vm, n);
    Value mv = v_obj(&mp->h);
    vm_push_root(vm, mv);
    Value *kv = sp - 2 * n;
    for (uint16_t i = 0; i < n; i++) {
      if (kv[2 * i].t != V_STR) {
        vm_pop_root(vm, 1);
        vm_raise(vm, "type", "a map key must be string, found %s", val_type_name(kv[2 * i]));
        goto raise;
      }
      map_set(vm, mp, AS_STR(kv[2 * i]), kv[2 * i + 1]);
    }
    vm_pop_root(vm, 1);
    sp -= 2 * n;
    COPY(sp, &mv); sp++;
    DISPATCH();
  }
  CASE(INDEX) { Value r; CHECK(op_index(vm, sp[-2], sp[-1], &r)); COPY(&sp[-2], &r); sp--; DISPATCH(); }
  CASE(SET_INDEX) { CHECK(op_set_index(vm, sp[-3], sp[-2], sp[-1])); sp -= 3; DISPATCH(); }
  CASE(FIELD) {
    uint16_t k = READ_U16();
    Value x = sp[-1];
    if (x.t == V_MAP) {
      Value *v = map_get(AS_MAP(x), AS_STR(consts[k]));
      if (v) COPY(&sp[-1], v); else sp[-1] = v_nil();
      DISPATCH();
    }
    Value r;
    CHECK(op_field(vm, x, consts[k], &r));
    COPY(&sp[-1], &r);
    DISPATCH();
  }
  CASE(SET_FIELD) {
    uint16_t k = READ_U16();
    CHECK(op_set_field(vm, sp[-2], consts[k], sp[-1]));
    sp -= 2;
    DISPATCH();
  }
  CASE(INTERP) {
    uint16_t n = READ_U16();
    SAVE();
    {
      /* strings and ints that fit a small buffer: no StrBuf (no malloc) */
      char small[256];
      size_t len = 0;
      uint16_t i = 0;
      for (; i < n; i++) {
        const Value *p = &sp[(int)i - (int)n];
        if (p->t == V_STR) {
          const Str *ps = AS_STR(*p);
          if (ps->len > sizeof small - len) break;
          memcpy(small + len, ps->s, ps->len);
          len += ps->len;
        } else if (p->t == V_INT && len + 24 <= sizeof small) {
          len += fmt_int(small + len, p->u.i);
        } else {
          break;
        }
      }
      if (i == n) {
        Str *s = str_new(vm, small, len);
        sp -= n;
        *sp++ = v_obj(&s->h);
        DISPATCH();
      }
    }
    StrBuf b;
    strbuf_init(vm, &b);
    for (uint16_t i = 0; i < n; i++) {
      if (val_str_checked(&b, sp[(int)i - (int)n]) != VAL_OK) {
        strbuf_free(&b);
        vm_raise(vm, "type", "a value in the string is nested too deeply to write");
        goto raise;
      }
    }
    Str *s = strbuf_done(&b);
    sp -= n;
    *sp++ = v_obj(&s->h);
    DISPATCH();
  }
  CASE(FOR_LIST) {
    uint16_t b = READ_U16(), x = READ_U16();
    int32_t off = READ_I32();
    Value lv = base[b];
    if (lv.t != V_LIST) {
      SAVE();
      vm_raise(vm, "type", "'for x in' needs a list, found %s", val_type_name(lv));
      goto raise;
    }
    List *l = AS_LIST(lv);
    int64_t i = base[b + 1].u.i;
    if (i < (int64_t)l->n) {
      COPY(&base[x], &l->v[i]);
      base[b + 1].u.i = i + 1;
      SPEND_FUEL();
    } else {
      pc += off;
    }
    DISPATCH();
  }
  CASE(FOR_MAP) {
    uint16_t b = READ_U16(), k = READ_U16(), v = READ_U16();
    int32_t off = READ_I32();
    Value mv = base[b];
    if (mv.t != V_MAP) {
      SAVE();
      vm_raise(vm, "type", "'for k, v in' needs a map, found %s", val_type_name(mv));
      goto raise;
    }
    Map *mp = AS_MAP(mv);
    int64_t i = base[b + 1].u.i;
    if (i < (int64_t)mp->n) {
      base[k] = v_obj(&mp->e[i].key->h);
      if (v != 0xFFFF) COPY(&base[v], &mp->e[i].val);
      base[b + 1].u.i = i + 1;
      SPEND_FUEL();
    } else {
      pc += off;
    }
    DISPATCH();
  }
  CASE(TRY) {
    int32_t off = READ_I32();
    SAVE();
    vm_push_handler(vm, pc + off);
    DISPATCH();
  }
  CASE(END_TRY) { vm->nhandlers--; DISPATCH(); }
  CASE(FAIL) {
    Value e = sp[-1];
    SAVE();
    vm_fail_value(vm, e);
    goto raise;
  }
  CASE(LOG) {
    SAVE();
    vm_log(vm, sp[-1]);
    sp--;
    DISPATCH();
  }
  CASE(STEP_BEGIN) {
    SAVE();
    vm_step_begin(vm, sp[-1]);
    sp--;
    DISPATCH();
  }
  CASE(STEP_END) {
    SAVE();
    vm_step_end(vm);
    DISPATCH();
  }
  CASE(CHECKPOINT) {
    uint16_t c = READ_U16();
    SAVE();
    if (vm->nested) {
      if (vm->pure) vm_raise(vm, "type", "a checkpoint cannot run inside a rule or a blast expression");
      else vm_raise(vm, "type", "a checkpoint cannot run inside a flag block: it runs as part of a reviewer's verdict");
      goto raise;
    }
    vm_checkpoint(vm, c);
    return vm->status;
  }
  CASE(REVIEW_BEGIN) {
    uint16_t r = READ_U16();
    SAVE();
    vm_review_begin(vm, r, sp[-1]);
    sp--;
    DISPATCH();
  }
  CASE(REVIEW_END) {
    uint16_t r = READ_U16();
    CHECK(vm_review_end(vm, r));
    DISPATCH();
  }

#if !defined(__GNUC__)
  default:
    SAVE();
    vm_raise(vm, "type", "bad instruction");
    goto raise;
  }
#endif

raise:
  /* vm->error holds the error; the frame state is saved */
  if (vm_catch(vm)) {
    LOAD();
    fuel = vm->fuel;
    DISPATCH();
  }
  if (vm->nested) return (VmStatus)VM_NESTED_FAILED;
  return vm->status;
}
