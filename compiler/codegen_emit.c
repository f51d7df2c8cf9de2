/* compiler/codegen_emit.c — appending instructions to the function being
 * generated.
 *
 * Every instruction goes through cg_emit, which encodes its operands as the
 * opcode list (vm/opcodes.h) says, keeps the line table (one entry where the
 * line changes) and tracks the operand stack depth from the list's pops and
 * pushes, so a function's max_stack is exact.  Jumps are i32 offsets from
 * the end of the instruction: forward ones are patched when their label is
 * reached.  The constant pool is deduplicated through a hash table. */
#include "codegen_int.h"

#include <math.h>

#include "../vm/mem.h"

static const char *const operand_letters[] = {
#define CG_OPERANDS(name, ops, pops, pushes, meaning) ops,
  HITL_OPCODES(CG_OPERANDS)
#undef CG_OPERANDS
};

static const signed char op_pops[] = {
#define CG_POPS(name, ops, pops, pushes, meaning) pops,
  HITL_OPCODES(CG_POPS)
#undef CG_POPS
};

static const signed char op_pushes[] = {
#define CG_PUSHES(name, ops, pops, pushes, meaning) pushes,
  HITL_OPCODES(CG_PUSHES)
#undef CG_PUSHES
};

void cg_limit(Cg *g, const char *what, uint32_t max) {
  g->failed = true;
  diag_error(g->d, g->f.at, "too many %s: the bytecode holds at most %u", what, max);
}

void cg_line(Cg *g, uint32_t line) {
  if (line) g->f.line = line;
}

uint32_t cg_here(Cg *g) { return g->f.len; }

static void put(CgFn *f, uint32_t *at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) f->code[(*at)++] = (uint8_t)(v >> (8 * i));
}

static void note_line(Cg *g) {
  CgFn *f = &g->f;
  if (f->nlines && f->lines[f->nlines - 1].line == f->line) return;
  if (f->nlines && f->lines[f->nlines - 1].pc == f->len) {
    f->lines[f->nlines - 1].line = f->line;   /* no instruction on the previous line */
    return;
  }
  if (!cg_grow(g, (void **)&f->lines, &f->caplines, f->nlines, sizeof *f->lines)) return;
  f->lines[f->nlines++] = (BcLine){f->len, f->line};
}

static uint32_t insn_size(const char *ops) {
  uint32_t size = 1;
  for (const char *p = ops; *p; p++) size += *p == 'h' ? 2 : *p == 'j' ? 4 : 1;
  return size;
}

/* An opcode and at most four operands of at most four bytes: no instruction
 * is longer, so one test of this much room covers every instruction. */
enum { CG_MAX_INSN = 17 };

uint32_t cg_emit(Cg *g, Opcode op, int64_t a, int64_t b, int64_t c, int pops) {
  CgFn *f = &g->f;
  const char *ops = operand_letters[op];
  if (f->len > BC_MAX_CODE - CG_MAX_INSN) {   /* near the limit: the exact size decides */
    uint32_t size = insn_size(ops);
    if (f->len > BC_MAX_CODE - size) {
      if (!g->too_big) {
        g->too_big = true;
        cg_limit(g, "bytes of code in one function", BC_MAX_CODE);
      }
      return 0;
    }
  }
  if (f->len + CG_MAX_INSN > f->cap && !cg_grow(g, (void **)&f->code, &f->cap, f->len + CG_MAX_INSN, 1))
    return 0;
  note_line(g);

  /* the opcode, then the operands in the order of its letters (vm/opcodes.h),
   * little-endian; a jump's offset is 0 until it is patched */
  uint8_t *code = f->code, *p = code + f->len;
  uint32_t jat = 0;
  *p++ = (uint8_t)op;
  int64_t v[3] = {a, b, c};
  for (int k = 0; ops[k]; k++) {
    uint64_t x = (uint64_t)(k < 3 ? v[k] : 0);
    switch (ops[k]) {
    case 'h':
      p[0] = (uint8_t)x;
      p[1] = (uint8_t)(x >> 8);
      p += 2;
      break;
    case 'j':
      jat = (uint32_t)(p - code);
      p[0] = p[1] = p[2] = p[3] = 0;
      p += 4;
      break;
    default:   /* 'b', 's' */
      *p++ = (uint8_t)x;
      break;
    }
  }
  f->len = (uint32_t)(p - code);

  int np = op_pops[op] < 0 ? pops : op_pops[op];
  f->depth -= np;
  if (f->depth < 0) f->depth = 0;   /* cannot happen for a checked tree */
  f->depth += op_pushes[op];
  if (f->depth > f->max_depth) f->max_depth = f->depth;
  return jat;
}

uint32_t cg_jump(Cg *g, Opcode op) { return cg_emit(g, op, 0, 0, 0, 0); }

static void set_offset(Cg *g, uint32_t at, uint32_t target) {
  if (!at) return;   /* the jump was not emitted (a limit was hit): no operand is at 0 */
  int64_t off = (int64_t)target - (int64_t)(at + 4);
  if (off < INT32_MIN || off > INT32_MAX) {   /* code is below 2^28, so never */
    if (!g->too_big) {
      g->too_big = true;
      g->failed = true;
      diag_error(g->d, g->f.at, "a jump is too long for the bytecode");
    }
    return;
  }
  uint32_t u = (uint32_t)(int32_t)off;
  put(&g->f, &at, u, 4);
}

void cg_patch(Cg *g, uint32_t at) { set_offset(g, at, g->f.len); }

void cg_patch_to(Cg *g, uint32_t at, uint32_t target) { set_offset(g, at, target); }

void cg_jump_back(Cg *g, Opcode op, uint32_t target) {
  set_offset(g, cg_emit(g, op, 0, 0, 0, 0), target);
}

void cg_set_depth(Cg *g, int depth) {
  g->f.depth = depth;
  if (depth > g->f.max_depth) g->f.max_depth = depth;
}

uint32_t cg_hide(Cg *g, uint32_t n) {
  CgFn *f = &g->f;
  uint32_t slot = f->slots + f->hidden;
  f->hidden += n;
  if (f->hidden > f->max_hidden) f->max_hidden = f->hidden;
  return slot;
}

void cg_unhide(Cg *g, uint32_t n) { g->f.hidden -= n; }

/* ---- constants ----------------------------------------------------------- */

static uint32_t const_hash(uint8_t kind, const void *p, size_t len) {
  uint32_t h = 2166136261u ^ kind;   /* FNV-1a */
  const unsigned char *s = p;
  for (size_t i = 0; i < len; i++) h = (h ^ s[i]) * 16777619u;
  return h;
}

static bool const_equal(const BcConst *k, uint8_t kind, int64_t i, uint64_t fbits,
                        const char *s, size_t len) {
  if (k->kind != kind) return false;
  if (kind == K_INT) return k->i == i;
  if (kind == K_FLOAT) {
    uint64_t kb;
    memcpy(&kb, &k->f, sizeof kb);
    return kb == fbits;
  }
  return k->len == len && memcmp(k->s, s, len) == 0;
}

static bool rehash(Cg *g) {
  uint32_t ncap = g->chcap ? g->chcap * 2 : 256;
  uint32_t *t = mem_alloc(ncap * sizeof *t);
  if (!t) return false;
  memset(t, 0, ncap * sizeof *t);
  for (uint32_t i = 0; i < g->nconsts; i++) {
    const BcConst *k = &g->consts[i];
    uint32_t h = k->kind == K_STR ? const_hash(K_STR, k->s, k->len)
               : k->kind == K_INT ? const_hash(K_INT, &k->i, sizeof k->i)
                                  : const_hash(K_FLOAT, &k->f, sizeof k->f);
    uint32_t j = h & (ncap - 1);
    while (t[j]) j = (j + 1) & (ncap - 1);
    t[j] = i + 1;
  }
  mem_free(g->chash, g->chcap * sizeof *g->chash);
  g->chash = t;
  g->chcap = ncap;
  return true;
}

/* index of the constant, added if new; 0 after an error (reported) */
static int add_const(Cg *g, uint8_t kind, int64_t i, double f, const char *s, size_t len) {
  if (g->oom) return 0;
  uint64_t fbits = 0;
  memcpy(&fbits, &f, sizeof fbits);
  uint32_t h = kind == K_STR ? const_hash(K_STR, s, len)
             : kind == K_INT ? const_hash(K_INT, &i, sizeof i)
                             : const_hash(K_FLOAT, &f, sizeof f);
  if ((g->nconsts + 1) * 2 > g->chcap && !rehash(g)) {
    cg_oom(g);
    return 0;
  }
  uint32_t j = h & (g->chcap - 1);
  for (; g->chash[j]; j = (j + 1) & (g->chcap - 1)) {
    uint32_t k = g->chash[j] - 1;
    if (const_equal(&g->consts[k], kind, i, fbits, s, len)) return (int)k;
  }
  if (g->nconsts >= BC_MAX_CONSTS) {
    if (!g->consts_full) cg_limit(g, "constants", BC_MAX_CONSTS);
    g->consts_full = true;   /* report once; the module is not built */
    return 0;
  }
  if (len > UINT32_MAX) {
    g->failed = true;
    diag_error(g->d, g->f.at, "a string constant is too long for the bytecode");
    return 0;
  }
  if (!cg_grow(g, (void **)&g->consts, &g->capconsts, g->nconsts, sizeof *g->consts)) return 0;
  BcConst *k = &g->consts[g->nconsts];
  *k = (BcConst){.kind = kind, .i = i, .f = f};
  if (kind == K_STR) {
    k->s = bc_strdup(g->m, s, len);
    k->len = (uint32_t)len;
    if (!k->s) {
      cg_oom(g);
      return 0;
    }
  }
  g->chash[j] = ++g->nconsts;
  return (int)g->nconsts - 1;
}

int cg_const_int(Cg *g, int64_t v) { return add_const(g, K_INT, v, 0.0, NULL, 0); }
int cg_const_float(Cg *g, double v) { return add_const(g, K_FLOAT, 0, v, NULL, 0); }
int cg_const_str(Cg *g, const char *s, size_t len) { return add_const(g, K_STR, 0, 0.0, s, len); }

void cg_push_int(Cg *g, int64_t v) {
  if (v >= -128 && v <= 127)
    cg_op1(g, OP_SMALLINT, v);
  else
    cg_op1(g, OP_CONST, cg_const_int(g, v));
}
