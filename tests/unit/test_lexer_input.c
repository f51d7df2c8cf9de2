/* tests/unit/test_lexer_input.c — the scanner (grammar/lexer.l) on bad
 * input and at its limits: invalid UTF-8, NUL bytes, stray characters,
 * nesting too deep, a megabyte string and many lines. */
#include "test_lexer.h"

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

int main(void) {
  const struct CMUnitTest tests[] = {
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
