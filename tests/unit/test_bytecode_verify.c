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
