/* tests/unit/test_lexer_lines.c — the newline rule (psy_lex in
 * grammar/parser.y): where a newline ends a statement and where it is
 * dropped (after an operator, an open bracket, a continuing keyword, inside
 * parentheses), before a closing brace, at the start and the end of the
 * input; and lines and columns (columns count characters). */
#include "test_lexer.h"

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

int main(void) {
  const struct CMUnitTest tests[] = {
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
