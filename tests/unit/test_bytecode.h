/* tests/unit/test_bytecode.h — what the bytecode unit tests (test_bytecode*.c,
 * one binary each) share: an assembler for code with labels, helpers that
 * build a Module by hand, the sample module (every section filled, code that
 * exercises every kind of edge), and a few expectations. */
#ifndef HITL_TEST_BYTECODE_H
#define HITL_TEST_BYTECODE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vm/bytecode.h"
#include "vm/mem.h"
#include "vm/opcodes.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
enum { HDR = 40 };   /* the header: magic, version, flags, checksum */

/* ---- an assembler for tests ----------------------------------------------- */

static const char *const operands[OP__COUNT] = {
#define OP_OPS(name, ops, pops, pushes, meaning) ops,
  HITL_OPCODES(OP_OPS)
#undef OP_OPS
};

enum { MAX_LABELS = 16, MAX_FIX = 64 };

typedef struct Asm {
  uint8_t code[4096];
  uint32_t len;
  int32_t label[MAX_LABELS];
  struct { uint32_t at, end; int label; } fix[MAX_FIX];
  int nfix;
} Asm;

static inline void asm_init(Asm *a) {
  memset(a, 0, sizeof *a);
  for (int i = 0; i < MAX_LABELS; i++) a->label[i] = -1;
}

static inline void put(Asm *a, uint64_t v, int n) {
  assert_true(a->len + (uint32_t)n <= sizeof a->code);
  for (int i = 0; i < n; i++) a->code[a->len++] = (uint8_t)(v >> (8 * i));
}

/* emit op with its operands; a 'j' operand is a label number */
static inline void emit(Asm *a, Opcode op, ...) {
  va_list ap;
  va_start(ap, op);
  put(a, op, 1);
  int jl = -1;
  uint32_t jat = 0;
  for (const char *p = operands[op]; *p; p++) {
    int v = va_arg(ap, int);
    switch (*p) {
    case 'b': case 's': put(a, (uint64_t)v, 1); break;
    case 'h': put(a, (uint64_t)v, 2); break;
    case 'j': jl = v; jat = a->len; put(a, 0, 4); break;
    }
  }
  va_end(ap);
  if (jl >= 0) {
    assert_true(a->nfix < MAX_FIX);
    a->fix[a->nfix].at = jat;
    a->fix[a->nfix].end = a->len;
    a->fix[a->nfix].label = jl;
    a->nfix++;
  }
}

static inline void label(Asm *a, int l) { a->label[l] = (int32_t)a->len; }

/* a raw jump offset, for jumps to places that are not labels */
static inline void emit_jump_raw(Asm *a, Opcode op, int32_t off) {
  put(a, op, 1);
  put(a, (uint32_t)off, 4);
}

static inline void asm_finish(Asm *a) {
  for (int i = 0; i < a->nfix; i++) {
    assert_true(a->label[a->fix[i].label] >= 0);
    int32_t off = a->label[a->fix[i].label] - (int32_t)a->fix[i].end;
    for (int k = 0; k < 4; k++) a->code[a->fix[i].at + (uint32_t)k] = (uint8_t)((uint32_t)off >> (8 * k));
  }
}

/* ---- building modules ------------------------------------------------------- */

static inline const char *S(Module *m, const char *s) {
  char *r = bc_strdup(m, s, strlen(s));
  assert_non_null(r);
  return r;
}

static inline void *A(Module *m, size_t n) {
  void *p = bc_alloc(m, n);
  assert_non_null(p);
  return p;
}

/* an empty module with its names */
static inline Module *new_module(const char *source, const char *playbook, const char *description) {
  Module *m = bc_new();
  assert_non_null(m);
  m->source_name = S(m, source);
  m->playbook = S(m, playbook);
  m->description = S(m, description);
  return m;
}

static inline void set_code(Module *m, BcFunc *f, Asm *a) {
  asm_finish(a);
  f->code = A(m, a->len);
  memcpy(f->code, a->code, a->len);
  f->code_len = a->len;
}

static inline void set_func(Module *m, BcFunc *f, const char *name, uint16_t nparams, uint16_t nlocals,
                            uint16_t max_stack) {
  f->name = S(m, name);
  f->nparams = nparams;
  f->nlocals = nlocals;
  f->max_stack = max_stack;
  f->result_type = 0x7F;
  if (nparams) {
    f->param_types = A(m, nparams * sizeof *f->param_types);
    for (uint16_t p = 0; p < nparams; p++) f->param_types[p] = 1u << (p % 7);
  }
}

enum { TY_NIL_ = 1, TY_INT_ = 4, TY_FLOAT_ = 8, TY_STRING_ = 16, TY_MAP_ = 64, TY_ANY_ = 0x7F };

/* The sample: every section filled, code that exercises every kind of edge. */
static inline Module *sample(void) {
  Module *m = new_module("tests/sample.hitl", "refund", "Refund a customer \xe2\x80\x94 \"quoted\"");
  for (int i = 0; i < 32; i++) m->source_hash[i] = (uint8_t)(i * 7 + 1);

  m->nconsts = 6;
  m->consts = A(m, m->nconsts * sizeof *m->consts);
  m->consts[0] = (BcConst){.kind = K_INT, .i = -1234567890123LL};
  m->consts[1] = (BcConst){.kind = K_FLOAT, .f = 0.1};
  m->consts[2] = (BcConst){.kind = K_STR, .s = S(m, "customer"), .len = 8};
  m->consts[3] = (BcConst){.kind = K_STR, .s = bc_strdup(m, "a\0b\n\x01\xff", 6), .len = 6};
  m->consts[4] = (BcConst){.kind = K_STR, .s = S(m, ""), .len = 0};
  m->consts[5] = (BcConst){.kind = K_FLOAT, .f = -2.5e300};

  m->nglobals = 2;
  m->globals = A(m, m->nglobals * sizeof *m->globals);
  m->globals[0] = (BcGlobal){.name = S(m, "amount"), .kind = G_INPUT, .type = TY_FLOAT_, .deflt = NULL};
  m->globals[1] = (BcGlobal){.name = S(m, "limit"), .kind = G_PARAM, .type = TY_INT_, .deflt = S(m, "100")};

  m->nactions = 2;
  m->actions = A(m, m->nactions * sizeof *m->actions);
  BcAction *a = &m->actions[0];
  a->name = S(m, "issue_refund");
  a->nparams = 2;
  a->params = A(m, 2 * sizeof *a->params);
  a->params[0] = (BcParam){S(m, "order_id"), TY_STRING_};
  a->params[1] = (BcParam){S(m, "amount"), TY_INT_ | TY_FLOAT_};
  a->result_type = TY_MAP_;
  a->irreversible = true;
  a->blast_fn = 3;
  a->compliance = S(m, "payments");
  a->editable = 2;
  a->undo = 1;
  a->lib = S(m, "libpay.so");
  a->symbol = S(m, "pay_refund");
  a->line = 12;
  a = &m->actions[1];
  a->name = S(m, "cancel");
  a->nparams = 1;
  a->params = A(m, sizeof *a->params);
  a->params[0] = (BcParam){S(m, "order_id"), TY_STRING_};
  a->result_type = TY_ANY_;
  a->blast_fn = -1;
  a->undo = -1;
  a->line = 20;

  m->ncalls = 2;
  m->calls = A(m, m->ncalls * sizeof *m->calls);
  m->calls[0] = (BcCallSite){.action = 0, .nargs = 2, .has_confidence = true, .has_because = true,
                             .in_approve = false, .in_review = true, .line = 40, .col = 3};
  m->calls[1] = (BcCallSite){.action = 1, .nargs = 1, .in_approve = true, .line = 41, .col = 5};

  m->has_rules = true;
  m->nrules = 2;
  m->rules = A(m, m->nrules * sizeof *m->rules);
  m->rules[0] = (BcRule){.cond_fn = 2,
                         .route = {.kind = BR_APPROVE, .by = S(m, "finance"), .quorum = 2,
                                   .timeout = 14400, .timeout_verdict = 1,
                                   .timeout_reason = S(m, "no answer"), .within = -1},
                         .line = 30,
                         .text = S(m, "when confidence < threshold -> approve by \"finance\"")};
  m->rules[1] = (BcRule){.cond_fn = -1,
                         .route = {.kind = BR_DENY, .timeout = -1, .within = 86400,
                                   .message = S(m, "no")},
                         .line = 31, .text = S(m, "otherwise -> deny \"no\"")};

  m->nthresholds = 2;
  m->thresholds = A(m, m->nthresholds * sizeof *m->thresholds);
  m->thresholds[0] = (BcThreshold){0, 0.9};
  m->thresholds[1] = (BcThreshold){-1, 0.8};

  m->ncheckpoints = 1;
  m->checkpoints = A(m, sizeof *m->checkpoints);
  BcCheckpoint *c = &m->checkpoints[0];
  c->line = 50;
  c->nshow = 2;
  c->show_labels = A(m, 2 * sizeof *c->show_labels);
  c->show_labels[0] = S(m, "amount");
  c->show_labels[1] = S(m, "total");
  c->nedits = 2;
  c->edits = A(m, 2 * sizeof *c->edits);
  c->edits[0] = (BcEditTarget){S(m, "amount"), true, 0};
  c->edits[1] = (BcEditTarget){S(m, "total"), false, 1};
  c->by = S(m, "ops");
  c->quorum = 1;
  c->timeout = 3600;
  c->timeout_verdict = 0;
  c->timeout_reason = NULL;
  c->raise_on_reject = true;

  m->nfuncs = 5;
  m->funcs = A(m, m->nfuncs * sizeof *m->funcs);
  Asm as;

  /* fn 0: the body */
  BcFunc *f = &m->funcs[0];
  set_func(m, f, "<body>", 0, 8, 5);
  asm_init(&as);
  emit(&as, OP_CONST, 0);              /* 1 */
  emit(&as, OP_SET_LOCAL, 0);          /* 0 */
  emit(&as, OP_GET_GLOBAL, 0);
  emit(&as, OP_SET_LOCAL, 1);
  emit(&as, OP_SMALLINT, -3);
  emit(&as, OP_SMALLINT, 4);
  emit(&as, OP_LIST, 2);               /* a list of 2 */
  emit(&as, OP_SET_LOCAL, 2);
  emit(&as, OP_SMALLINT, 0);
  emit(&as, OP_SET_LOCAL, 3);
  label(&as, 0);                       /* for x in list */
  emit(&as, OP_FOR_LIST, 2, 4, 1);
  emit(&as, OP_GET_LOCAL, 4);
  emit(&as, OP_GET_LOCAL, 0);
  emit(&as, OP_JUMP_IF_NOT_LT, 2);
  emit(&as, OP_INC_LOCAL, 0, 1);
  label(&as, 2);
  emit(&as, OP_JUMP, 0);
  label(&as, 1);
  emit(&as, OP_TRY, 3);                /* try */
  emit(&as, OP_CONST, 2);
  emit(&as, OP_STEP_BEGIN);
  emit(&as, OP_CONST, 2);
  emit(&as, OP_GET_LOCAL, 1);
  emit(&as, OP_CONST, 1);
  emit(&as, OP_CONST, 4);
  emit(&as, OP_CALL_ACTION, 0);        /* 4 -> 1 */
  emit(&as, OP_POP);
  emit(&as, OP_CONST, 2);
  emit(&as, OP_CALL_ACTION, 1);
  emit(&as, OP_POP);
  emit(&as, OP_STEP_END);
  emit(&as, OP_END_TRY);
  emit(&as, OP_JUMP, 4);
  label(&as, 3);                       /* handler: the error map */
  emit(&as, OP_CONST, 2);
  emit(&as, OP_FIELD, 2);
  emit(&as, OP_LOG);
  emit(&as, OP_POP);
  label(&as, 4);
  emit(&as, OP_GET_LOCAL, 0);
  emit(&as, OP_CALL, 1, 1);
  emit(&as, OP_CHECK_TYPE, TY_INT_ | TY_FLOAT_, 2);
  emit(&as, OP_SET_LOCAL, 1);
  emit(&as, OP_CONST, 3);              /* checkpoint: title, 2 show values */
  emit(&as, OP_GET_LOCAL, 0);
  emit(&as, OP_GET_LOCAL, 1);
  emit(&as, OP_CHECKPOINT, 0);
  emit(&as, OP_JUMP_IF_FALSE, 5);
  emit(&as, OP_CONST, 2);
  emit(&as, OP_GET_LOCAL, 1);
  emit(&as, OP_MAP, 1);
  emit(&as, OP_DUP);
  emit(&as, OP_SET_LOCAL, 5);
  emit(&as, OP_CALL, 4, 1);
  emit(&as, OP_POP);
  emit(&as, OP_GET_LOCAL, 5);
  emit(&as, OP_CONST, 2);
  emit(&as, OP_SMALLINT, 1);
  emit(&as, OP_SET_FIELD, 2);          /* pops map and value: the map stays below */
  emit(&as, OP_POP);
  label(&as, 5);
  emit(&as, OP_GET_LOCAL, 0);
  emit(&as, OP_CALL_BUILTIN, 26, 1);   /* round */
  emit(&as, OP_CONST, 4);
  emit(&as, OP_INTERP, 2);
  emit(&as, OP_NIL);
  emit(&as, OP_TRUE);
  emit(&as, OP_FALSE);
  emit(&as, OP_JUMP_IF_TRUE, 6);
  emit(&as, OP_NOP);
  label(&as, 6);
  emit(&as, OP_POP);
  emit(&as, OP_RETURN);
  set_code(m, f, &as);
  f->nlines = 3;
  f->lines = A(m, 3 * sizeof *f->lines);
  f->lines[0] = (BcLine){0, 5};
  f->lines[1] = (BcLine){10, 6};
  f->lines[2] = (BcLine){10, 8};

  /* fn 1: double(x) */
  f = &m->funcs[1];
  set_func(m, f, "double", 1, 1, 2);
  asm_init(&as);
  emit(&as, OP_GET_LOCAL, 0);
  emit(&as, OP_GET_LOCAL, 0);
  emit(&as, OP_ADD);
  emit(&as, OP_RETURN);
  set_code(m, f, &as);
  f->nlines = 1;
  f->lines = A(m, sizeof *f->lines);
  f->lines[0] = (BcLine){0, 60};

  /* fn 2: a rule's condition, confidence < threshold */
  f = &m->funcs[2];
  set_func(m, f, "rule@30", BC_RULE_NPARAMS, BC_RULE_NPARAMS, 2);
  asm_init(&as);
  emit(&as, OP_GET_LOCAL, 5);
  emit(&as, OP_GET_LOCAL, 6);
  emit(&as, OP_JUMP_IF_NOT_LT, 0);
  emit(&as, OP_TRUE);
  emit(&as, OP_RETURN);
  label(&as, 0);
  emit(&as, OP_FALSE);
  emit(&as, OP_RETURN);
  set_code(m, f, &as);

  /* fn 3: blast of issue_refund */
  f = &m->funcs[3];
  set_func(m, f, "blast@issue_refund", 2, 2, 1);
  asm_init(&as);
  emit(&as, OP_SMALLINT, 1);
  emit(&as, OP_RETURN);
  set_code(m, f, &as);

  /* fn 4: keys and values of a map, with a failure inside */
  f = &m->funcs[4];
  set_func(m, f, "walk", 1, 5, 3);
  asm_init(&as);
  emit(&as, OP_SMALLINT, 0);
  emit(&as, OP_SET_LOCAL, 1);
  label(&as, 0);
  emit(&as, OP_FOR_MAP, 0, 2, 3, 1);
  emit(&as, OP_GET_LOCAL, 3);
  emit(&as, OP_TEST_BOOL);
  emit(&as, OP_NOT);
  emit(&as, OP_JUMP_IF_FALSE, 0);
  emit(&as, OP_GET_LOCAL, 2);
  emit(&as, OP_FAIL);
  label(&as, 1);
  emit(&as, OP_SMALLINT, 0);
  emit(&as, OP_SET_LOCAL, 1);
  label(&as, 2);
  emit(&as, OP_FOR_MAP, 0, 4, 0xFFFF, 3);
  emit(&as, OP_JUMP, 2);
  label(&as, 3);
  emit(&as, OP_NIL);
  emit(&as, OP_RETURN);
  set_code(m, f, &as);
  return m;
}

/* ---- expectations ----------------------------------------------------------------- */

static inline void write_module(const Module *m, uint8_t **out, size_t *len) {
  assert_true(bc_write(m, out, len));
  assert_non_null(*out);
}

/* m's bytes (m is freed) */
static inline uint8_t *bytes_of(Module *m, size_t *len) {
  uint8_t *b;
  write_module(m, &b, len);
  bc_free(m);
  return b;
}

static inline void expect_substr(const char *got, const char *want) {
  if (!strstr(got, want)) fail_msg("message \"%s\" lacks \"%s\"", got, want);
}

#endif
