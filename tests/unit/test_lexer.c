/* tests/unit/test_lexer.c — the scanner (grammar/lexer.l) on what makes
 * tokens: keywords, identifiers, operators and punctuation, integers,
 * floats, durations, comments, and the tokens' names.  Strings are in
 * test_lexer_strings.c, the newline rule and positions in
 * test_lexer_lines.c, bad bytes and limits in test_lexer_input.c.  The
 * helpers are in test_lexer.h. */
#include "test_lexer.h"

/* ---- keywords and identifiers ------------------------------------------- */

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
    cmocka_unit_test(test_comments),
    cmocka_unit_test(test_token_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
