/* tests/unit/test_lexer.c — the scanner (grammar/lexer.l) and the newline
 * rule (psy_lex in grammar/parser.y), through ps_tokens: the token stream
 * exactly as the grammar sees it.
 *
 * Every test compares the whole stream (kinds, values, lines, columns)
 * against an expected array, and the diagnostics against an exact list of
 * positions and message phrases (LANGUAGE.md §1, docs/language-notes.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parser.h"
#include "compiler/arena.h"
#include "compiler/diag.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- running the scanner ------------------------------------------------ */

typedef struct Lexed {
  Diags d;
  Arena a;
  PsToken *t;
  size_t n;
} Lexed;

static void lex_n(Lexed *lx, const char *src, size_t len) {
  diag_init(&lx->d, "test.hitl", src, len);
  arena_init(&lx->a);
  lx->n = ps_tokens(src, len, &lx->d, &lx->a, &lx->t);
  assert_true(lx->n >= 1);
  assert_int_equal(lx->t[lx->n - 1].kind, 0);
}

static void lex(Lexed *lx, const char *src) { lex_n(lx, src, strlen(src)); }

static void lexed_free(Lexed *lx) {
  arena_free(&lx->a);
  diag_free(&lx->d);
}

/* ---- expected tokens ---------------------------------------------------- */

typedef struct Exp {
  int kind;
  uint32_t line, col;     /* line 0: position not checked (end of input) */
  const char *s;          /* IDENT, STRING, STR_*: the decoded bytes */
  size_t slen;
  int64_t i;              /* INT, INT_MIN_LIT, DURATION */
  double f;               /* FLOAT */
} Exp;

#define TK(k, l, c)      {(k), (l), (c), NULL, 0, 0, 0.0}
#define ID(str, l, c)    {IDENT, (l), (c), (str), sizeof(str) - 1, 0, 0.0}
#define SX(k, str, l, c) {(k), (l), (c), (str), sizeof(str) - 1, 0, 0.0}
#define IN(v, l, c)      {INT, (l), (c), NULL, 0, (v), 0.0}
#define DU(v, l, c)      {DURATION, (l), (c), NULL, 0, (v), 0.0}
#define FL(v, l, c)      {FLOAT, (l), (c), NULL, 0, 0, (v)}
#define NLT(l, c)        TK(NL, (l), (c))
#define END_NL           TK(NL, 0, 0)
#define EOI              TK(0, 0, 0)

static bool is_text(int k) {
  return k == IDENT || k == STRING || k == STR_BEGIN || k == STR_MID || k == STR_END;
}
static bool is_int(int k) { return k == INT || k == INT_MIN_LIT || k == DURATION; }

static void print_tok(const PsToken *t) {
  fprintf(stderr, "%u:%u %s", (unsigned)t->span.line, (unsigned)t->span.col, ps_token_name(t->kind));
  if (is_text(t->kind)) fprintf(stderr, " \"%.*s\" (%zu bytes)", (int)(t->len > 60 ? 60 : t->len), t->s ? t->s : "", t->len);
  if (is_int(t->kind)) fprintf(stderr, " %lld", (long long)t->i);
  if (t->kind == FLOAT) fprintf(stderr, " %.17g", t->f);
}

static void print_exp(const Exp *e) {
  fprintf(stderr, "%u:%u %s", (unsigned)e->line, (unsigned)e->col, ps_token_name(e->kind));
  if (is_text(e->kind)) fprintf(stderr, " \"%.*s\" (%zu bytes)", (int)(e->slen > 60 ? 60 : e->slen), e->s, e->slen);
  if (is_int(e->kind)) fprintf(stderr, " %lld", (long long)e->i);
  if (e->kind == FLOAT) fprintf(stderr, " %.17g", e->f);
}

static void dump(const Lexed *lx, const Exp *e, size_t n, size_t bad) {
  fprintf(stderr, "token stream differs at token %zu\n  got:\n", bad);
  for (size_t i = 0; i < lx->n && i < 400; i++) {
    fprintf(stderr, "  %c %3zu ", i == bad ? '>' : ' ', i);
    print_tok(&lx->t[i]);
    fputc('\n', stderr);
  }
  fprintf(stderr, "  want:\n");
  for (size_t i = 0; i < n && i < 400; i++) {
    fprintf(stderr, "  %c %3zu ", i == bad ? '>' : ' ', i);
    print_exp(&e[i]);
    fputc('\n', stderr);
  }
  for (unsigned i = 0; i < lx->d.n; i++)
    fprintf(stderr, "  diag %u:%u %s\n", (unsigned)lx->d.v[i].span.line, (unsigned)lx->d.v[i].span.col, lx->d.v[i].msg);
}

static bool tok_matches(const PsToken *t, const Exp *e) {
  if (t->kind != e->kind) return false;
  if (e->line && (t->span.line != e->line || t->span.col != e->col)) return false;
  if (is_text(e->kind) && (t->len != e->slen || !t->s || memcmp(t->s, e->s, e->slen) != 0)) return false;
  if (is_int(e->kind) && t->i != e->i) return false;
  if (e->kind == FLOAT && t->f != e->f) return false;
  return true;
}

/* The stream is exactly e[0..n). */
static void expect_tokens(const Lexed *lx, const Exp *e, size_t n) {
  size_t m = lx->n < n ? lx->n : n;
  for (size_t i = 0; i < m; i++) {
    if (!tok_matches(&lx->t[i], &e[i])) {
      dump(lx, e, n, i);
      fail_msg("token %zu differs", i);
    }
  }
  if (lx->n != n) {
    dump(lx, e, n, m);
    fail_msg("got %zu tokens, want %zu", lx->n, n);
  }
}

/* ---- expected diagnostics ----------------------------------------------- */

typedef struct ExpDiag {
  uint32_t line, col;
  const char *phrase;
} ExpDiag;

/* Exactly these errors, in the order they were reported, each at its line
 * and column with a message containing its phrase. */
static void expect_diags(const Lexed *lx, const ExpDiag *e, size_t n) {
  bool ok = lx->d.n == n && lx->d.errors == n && lx->d.warnings == 0;
  for (size_t i = 0; ok && i < n; i++) {
    const Diag *g = &lx->d.v[i];
    ok = g->sev == SEV_ERROR && g->span.line == e[i].line && g->span.col == e[i].col &&
         g->msg && strstr(g->msg, e[i].phrase) != NULL;
  }
  if (!ok) {
    fprintf(stderr, "diagnostics differ\n  got:\n");
    for (unsigned i = 0; i < lx->d.n; i++)
      fprintf(stderr, "    %u:%u %s\n", (unsigned)lx->d.v[i].span.line, (unsigned)lx->d.v[i].span.col, lx->d.v[i].msg);
    fprintf(stderr, "  want:\n");
    for (size_t i = 0; i < n; i++)
      fprintf(stderr, "    %u:%u ...%s...\n", (unsigned)e[i].line, (unsigned)e[i].col, e[i].phrase);
    fail_msg("diagnostics differ");
  }
}

static void expect_no_diags(const Lexed *lx) { expect_diags(lx, NULL, 0); }

/* Lex src and expect exactly these tokens and no diagnostic. */
#define EXPECT_CLEAN(src, ...)                                 \
  do {                                                         \
    static const Exp want_[] = {__VA_ARGS__};                  \
    Lexed lx_;                                                 \
    lex(&lx_, (src));                                          \
    expect_tokens(&lx_, want_, N_OF(want_));                   \
    expect_no_diags(&lx_);                                     \
    lexed_free(&lx_);                                          \
  } while (0)

/* ---- keywords and identifiers ------------------------------------------- */

static const struct { const char *text; int kind; bool continues; } keywords[] = {
  {"playbook", K_PLAYBOOK, false}, {"input", K_INPUT, false}, {"param", K_PARAM, false},
  {"action", K_ACTION, false}, {"fn", K_FN, false}, {"let", K_LET, false},
  {"if", K_IF, false}, {"else", K_ELSE, false}, {"while", K_WHILE, false},
  {"for", K_FOR, false}, {"in", K_IN, true}, {"break", K_BREAK, false},
  {"continue", K_CONTINUE, false}, {"return", K_RETURN, false}, {"fail", K_FAIL, false},
  {"try", K_TRY, false}, {"catch", K_CATCH, false}, {"step", K_STEP, false},
  {"log", K_LOG, false}, {"checkpoint", K_CHECKPOINT, false}, {"show", K_SHOW, false},
  {"edit", K_EDIT, false}, {"by", K_BY, true}, {"quorum", K_QUORUM, true},
  {"timeout", K_TIMEOUT, true}, {"approve", K_APPROVE, false}, {"reject", K_REJECT, false},
  {"review", K_REVIEW, false}, {"within", K_WITHIN, true}, {"flag", K_FLAG, false},
  {"rules", K_RULES, false}, {"thresholds", K_THRESHOLDS, false}, {"when", K_WHEN, true},
  {"otherwise", K_OTHERWISE, false}, {"auto", K_AUTO, false}, {"deny", K_DENY, false},
  {"with", K_WITH, true}, {"confidence", K_CONFIDENCE, false}, {"because", K_BECAUSE, true},
  {"from", K_FROM, true}, {"symbol", K_SYMBOL, true}, {"irreversible", K_IRREVERSIBLE, false},
  {"blast", K_BLAST, false}, {"compliance", K_COMPLIANCE, false}, {"undo", K_UNDO, false},
  {"and", K_AND, true}, {"or", K_OR, true}, {"not", K_NOT, true},
  {"true", K_TRUE, false}, {"false", K_FALSE, false}, {"nil", K_NIL, false},
};

static void test_every_keyword(void **state) {
  (void)state;
  /* all of them on one line, separated by one space */
  char src[1024] = "";
  Exp want[N_OF(keywords) + 2];
  uint32_t col = 1;
  for (size_t i = 0; i < N_OF(keywords); i++) {
    strcat(src, keywords[i].text);
    strcat(src, " ");
    want[i] = (Exp)TK(keywords[i].kind, 1, col);
    col += (uint32_t)strlen(keywords[i].text) + 1;
  }
  assert_int_equal(N_OF(keywords), 51);
  /* the last keyword, nil, ends a statement */
  want[N_OF(keywords)] = (Exp)END_NL;
  want[N_OF(keywords) + 1] = (Exp)EOI;
  Lexed lx;
  lex(&lx, src);
  expect_tokens(&lx, want, N_OF(want));
  expect_no_diags(&lx);
  lexed_free(&lx);
}

static void test_identifiers(void **state) {
  (void)state;
  /* a keyword with more letters, another case or a digit is a name */
  EXPECT_CLEAN("x _ _if if_ If LET lets playbook2 a_b9 __init__ nilx",
               ID("x", 1, 1), ID("_", 1, 3), ID("_if", 1, 5), ID("if_", 1, 9),
               ID("If", 1, 13), ID("LET", 1, 16), ID("lets", 1, 20), ID("playbook2", 1, 25),
               ID("a_b9", 1, 35), ID("__init__", 1, 40), ID("nilx", 1, 49), END_NL, EOI);
  /* a name runs up to the first character that cannot continue it */
  EXPECT_CLEAN("ab.cd(e9)",
               ID("ab", 1, 1), TK('.', 1, 3), ID("cd", 1, 4), TK('(', 1, 6), ID("e9", 1, 7),
               TK(')', 1, 9), END_NL, EOI);
}

static void test_long_identifier(void **state) {
  (void)state;
  enum { LEN = 5000 };
  char *src = malloc(LEN + 3);
  assert_non_null(src);
  memset(src, 'q', LEN);
  memcpy(src + LEN, " z", 3);
  Lexed lx;
  lex(&lx, src);
  assert_int_equal(lx.n, 4);
  assert_int_equal(lx.t[0].kind, IDENT);
  assert_int_equal(lx.t[0].len, LEN);
  assert_memory_equal(lx.t[0].s, src, LEN);
  assert_int_equal(lx.t[0].s[LEN], '\0');
  assert_int_equal(lx.t[1].kind, IDENT);
  assert_int_equal(lx.t[1].span.col, LEN + 2);
  expect_no_diags(&lx);
  lexed_free(&lx);
  free(src);
}

/* ---- operators and punctuation ------------------------------------------ */

static void test_every_operator(void **state) {
  (void)state;
  EXPECT_CLEAN("x + - * / // % == != < <= > >= = -> . : , ( ) [ ] { } y",
               ID("x", 1, 1), TK('+', 1, 3), TK('-', 1, 5), TK('*', 1, 7), TK('/', 1, 9),
               TK(IDIV, 1, 11), TK('%', 1, 14), TK(EQ, 1, 16), TK(NE, 1, 19), TK('<', 1, 22),
               TK(LE, 1, 24), TK('>', 1, 27), TK(GE, 1, 29), TK('=', 1, 32), TK(ARROW, 1, 34),
               TK('.', 1, 37), TK(':', 1, 39), TK(',', 1, 41), TK('(', 1, 43), TK(')', 1, 45),
               TK('[', 1, 47), TK(']', 1, 49), TK('{', 1, 51), TK('}', 1, 53), ID("y", 1, 55),
               END_NL, EOI);
}

static void test_operators_without_spaces(void **state) {
  (void)state;
  /* longest match: `//` `->` `==` `<=` `>=` `!=` are one token each */
  EXPECT_CLEAN("a//b->c==d<=e>=f!=g===h=<i- >j/ /k",
               ID("a", 1, 1), TK(IDIV, 1, 2), ID("b", 1, 4), TK(ARROW, 1, 5), ID("c", 1, 7),
               TK(EQ, 1, 8), ID("d", 1, 10), TK(LE, 1, 11), ID("e", 1, 13), TK(GE, 1, 14),
               ID("f", 1, 16), TK(NE, 1, 17), ID("g", 1, 19), TK(EQ, 1, 20), TK('=', 1, 22),
               ID("h", 1, 23), TK('=', 1, 24), TK('<', 1, 25), ID("i", 1, 26), TK('-', 1, 27),
               TK('>', 1, 29), ID("j", 1, 30), TK('/', 1, 31), TK('/', 1, 33), ID("k", 1, 34),
               END_NL, EOI);
  /* a minus sign is an operator, never part of the literal */
  EXPECT_CLEAN("a-1", ID("a", 1, 1), TK('-', 1, 2), IN(1, 1, 3), END_NL, EOI);
}

static void test_semicolon_is_nl(void **state) {
  (void)state;
  EXPECT_CLEAN("a; b;c", ID("a", 1, 1), NLT(1, 2), ID("b", 1, 4), NLT(1, 5), ID("c", 1, 6),
               END_NL, EOI);
  /* `;;`, `;` then a newline, and a leading `;` give no extra NL */
  EXPECT_CLEAN(";a;;\n;b;\n", ID("a", 1, 2), NLT(1, 3), ID("b", 2, 2), NLT(2, 3), EOI);
}

/* ---- integers ------------------------------------------------------------ */

static void test_integers(void **state) {
  (void)state;
  EXPECT_CLEAN("42 0 007 1_000 1_2_3 0x2A 0X2a 0xff 0xFF_FF 0x0",
               IN(42, 1, 1), IN(0, 1, 4), IN(7, 1, 6), IN(1000, 1, 10), IN(123, 1, 16),
               IN(42, 1, 22), IN(42, 1, 27), IN(255, 1, 32), IN(65535, 1, 37), IN(0, 1, 45),
               END_NL, EOI);
}

static void test_integers_hex_underscore_first(void **state) {
  (void)state;
  /* the hex digits must start right after 0x */
  static const Exp want[] = {IN(0, 1, 1), END_NL, EOI};
  static const ExpDiag diags[] = {{1, 1, "malformed number '0x_1'"}};
  Lexed lx;
  lex(&lx, "0x_1");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_int64_limits(void **state) {
  (void)state;
  EXPECT_CLEAN("9223372036854775807 0x7FFFFFFFFFFFFFFF 0x7fff_ffff_ffff_ffff",
               IN(INT64_MAX, 1, 1), IN(INT64_MAX, 1, 21), IN(INT64_MAX, 1, 40), END_NL, EOI);
  /* 2^63 alone is INT_MIN_LIT, valid only negated: the parser decides, the
   * lexer says nothing */
  EXPECT_CLEAN("9223372036854775808", TK(INT_MIN_LIT, 1, 1), END_NL, EOI);
  EXPECT_CLEAN("-9223372036854775808", TK('-', 1, 1), TK(INT_MIN_LIT, 1, 2), END_NL, EOI);
  EXPECT_CLEAN("x = 9_223_372_036_854_775_808", ID("x", 1, 1), TK('=', 1, 3),
               TK(INT_MIN_LIT, 1, 5), END_NL, EOI);
}

static void test_int_too_large(void **state) {
  (void)state;
  static const Exp want[] = {
    ID("x", 1, 1), TK('=', 1, 3), IN(0, 1, 5), TK('+', 1, 25), IN(0, 1, 27),
    TK('+', 1, 48), IN(0, 1, 50), TK('+', 1, 70), IN(0, 1, 72), END_NL, EOI,
  };
  static const ExpDiag diags[] = {
    {1, 5, "integer literal too large"},
    {1, 27, "integer literal too large"},
    {1, 50, "integer literal too large"},
    {1, 72, "integer literal too large"},
  };
  Lexed lx;
  lex(&lx, "x = 9223372036854775809 + 99999999999999999999 + 0x10000000000000000 + "
           "18446744073709551616");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_int_too_large_next_line(void **state) {
  (void)state;
  static const Exp want[] = {ID("a", 1, 1), NLT(1, 2), IN(0, 2, 3), END_NL, EOI};
  static const ExpDiag diags[] = {{2, 3, "integer literal too large"}};
  Lexed lx;
  lex(&lx, "a\n\t 9223372036854775809");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_malformed_numbers(void **state) {
  (void)state;
  static const Exp want[] = {
    IN(0, 1, 1), IN(0, 1, 7), IN(0, 1, 11), IN(0, 1, 16), IN(0, 1, 19), IN(0, 1, 23),
    IN(0, 1, 28), ID("x", 1, 33), END_NL, EOI,
  };
  static const ExpDiag diags[] = {
    {1, 1, "malformed number '12abc'"},
    {1, 7, "malformed number '0x_'"},
    {1, 11, "malformed number '1__0'"},
    {1, 16, "malformed number '1_'"},
    {1, 19, "malformed number '0xG'"},
    {1, 23, "malformed number '12sx'"},
    {1, 28, "malformed number '3min'"},
  };
  Lexed lx;
  lex(&lx, "12abc 0x_ 1__0 1_ 0xG 12sx 3min x");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

/* ---- floats -------------------------------------------------------------- */

static void test_floats(void **state) {
  (void)state;
  EXPECT_CLEAN("3.14 0.5 1e-3 2.5E+4 1E3 1_0.2_5 0.0 1e-999",
               FL(3.14, 1, 1), FL(0.5, 1, 6), FL(1e-3, 1, 10), FL(2.5E+4, 1, 15),
               FL(1000.0, 1, 22), FL(10.25, 1, 26), FL(0.0, 1, 34),
               /* underflow to zero is not an error */
               FL(0.0, 1, 38), END_NL, EOI);
  /* `1.` and `.5` are not floats: the dot is field access */
  EXPECT_CLEAN("1.x .5", IN(1, 1, 1), TK('.', 1, 2), ID("x", 1, 3), TK('.', 1, 5), IN(5, 1, 6),
               END_NL, EOI);
}

static void test_float_out_of_range(void **state) {
  (void)state;
  Lexed lx;
  lex(&lx, "x = 1e999 + 1.5E400");
  assert_int_equal(lx.n, 7);
  assert_int_equal(lx.t[2].kind, FLOAT);
  assert_int_equal(lx.t[2].span.col, 5);
  assert_int_equal(lx.t[4].kind, FLOAT);
  assert_int_equal(lx.t[4].span.col, 13);
  static const ExpDiag diags[] = {{1, 5, "out of range"}, {1, 13, "out of range"}};
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_long_float(void **state) {
  (void)state;
  /* longer than the scanner's small copy buffer */
  char src[300];
  memset(src, '0', sizeof src);
  src[0] = '1';
  src[1] = '.';
  src[200] = '5';
  src[201] = '\0';
  Lexed lx;
  lex(&lx, src);
  assert_int_equal(lx.n, 3);
  assert_int_equal(lx.t[0].kind, FLOAT);
  assert_true(lx.t[0].f == 1.0);
  expect_no_diags(&lx);
  lexed_free(&lx);
}

/* ---- durations ----------------------------------------------------------- */

static void test_durations(void **state) {
  (void)state;
  EXPECT_CLEAN("30s 15m 4h 2d 0s 1_0m 9223372036854775807s",
               DU(30, 1, 1), DU(900, 1, 5), DU(14400, 1, 9), DU(172800, 1, 12), DU(0, 1, 15),
               DU(600, 1, 18), DU(INT64_MAX, 1, 23), END_NL, EOI);
  /* the largest of each unit */
  EXPECT_CLEAN("153722867280912930m 2562047788015215h 106751991167300d",
               DU(153722867280912930 * 60LL, 1, 1), DU(2562047788015215LL * 3600, 1, 21),
               DU(106751991167300LL * 86400, 1, 39), END_NL, EOI);
  /* a space makes it an integer and a name */
  EXPECT_CLEAN("30 s", IN(30, 1, 1), ID("s", 1, 4), END_NL, EOI);
}

static void test_duration_too_large(void **state) {
  (void)state;
  static const Exp want[] = {
    DU(0, 1, 1), DU(0, 1, 21), DU(0, 1, 39), DU(0, 1, 56), DU(60, 1, 77), END_NL, EOI,
  };
  static const ExpDiag diags[] = {
    {1, 1, "duration too large"},
    {1, 21, "duration too large"},
    {1, 39, "duration too large"},
    {1, 56, "duration too large"},
  };
  Lexed lx;
  lex(&lx, "153722867280912931m 2562047788015216h 106751991167301d 9223372036854775808s 1m");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);

  /* a count that is itself too large is reported once, as an integer */
  static const Exp want2[] = {DU(0, 1, 1), END_NL, EOI};
  static const ExpDiag diags2[] = {{1, 1, "too large"}};
  lex(&lx, "99999999999999999999s");
  expect_tokens(&lx, want2, N_OF(want2));
  expect_diags(&lx, diags2, N_OF(diags2));
  lexed_free(&lx);
}

/* ---- strings ------------------------------------------------------------- */

static void test_plain_strings(void **state) {
  (void)state;
  EXPECT_CLEAN("\"\" \"abc\" \"a # not a comment\" \"caf\xc3\xa9\" x",
               SX(STRING, "", 1, 1), SX(STRING, "abc", 1, 4), SX(STRING, "a # not a comment", 1, 10),
               SX(STRING, "caf\xc3\xa9", 1, 30), ID("x", 1, 37), END_NL, EOI);
}

static void test_every_escape(void **state) {
  (void)state;
  EXPECT_CLEAN("\"\\n\\t\\r\\\\\\\"\\{\\}\\u{e9}\\u{1F600}\" x",
               SX(STRING, "\n\t\r\\\"{}\xc3\xa9\xf0\x9f\x98\x80", 1, 1), ID("x", 1, 33),
               END_NL, EOI);
  /* one- to six-digit escapes, both cases, at the edges of the ranges */
  EXPECT_CLEAN("\"\\u{41}\\u{7f}\\u{80}\\u{7FF}\\u{800}\\u{FFFF}\\u{10000}\\u{10FFFF}\\u{D7FF}\\u{e000}\\u{000041}\"",
               SX(STRING,
                  "A\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"
                  "\xed\x9f\xbf\xee\x80\x80" "A", 1, 1),
               END_NL, EOI);
}

static void test_escape_nul(void **state) {
  (void)state;
  Lexed lx;
  lex(&lx, "\"\\u{0}\" \"a\\u{0}b\"");
  static const Exp want[] = {SX(STRING, "\0", 1, 1), SX(STRING, "a\0b", 1, 9), END_NL, EOI};
  expect_tokens(&lx, want, N_OF(want));
  assert_int_equal(lx.t[0].len, 1);
  assert_int_equal(lx.t[0].s[0], '\0');
  assert_int_equal(lx.t[1].len, 3);
  expect_no_diags(&lx);
  lexed_free(&lx);
}

static void test_invalid_escapes(void **state) {
  (void)state;
  static const Exp want[] = {SX(STRING, "a b c d e f g", 1, 1), ID("z", 1, 56), END_NL, EOI};
  static const ExpDiag diags[] = {
    {1, 3, "invalid escape '\\q'"},
    {1, 7, "invalid escape"},            /* \u{D800}: a surrogate */
    {1, 17, "invalid escape"},           /* \u{110000}: past U+10FFFF */
    {1, 29, "invalid escape '\\u'"},     /* \u without braces */
    {1, 33, "invalid escape"},           /* \u{}: no digits */
    {1, 39, "invalid escape"},           /* \u{1234567}: seven digits */
    {1, 52, "invalid escape"},           /* \x */
  };
  Lexed lx;
  lex(&lx, "\"a\\q b\\u{D800} c\\u{110000} d\\u e\\u{} f\\u{1234567} g\\x\" z");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  assert_non_null(strstr(lx.d.v[1].msg, "D800"));
  assert_non_null(strstr(lx.d.v[2].msg, "110000"));
  lexed_free(&lx);
}

static void test_invalid_escape_no_interpolation(void **state) {
  (void)state;
  /* a \u{ that is not a valid escape never opens an interpolation */
  static const Exp want[] = {SX(STRING, "ab", 1, 1), ID("y", 1, 12), END_NL, EOI};
  static const ExpDiag diags[] = {{1, 3, "invalid escape '\\u{zz}'"}};
  Lexed lx;
  lex(&lx, "\"a\\u{zz}b\" y");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_escape_column_after_multibyte(void **state) {
  (void)state;
  /* the column of the backslash counts characters */
  static const Exp want[] = {SX(STRING, "\xc3\xa9\xe2\x82\xac", 1, 1), END_NL, EOI};
  static const ExpDiag diags[] = {{1, 4, "invalid escape '\\q'"}};
  Lexed lx;
  lex(&lx, "\"\xc3\xa9\xe2\x82\xac\\q\"");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_control_character_in_string(void **state) {
  (void)state;
  static const Exp want[] = {SX(STRING, "ab", 1, 1), ID("x", 1, 7), END_NL, EOI};
  static const ExpDiag diags[] = {{1, 3, "control character"}};
  Lexed lx;
  lex(&lx, "\"a\x01" "b\" x");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

/* ---- interpolation ------------------------------------------------------- */

static void test_interpolation(void **state) {
  (void)state;
  EXPECT_CLEAN("\"a {x} b\"",
               SX(STR_BEGIN, "a ", 1, 1), ID("x", 1, 5), SX(STR_END, " b", 1, 6), END_NL, EOI);
  EXPECT_CLEAN("\"{x}\"", SX(STR_BEGIN, "", 1, 1), ID("x", 1, 3), SX(STR_END, "", 1, 4), END_NL, EOI);
  EXPECT_CLEAN("s = \"a {x} b {y + 1} c\"",
               ID("s", 1, 1), TK('=', 1, 3), SX(STR_BEGIN, "a ", 1, 5), ID("x", 1, 9),
               SX(STR_MID, " b ", 1, 10), ID("y", 1, 15), TK('+', 1, 17), IN(1, 1, 19),
               SX(STR_END, " c", 1, 20), END_NL, EOI);
  /* escaped braces are text */
  EXPECT_CLEAN("\"\\{x\\} {y}\"", SX(STR_BEGIN, "{x} ", 1, 1), ID("y", 1, 9), SX(STR_END, "", 1, 10),
               END_NL, EOI);
}

static void test_interpolation_nested_braces(void **state) {
  (void)state;
  /* a map literal inside: its `}` closes the map, not the interpolation,
   * and (as everywhere) an NL is inserted before it */
  EXPECT_CLEAN("\"{ {a: 1}.a }\"",
               SX(STR_BEGIN, "", 1, 1), TK('{', 1, 4), ID("a", 1, 5), TK(':', 1, 6), IN(1, 1, 8),
               NLT(1, 9), TK('}', 1, 9), TK('.', 1, 10), ID("a", 1, 11), SX(STR_END, "", 1, 13),
               END_NL, EOI);
}

static void test_interpolation_with_string(void **state) {
  (void)state;
  EXPECT_CLEAN("\"x {f(\"y\")} z\"",
               SX(STR_BEGIN, "x ", 1, 1), ID("f", 1, 5), TK('(', 1, 6), SX(STRING, "y", 1, 7),
               TK(')', 1, 10), SX(STR_END, " z", 1, 11), END_NL, EOI);
  /* an interpolation inside the inner string */
  EXPECT_CLEAN("\"a {\"b {c} d\"} e\"",
               SX(STR_BEGIN, "a ", 1, 1), SX(STR_BEGIN, "b ", 1, 5), ID("c", 1, 9),
               SX(STR_END, " d", 1, 10), SX(STR_END, " e", 1, 14), END_NL, EOI);
  /* three levels, with a middle part at each */
  EXPECT_CLEAN("\"1{\"2{\"3{x}3\"}2{y}\"}1\"",
               SX(STR_BEGIN, "1", 1, 1), SX(STR_BEGIN, "2", 1, 4), SX(STR_BEGIN, "3", 1, 7),
               ID("x", 1, 10), SX(STR_END, "3", 1, 11), SX(STR_MID, "2", 1, 14), ID("y", 1, 17),
               SX(STR_END, "", 1, 18), SX(STR_END, "1", 1, 20), END_NL, EOI);
}

static void test_interpolation_ends_statement(void **state) {
  (void)state;
  /* a string with interpolations ends a line like any literal; the `}` that
   * closes an interpolation gets no NL before it */
  EXPECT_CLEAN("log \"{x}\"\nlog 1",
               TK(K_LOG, 1, 1), SX(STR_BEGIN, "", 1, 5), ID("x", 1, 7), SX(STR_END, "", 1, 8),
               NLT(1, 10), TK(K_LOG, 2, 1), IN(1, 2, 5), END_NL, EOI);
  /* parentheses inside an interpolation: the newline rule is unaffected
   * once the string closes */
  EXPECT_CLEAN("\"{(1)}\"\nz",
               SX(STR_BEGIN, "", 1, 1), TK('(', 1, 3), IN(1, 1, 4), TK(')', 1, 5),
               SX(STR_END, "", 1, 6), NLT(1, 8), ID("z", 2, 1), END_NL, EOI);
}

static void test_token_spans(void **state) {
  (void)state;
  Lexed lx;
  lex(&lx, "\"abc\" \"a {x} bc {y}\" 1_000 ->");
  /* STRING: quote to quote */
  assert_int_equal(lx.t[0].kind, STRING);
  assert_int_equal(lx.t[0].span.col, 1);
  assert_int_equal(lx.t[0].span.len, 5);
  /* STR_BEGIN: the quote through the `{` */
  assert_int_equal(lx.t[1].kind, STR_BEGIN);
  assert_int_equal(lx.t[1].span.col, 7);
  assert_int_equal(lx.t[1].span.len, 4);
  /* STR_MID: `}` through `{` */
  assert_int_equal(lx.t[3].kind, STR_MID);
  assert_int_equal(lx.t[3].span.col, 12);
  assert_int_equal(lx.t[3].span.len, 6);
  /* STR_END: `}` through the quote */
  assert_int_equal(lx.t[5].kind, STR_END);
  assert_int_equal(lx.t[5].span.col, 19);
  assert_int_equal(lx.t[5].span.len, 2);
  assert_int_equal(lx.t[6].kind, INT);
  assert_int_equal(lx.t[6].span.len, 5);
  assert_int_equal(lx.t[7].kind, ARROW);
  assert_int_equal(lx.t[7].span.len, 2);
  expect_no_diags(&lx);
  lexed_free(&lx);
}

/* ---- unterminated strings ------------------------------------------------ */

static void test_unterminated_at_end_of_line(void **state) {
  (void)state;
  static const Exp want[] = {
    ID("x", 1, 1), TK('=', 1, 3), SX(STRING, "abc", 1, 5), NLT(1, 9),
    TK(K_LOG, 2, 1), IN(1, 2, 5), END_NL, EOI,
  };
  static const ExpDiag diags[] = {{1, 5, "unterminated string"}};
  Lexed lx;
  lex(&lx, "x = \"abc\nlog 1");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);

  /* a backslash just before the newline is not an escape of it */
  static const Exp want2[] = {SX(STRING, "ab", 1, 1), NLT(1, 5), ID("y", 2, 1), END_NL, EOI};
  static const ExpDiag diags2[] = {{1, 1, "unterminated string"}};
  lex(&lx, "\"ab\\\ny");
  expect_tokens(&lx, want2, N_OF(want2));
  expect_diags(&lx, diags2, N_OF(diags2));
  lexed_free(&lx);
}

static void test_unterminated_at_end_of_file(void **state) {
  (void)state;
  static const Exp want[] = {TK(K_LOG, 1, 1), SX(STRING, "no end", 1, 5), END_NL, EOI};
  static const ExpDiag diags[] = {{1, 5, "unterminated string"}};
  Lexed lx;
  lex(&lx, "log \"no end");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_unterminated_after_interpolation(void **state) {
  (void)state;
  /* reported at the opening quote, not at the `}` that ended the
   * interpolation */
  static const Exp want[] = {
    TK(K_LOG, 1, 1), SX(STR_BEGIN, "a ", 1, 5), ID("x", 1, 9), SX(STR_END, " b", 1, 10),
    NLT(1, 13), ID("y", 2, 1), END_NL, EOI,
  };
  static const ExpDiag diags[] = {{1, 5, "unterminated string"}};
  Lexed lx;
  lex(&lx, "log \"a {x} b\ny");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);

  /* the same at the end of the file */
  static const Exp want2[] = {
    TK(K_LOG, 1, 1), SX(STR_BEGIN, "a ", 1, 5), ID("x", 1, 9), SX(STR_END, " b", 1, 10), END_NL, EOI,
  };
  lex(&lx, "log \"a {x} b");
  expect_tokens(&lx, want2, N_OF(want2));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_unterminated_interpolation(void **state) {
  (void)state;
  /* an interpolation left open at the end of the line: once, at the quote */
  static const Exp want[] = {
    TK(K_LET, 1, 1), ID("s", 1, 5), TK('=', 1, 7), SX(STR_BEGIN, "value ", 1, 9), ID("n", 1, 17),
    NLT(1, 18), TK(K_LOG, 2, 1), ID("s", 2, 5), END_NL, EOI,
  };
  static const ExpDiag diags[] = {{1, 9, "unterminated string"}};
  Lexed lx;
  lex(&lx, "let s = \"value {n\nlog s");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);

  /* after a first interpolation has closed: still the opening quote */
  static const Exp want2[] = {
    SX(STR_BEGIN, "a ", 1, 1), ID("x", 1, 5), SX(STR_MID, " b ", 1, 6), ID("y", 1, 11),
    NLT(1, 12), ID("z", 2, 1), END_NL, EOI,
  };
  static const ExpDiag diags2[] = {{1, 1, "unterminated string"}};
  lex(&lx, "\"a {x} b {y\nz");
  expect_tokens(&lx, want2, N_OF(want2));
  expect_diags(&lx, diags2, N_OF(diags2));
  lexed_free(&lx);

  /* and at the end of the file */
  static const Exp want3[] = {SX(STR_BEGIN, "a ", 1, 1), ID("x", 1, 5), END_NL, EOI};
  lex(&lx, "\"a {x");
  expect_tokens(&lx, want3, N_OF(want3));
  expect_diags(&lx, diags2, N_OF(diags2));
  lexed_free(&lx);

  /* an open `(` inside the interpolation does not hide the end of line */
  static const Exp want4[] = {SX(STR_BEGIN, "a ", 1, 1), ID("f", 1, 5), TK('(', 1, 6), ID("x", 1, 7),
                              NLT(1, 8), ID("z", 2, 1), END_NL, EOI};
  lex(&lx, "\"a {f(x\nz");
  expect_tokens(&lx, want4, N_OF(want4));
  expect_diags(&lx, diags2, N_OF(diags2));
  lexed_free(&lx);
}

static void test_unterminated_nested_string(void **state) {
  (void)state;
  /* reported once, at the outermost string's quote */
  static const Exp want[] = {
    ID("x", 1, 1), SX(STR_BEGIN, "a ", 1, 3), SX(STR_BEGIN, "b ", 1, 7), ID("c", 1, 11),
    SX(STR_END, " d", 1, 12), NLT(1, 15), ID("y", 2, 1), END_NL, EOI,
  };
  static const ExpDiag diags[] = {{1, 3, "unterminated string"}};
  Lexed lx;
  lex(&lx, "x \"a {\"b {c} d\ny");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);

  /* the inner string still open at the end of the file */
  static const Exp want2[] = {
    ID("x", 1, 1), SX(STR_BEGIN, "a ", 1, 3), SX(STRING, "b", 1, 7), END_NL, EOI,
  };
  lex(&lx, "x \"a {\"b");
  expect_tokens(&lx, want2, N_OF(want2));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_string_spanning_lines(void **state) {
  (void)state;
  /* each line's open string is reported: line 2's quote opens a new one */
  static const Exp want[] = {
    TK(K_LET, 1, 1), ID("s", 1, 5), TK('=', 1, 7), SX(STRING, "first line", 1, 9), NLT(1, 20),
    SX(STRING, "", 2, 1), NLT(2, 2), TK(K_LOG, 3, 1), IN(1, 3, 5), NLT(3, 6), EOI,
  };
  static const ExpDiag diags[] = {{1, 9, "unterminated string"}, {2, 1, "unterminated string"}};
  Lexed lx;
  lex(&lx, "let s = \"first line\n\"\nlog 1\n");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

/* ---- comments ------------------------------------------------------------ */

static void test_comments(void **state) {
  (void)state;
  EXPECT_CLEAN("# header \"quote { brace\nx # trailing ( [ {\n  # indented\ny#z\n#",
               ID("x", 2, 1), NLT(2, 19), ID("y", 4, 1), NLT(4, 4), EOI);
  /* a comment after an operator: the line still continues */
  EXPECT_CLEAN("a + # more\nb", ID("a", 1, 1), TK('+', 1, 3), ID("b", 2, 1), END_NL, EOI);
  /* only comments */
  EXPECT_CLEAN("# one\n# two", EOI);
  EXPECT_CLEAN("", EOI);
}

/* ---- the newline rule ---------------------------------------------------- */

/* "a OP\nb": a line ending in OP continues on the next */
static void expect_continues(const char *op, int kind) {
  char src[64];
  snprintf(src, sizeof src, "a %s\nb", op);
  const Exp want[] = {ID("a", 1, 1), TK(kind, 1, 3), ID("b", 2, 1), END_NL, EOI};
  Lexed lx;
  lex(&lx, src);
  if (lx.n != N_OF(want)) fprintf(stderr, "after %s:\n", op);
  expect_tokens(&lx, want, N_OF(want));
  expect_no_diags(&lx);
  lexed_free(&lx);
}

static void test_nl_after_continuation_operators(void **state) {
  (void)state;
  static const struct { const char *op; int kind; } ops[] = {
    {"+", '+'}, {"-", '-'}, {"*", '*'}, {"/", '/'}, {"//", IDIV}, {"%", '%'},
    {"==", EQ}, {"!=", NE}, {"<", '<'}, {"<=", LE}, {">", '>'}, {">=", GE},
    {"=", '='}, {"->", ARROW}, {".", '.'}, {":", ':'}, {",", ','},
  };
  for (size_t i = 0; i < N_OF(ops); i++) expect_continues(ops[i].op, ops[i].kind);
  /* several blank and comment lines after the operator */
  EXPECT_CLEAN("a +\n\n  # c\n\nb", ID("a", 1, 1), TK('+', 1, 3), ID("b", 5, 1), END_NL, EOI);
}

static void test_nl_after_open_brackets(void **state) {
  (void)state;
  /* `(` and `[`: the newlines inside are ignored */
  EXPECT_CLEAN("a (\nb\n)", ID("a", 1, 1), TK('(', 1, 3), ID("b", 2, 1), TK(')', 3, 1), END_NL, EOI);
  EXPECT_CLEAN("a [\nb\n]", ID("a", 1, 1), TK('[', 1, 3), ID("b", 2, 1), TK(']', 3, 1), END_NL, EOI);
  /* `{`: none after it; the entry before `}` ends with the newline */
  EXPECT_CLEAN("a {\nb\n}", ID("a", 1, 1), TK('{', 1, 3), ID("b", 2, 1), NLT(2, 2), TK('}', 3, 1),
               END_NL, EOI);
}

static void test_nl_after_every_keyword(void **state) {
  (void)state;
  /* "K\nb": NL unless K is one of the continuation keywords of §1 */
  for (size_t i = 0; i < N_OF(keywords); i++) {
    char src[64];
    snprintf(src, sizeof src, "%s\nb", keywords[i].text);
    uint32_t end = (uint32_t)strlen(keywords[i].text) + 1;
    Exp want[5];
    size_t n = 0;
    want[n++] = (Exp)TK(keywords[i].kind, 1, 1);
    if (!keywords[i].continues) want[n++] = (Exp)NLT(1, end);
    want[n++] = (Exp)ID("b", 2, 1);
    want[n++] = (Exp)END_NL;
    want[n++] = (Exp)EOI;
    Lexed lx;
    lex(&lx, src);
    if (lx.n != n) fprintf(stderr, "after keyword '%s':\n", keywords[i].text);
    expect_tokens(&lx, want, n);
    expect_no_diags(&lx);
    lexed_free(&lx);
  }
}

static void test_nl_after_statement_enders(void **state) {
  (void)state;
  EXPECT_CLEAN("a\nb", ID("a", 1, 1), NLT(1, 2), ID("b", 2, 1), END_NL, EOI);
  EXPECT_CLEAN("1\n2.5\n3s\n\"s\"\nb",
               IN(1, 1, 1), NLT(1, 2), FL(2.5, 2, 1), NLT(2, 4), DU(3, 3, 1), NLT(3, 3),
               SX(STRING, "s", 4, 1), NLT(4, 4), ID("b", 5, 1), END_NL, EOI);
  EXPECT_CLEAN("f()\ng[1]\n{}\nb",
               ID("f", 1, 1), TK('(', 1, 2), TK(')', 1, 3), NLT(1, 4),
               ID("g", 2, 1), TK('[', 2, 2), IN(1, 2, 3), TK(']', 2, 4), NLT(2, 5),
               TK('{', 3, 1), TK('}', 3, 2), NLT(3, 3), ID("b", 4, 1), END_NL, EOI);
  /* `} else {` stays on one line: no NL between them */
  EXPECT_CLEAN("if a {\nb\n} else {\nc\n}\n",
               TK(K_IF, 1, 1), ID("a", 1, 4), TK('{', 1, 6), ID("b", 2, 1), NLT(2, 2),
               TK('}', 3, 1), TK(K_ELSE, 3, 3), TK('{', 3, 8), ID("c", 4, 1), NLT(4, 2),
               TK('}', 5, 1), NLT(5, 2), EOI);
}

static void test_nl_inside_parens(void **state) {
  (void)state;
  EXPECT_CLEAN("f(\n  1,\n\n  2, # c\n)\nz",
               ID("f", 1, 1), TK('(', 1, 2), IN(1, 2, 3), TK(',', 2, 4), IN(2, 4, 3), TK(',', 4, 4),
               TK(')', 5, 1), NLT(5, 2), ID("z", 6, 1), END_NL, EOI);
  EXPECT_CLEAN("[1\n[2\n]]\nz",
               TK('[', 1, 1), IN(1, 1, 2), TK('[', 2, 1), IN(2, 2, 2), TK(']', 3, 1), TK(']', 3, 2),
               NLT(3, 3), ID("z", 4, 1), END_NL, EOI);
  /* a `{` inside parentheses: newlines count again until its `}` */
  EXPECT_CLEAN("f({\na: 1\n}\n)",
               ID("f", 1, 1), TK('(', 1, 2), TK('{', 1, 3), ID("a", 2, 1), TK(':', 2, 2),
               IN(1, 2, 4), NLT(2, 5), TK('}', 3, 1), TK(')', 4, 1), END_NL, EOI);
  /* and parentheses inside braces */
  EXPECT_CLEAN("{ g(\n)\n}",
               TK('{', 1, 1), ID("g", 1, 3), TK('(', 1, 4), TK(')', 2, 1), NLT(2, 2), TK('}', 3, 1),
               END_NL, EOI);
}

static void test_nl_before_close_brace(void **state) {
  (void)state;
  /* inserted (zero width, at the `}`) when the last token can end a statement */
  EXPECT_CLEAN("a {b}", ID("a", 1, 1), TK('{', 1, 3), ID("b", 1, 4), NLT(1, 5), TK('}', 1, 5),
               END_NL, EOI);
  EXPECT_CLEAN("{f()}", TK('{', 1, 1), ID("f", 1, 2), TK('(', 1, 3), TK(')', 1, 4), NLT(1, 5),
               TK('}', 1, 5), END_NL, EOI);
  EXPECT_CLEAN("{[1]}", TK('{', 1, 1), TK('[', 1, 2), IN(1, 1, 3), TK(']', 1, 4), NLT(1, 5),
               TK('}', 1, 5), END_NL, EOI);
  EXPECT_CLEAN("{{}}", TK('{', 1, 1), TK('{', 1, 2), TK('}', 1, 3), NLT(1, 4), TK('}', 1, 4),
               END_NL, EOI);
  EXPECT_CLEAN("{return}", TK('{', 1, 1), TK(K_RETURN, 1, 2), NLT(1, 8), TK('}', 1, 8), END_NL, EOI);
  /* not after `{`, an operator, `,`, a continuation keyword or an NL */
  EXPECT_CLEAN("{}", TK('{', 1, 1), TK('}', 1, 2), END_NL, EOI);
  EXPECT_CLEAN("{a,}", TK('{', 1, 1), ID("a", 1, 2), TK(',', 1, 3), TK('}', 1, 4), END_NL, EOI);
  EXPECT_CLEAN("{a +}", TK('{', 1, 1), ID("a", 1, 2), TK('+', 1, 4), TK('}', 1, 5), END_NL, EOI);
  EXPECT_CLEAN("{a and}", TK('{', 1, 1), ID("a", 1, 2), TK(K_AND, 1, 4), TK('}', 1, 7), END_NL, EOI);
  EXPECT_CLEAN("{a;}", TK('{', 1, 1), ID("a", 1, 2), NLT(1, 3), TK('}', 1, 4), END_NL, EOI);
  /* the NL inserted before `}` has zero width; a real newline has one */
  Lexed lx;
  lex(&lx, "{a}\n");
  assert_int_equal(lx.n, 6);
  assert_int_equal(lx.t[2].kind, NL);
  assert_int_equal(lx.t[2].span.len, 0);
  assert_int_equal(lx.t[4].kind, NL);
  assert_int_equal(lx.t[4].span.col, 4);
  assert_int_equal(lx.t[4].span.len, 1);
  lexed_free(&lx);
}

static void test_unclosed_bracket_repaired_at_brace(void **state) {
  (void)state;
  /* a `}` closes the `(` left open inside its block: newlines count again */
  EXPECT_CLEAN("{f(}\nz",
               TK('{', 1, 1), ID("f", 1, 2), TK('(', 1, 3), TK('}', 1, 4), NLT(1, 5),
               ID("z", 2, 1), END_NL, EOI);
  /* stray closers do not unbalance anything */
  EXPECT_CLEAN(")]}\nz", TK(')', 1, 1), TK(']', 1, 2), NLT(1, 3), TK('}', 1, 3), NLT(1, 4),
               ID("z", 2, 1), END_NL, EOI);
}

static void test_nl_at_start_and_blank_lines(void **state) {
  (void)state;
  /* none at the start, one per ended line however many blank or comment
   * lines follow */
  EXPECT_CLEAN("\n\n# c\n\nx # y\n\n# z\n\n\ny\n\n",
               ID("x", 5, 1), NLT(5, 6), ID("y", 10, 1), NLT(10, 2), EOI);
  EXPECT_CLEAN("\r\n\t \r\nx\r\n", ID("x", 3, 1), NLT(3, 3), EOI);
}

static void test_nl_at_end_of_input(void **state) {
  (void)state;
  EXPECT_CLEAN("x", ID("x", 1, 1), END_NL, EOI);
  EXPECT_CLEAN("x\n", ID("x", 1, 1), NLT(1, 2), EOI);
  EXPECT_CLEAN("x # c", ID("x", 1, 1), END_NL, EOI);
  /* not after a token that continues */
  EXPECT_CLEAN("x +", ID("x", 1, 1), TK('+', 1, 3), EOI);
  EXPECT_CLEAN("x and\n", ID("x", 1, 1), TK(K_AND, 1, 3), EOI);
  EXPECT_CLEAN("\n\n", EOI);
  /* ps_tokens stops at the first end of input */
  Lexed lx;
  lex(&lx, "x");
  assert_int_equal(lx.n, 3);
  lexed_free(&lx);
}

/* ---- positions ----------------------------------------------------------- */

static void test_columns_count_characters(void **state) {
  (void)state;
  /* é is two bytes, € three, 😀 four: one column each */
  EXPECT_CLEAN("\"\xc3\xa9\" y \"\xe2\x82\xac\xf0\x9f\x98\x80\" z",
               SX(STRING, "\xc3\xa9", 1, 1), ID("y", 1, 5), SX(STRING, "\xe2\x82\xac\xf0\x9f\x98\x80", 1, 7),
               ID("z", 1, 12), END_NL, EOI);
  EXPECT_CLEAN("# \xc3\xa9\xc3\xa9\n\"\xc3\xa9\" x", SX(STRING, "\xc3\xa9", 2, 1), ID("x", 2, 5), END_NL, EOI);
  /* a tab is one column */
  EXPECT_CLEAN("\tx\t\ty", ID("x", 1, 2), ID("y", 1, 5), END_NL, EOI);
  /* the interpolated expression's column too */
  EXPECT_CLEAN("\"\xc3\xa9\xc3\xa9 {x}\"", SX(STR_BEGIN, "\xc3\xa9\xc3\xa9 ", 1, 1), ID("x", 1, 6),
               SX(STR_END, "", 1, 7), END_NL, EOI);
}

static void test_line_numbers(void **state) {
  (void)state;
  EXPECT_CLEAN("a\n b\n\n  c\n# d\n   e(\n f\n)",
               ID("a", 1, 1), NLT(1, 2), ID("b", 2, 2), NLT(2, 3), ID("c", 4, 3), NLT(4, 4),
               ID("e", 6, 4), TK('(', 6, 5), ID("f", 7, 2), TK(')', 8, 1), END_NL, EOI);
  /* a carriage return is blank space, not a line break */
  EXPECT_CLEAN("a\rb\r\nc", ID("a", 1, 1), ID("b", 1, 3), NLT(1, 5), ID("c", 2, 1), END_NL, EOI);
}

/* ---- bad bytes ------------------------------------------------------------ */

static void test_invalid_utf8(void **state) {
  (void)state;
  /* a lead byte alone, an overlong form, a truncated sequence: one error each,
   * and scanning goes on (a lone lead byte counts one column) */
  static const Exp want[] = {ID("x", 1, 3), ID("y", 1, 7), NLT(1, 10), ID("z", 2, 1), END_NL, EOI};
  static const ExpDiag diags[] = {
    {1, 1, "invalid UTF-8"},
    {1, 5, "invalid UTF-8"},
    {1, 9, "invalid UTF-8"},
  };
  Lexed lx;
  lex(&lx, "\xff x \xc0\x80 y \xe2\x82\nz");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_invalid_utf8_in_string_and_comment(void **state) {
  (void)state;
  /* the string keeps its bytes; the error points at the bad one */
  static const Exp want[] = {SX(STRING, "a\xff" "b", 1, 1), ID("q", 1, 7), NLT(1, 8), ID("z", 3, 1),
                             END_NL, EOI};
  static const ExpDiag diags[] = {{1, 3, "invalid UTF-8"}, {2, 5, "invalid UTF-8"}};
  Lexed lx;
  lex(&lx, "\"a\xff" "b\" q\n# \xc3\xa9 \xfe\nz");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_valid_non_ascii_outside_string(void **state) {
  (void)state;
  static const Exp want[] = {ID("x", 1, 3), END_NL, EOI};
  static const ExpDiag diags[] = {{1, 1, "unexpected character"}};
  Lexed lx;
  lex(&lx, "\xc3\xa9 x");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_nul_bytes(void **state) {
  (void)state;
  static const char src[] = "a\0b \"c\0d\" e";
  static const Exp want[] = {ID("a", 1, 1), ID("b", 1, 3), SX(STRING, "cd", 1, 5), ID("e", 1, 11),
                             END_NL, EOI};
  static const ExpDiag diags[] = {{1, 2, "NUL"}, {1, 7, "control character"}};
  Lexed lx;
  lex_n(&lx, src, sizeof src - 1);
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_stray_characters(void **state) {
  (void)state;
  static const Exp want[] = {ID("a", 1, 1), ID("b", 1, 5), ID("c", 1, 9), ID("d", 1, 14), ID("e", 1, 17),
                             ID("f", 1, 19), END_NL, EOI};
  static const ExpDiag diags[] = {
    {1, 3, "unexpected character '@'"},
    {1, 7, "unexpected character '!'"},
    {1, 11, "unexpected characters '&&'"},
    {1, 16, "unexpected character '$'"},
    {1, 18, "unexpected character (byte 0x01)"},
  };
  Lexed lx;
  lex(&lx, "a @ b ! c && d $e\x01" "f");
  expect_tokens(&lx, want, N_OF(want));
  expect_diags(&lx, diags, N_OF(diags));
  assert_non_null(lx.d.v[1].hint);
  lexed_free(&lx);

  /* a stray `@` where a line ends does not stop the NL */
  static const Exp want2[] = {ID("a", 1, 1), NLT(1, 4), ID("b", 2, 1), END_NL, EOI};
  static const ExpDiag diags2[] = {{1, 3, "unexpected character '@'"}};
  lex(&lx, "a @\nb");
  expect_tokens(&lx, want2, N_OF(want2));
  expect_diags(&lx, diags2, N_OF(diags2));
  lexed_free(&lx);
}

/* ---- limits -------------------------------------------------------------- */

/* n copies of open, then the stream stops at the first one past the limit */
static void expect_nesting_stops(char open, int kind) {
  enum { N = 10000, LIMIT = 200 };
  char *src = malloc(N + 1);
  assert_non_null(src);
  memset(src, open, N);
  src[N] = '\0';
  Lexed lx;
  lex(&lx, src);
  assert_int_equal(lx.n, LIMIT + 1);
  for (size_t i = 0; i < LIMIT; i++) {
    assert_int_equal(lx.t[i].kind, kind);
    assert_int_equal(lx.t[i].span.line, 1);
    assert_int_equal(lx.t[i].span.col, i + 1);
  }
  assert_int_equal(lx.t[LIMIT].kind, 0);
  static const ExpDiag diags[] = {{1, LIMIT + 1, "nested too deeply"}};
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
  free(src);
}

static void test_nesting_too_deep(void **state) {
  (void)state;
  expect_nesting_stops('[', '[');
  expect_nesting_stops('(', '(');
  expect_nesting_stops('{', '{');
}

static void test_nesting_too_deep_then_more(void **state) {
  (void)state;
  /* everything after the limit is dropped, closers included */
  enum { N = 10000 };
  char *src = malloc(2 * N + 16);
  assert_non_null(src);
  memset(src, '[', N);
  memset(src + N, ']', N);
  strcpy(src + 2 * N, "\n@ \"x");
  Lexed lx;
  lex(&lx, src);
  assert_int_equal(lx.n, 201);
  static const ExpDiag diags[] = {{1, 201, "nested too deeply"}};
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
  free(src);
}

static void test_nesting_at_limit(void **state) {
  (void)state;
  /* exactly 200 levels are fine */
  enum { N = 200 };
  char src[2 * N + 3];
  memset(src, '[', N);
  memset(src + N, ']', N);
  strcpy(src + 2 * N, "\nx");
  Lexed lx;
  lex(&lx, src);
  assert_int_equal(lx.n, 2 * N + 4);
  assert_int_equal(lx.t[2 * N].kind, NL);
  assert_int_equal(lx.t[2 * N + 1].kind, IDENT);
  assert_int_equal(lx.t[2 * N + 1].span.line, 2);
  expect_no_diags(&lx);
  lexed_free(&lx);
}

static void test_nesting_interpolations(void **state) {
  (void)state;
  /* each `"{` opens one level */
  enum { N = 300 };
  char src[2 * N + 1];
  for (size_t i = 0; i < N; i++) {
    src[2 * i] = '"';
    src[2 * i + 1] = '{';
  }
  src[2 * N] = '\0';
  Lexed lx;
  lex(&lx, src);
  assert_int_equal(lx.n, 201);
  for (size_t i = 0; i < 200; i++) {
    assert_int_equal(lx.t[i].kind, STR_BEGIN);
    assert_int_equal(lx.t[i].span.col, 2 * i + 1);
  }
  static const ExpDiag diags[] = {{1, 401, "nested too deeply"}};
  expect_diags(&lx, diags, N_OF(diags));
  lexed_free(&lx);
}

static void test_megabyte_string(void **state) {
  (void)state;
  enum { LEN = 1 << 20 };
  char *src = malloc(LEN + 16);
  assert_non_null(src);
  src[0] = '"';
  for (size_t i = 0; i < LEN; i++) src[1 + i] = (char)('a' + i % 26);
  strcpy(src + 1 + LEN, "\\n\" x");
  Lexed lx;
  lex(&lx, src);
  assert_int_equal(lx.n, 4);
  assert_int_equal(lx.t[0].kind, STRING);
  assert_int_equal(lx.t[0].len, LEN + 1);
  assert_memory_equal(lx.t[0].s, src + 1, LEN);
  assert_int_equal(lx.t[0].s[LEN], '\n');
  assert_int_equal(lx.t[1].kind, IDENT);
  assert_int_equal(lx.t[1].span.col, LEN + 6);
  expect_no_diags(&lx);
  lexed_free(&lx);

  /* the same made of interpolation pieces: one big STR_BEGIN, then STR_END */
  src[0] = '"';
  memset(src + 1, 'z', LEN);
  strcpy(src + 1 + LEN, "{1}\"");
  lex(&lx, src);
  assert_int_equal(lx.n, 5);
  assert_int_equal(lx.t[0].kind, STR_BEGIN);
  assert_int_equal(lx.t[0].len, LEN);
  assert_int_equal(lx.t[2].kind, STR_END);
  assert_int_equal(lx.t[2].len, 0);
  assert_int_equal(lx.t[2].span.col, LEN + 4);
  expect_no_diags(&lx);
  lexed_free(&lx);
  free(src);
}

static void test_many_lines(void **state) {
  (void)state;
  enum { LINES = 100000 };
  char *src = malloc(LINES * 4 + 1);
  assert_non_null(src);
  for (size_t i = 0; i < LINES; i++) memcpy(src + 4 * i, "x=1\n", 4);
  src[LINES * 4] = '\0';
  Lexed lx;
  lex(&lx, src);
  assert_int_equal(lx.n, LINES * 4 + 1);
  assert_int_equal(lx.t[LINES * 4 - 4].kind, IDENT);
  assert_int_equal(lx.t[LINES * 4 - 4].span.line, LINES);
  assert_int_equal(lx.t[LINES * 4 - 1].kind, NL);
  assert_int_equal(lx.t[LINES * 4 - 1].span.col, 4);
  expect_no_diags(&lx);
  lexed_free(&lx);
  free(src);
}

/* ---- token names ----------------------------------------------------------- */

static void test_token_names(void **state) {
  (void)state;
  assert_string_equal(ps_token_name(0), "end of file");
  assert_string_equal(ps_token_name('+'), "'+'");
  assert_string_equal(ps_token_name('{'), "'{'");
  assert_string_equal(ps_token_name(NL), "end of line");
  assert_string_equal(ps_token_name(IDENT), "name");
  assert_string_equal(ps_token_name(ARROW), "->");
  assert_string_equal(ps_token_name(K_LET), "let");
  assert_string_equal(ps_token_name(STR_BEGIN), "string with {\xe2\x80\xa6}");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_keyword),
    cmocka_unit_test(test_identifiers),
    cmocka_unit_test(test_long_identifier),
    cmocka_unit_test(test_every_operator),
    cmocka_unit_test(test_operators_without_spaces),
    cmocka_unit_test(test_semicolon_is_nl),
    cmocka_unit_test(test_integers),
    cmocka_unit_test(test_integers_hex_underscore_first),
    cmocka_unit_test(test_int64_limits),
    cmocka_unit_test(test_int_too_large),
    cmocka_unit_test(test_int_too_large_next_line),
    cmocka_unit_test(test_malformed_numbers),
    cmocka_unit_test(test_floats),
    cmocka_unit_test(test_float_out_of_range),
    cmocka_unit_test(test_long_float),
    cmocka_unit_test(test_durations),
    cmocka_unit_test(test_duration_too_large),
    cmocka_unit_test(test_plain_strings),
    cmocka_unit_test(test_every_escape),
    cmocka_unit_test(test_escape_nul),
    cmocka_unit_test(test_invalid_escapes),
    cmocka_unit_test(test_invalid_escape_no_interpolation),
    cmocka_unit_test(test_escape_column_after_multibyte),
    cmocka_unit_test(test_control_character_in_string),
    cmocka_unit_test(test_interpolation),
    cmocka_unit_test(test_interpolation_nested_braces),
    cmocka_unit_test(test_interpolation_with_string),
    cmocka_unit_test(test_interpolation_ends_statement),
    cmocka_unit_test(test_token_spans),
    cmocka_unit_test(test_unterminated_at_end_of_line),
    cmocka_unit_test(test_unterminated_at_end_of_file),
    cmocka_unit_test(test_unterminated_after_interpolation),
    cmocka_unit_test(test_unterminated_interpolation),
    cmocka_unit_test(test_unterminated_nested_string),
    cmocka_unit_test(test_string_spanning_lines),
    cmocka_unit_test(test_comments),
    cmocka_unit_test(test_nl_after_continuation_operators),
    cmocka_unit_test(test_nl_after_open_brackets),
    cmocka_unit_test(test_nl_after_every_keyword),
    cmocka_unit_test(test_nl_after_statement_enders),
    cmocka_unit_test(test_nl_inside_parens),
    cmocka_unit_test(test_nl_before_close_brace),
    cmocka_unit_test(test_unclosed_bracket_repaired_at_brace),
    cmocka_unit_test(test_nl_at_start_and_blank_lines),
    cmocka_unit_test(test_nl_at_end_of_input),
    cmocka_unit_test(test_columns_count_characters),
    cmocka_unit_test(test_line_numbers),
    cmocka_unit_test(test_invalid_utf8),
    cmocka_unit_test(test_invalid_utf8_in_string_and_comment),
    cmocka_unit_test(test_valid_non_ascii_outside_string),
    cmocka_unit_test(test_nul_bytes),
    cmocka_unit_test(test_stray_characters),
    cmocka_unit_test(test_nesting_too_deep),
    cmocka_unit_test(test_nesting_too_deep_then_more),
    cmocka_unit_test(test_nesting_at_limit),
    cmocka_unit_test(test_nesting_interpolations),
    cmocka_unit_test(test_megabyte_string),
    cmocka_unit_test(test_many_lines),
    cmocka_unit_test(test_token_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
