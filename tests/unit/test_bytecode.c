/* tests/unit/test_bytecode.c — the .hbc format, the loader and the verifier.
 *
 * A module built by hand (every constant kind, jumps, a loop over a list and
 * one over a map, a try, calls of every kind, actions, rules, thresholds, a
 * checkpoint) goes through bc_write and bc_read and must come back field for
 * field.  Then the loader is attacked: the bytes cut at every offset, every
 * byte flipped (with and without a fresh checksum), every count made huge,
 * random damage with a fresh checksum, and every allocation failing in turn.
 * Last, crafted code that the verifier must refuse, each with the words its
 * message must contain. */
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
#include <sodium.h>

#include "vm/bytecode.h"
#include "vm/mem.h"
#include "vm/opcodes.h"
#include "vm/sha256.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
enum { HDR = 40 };

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

static void asm_init(Asm *a) {
  memset(a, 0, sizeof *a);
  for (int i = 0; i < MAX_LABELS; i++) a->label[i] = -1;
}

static void put(Asm *a, uint64_t v, int n) {
  assert_true(a->len + (uint32_t)n <= sizeof a->code);
  for (int i = 0; i < n; i++) a->code[a->len++] = (uint8_t)(v >> (8 * i));
}

/* emit op with its operands; a 'j' operand is a label number */
static void emit(Asm *a, Opcode op, ...) {
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

static void label(Asm *a, int l) { a->label[l] = (int32_t)a->len; }

/* a raw jump offset, for jumps to places that are not labels */
static void emit_jump_raw(Asm *a, Opcode op, int32_t off) {
  put(a, op, 1);
  put(a, (uint32_t)off, 4);
}

static void asm_finish(Asm *a) {
  for (int i = 0; i < a->nfix; i++) {
    assert_true(a->label[a->fix[i].label] >= 0);
    int32_t off = a->label[a->fix[i].label] - (int32_t)a->fix[i].end;
    for (int k = 0; k < 4; k++) a->code[a->fix[i].at + (uint32_t)k] = (uint8_t)((uint32_t)off >> (8 * k));
  }
}

/* ---- building modules ------------------------------------------------------- */

static const char *S(Module *m, const char *s) {
  char *r = bc_strdup(m, s, strlen(s));
  assert_non_null(r);
  return r;
}

static void *A(Module *m, size_t n) {
  void *p = bc_alloc(m, n);
  assert_non_null(p);
  return p;
}

static void set_code(Module *m, BcFunc *f, Asm *a) {
  asm_finish(a);
  f->code = A(m, a->len);
  memcpy(f->code, a->code, a->len);
  f->code_len = a->len;
}

static void set_func(Module *m, BcFunc *f, const char *name, uint16_t nparams, uint16_t nlocals,
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
static Module *sample(void) {
  Module *m = bc_new();
  assert_non_null(m);
  m->source_name = S(m, "tests/sample.hitl");
  for (int i = 0; i < 32; i++) m->source_hash[i] = (uint8_t)(i * 7 + 1);
  m->playbook = S(m, "refund");
  m->description = S(m, "Refund a customer \xe2\x80\x94 \"quoted\"");

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

/* ---- comparing ----------------------------------------------------------------- */

static void same_str(const char *a, const char *b) {
  if (!a || !b) {
    assert_ptr_equal(a, b);
    return;
  }
  assert_string_equal(a, b);
}

static void same_route(const BcRoute *a, const BcRoute *b) {
  assert_int_equal(a->kind, b->kind);
  same_str(a->by, b->by);
  assert_int_equal(a->quorum, b->quorum);
  assert_int_equal(a->timeout, b->timeout);
  assert_int_equal(a->timeout_verdict, b->timeout_verdict);
  same_str(a->timeout_reason, b->timeout_reason);
  assert_int_equal(a->within, b->within);
  same_str(a->message, b->message);
}

static void same_module(const Module *a, const Module *b) {
  same_str(a->source_name, b->source_name);
  assert_memory_equal(a->source_hash, b->source_hash, 32);
  same_str(a->playbook, b->playbook);
  same_str(a->description, b->description);

  assert_int_equal(a->nconsts, b->nconsts);
  for (uint32_t i = 0; i < a->nconsts; i++) {
    const BcConst *x = &a->consts[i], *y = &b->consts[i];
    assert_int_equal(x->kind, y->kind);
    if (x->kind == K_INT) assert_int_equal(x->i, y->i);
    if (x->kind == K_FLOAT) assert_memory_equal(&x->f, &y->f, sizeof x->f);
    if (x->kind == K_STR) {
      assert_int_equal(x->len, y->len);
      assert_memory_equal(x->s, y->s, x->len + 1);   /* the NUL too */
    }
  }

  assert_int_equal(a->nfuncs, b->nfuncs);
  for (uint32_t i = 0; i < a->nfuncs; i++) {
    const BcFunc *x = &a->funcs[i], *y = &b->funcs[i];
    same_str(x->name, y->name);
    assert_int_equal(x->nparams, y->nparams);
    assert_int_equal(x->nlocals, y->nlocals);
    assert_int_equal(x->max_stack, y->max_stack);
    assert_int_equal(x->result_type, y->result_type);
    for (uint32_t p = 0; p < x->nparams; p++) assert_int_equal(x->param_types[p], y->param_types[p]);
    assert_int_equal(x->code_len, y->code_len);
    assert_memory_equal(x->code, y->code, x->code_len);
    assert_int_equal(x->nlines, y->nlines);
    for (uint32_t l = 0; l < x->nlines; l++) {
      assert_int_equal(x->lines[l].pc, y->lines[l].pc);
      assert_int_equal(x->lines[l].line, y->lines[l].line);
    }
  }

  assert_int_equal(a->nglobals, b->nglobals);
  for (uint32_t i = 0; i < a->nglobals; i++) {
    same_str(a->globals[i].name, b->globals[i].name);
    assert_int_equal(a->globals[i].kind, b->globals[i].kind);
    assert_int_equal(a->globals[i].type, b->globals[i].type);
    same_str(a->globals[i].deflt, b->globals[i].deflt);
  }

  assert_int_equal(a->nactions, b->nactions);
  for (uint32_t i = 0; i < a->nactions; i++) {
    const BcAction *x = &a->actions[i], *y = &b->actions[i];
    same_str(x->name, y->name);
    assert_int_equal(x->nparams, y->nparams);
    for (uint32_t p = 0; p < x->nparams; p++) {
      same_str(x->params[p].name, y->params[p].name);
      assert_int_equal(x->params[p].type, y->params[p].type);
    }
    assert_int_equal(x->result_type, y->result_type);
    assert_int_equal(x->irreversible, y->irreversible);
    assert_int_equal(x->blast_fn, y->blast_fn);
    same_str(x->compliance, y->compliance);
    assert_int_equal(x->editable, y->editable);
    assert_int_equal(x->undo, y->undo);
    same_str(x->lib, y->lib);
    same_str(x->symbol, y->symbol);
    assert_int_equal(x->line, y->line);
  }

  assert_int_equal(a->ncalls, b->ncalls);
  for (uint32_t i = 0; i < a->ncalls; i++) {
    const BcCallSite *x = &a->calls[i], *y = &b->calls[i];
    assert_int_equal(x->action, y->action);
    assert_int_equal(x->nargs, y->nargs);
    assert_int_equal(x->has_confidence, y->has_confidence);
    assert_int_equal(x->has_because, y->has_because);
    assert_int_equal(x->in_approve, y->in_approve);
    assert_int_equal(x->in_review, y->in_review);
    assert_int_equal(x->line, y->line);
    assert_int_equal(x->col, y->col);
  }

  assert_int_equal(a->has_rules, b->has_rules);
  assert_int_equal(a->nrules, b->nrules);
  for (uint32_t i = 0; i < a->nrules; i++) {
    assert_int_equal(a->rules[i].cond_fn, b->rules[i].cond_fn);
    same_route(&a->rules[i].route, &b->rules[i].route);
    assert_int_equal(a->rules[i].line, b->rules[i].line);
    same_str(a->rules[i].text, b->rules[i].text);
  }

  assert_int_equal(a->nthresholds, b->nthresholds);
  for (uint32_t i = 0; i < a->nthresholds; i++) {
    assert_int_equal(a->thresholds[i].action, b->thresholds[i].action);
    assert_memory_equal(&a->thresholds[i].value, &b->thresholds[i].value, sizeof(double));
  }

  assert_int_equal(a->ncheckpoints, b->ncheckpoints);
  for (uint32_t i = 0; i < a->ncheckpoints; i++) {
    const BcCheckpoint *x = &a->checkpoints[i], *y = &b->checkpoints[i];
    assert_int_equal(x->line, y->line);
    assert_int_equal(x->nshow, y->nshow);
    for (uint32_t s = 0; s < x->nshow; s++) same_str(x->show_labels[s], y->show_labels[s]);
    assert_int_equal(x->nedits, y->nedits);
    for (uint32_t e = 0; e < x->nedits; e++) {
      same_str(x->edits[e].name, y->edits[e].name);
      assert_int_equal(x->edits[e].global, y->edits[e].global);
      assert_int_equal(x->edits[e].index, y->edits[e].index);
    }
    same_str(x->by, y->by);
    assert_int_equal(x->quorum, y->quorum);
    assert_int_equal(x->timeout, y->timeout);
    assert_int_equal(x->timeout_verdict, y->timeout_verdict);
    same_str(x->timeout_reason, y->timeout_reason);
    assert_int_equal(x->raise_on_reject, y->raise_on_reject);
  }
}

/* ---- helpers --------------------------------------------------------------------- */

static void write_module(const Module *m, uint8_t **out, size_t *len) {
  assert_true(bc_write(m, out, len));
  assert_non_null(*out);
}

/* a fresh checksum over b[HDR..len) */
static void resign(uint8_t *b, size_t len) {
  if (len >= HDR) crypto_hash_sha256(b + 8, b + HDR, len - HDR);
}

static uint8_t *dup_bytes(const uint8_t *b, size_t len) {
  uint8_t *c = malloc(len ? len : 1);
  assert_non_null(c);
  if (len) memcpy(c, b, len);
  return c;
}

static char *disasm_text(const Module *m) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  bc_disasm(m, f);
  assert_int_equal(fclose(f), 0);
  return buf;
}

/* A module bc_read accepted must verify and list without trouble. */
static void accepted_is_sound(Module *m) {
  char err[256];
  assert_true(bc_verify(m, err, sizeof err));
  FILE *f = fopen("/dev/null", "w");
  assert_non_null(f);
  bc_disasm(m, f);
  fclose(f);
  bc_free(m);
}

/* bc_read must refuse b; returns its message in a static buffer */
static const char *refused(const uint8_t *b, size_t len) {
  static char err[512];
  err[0] = '\0';
  Module *m = bc_read(b, len, err, sizeof err);
  if (m) {
    bc_free(m);
    fail_msg("bc_read accepted bytes it should refuse");
  }
  assert_true(err[0] != '\0');
  return err;
}

static void expect_substr(const char *got, const char *want) {
  if (!strstr(got, want)) fail_msg("message \"%s\" lacks \"%s\"", got, want);
}

/* ---- round trip ------------------------------------------------------------------ */

static void test_round_trip(void **state) {
  (void)state;
  Module *m = sample();
  char err[256];
  if (!bc_verify(m, err, sizeof err)) fail_msg("sample does not verify: %s", err);

  uint8_t *b;
  size_t len;
  write_module(m, &b, &len);
  assert_memory_equal(b, BC_MAGIC, 4);
  assert_int_equal(b[4] | b[5] << 8, BC_VERSION);
  assert_int_equal(b[6] | b[7] << 8, 0);

  Module *r = bc_read(b, len, err, sizeof err);
  if (!r) fail_msg("bc_read refused the sample: %s", err);
  same_module(m, r);
  assert_true(bc_verify(r, err, sizeof err));

  /* writing is deterministic, and a read module writes the same bytes */
  uint8_t *b2;
  size_t len2;
  write_module(r, &b2, &len2);
  assert_int_equal(len, len2);
  assert_memory_equal(b, b2, len);

  /* the listing is the same for both, and deterministic */
  char *d1 = disasm_text(m), *d2 = disasm_text(r), *d3 = disasm_text(r);
  if (getenv("BC_DUMP")) fputs(d1, stderr);
  assert_string_equal(d1, d2);
  assert_string_equal(d2, d3);
  expect_substr(d1, "playbook     refund \"Refund a customer \xe2\x80\x94 \\\"quoted\\\"\"");
  expect_substr(d1, "source hash  01080f161d");
  expect_substr(d1, "int    -1234567890123");
  expect_substr(d1, "float  0.1\n");
  expect_substr(d1, "str    \"a\\x00b\\n\\x01\\xff\"");
  expect_substr(d1, "float  -2.5e+300");
  expect_substr(d1, "issue_refund(order_id: string, amount: int|float) -> map  line 12");
  expect_substr(d1, "irreversible  blast fn 3 blast@issue_refund  compliance \"payments\"  edit amount  undo 1 cancel  from \"libpay.so\" symbol \"pay_refund\"");
  expect_substr(d1, "fn 2 rule@30 -> approve  by \"finance\"  quorum 2  timeout 14400s -> reject \"no answer\"");
  expect_substr(d1, "otherwise -> deny  within 86400s  message \"no\"");
  expect_substr(d1, "edit amount (global 0), total (local 1)");
  expect_substr(d1, "fn 0 <body>  params 0  locals 8  max_stack 5  -> any");
  expect_substr(d1, "CONST           0              ; -1234567890123\n");
  expect_substr(d1, "GET_GLOBAL      0              ; amount\n");
  expect_substr(d1, "SET_LOCAL       1              ; total\n");
  expect_substr(d1, "CALL_ACTION     0              ; issue_refund/2 with confidence because\n");
  expect_substr(d1, "CALL_BUILTIN    26 1           ; round\n");
  expect_substr(d1, "CALL            1 1            ; double\n");
  expect_substr(d1, "CHECK_TYPE      12 2           ; int|float for \"customer\"\n");
  expect_substr(d1, "FOR_MAP         0 4 65535 +5   ; local 4 done ->");
  expect_substr(d1, "TRY             ");
  expect_substr(d1, "; handler at ");
  expect_substr(d1, "ADD\n");
  free(d1);
  free(d2);
  free(d3);

  mem_free(b, len);
  mem_free(b2, len2);
  bc_free(r);
  bc_free(m);
}

/* the pool: zeroed, aligned, strings copied with a NUL */
static void test_pool(void **state) {
  (void)state;
  Module *m = bc_new();
  assert_non_null(m);
  for (size_t n = 0; n < 3000; n += 7) {
    unsigned char *p = bc_alloc(m, n);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
    for (size_t i = 0; i < n; i++) assert_int_equal(p[i], 0);
    memset(p, 0xAB, n);
  }
  unsigned char *big = bc_alloc(m, 1 << 20);
  assert_non_null(big);
  assert_int_equal(big[0] | big[(1 << 20) - 1], 0);
  char *s = bc_strdup(m, "ab\0cd", 5);
  assert_memory_equal(s, "ab\0cd", 6);
  assert_string_equal(bc_strdup(m, "xyz", 0), "");
  assert_null(bc_alloc(m, SIZE_MAX));
  assert_null(bc_alloc(m, SIZE_MAX - 8));
  bc_free(m);
  bc_free(NULL);
}

/* ---- the loader under attack ----------------------------------------------------- */

static void test_truncated_everywhere(void **state) {
  (void)state;
  Module *m = sample();
  uint8_t *b;
  size_t len;
  write_module(m, &b, &len);
  bc_free(m);
  for (size_t cut = 0; cut < len; cut++) {
    refused(b, cut);
    /* with a fresh checksum, so that the body's own bounds checks are hit */
    uint8_t *c = dup_bytes(b, cut);
    resign(c, cut);
    const char *e = refused(c, cut);
    if (cut > HDR && !strstr(e, "truncated") && !strstr(e, "needs at least"))
      fail_msg("cut at %zu: unexpected message \"%s\"", cut, e);
    free(c);
  }
  /* and one byte too many */
  uint8_t *c = malloc(len + 1);
  assert_non_null(c);
  memcpy(c, b, len);
  c[len] = 0;
  resign(c, len + 1);
  expect_substr(refused(c, len + 1), "unexpected bytes after the last section");
  free(c);
  mem_free(b, len);
}

static void test_flip_every_byte(void **state) {
  (void)state;
  Module *m = sample();
  uint8_t *b;
  size_t len;
  write_module(m, &b, &len);
  bc_free(m);
  int accepted = 0;
  for (size_t i = 0; i < len; i++) {
    static const uint8_t masks[] = {0xFF, 0x01, 0x80};
    for (size_t k = 0; k < N_OF(masks); k++) {
      b[i] ^= masks[k];
      const char *e = refused(b, len);
      if (i < 4) expect_substr(e, "magic");
      else if (i < 6) expect_substr(e, "version");
      else if (i < 8) expect_substr(e, "flags");
      else expect_substr(e, "checksum");

      /* the same damage with a valid checksum: refused, or a sound module */
      uint8_t *c = dup_bytes(b, len);
      resign(c, len);
      char err[512];
      Module *r = bc_read(c, len, err, sizeof err);
      if (r) {
        accepted++;
        accepted_is_sound(r);
      } else {
        assert_true(err[0] != '\0');
      }
      free(c);
      b[i] ^= masks[k];
    }
  }
  /* some flips (a line number, a constant's value) leave a valid module */
  assert_true(accepted > 0);
  mem_free(b, len);
}

/* damage at random, several bytes at once, always re-signed */
static void test_random_damage(void **state) {
  (void)state;
  Module *m = sample();
  uint8_t *b;
  size_t len;
  write_module(m, &b, &len);
  bc_free(m);
  uint32_t seed = 12345;
  for (int round = 0; round < 20000; round++) {
    uint8_t *c = dup_bytes(b, len);
    size_t clen = len;
    seed = seed * 1103515245u + 12345u;
    int nflips = 1 + (int)((seed >> 16) % 4);
    for (int k = 0; k < nflips; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = HDR + (seed >> 8) % (len - HDR);
      seed = seed * 1103515245u + 12345u;
      uint8_t v = (uint8_t)(seed >> 16);
      if ((seed >> 28) & 1) v = (seed >> 29) & 1 ? 0xFF : 0;   /* counts: 0 and 0xFF.. */
      c[at] = v;
    }
    if (round % 5 == 0) clen = HDR + (seed >> 4) % (len - HDR);
    resign(c, clen);
    char err[512];
    Module *r = bc_read(c, clen, err, sizeof err);
    if (r) accepted_is_sound(r);
    else assert_true(err[0] != '\0');
    free(c);
  }
  mem_free(b, len);
}

/* A module with one of everything, so that every count has a known place. */
enum {
  MARK_ACTION = 0x5A5A0001u, MARK_CKPT = 0x5A5A0002u, MARK_CALL = 0x5A5A0003u,
  MARK_RULE = 0x5A5A0004u, MARK_LINE = 0x5A5A0005u,
};

static Module *one_of_each(void) {
  Module *m = bc_new();
  assert_non_null(m);
  m->source_name = S(m, "s");
  m->playbook = S(m, "p");
  m->description = S(m, "d");
  m->nconsts = 1;
  m->consts = A(m, sizeof *m->consts);
  m->consts[0] = (BcConst){.kind = K_STR, .s = S(m, "k"), .len = 1};
  m->nfuncs = 1;
  m->funcs = A(m, sizeof *m->funcs);
  set_func(m, &m->funcs[0], "<body>", 0, 1, 2);
  Asm as;
  asm_init(&as);
  emit(&as, OP_NIL);
  emit(&as, OP_RETURN);
  set_code(m, &m->funcs[0], &as);
  m->funcs[0].nlines = 1;
  m->funcs[0].lines = A(m, sizeof(BcLine));
  m->funcs[0].lines[0] = (BcLine){0, MARK_LINE};
  m->nglobals = 1;
  m->globals = A(m, sizeof *m->globals);
  m->globals[0] = (BcGlobal){.name = S(m, "g"), .kind = G_INPUT, .type = 4};
  m->nactions = 1;
  m->actions = A(m, sizeof *m->actions);
  m->actions[0] = (BcAction){.name = S(m, "act"), .line = MARK_ACTION, .nparams = 1,
                             .result_type = 0x7F, .blast_fn = -1, .undo = -1};
  m->actions[0].params = A(m, sizeof(BcParam));
  m->actions[0].params[0] = (BcParam){S(m, "x"), 4};
  m->ncalls = 1;
  m->calls = A(m, sizeof *m->calls);
  m->calls[0] = (BcCallSite){.action = 0, .nargs = 1, .line = MARK_CALL};
  m->has_rules = true;
  m->nrules = 1;
  m->rules = A(m, sizeof *m->rules);
  m->rules[0] = (BcRule){.cond_fn = -1, .route = {.timeout = -1, .within = -1}, .line = MARK_RULE,
                         .text = S(m, "otherwise -> auto")};
  m->nthresholds = 1;
  m->thresholds = A(m, sizeof *m->thresholds);
  m->thresholds[0] = (BcThreshold){-1, 0.5};
  m->ncheckpoints = 1;
  m->checkpoints = A(m, sizeof *m->checkpoints);
  BcCheckpoint *c = &m->checkpoints[0];
  c->line = MARK_CKPT;
  c->nshow = 1;
  c->show_labels = A(m, sizeof(char *));
  c->show_labels[0] = S(m, "l");
  c->nedits = 1;
  c->edits = A(m, sizeof *c->edits);
  c->edits[0] = (BcEditTarget){S(m, "g"), true, 0};
  c->timeout = -1;
  return m;
}

static size_t find_u32(const uint8_t *b, size_t len, uint32_t v) {
  for (size_t i = HDR; i + 4 <= len; i++)
    if ((b[i] | b[i + 1] << 8 | b[i + 2] << 16 | (uint32_t)b[i + 3] << 24) == v) return i;
  fail_msg("marker 0x%08x not found", v);
  return 0;
}

static void test_huge_counts(void **state) {
  (void)state;
  Module *m = one_of_each();
  char err[256];
  if (!bc_verify(m, err, sizeof err)) fail_msg("one_of_each does not verify: %s", err);
  uint8_t *b;
  size_t len;
  write_module(m, &b, &len);
  bc_free(m);
  Module *ok = bc_read(b, len, err, sizeof err);
  if (!ok) fail_msg("one_of_each does not load: %s", err);
  bc_free(ok);

  /* body: source "s", hash, playbook "p", description "d", then the counts */
  size_t consts = HDR + 5 + 32 + 5 + 5;
  size_t funcs = consts + 4 + 1 + 4 + 1;           /* one K_STR constant "k" */
  size_t code_len = funcs + 4 + (4 + 6) + 2 + 2 + 2 + 4;
  size_t nlines = code_len + 4 + 2;
  size_t line = find_u32(b, len, MARK_LINE);
  assert_int_equal(line, nlines + 4 + 4);
  size_t globals = line + 4;
  size_t actions = globals + 4 + (4 + 1) + 1 + 4 + 4;
  size_t aparams = find_u32(b, len, MARK_ACTION) + 4;
  assert_int_equal(aparams, actions + 4 + 4 + 3 + 4);
  size_t calls = find_u32(b, len, MARK_CALL) - 7 - 4;
  size_t rules = find_u32(b, len, MARK_RULE) - 34 - 4 - 4;   /* cond_fn, route */
  size_t thresholds = find_u32(b, len, MARK_RULE) + 4 + 4 + strlen("otherwise -> auto");
  size_t ckpts = thresholds + 4 + 12;
  size_t shows = find_u32(b, len, MARK_CKPT) + 4;
  size_t edits = shows + 4 + 4 + 1;
  assert_int_equal(ckpts + 4, shows - 4);

  struct { size_t at; const char *what; } where[] = {
    {consts, "constant count"}, {funcs, "function count"}, {code_len, "code length"},
    {nlines, "line table length"}, {globals, "global count"}, {actions, "action count"},
    {aparams, "action parameter count"}, {calls, "call site count"}, {rules, "rule count"},
    {thresholds, "threshold count"}, {ckpts, "checkpoint count"}, {shows, "checkpoint show count"},
    {edits, "checkpoint edit count"},
  };
  for (size_t i = 0; i < N_OF(where); i++) {
    static const uint32_t huge[] = {0xFFFFFFFFu, 0x7FFFFFFFu, 0x10000u, 0x1000u};
    for (size_t h = 0; h < N_OF(huge); h++) {
      uint8_t *c = dup_bytes(b, len);
      for (int k = 0; k < 4; k++) c[where[i].at + (size_t)k] = (uint8_t)(huge[h] >> (8 * k));
      resign(c, len);
      const char *e = refused(c, len);
      expect_substr(e, where[i].what);
      free(c);
    }
  }
  mem_free(b, len);
}

/* Other refusals of the form: bad booleans, absent strings, bad UTF-8, NUL
 * bytes in names, unknown constant kinds. */
static void test_bad_form(void **state) {
  (void)state;
  Module *m = one_of_each();
  uint8_t *b;
  size_t len;
  write_module(m, &b, &len);
  bc_free(m);
  size_t pb = HDR + 5 + 32;          /* the playbook name: u32 1, 'p' */
  uint8_t *c = dup_bytes(b, len);
  c[pb + 4] = 0xC0;
  resign(c, len);
  expect_substr(refused(c, len), "playbook name at offset 77 is not valid UTF-8");
  c[pb + 4] = 0;
  resign(c, len);
  expect_substr(refused(c, len), "playbook name at offset 77 contains a NUL byte");
  c[pb + 4] = 'p';
  memset(c + pb, 0xFF, 4);
  resign(c, len);
  expect_substr(refused(c, len), "playbook name at offset 77 is absent");
  free(c);

  c = dup_bytes(b, len);
  c[pb + 5 + 5 + 4] = 9;             /* the constant's kind */
  resign(c, len);
  expect_substr(refused(c, len), "unknown kind 9");
  free(c);

  c = dup_bytes(b, len);
  size_t ckpt_raise = len - 1 - 4;   /* the checkpoints' last byte, raise_on_reject, before the review count */
  c[ckpt_raise] = 2;
  resign(c, len);
  expect_substr(refused(c, len), "raise_on_reject flag at offset");
  free(c);
  mem_free(b, len);
}

/* every allocation of bc_read (and bc_write, bc_verify) failing in turn */
static void test_out_of_memory(void **state) {
  (void)state;
  Module *m = sample();
  uint8_t *b;
  size_t len;
  write_module(m, &b, &len);

  for (long n = 1;; n++) {
    char err[256] = "";
    mem_fail_after(n);
    Module *r = bc_read(b, len, err, sizeof err);
    mem_fail_after(0);
    if (r) {
      same_module(m, r);
      bc_free(r);
      assert_true(n > 3);
      break;
    }
    expect_substr(err, "out of memory");
    assert_true(n < 100000);
  }
  for (long n = 1;; n++) {
    uint8_t *o = NULL;
    size_t olen = 0;
    mem_fail_after(n);
    bool ok = bc_write(m, &o, &olen);
    mem_fail_after(0);
    if (ok) {
      assert_int_equal(olen, len);
      mem_free(o, olen);
      break;
    }
    assert_null(o);
  }
  for (long n = 1;; n++) {
    char err[256] = "";
    mem_fail_after(n);
    bool ok = bc_verify(m, err, sizeof err);
    mem_fail_after(0);
    if (ok) break;
    expect_substr(err, "out of memory");
  }
  for (long n = 1;; n++) {
    mem_fail_after(n);
    Module *e = bc_new();
    void *p = e ? bc_alloc(e, 100000) : NULL;
    char *s = e ? bc_strdup(e, "x", 1) : NULL;
    mem_fail_after(0);
    bc_free(e);
    if (p && s) break;
  }
  mem_free(b, len);
  bc_free(m);
}

/* ---- the verifier on crafted code ---------------------------------------------- */

/* A small module around the code in a: fn 0 is that code; fn 1 takes one
 * parameter; constants int 1 and str "k"; one global; call site 0 calls an
 * action of one parameter; checkpoint 0 shows one value and edits local 1. */
static Module *crafted(Asm *a, uint16_t nlocals, uint16_t max_stack) {
  Module *m = bc_new();
  assert_non_null(m);
  m->source_name = S(m, "crafted.hitl");
  m->playbook = S(m, "crafted");
  m->description = S(m, "");
  m->nconsts = 2;
  m->consts = A(m, 2 * sizeof *m->consts);
  m->consts[0] = (BcConst){.kind = K_INT, .i = 1};
  m->consts[1] = (BcConst){.kind = K_STR, .s = S(m, "k"), .len = 1};
  m->nglobals = 1;
  m->globals = A(m, sizeof *m->globals);
  m->globals[0] = (BcGlobal){.name = S(m, "g"), .kind = G_INPUT, .type = 0x7F};
  m->nactions = 1;
  m->actions = A(m, sizeof *m->actions);
  m->actions[0] = (BcAction){.name = S(m, "act"), .nparams = 1, .result_type = 0x7F,
                             .blast_fn = -1, .undo = -1};
  m->actions[0].params = A(m, sizeof(BcParam));
  m->actions[0].params[0] = (BcParam){S(m, "x"), 0x7F};
  m->ncalls = 1;
  m->calls = A(m, sizeof *m->calls);
  m->calls[0] = (BcCallSite){.action = 0, .nargs = 1, .has_because = true};
  m->ncheckpoints = 1;
  m->checkpoints = A(m, sizeof *m->checkpoints);
  m->checkpoints[0] = (BcCheckpoint){.nshow = 1, .timeout = -1};
  m->checkpoints[0].show_labels = A(m, sizeof(char *));
  m->checkpoints[0].show_labels[0] = S(m, "v");
  m->checkpoints[0].nedits = 1;
  m->checkpoints[0].edits = A(m, sizeof(BcEditTarget));
  m->checkpoints[0].edits[0] = (BcEditTarget){S(m, "v"), false, 1};
  m->nfuncs = 2;
  m->funcs = A(m, 2 * sizeof *m->funcs);
  set_func(m, &m->funcs[0], "<body>", 0, nlocals, max_stack);
  set_code(m, &m->funcs[0], a);
  set_func(m, &m->funcs[1], "one", 1, 1, 1);
  Asm b;
  asm_init(&b);
  emit(&b, OP_GET_LOCAL, 0);
  emit(&b, OP_RETURN);
  set_code(m, &m->funcs[1], &b);
  return m;
}

/* bc_verify refuses it with want in the message, and so does bc_read */
static void expect_refused(Module *m, const char *want) {
  char err[512] = "";
  if (bc_verify(m, err, sizeof err)) fail_msg("bc_verify accepted a module: wanted \"%s\"", want);
  expect_substr(err, want);
  uint8_t *b;
  size_t len;
  if (bc_write(m, &b, &len)) {
    char err2[512] = "";
    assert_null(bc_read(b, len, err2, sizeof err2));
    assert_true(err2[0] != '\0');
    mem_free(b, len);
  }
  bc_free(m);
}

static void expect_code_refused(Asm *a, uint16_t nlocals, uint16_t max_stack, const char *want) {
  expect_refused(crafted(a, nlocals, max_stack), want);
}

static void expect_code_ok(Asm *a, uint16_t nlocals, uint16_t max_stack) {
  Module *m = crafted(a, nlocals, max_stack);
  char err[512] = "";
  if (!bc_verify(m, err, sizeof err)) fail_msg("refused: %s", err);
  bc_free(m);
}

static void test_verify_decoding(void **state) {
  (void)state;
  Asm a;

  asm_init(&a);
  put(&a, 0xEE, 1);
  expect_code_refused(&a, 1, 4, "unknown opcode 0xee at pc 0");

  asm_init(&a);
  emit(&a, OP_NIL);
  put(&a, OP__COUNT, 1);
  expect_code_refused(&a, 1, 4, "unknown opcode");

  asm_init(&a);
  emit(&a, OP_NIL);
  put(&a, OP_CONST, 1);
  put(&a, 0, 1);                       /* one byte of a u16 */
  expect_code_refused(&a, 1, 4, "truncated operands of CONST at pc 1");

  asm_init(&a);
  emit(&a, OP_NIL);
  put(&a, OP_JUMP, 1);
  put(&a, 0, 3);
  expect_code_refused(&a, 1, 4, "truncated operands of JUMP");

  asm_init(&a);
  expect_code_refused(&a, 1, 4, "no code");
}

static void test_verify_jumps(void **state) {
  (void)state;
  Asm a;

  asm_init(&a);
  emit(&a, OP_CONST, 0);               /* pc 0..2 */
  emit_jump_raw(&a, OP_JUMP, -7);      /* pc 3..7: to pc 1 */
  expect_code_refused(&a, 1, 4, "jumps into the middle of an instruction (pc 1)");

  asm_init(&a);
  emit(&a, OP_NIL);
  emit_jump_raw(&a, OP_JUMP, 100);
  expect_code_refused(&a, 1, 4, "jumps out of the function");

  asm_init(&a);
  emit(&a, OP_NIL);
  emit_jump_raw(&a, OP_JUMP_IF_TRUE, -100);
  expect_code_refused(&a, 1, 4, "jumps out of the function");

  asm_init(&a);                        /* to the end: not an instruction */
  emit(&a, OP_TRUE);
  emit_jump_raw(&a, OP_JUMP_IF_FALSE, 0);
  expect_code_refused(&a, 1, 4, "jumps out of the function (to 6");

  asm_init(&a);                        /* TRY's handler into an operand */
  emit_jump_raw(&a, OP_TRY, 1);
  emit(&a, OP_CONST, 0);
  emit(&a, OP_RETURN);
  expect_code_refused(&a, 1, 4, "TRY at pc 0 jumps into the middle");

  asm_init(&a);                        /* FOR_LIST's done target */
  emit(&a, OP_FOR_LIST, 0, 2, 0);
  label(&a, 0);
  emit(&a, OP_NIL);
  emit(&a, OP_RETURN);
  asm_finish(&a);
  a.nfix = 0;
  a.code[7] = 0x7F;
  expect_code_refused(&a, 3, 4, "FOR_LIST at pc 0 jumps out");

  asm_init(&a);                        /* a jump to itself is fine */
  label(&a, 0);
  emit(&a, OP_JUMP, 0);
  expect_code_ok(&a, 1, 0);
}

static void test_verify_stack(void **state) {
  (void)state;
  Asm a;

  asm_init(&a);                        /* depth 1 by one path, 0 by the other */
  emit(&a, OP_TRUE);
  emit(&a, OP_JUMP_IF_FALSE, 0);
  emit(&a, OP_SMALLINT, 1);
  label(&a, 0);
  emit(&a, OP_NIL);
  emit(&a, OP_RETURN);
  expect_code_refused(&a, 1, 4, "stack depth mismatch at pc 8");

  asm_init(&a);                        /* a loop that grows the stack */
  label(&a, 0);
  emit(&a, OP_NIL);
  emit(&a, OP_JUMP, 0);
  expect_code_refused(&a, 1, 4, "stack depth mismatch at pc 0");

  asm_init(&a);                        /* a handler joining the normal path */
  emit(&a, OP_TRY, 0);
  emit(&a, OP_END_TRY);
  label(&a, 0);
  emit(&a, OP_NIL);
  emit(&a, OP_RETURN);
  expect_code_refused(&a, 1, 4, "stack depth mismatch");

  asm_init(&a);
  emit(&a, OP_POP);
  emit(&a, OP_NIL);
  emit(&a, OP_RETURN);
  expect_code_refused(&a, 1, 4, "stack underflow at pc 0");

  asm_init(&a);
  emit(&a, OP_NIL);
  emit(&a, OP_ADD);
  emit(&a, OP_RETURN);
  expect_code_refused(&a, 1, 4, "stack underflow at pc 1 (ADD pops 2, depth is 1)");

  asm_init(&a);
  emit(&a, OP_RETURN);
  expect_code_refused(&a, 1, 4, "stack underflow");

  asm_init(&a);                        /* the checkpoint pops a title and one show value */
  emit(&a, OP_CONST, 1);
  emit(&a, OP_CHECKPOINT, 0);
  emit(&a, OP_RETURN);
  expect_code_refused(&a, 2, 4, "stack underflow at pc 3 (CHECKPOINT pops 2");

  asm_init(&a);                        /* site 0: one argument and because */
  emit(&a, OP_NIL);
  emit(&a, OP_CALL_ACTION, 0);
  emit(&a, OP_RETURN);
  expect_code_refused(&a, 1, 4, "CALL_ACTION pops 2");

  asm_init(&a);
  emit(&a, OP_NIL);
  emit(&a, OP_MAP, 1);
  emit(&a, OP_RETURN);
  expect_code_refused(&a, 1, 4, "MAP pops 2, depth is 1");

  asm_init(&a);
  emit(&a, OP_NIL);
  emit(&a, OP_NIL);
  emit(&a, OP_NIL);
  emit(&a, OP_POP);
  emit(&a, OP_POP);
  emit(&a, OP_RETURN);
  expect_code_refused(&a, 1, 2, "max_stack too small: depth 3 at pc 2");
  asm_init(&a);
  emit(&a, OP_NIL);
  emit(&a, OP_DUP);
  emit(&a, OP_POP);
  emit(&a, OP_RETURN);
  expect_code_refused(&a, 1, 1, "max_stack too small");

  asm_init(&a);                        /* the handler's error map needs room too */
  emit(&a, OP_TRY, 0);
  emit(&a, OP_END_TRY);
  emit(&a, OP_NIL);
  emit(&a, OP_RETURN);
  label(&a, 0);
  emit(&a, OP_RETURN);
  expect_code_refused(&a, 1, 0, "max_stack too small: depth 1 at pc 0 (TRY)");
  asm_init(&a);
  emit(&a, OP_TRY, 0);
  emit(&a, OP_END_TRY);
  emit(&a, OP_NIL);
  emit(&a, OP_RETURN);
  label(&a, 0);
  emit(&a, OP_RETURN);
  expect_code_ok(&a, 1, 1);

  asm_init(&a);                        /* falls off the end */
  emit(&a, OP_NIL);
  expect_code_refused(&a, 1, 4, "falls off the end");
  asm_init(&a);
  emit(&a, OP_TRUE);
  emit(&a, OP_JUMP_IF_FALSE, 0);
  emit(&a, OP_NIL);
  emit(&a, OP_RETURN);
  label(&a, 0);
  emit(&a, OP_NOP);
  expect_code_refused(&a, 1, 4, "falls off the end of the function after NOP");

  asm_init(&a);                        /* unreachable code after a return is fine */
  emit(&a, OP_NIL);
  emit(&a, OP_RETURN);
  emit(&a, OP_POP);
  emit(&a, OP_ADD);
  expect_code_ok(&a, 1, 1);
}

static void test_verify_operands(void **state) {
  (void)state;
  Asm a;

#define ONE(setup, nlocals, want)                                                     \
  do {                                                                                \
    asm_init(&a);                                                                     \
    setup;                                                                            \
    label(&a, 0);                                                                     \
    emit(&a, OP_NIL);                                                                 \
    emit(&a, OP_RETURN);                                                              \
    expect_code_refused(&a, nlocals, 8, want);                                        \
  } while (0)

  ONE(emit(&a, OP_GET_LOCAL, 2), 2, "local 2 out of range at pc 0 (GET_LOCAL; 2 locals)");
  ONE((emit(&a, OP_NIL), emit(&a, OP_SET_LOCAL, 7)), 2, "local 7 out of range");
  ONE(emit(&a, OP_INC_LOCAL, 3, 1), 3, "local 3 out of range");
  ONE(emit(&a, OP_GET_GLOBAL, 1), 2, "global 1 out of range");
  ONE(emit(&a, OP_CONST, 2), 2, "constant 2 out of range");
  ONE((emit(&a, OP_NIL), emit(&a, OP_FIELD, 0), emit(&a, OP_POP)), 2,
      "FIELD at pc 1 needs a string constant, constant 0 is not a string");
  ONE((emit(&a, OP_NIL), emit(&a, OP_NIL), emit(&a, OP_SET_FIELD, 0)), 2, "needs a string constant");
  ONE((emit(&a, OP_NIL), emit(&a, OP_CHECK_TYPE, 4, 0), emit(&a, OP_POP)), 2, "needs a string constant");
  ONE((emit(&a, OP_NIL), emit(&a, OP_CHECK_TYPE, 0x80, 1), emit(&a, OP_POP)), 2, "bad type set 0x80");
  ONE((emit(&a, OP_NIL), emit(&a, OP_NIL), emit(&a, OP_CALL, 1, 2), emit(&a, OP_POP)), 2,
      "CALL at pc 2 passes 2 arguments to 'one', which takes 1");
  ONE((emit(&a, OP_CALL, 0, 0), emit(&a, OP_POP)), 2, "CALL to function 0 (the body)");
  ONE((emit(&a, OP_NIL), emit(&a, OP_CALL, 2, 1), emit(&a, OP_POP)), 2, "CALL to function 2 out of range");
  ONE((emit(&a, OP_CALL_BUILTIN, 200, 0), emit(&a, OP_POP)), 2, "built-in 200 out of range");
  ONE((emit(&a, OP_NIL), emit(&a, OP_NIL), emit(&a, OP_CALL_BUILTIN, 0, 2), emit(&a, OP_POP)), 2,
      "passes 2 arguments to len()");
  ONE((emit(&a, OP_CALL_BUILTIN, 0, 0), emit(&a, OP_POP)), 2, "passes 0 arguments to len()");
  ONE((emit(&a, OP_CALL_ACTION, 1), emit(&a, OP_POP)), 2, "call site 1 out of range");
  ONE((emit(&a, OP_CHECKPOINT, 1), emit(&a, OP_POP)), 2, "checkpoint 1 out of range");
  ONE((emit(&a, OP_NIL), emit(&a, OP_NIL), emit(&a, OP_CHECKPOINT, 0), emit(&a, OP_POP)), 1,
      "edits local 1 ('v'), out of range");
  ONE(emit(&a, OP_FOR_LIST, 1, 0, 0), 2, "local 2 out of range at pc 0 (FOR_LIST");
  ONE(emit(&a, OP_FOR_LIST, 0, 5, 0), 2, "local 5 out of range");
  ONE(emit(&a, OP_FOR_MAP, 0, 2, 0xFFFF, 0), 2, "local 2 out of range at pc 0 (FOR_MAP");
  ONE(emit(&a, OP_FOR_MAP, 0, 1, 0xFFFE, 0), 3, "local 65534 out of range");
  ONE(emit(&a, OP_FOR_MAP, 0xFFFF, 1, 1, 0), 3, "local 65535 out of range");
#undef ONE

  /* the same operands in range are accepted */
  Asm b;
  asm_init(&b);
  emit(&b, OP_FOR_MAP, 0, 2, 0xFFFF, 0);
  label(&b, 0);
  emit(&b, OP_FOR_LIST, 0, 2, 1);
  label(&b, 1);
  emit(&b, OP_NIL);
  emit(&b, OP_CALL_BUILTIN, 23, 1);
  emit(&b, OP_NIL);
  emit(&b, OP_NIL);
  emit(&b, OP_CALL_BUILTIN, 23, 3);
  emit(&b, OP_CHECK_TYPE, 0x7F, 1);
  emit(&b, OP_CONST, 1);
  emit(&b, OP_GET_LOCAL, 1);
  emit(&b, OP_CHECKPOINT, 0);
  emit(&b, OP_INTERP, 2);
  emit(&b, OP_RETURN);
  expect_code_ok(&b, 3, 4);
}

static void test_verify_tables(void **state) {
  (void)state;
  Asm a;
  Module *m;
#define BASE()              \
  (asm_init(&a), emit(&a, OP_NIL), emit(&a, OP_RETURN), m = crafted(&a, 2, 2))

  BASE();
  m->actions[0].blast_fn = 1;          /* fn 1 takes one parameter: right */
  char err[256];
  if (!bc_verify(m, err, sizeof err)) fail_msg("%s", err);
  m->actions[0].blast_fn = 0;
  expect_refused(m, "blast function of action 0: function 0 out of range");
  BASE();
  m->actions[0].blast_fn = 2;
  expect_refused(m, "function 2 out of range");
  BASE();
  m->actions[0].nparams = 0;
  m->calls[0].nargs = 0;
  m->checkpoints[0].nedits = 0;
  m->actions[0].blast_fn = 1;
  expect_refused(m, "function 1 'one' takes 1 parameters, expected 0");
  BASE();
  m->actions[0].undo = 1;
  expect_refused(m, "undo action 1 out of range");
  BASE();
  m->actions[0].editable = 2;
  expect_refused(m, "editable mask 0x2");
  BASE();
  m->actions[0].params[0].type = 0x100;
  expect_refused(m, "bad type set 0x100");
  BASE();
  m->calls[0].nargs = 2;
  expect_refused(m, "call site 0: 2 arguments to action 'act', which takes 1");
  BASE();
  m->calls[0].action = 1;
  expect_refused(m, "call site 0: action 1 out of range");

  BASE();
  m->nrules = 1;
  m->rules = A(m, sizeof *m->rules);
  m->rules[0] = (BcRule){.cond_fn = 1, .route = {.timeout = -1, .within = -1}, .text = S(m, "r")};
  expect_refused(m, "condition of rule 0: function 1 'one' takes 1 parameters, expected 11");
  BASE();
  m->nrules = 1;
  m->rules = A(m, sizeof *m->rules);
  m->rules[0] = (BcRule){.cond_fn = -1, .route = {.kind = 4, .timeout = -1, .within = -1},
                         .text = S(m, "r")};
  expect_refused(m, "unknown route kind 4");
  BASE();
  m->nrules = 1;
  m->rules = A(m, sizeof *m->rules);
  m->rules[0] = (BcRule){.cond_fn = -1, .route = {.timeout = 0, .within = -1}, .text = S(m, "r")};
  expect_refused(m, "route timeout 0");

  BASE();
  m->nthresholds = 1;
  m->thresholds = A(m, sizeof *m->thresholds);
  m->thresholds[0] = (BcThreshold){1, 0.5};
  expect_refused(m, "threshold 0: action 1 out of range");
  BASE();
  m->nthresholds = 1;
  m->thresholds = A(m, sizeof *m->thresholds);
  m->thresholds[0] = (BcThreshold){-1, NAN};
  expect_refused(m, "is not between 0 and 1");

  BASE();
  m->globals[0].kind = 2;
  expect_refused(m, "global 0 'g': unknown kind 2");
  BASE();
  m->consts[0].kind = 3;
  expect_refused(m, "constant 0: unknown kind 3");
  BASE();
  m->checkpoints[0].edits[0].global = true;
  m->checkpoints[0].edits[0].index = 1;
  expect_refused(m, "edit 'v' names global 1 out of range");
  BASE();
  m->checkpoints[0].timeout_verdict = 2;
  expect_refused(m, "timeout verdict 2");
  BASE();
  m->funcs[1].nlocals = 0;
  expect_refused(m, "1 parameters but only 0 locals");
  BASE();
  m->funcs[0].nparams = 1;
  m->funcs[0].nlocals = 2;
  m->funcs[0].param_types = A(m, 4);
  m->funcs[0].param_types[0] = 1;
  expect_refused(m, "function 0 (the body) must take no parameters");

  BASE();                              /* line tables */
  m->funcs[0].nlines = 2;
  m->funcs[0].lines = A(m, 2 * sizeof(BcLine));
  m->funcs[0].lines[0] = (BcLine){1, 3};
  m->funcs[0].lines[1] = (BcLine){0, 4};
  expect_refused(m, "line table entry 1 goes back to pc 0");
  BASE();
  m->funcs[0].nlines = 1;
  m->funcs[0].lines = A(m, sizeof(BcLine));
  m->funcs[0].lines[0] = (BcLine){2, 3};
  expect_refused(m, "line table entry 0 has pc 2, code is 2 bytes");

  BASE();
  m->nfuncs = 0;
  expect_refused(m, "no functions");
#undef BASE
}

/* A long chain of diamonds (2^2000 paths) and a deep loop nest: the verifier
 * is linear in the code, so this is quick. */
static void test_verify_linear(void **state) {
  (void)state;
  Module *m = bc_new();
  assert_non_null(m);
  m->source_name = S(m, "big");
  m->playbook = S(m, "big");
  m->description = S(m, "");
  m->nfuncs = 1;
  m->funcs = A(m, sizeof *m->funcs);
  set_func(m, &m->funcs[0], "<body>", 0, 1, 2);
  enum { N = 20000 };
  uint8_t *code = A(m, (size_t)N * 14 + 2);
  uint32_t pc = 0;
  for (int i = 0; i < N; i++) {
    /* TRUE; JUMP_IF_FALSE +1; NOP; NOP  — and a backward jump every so often */
    code[pc++] = OP_TRUE;
    code[pc++] = OP_JUMP_IF_FALSE;
    code[pc++] = 1; code[pc++] = 0; code[pc++] = 0; code[pc++] = 0;
    code[pc++] = OP_NOP;
    code[pc++] = OP_NOP;
    code[pc++] = OP_FALSE;
    code[pc++] = OP_JUMP_IF_TRUE;   /* back to this diamond's start */
    int32_t off = -14;
    for (int k = 0; k < 4; k++) code[pc++] = (uint8_t)((uint32_t)off >> (8 * k));
  }
  code[pc++] = OP_NIL;
  code[pc++] = OP_RETURN;
  m->funcs[0].code = code;
  m->funcs[0].code_len = pc;
  char err[256];
  if (!bc_verify(m, err, sizeof err)) fail_msg("%s", err);
  bc_free(m);
}

/* hitl_sha256 (SHA instructions when the CPU has them) gives libsodium's
 * bytes for every length around the block and padding boundaries, at every
 * alignment */
static void test_sha256(void **state) {
  (void)state;
  static uint8_t buf[1100];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 131 + (i >> 3));
  for (size_t off = 0; off < 4; off++)
    for (size_t n = 0; n + off <= sizeof buf; n += off ? 37 : 1) {
      uint8_t a[HITL_SHA256_BYTES], b[crypto_hash_sha256_BYTES];
      hitl_sha256(a, buf + off, n);
      crypto_hash_sha256(b, buf + off, n);
      if (memcmp(a, b, sizeof a) != 0) fail_msg("sha256 differs at offset %zu, length %zu", off, n);
    }
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sha256),
    cmocka_unit_test(test_pool),
    cmocka_unit_test(test_round_trip),
    cmocka_unit_test(test_truncated_everywhere),
    cmocka_unit_test(test_flip_every_byte),
    cmocka_unit_test(test_random_damage),
    cmocka_unit_test(test_huge_counts),
    cmocka_unit_test(test_bad_form),
    cmocka_unit_test(test_out_of_memory),
    cmocka_unit_test(test_verify_decoding),
    cmocka_unit_test(test_verify_jumps),
    cmocka_unit_test(test_verify_stack),
    cmocka_unit_test(test_verify_operands),
    cmocka_unit_test(test_verify_tables),
    cmocka_unit_test(test_verify_linear),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
