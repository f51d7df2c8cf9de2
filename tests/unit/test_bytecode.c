/* tests/unit/test_bytecode.c — the .hbc format: a module built by hand
 * (test_bytecode.h's sample: every constant kind, jumps, a loop over a list
 * and one over a map, a try, calls of every kind, actions, rules,
 * thresholds, a checkpoint) goes through bc_write and bc_read and must come
 * back field for field, and list the same; every allocation failing in
 * turn; the module pool; SHA-256.  The loader under attack is in
 * test_bytecode_loader.c, the verifier in test_bytecode_verify.c. */
#include <sodium.h>

#include "test_bytecode.h"
#include "vm/sha256.h"

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


static char *disasm_text(const Module *m) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  bc_disasm(m, f);
  assert_int_equal(fclose(f), 0);
  return buf;
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
    cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
