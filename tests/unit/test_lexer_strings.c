/* tests/unit/test_lexer_strings.c — the scanner (grammar/lexer.l) on
 * strings: escapes, interpolation (nested braces, strings inside, the
 * tokens' spans), and strings left unterminated at the end of a line, of the
 * file, or of an interpolation. */
#include "test_lexer.h"

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

int main(void) {
  const struct CMUnitTest tests[] = {
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
