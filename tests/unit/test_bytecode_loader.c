/* tests/unit/test_bytecode_loader.c — bc_read under attack: the sample's
 * bytes cut at every offset, every byte flipped (with and without a fresh
 * checksum), random damage with a fresh checksum, every count made huge, and
 * other refusals of the form, each with the words its message must contain.
 * Whatever it accepts must verify and list without trouble. */
#include <sodium.h>

#include "test_bytecode.h"

/* ---- helpers --------------------------------------------------------------------- */

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

/* c under a fresh checksum: refused with a message, or accepted (true) as a
 * sound module */
static bool read_resigned(uint8_t *c, size_t len) {
  resign(c, len);
  char err[512] = "";
  Module *r = bc_read(c, len, err, sizeof err);
  if (!r) assert_true(err[0] != '\0');
  else accepted_is_sound(r);
  return r != NULL;
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


/* the refusal of b with the width bytes at `at` set to v (little-endian),
 * under a fresh checksum */
static const char *patched(const uint8_t *b, size_t len, size_t at, uint32_t v, int width) {
  uint8_t *c = dup_bytes(b, len);
  for (int k = 0; k < width; k++) c[at + (size_t)k] = (uint8_t)(v >> (8 * k));
  resign(c, len);
  const char *e = refused(c, len);
  free(c);
  return e;
}

/* ---- the loader under attack ----------------------------------------------------- */

static void test_truncated_everywhere(void **state) {
  (void)state;
  size_t len;
  uint8_t *b = bytes_of(sample(), &len);
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
  size_t len;
  uint8_t *b = bytes_of(sample(), &len);
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
      accepted += read_resigned(c, len);
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
  size_t len;
  uint8_t *b = bytes_of(sample(), &len);
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
    read_resigned(c, clen);
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
  Module *m = new_module("s", "p", "d");
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
    for (size_t h = 0; h < N_OF(huge); h++) expect_substr(patched(b, len, where[i].at, huge[h], 4), where[i].what);
  }
  mem_free(b, len);
}

/* Other refusals of the form: bad booleans, absent strings, bad UTF-8, NUL
 * bytes in names, unknown constant kinds. */
static void test_bad_form(void **state) {
  (void)state;
  size_t len;
  uint8_t *b = bytes_of(one_of_each(), &len);
  size_t pb = HDR + 5 + 32;          /* the playbook name: u32 1, 'p' */
  size_t ckpt_raise = len - 1 - 4;   /* the checkpoints' last byte, raise_on_reject, before the review count */
  const struct { size_t at; uint32_t v; int width; const char *want; } bad[] = {
    {pb + 4, 0xC0, 1, "playbook name at offset 77 is not valid UTF-8"},
    {pb + 4, 0, 1, "playbook name at offset 77 contains a NUL byte"},
    {pb, 0xFFFFFFFFu, 4, "playbook name at offset 77 is absent"},
    {pb + 5 + 5 + 4, 9, 1, "unknown kind 9"},   /* the constant's kind */
    {ckpt_raise, 2, 1, "raise_on_reject flag at offset"},
  };
  for (size_t i = 0; i < N_OF(bad); i++) expect_substr(patched(b, len, bad[i].at, bad[i].v, bad[i].width), bad[i].want);
  mem_free(b, len);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_truncated_everywhere),
    cmocka_unit_test(test_flip_every_byte),
    cmocka_unit_test(test_random_damage),
    cmocka_unit_test(test_huge_counts),
    cmocka_unit_test(test_bad_form),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
