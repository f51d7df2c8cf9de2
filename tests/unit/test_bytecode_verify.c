/* tests/unit/test_bytecode_verify.c — the verifier (bc_verify, and bc_read
 * which runs it) on crafted code and tables: each must be refused with the
 * words its message must contain, or accepted; and the verifier is linear in
 * the code. */
#include "test_bytecode.h"

/* ---- the verifier on crafted code ---------------------------------------------- */

/* A small module around the code in a: fn 0 is that code; fn 1 takes one
 * parameter; constants int 1 and str "k"; one global; call site 0 calls an
 * action of one parameter; checkpoint 0 shows one value and edits local 1. */
static Module *crafted(Asm *a, uint16_t nlocals, uint16_t max_stack) {
  Module *m = new_module("crafted.hitl", "crafted", "");
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

/* ---- crafted code, as tables ------------------------------------------------------ */

/* One line of crafted code: an opcode and its operands (those it does not
 * take are ignored), or one of these. */
enum {
  END = -1,        /* the end of the code */
  LABEL = -2,      /* LABEL l: label l is here */
  RAW_JUMP = -3,   /* RAW_JUMP op off: a jump with a raw offset, not to a label */
  BYTES = -4,      /* BYTES v n: the n low bytes of v, little-endian */
};
typedef int Line[5];

/* crafted() around the code: refused with want in the message, or, when
 * want is NULL, accepted */
typedef struct Case {
  const char *want;
  uint16_t nlocals, max_stack;
  Line code[12];
} Case;

static void assemble(Asm *a, const Line *code, size_t n) {
  for (size_t i = 0; code[i][0] != END; i++) {
    assert_true(i + 1 < n);   /* every code ends with END */
    const int *l = code[i];
    switch (l[0]) {
    case LABEL: label(a, l[1]); break;
    case RAW_JUMP: emit_jump_raw(a, (Opcode)l[1], l[2]); break;
    case BYTES: put(a, (uint32_t)l[1], l[2]); break;
    default: emit(a, (Opcode)l[0], l[1], l[2], l[3], l[4]); break;
    }
  }
}

/* every case, each with the lines of tail (if any) after its code */
static void expect_cases(const Case *c, size_t n, const Line *tail, size_t ntail) {
  for (size_t i = 0; i < n; i++) {
    Asm a;
    asm_init(&a);
    assemble(&a, c[i].code, N_OF(c[i].code));
    if (tail) assemble(&a, tail, ntail);
    Module *m = crafted(&a, c[i].nlocals, c[i].max_stack);
    if (c[i].want) {
      expect_refused(m, c[i].want);
      continue;
    }
    char err[512] = "";
    if (!bc_verify(m, err, sizeof err)) fail_msg("case %zu refused: %s", i, err);
    bc_free(m);
  }
}

#define CASES(c) expect_cases((c), N_OF(c), NULL, 0)

static void test_verify_decoding(void **state) {
  (void)state;
  static const Case cases[] = {
    {"unknown opcode 0xee at pc 0", 1, 4, {{BYTES, 0xEE, 1}, {END}}},
    {"unknown opcode", 1, 4, {{OP_NIL}, {BYTES, OP__COUNT, 1}, {END}}},
    {"truncated operands of CONST at pc 1", 1, 4,
     {{OP_NIL}, {BYTES, OP_CONST, 1}, {BYTES, 0, 1}, {END}}},   /* one byte of a u16 */
    {"truncated operands of JUMP", 1, 4, {{OP_NIL}, {BYTES, OP_JUMP, 1}, {BYTES, 0, 3}, {END}}},
    {"no code", 1, 4, {{END}}},
  };
  CASES(cases);
}

static void test_verify_jumps(void **state) {
  (void)state;
  static const Case cases[] = {
    {"jumps into the middle of an instruction (pc 1)", 1, 4,
     {{OP_CONST, 0}, {RAW_JUMP, OP_JUMP, -7}, {END}}},            /* pc 3..7: to pc 1 */
    {"jumps out of the function", 1, 4, {{OP_NIL}, {RAW_JUMP, OP_JUMP, 100}, {END}}},
    {"jumps out of the function", 1, 4, {{OP_NIL}, {RAW_JUMP, OP_JUMP_IF_TRUE, -100}, {END}}},
    {"jumps out of the function (to 6", 1, 4,                      /* to the end: not an instruction */
     {{OP_TRUE}, {RAW_JUMP, OP_JUMP_IF_FALSE, 0}, {END}}},
    {"TRY at pc 0 jumps into the middle", 1, 4,                    /* TRY's handler into an operand */
     {{RAW_JUMP, OP_TRY, 1}, {OP_CONST, 0}, {OP_RETURN}, {END}}},
    {"FOR_LIST at pc 0 jumps out", 3, 4,                           /* FOR_LIST's done target */
     {{BYTES, OP_FOR_LIST, 1}, {BYTES, 0, 2}, {BYTES, 2, 2}, {BYTES, 0x7F0000, 4}, {OP_NIL}, {OP_RETURN}, {END}}},
    {NULL, 1, 0, {{LABEL, 0}, {OP_JUMP, 0}, {END}}},               /* a jump to itself is fine */
  };
  CASES(cases);
}

static void test_verify_stack(void **state) {
  (void)state;
  static const Case cases[] = {
    {"stack depth mismatch at pc 8", 1, 4,                         /* depth 1 by one path, 0 by the other */
     {{OP_TRUE}, {OP_JUMP_IF_FALSE, 0}, {OP_SMALLINT, 1}, {LABEL, 0}, {OP_NIL}, {OP_RETURN}, {END}}},
    {"stack depth mismatch at pc 0", 1, 4,                         /* a loop that grows the stack */
     {{LABEL, 0}, {OP_NIL}, {OP_JUMP, 0}, {END}}},
    {"stack depth mismatch", 1, 4,                                 /* a handler joining the normal path */
     {{OP_TRY, 0}, {OP_END_TRY}, {LABEL, 0}, {OP_NIL}, {OP_RETURN}, {END}}},
    {"stack underflow at pc 0", 1, 4, {{OP_POP}, {OP_NIL}, {OP_RETURN}, {END}}},
    {"stack underflow at pc 1 (ADD pops 2, depth is 1)", 1, 4, {{OP_NIL}, {OP_ADD}, {OP_RETURN}, {END}}},
    {"stack underflow", 1, 4, {{OP_RETURN}, {END}}},
    {"stack underflow at pc 3 (CHECKPOINT pops 2", 2, 4,           /* a title and one show value */
     {{OP_CONST, 1}, {OP_CHECKPOINT, 0}, {OP_RETURN}, {END}}},
    {"CALL_ACTION pops 2", 1, 4,                                   /* site 0: one argument and because */
     {{OP_NIL}, {OP_CALL_ACTION, 0}, {OP_RETURN}, {END}}},
    {"MAP pops 2, depth is 1", 1, 4, {{OP_NIL}, {OP_MAP, 1}, {OP_RETURN}, {END}}},
    {"max_stack too small: depth 3 at pc 2", 1, 2,
     {{OP_NIL}, {OP_NIL}, {OP_NIL}, {OP_POP}, {OP_POP}, {OP_RETURN}, {END}}},
    {"max_stack too small", 1, 1, {{OP_NIL}, {OP_DUP}, {OP_POP}, {OP_RETURN}, {END}}},
    {"max_stack too small: depth 1 at pc 0 (TRY)", 1, 0,           /* the handler's error map needs room too */
     {{OP_TRY, 0}, {OP_END_TRY}, {OP_NIL}, {OP_RETURN}, {LABEL, 0}, {OP_RETURN}, {END}}},
    {NULL, 1, 1, {{OP_TRY, 0}, {OP_END_TRY}, {OP_NIL}, {OP_RETURN}, {LABEL, 0}, {OP_RETURN}, {END}}},
    {"falls off the end", 1, 4, {{OP_NIL}, {END}}},
    {"falls off the end of the function after NOP", 1, 4,
     {{OP_TRUE}, {OP_JUMP_IF_FALSE, 0}, {OP_NIL}, {OP_RETURN}, {LABEL, 0}, {OP_NOP}, {END}}},
    {NULL, 1, 1, {{OP_NIL}, {OP_RETURN}, {OP_POP}, {OP_ADD}, {END}}},   /* unreachable code after a return is fine */
  };
  CASES(cases);
}

static void test_verify_operands(void **state) {
  (void)state;
  /* each case's code, then label 0 and a return; max_stack 8 */
  static const Line tail[] = {{LABEL, 0}, {OP_NIL}, {OP_RETURN}, {END}};
  static const Case cases[] = {
    {"local 2 out of range at pc 0 (GET_LOCAL; 2 locals)", 2, 8, {{OP_GET_LOCAL, 2}, {END}}},
    {"local 7 out of range", 2, 8, {{OP_NIL}, {OP_SET_LOCAL, 7}, {END}}},
    {"local 3 out of range", 3, 8, {{OP_INC_LOCAL, 3, 1}, {END}}},
    {"global 1 out of range", 2, 8, {{OP_GET_GLOBAL, 1}, {END}}},
    {"constant 2 out of range", 2, 8, {{OP_CONST, 2}, {END}}},
    {"FIELD at pc 1 needs a string constant, constant 0 is not a string", 2, 8,
     {{OP_NIL}, {OP_FIELD, 0}, {OP_POP}, {END}}},
    {"needs a string constant", 2, 8, {{OP_NIL}, {OP_NIL}, {OP_SET_FIELD, 0}, {END}}},
    {"needs a string constant", 2, 8, {{OP_NIL}, {OP_CHECK_TYPE, 4, 0}, {OP_POP}, {END}}},
    {"bad type set 0x80", 2, 8, {{OP_NIL}, {OP_CHECK_TYPE, 0x80, 1}, {OP_POP}, {END}}},
    {"CALL at pc 2 passes 2 arguments to 'one', which takes 1", 2, 8,
     {{OP_NIL}, {OP_NIL}, {OP_CALL, 1, 2}, {OP_POP}, {END}}},
    {"CALL to function 0 (the body)", 2, 8, {{OP_CALL, 0, 0}, {OP_POP}, {END}}},
    {"CALL to function 2 out of range", 2, 8, {{OP_NIL}, {OP_CALL, 2, 1}, {OP_POP}, {END}}},
    {"built-in 200 out of range", 2, 8, {{OP_CALL_BUILTIN, 200, 0}, {OP_POP}, {END}}},
    {"passes 2 arguments to len()", 2, 8, {{OP_NIL}, {OP_NIL}, {OP_CALL_BUILTIN, 0, 2}, {OP_POP}, {END}}},
    {"passes 0 arguments to len()", 2, 8, {{OP_CALL_BUILTIN, 0, 0}, {OP_POP}, {END}}},
    {"call site 1 out of range", 2, 8, {{OP_CALL_ACTION, 1}, {OP_POP}, {END}}},
    {"checkpoint 1 out of range", 2, 8, {{OP_CHECKPOINT, 1}, {OP_POP}, {END}}},
    {"edits local 1 ('v'), out of range", 1, 8, {{OP_NIL}, {OP_NIL}, {OP_CHECKPOINT, 0}, {OP_POP}, {END}}},
    {"local 2 out of range at pc 0 (FOR_LIST", 2, 8, {{OP_FOR_LIST, 1, 0, 0}, {END}}},
    {"local 5 out of range", 2, 8, {{OP_FOR_LIST, 0, 5, 0}, {END}}},
    {"local 2 out of range at pc 0 (FOR_MAP", 2, 8, {{OP_FOR_MAP, 0, 2, 0xFFFF, 0}, {END}}},
    {"local 65534 out of range", 3, 8, {{OP_FOR_MAP, 0, 1, 0xFFFE, 0}, {END}}},
    {"local 65535 out of range", 3, 8, {{OP_FOR_MAP, 0xFFFF, 1, 1, 0}, {END}}},
  };
  expect_cases(cases, N_OF(cases), tail, N_OF(tail));

  /* the same operands in range are accepted */
  static const Case in_range[] = {
    {NULL, 3, 4,
     {{OP_FOR_MAP, 0, 2, 0xFFFF, 0}, {LABEL, 0}, {OP_FOR_LIST, 0, 2, 1}, {LABEL, 1}, {OP_NIL},
      {OP_CALL_BUILTIN, 23, 1}, {OP_NIL}, {OP_NIL}, {OP_CALL_BUILTIN, 23, 3}, {OP_CHECK_TYPE, 0x7F, 1}, {END}}},
  };
  static const Line in_range_tail[] = {
    {OP_CONST, 1}, {OP_GET_LOCAL, 1}, {OP_CHECKPOINT, 0}, {OP_INTERP, 2}, {OP_RETURN}, {END},
  };
  expect_cases(in_range, N_OF(in_range), in_range_tail, N_OF(in_range_tail));
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
  Module *m = new_module("big", "big", "");
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

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_verify_decoding),
    cmocka_unit_test(test_verify_jumps),
    cmocka_unit_test(test_verify_stack),
    cmocka_unit_test(test_verify_operands),
    cmocka_unit_test(test_verify_tables),
    cmocka_unit_test(test_verify_linear),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
