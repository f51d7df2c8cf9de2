/* tests/unit/test_lexer.h — what the scanner's unit tests (test_lexer*.c,
 * one binary each) share: running the scanner and the newline rule through
 * ps_tokens, the token stream exactly as the grammar sees it; expected
 * tokens (kinds, values, lines, columns) and expected diagnostics (exact
 * positions and message phrases, LANGUAGE.md §1, docs/language-notes.md),
 * printed side by side when they differ; and the table of keywords. */
#ifndef HITL_TEST_LEXER_H
#define HITL_TEST_LEXER_H

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

static inline void lex_n(Lexed *lx, const char *src, size_t len) {
  diag_init(&lx->d, "test.hitl", src, len);
  arena_init(&lx->a);
  lx->n = ps_tokens(src, len, &lx->d, &lx->a, &lx->t);
  assert_true(lx->n >= 1);
  assert_int_equal(lx->t[lx->n - 1].kind, 0);
}

static inline void lex(Lexed *lx, const char *src) { lex_n(lx, src, strlen(src)); }

static inline void lexed_free(Lexed *lx) {
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

static inline bool is_text(int k) {
  return k == IDENT || k == STRING || k == STR_BEGIN || k == STR_MID || k == STR_END;
}
static inline bool is_int(int k) { return k == INT || k == INT_MIN_LIT || k == DURATION; }

static inline void print_tok(const PsToken *t) {
  fprintf(stderr, "%u:%u %s", (unsigned)t->span.line, (unsigned)t->span.col, ps_token_name(t->kind));
  if (is_text(t->kind)) fprintf(stderr, " \"%.*s\" (%zu bytes)", (int)(t->len > 60 ? 60 : t->len), t->s ? t->s : "", t->len);
  if (is_int(t->kind)) fprintf(stderr, " %lld", (long long)t->i);
  if (t->kind == FLOAT) fprintf(stderr, " %.17g", t->f);
}

static inline void print_exp(const Exp *e) {
  fprintf(stderr, "%u:%u %s", (unsigned)e->line, (unsigned)e->col, ps_token_name(e->kind));
  if (is_text(e->kind)) fprintf(stderr, " \"%.*s\" (%zu bytes)", (int)(e->slen > 60 ? 60 : e->slen), e->s, e->slen);
  if (is_int(e->kind)) fprintf(stderr, " %lld", (long long)e->i);
  if (e->kind == FLOAT) fprintf(stderr, " %.17g", e->f);
}

static inline void dump(const Lexed *lx, const Exp *e, size_t n, size_t bad) {
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

static inline bool tok_matches(const PsToken *t, const Exp *e) {
  if (t->kind != e->kind) return false;
  if (e->line && (t->span.line != e->line || t->span.col != e->col)) return false;
  if (is_text(e->kind) && (t->len != e->slen || !t->s || memcmp(t->s, e->s, e->slen) != 0)) return false;
  if (is_int(e->kind) && t->i != e->i) return false;
  if (e->kind == FLOAT && t->f != e->f) return false;
  return true;
}

/* The stream is exactly e[0..n). */
static inline void expect_tokens(const Lexed *lx, const Exp *e, size_t n) {
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
static inline void expect_diags(const Lexed *lx, const ExpDiag *e, size_t n) {
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

static inline void expect_no_diags(const Lexed *lx) { expect_diags(lx, NULL, 0); }

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

/* ---- the keywords: each one's token, and whether a newline after it is
 * dropped (the line continues) --------------------------------------------- */

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

#endif
