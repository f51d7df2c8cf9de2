/* tests/unit/test_diag.c — diagnostics: recording, sorting, the cap, and the
 * quoted line with its caret (tabs, multibyte and wide characters, unsafe
 * bytes, long lines, colour). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compiler/diag.h"
#include "vm/mem.h"

static Span at(uint32_t line, uint32_t col, uint32_t len) { return (Span){line, col, len}; }

/* Print d into a string (freed by the caller). */
static char *render(Diags *d, bool colour) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  diag_print(d, f, colour);
  assert_int_equal(fclose(f), 0);
  return buf;
}

static void expect_output(Diags *d, const char *want) {
  char *got = render(d, false);
  assert_string_equal(got, want);
  free(got);
}

static void test_basic_format(void **state) {
  (void)state;
  const char *src = "playbook p \"x\"\n  amount = amount * 2\n";
  Diags d;
  diag_init(&d, "refund.hitl", src, strlen(src));
  diag_error(&d, at(2, 3, 6), "'%s' is an input and cannot be assigned", "amount");
  diag_hint(&d, "copy it first: let doubled = %s * 2", "amount");
  assert_int_equal(d.errors, 1);
  assert_int_equal(d.warnings, 0);
  assert_int_equal(d.n, 1);
  expect_output(&d,
                "refund.hitl:2:3: error: 'amount' is an input and cannot be assigned\n"
                "    2 |   amount = amount * 2\n"
                "      |   ^~~~~~\n"
                "hint: copy it first: let doubled = amount * 2\n");
  diag_free(&d);
}

static void test_warning_and_len_zero(void **state) {
  (void)state;
  const char *src = "let x = 1";
  Diags d;
  diag_init(&d, "w.hitl", src, strlen(src));
  diag_warning(&d, at(1, 5, 0), "unused '%s'", "x");
  assert_int_equal(d.warnings, 1);
  expect_output(&d,
                "w.hitl:1:5: warning: unused 'x'\n"
                "    1 | let x = 1\n"
                "      |     ^\n");
  diag_free(&d);
}

static void test_tab_copied(void **state) {
  (void)state;
  const char *src = "a\n\t\tlet = 5\n";
  Diags d;
  diag_init(&d, "t.hitl", src, strlen(src));
  diag_error(&d, at(2, 7, 1), "syntax error");
  expect_output(&d,
                "t.hitl:2:7: error: syntax error\n"
                "    2 | \t\tlet = 5\n"
                "      | \t\t    ^\n");
  diag_free(&d);
}

static void test_multibyte_columns(void **state) {
  (void)state;
  /* é and ü are two bytes each; the caret goes under the 13th character */
  const char *src = "let \xc3\xa9 = \"\xc3\xbc\" 5\n";
  Diags d;
  diag_init(&d, "u.hitl", src, strlen(src));
  diag_error(&d, at(1, 5, 1), "unexpected character");
  diag_error(&d, at(1, 13, 1), "syntax error");
  expect_output(&d,
                "u.hitl:1:5: error: unexpected character\n"
                "    1 | let \xc3\xa9 = \"\xc3\xbc\" 5\n"
                "      |     ^\n"
                "u.hitl:1:13: error: syntax error\n"
                "    1 | let \xc3\xa9 = \"\xc3\xbc\" 5\n"
                "      |             ^\n");
  diag_free(&d);
}

static void test_wide_characters(void **state) {
  (void)state;
  /* 日本 take two terminal columns each */
  const char *src = "\"\xe6\x97\xa5\xe6\x9c\xac\" + 1";
  Diags d;
  diag_init(&d, "w.hitl", src, strlen(src));
  diag_error(&d, at(1, 6, 1), "operator");
  diag_error(&d, at(1, 2, 2), "text");
  expect_output(&d,
                "w.hitl:1:2: error: text\n"
                "    1 | \"\xe6\x97\xa5\xe6\x9c\xac\" + 1\n"
                "      |  ^~~~\n"
                "w.hitl:1:6: error: operator\n"
                "    1 | \"\xe6\x97\xa5\xe6\x9c\xac\" + 1\n"
                "      |        ^\n");
  diag_free(&d);
}

static void test_unsafe_bytes_replaced(void **state) {
  (void)state;
  /* NUL, ESC, DEL, an invalid byte, an overlong '/' (two bytes, one column
   * as the lexer counts), a right-to-left override: each shown as '?' */
  static const char src[] = "a\0b\x1b\x7f\xff\xc0\xaf\xe2\x80\xae$\r\nnext";
  Diags d;
  diag_init(&d, "c.hitl", src, sizeof src - 1);
  diag_error(&d, at(1, 9, 1), "unexpected character");
  expect_output(&d,
                "c.hitl:1:9: error: unexpected character\n"
                "    1 | a?b??????$\n"
                "      |          ^\n");
  diag_free(&d);
}

static void test_stray_continuation_bytes(void **state) {
  (void)state;
  /* as the lexer counts: a stray continuation byte takes no column, an
   * invalid lead byte one; both show as '?' */
  static const char src[] = "\x80" "a\x80\x80" "b\xc0\xaf$";
  Diags d;
  diag_init(&d, "s.hitl", src, sizeof src - 1);
  diag_error(&d, at(1, 2, 1), "b");
  diag_error(&d, at(1, 4, 1), "dollar");
  diag_error(&d, at(1, 1, 2), "a and b");
  expect_output(&d,
                "s.hitl:1:1: error: a and b\n"
                "    1 | ?a??b??$\n"
                "      |  ^~~~\n"
                "s.hitl:1:2: error: b\n"
                "    1 | ?a??b??$\n"
                "      |     ^\n"
                "s.hitl:1:4: error: dollar\n"
                "    1 | ?a??b??$\n"
                "      |        ^\n");
  diag_free(&d);
}

static void test_message_made_safe(void **state) {
  (void)state;
  Diags d;
  diag_init(&d, "m\n.hitl", NULL, 0);
  diag_error(&d, at(1, 1, 1), "bad\nline\x1b[2J\tend");
  expect_output(&d, "m?.hitl:1:1: error: bad?line?[2J end\n");
  diag_free(&d);
}

static void test_sort_is_stable(void **state) {
  (void)state;
  const char *src = "l1\nl2\nl3\n";
  Diags d;
  diag_init(&d, "s.hitl", src, strlen(src));
  diag_error(&d, at(3, 1, 1), "third");
  diag_error(&d, at(1, 2, 1), "first-a");
  diag_warning(&d, at(2, 1, 1), "second");
  diag_error(&d, at(1, 2, 1), "first-b");
  diag_error(&d, at(1, 1, 1), "zeroth");
  expect_output(&d,
                "s.hitl:1:1: error: zeroth\n"
                "    1 | l1\n"
                "      | ^\n"
                "s.hitl:1:2: error: first-a\n"
                "    1 | l1\n"
                "      |  ^\n"
                "s.hitl:1:2: error: first-b\n"
                "    1 | l1\n"
                "      |  ^\n"
                "s.hitl:2:1: warning: second\n"
                "    2 | l2\n"
                "      | ^\n"
                "s.hitl:3:1: error: third\n"
                "    3 | l3\n"
                "      | ^\n");
  diag_free(&d);
}

static void test_sort_many(void **state) {
  (void)state;
  Diags d;
  diag_init(&d, "n.hitl", NULL, 0);
  d.max = 1000;
  for (unsigned i = 0; i < 1000; i++) diag_error(&d, at(1000 - i / 2, 1, 1), "e%u", i);
  char *out = render(&d, false);
  free(out);
  for (unsigned i = 1; i < d.n; i++) {
    assert_true(d.v[i - 1].span.line <= d.v[i].span.line);
    if (d.v[i - 1].span.line == d.v[i].span.line)   /* stable: insertion order kept */
      assert_true(strcmp(d.v[i - 1].msg, d.v[i].msg) != 0 &&
                  atoi(d.v[i - 1].msg + 1) < atoi(d.v[i].msg + 1));
  }
  diag_free(&d);
}

static void test_cap(void **state) {
  (void)state;
  Diags d;
  diag_init(&d, "cap.hitl", NULL, 0);
  d.max = 3;
  for (int i = 1; i <= 5; i++) {
    diag_error(&d, at((uint32_t)i, 1, 1), "e%d", i);
    diag_hint(&d, "h%d", i);
  }
  diag_warning(&d, at(9, 1, 1), "w");
  assert_int_equal(d.n, 3);
  assert_int_equal(d.errors, 5);
  assert_int_equal(d.warnings, 1);
  /* hints of dropped diagnostics are dropped, never moved to a stored one */
  assert_string_equal(d.v[2].hint, "h3");
  expect_output(&d,
                "cap.hitl:1:1: error: e1\n"
                "hint: h1\n"
                "cap.hitl:2:1: error: e2\n"
                "hint: h2\n"
                "cap.hitl:3:1: error: e3\n"
                "hint: h3\n"
                "cap.hitl: note: too many errors: 3 more not shown\n");
  diag_free(&d);
}

static void test_default_cap(void **state) {
  (void)state;
  Diags d;
  diag_init(&d, "cap.hitl", NULL, 0);
  for (int i = 0; i < 250; i++) diag_error(&d, at(1, 1, 1), "e%d", i);
  assert_int_equal(d.n, 100);
  assert_int_equal(d.errors, 250);
  diag_free(&d);
}

static void test_out_of_memory(void **state) {
  (void)state;
  Diags d;
  diag_init(&d, "oom.hitl", NULL, 0);
  mem_fail_after(1);   /* the arena's first block */
  diag_error(&d, at(1, 1, 1), "lost");
  diag_hint(&d, "lost too");
  mem_fail_after(0);
  assert_int_equal(d.n, 0);
  assert_int_equal(d.errors, 1);
  diag_error(&d, at(2, 1, 1), "kept");
  assert_int_equal(d.n, 1);
  assert_null(d.v[0].hint);
  expect_output(&d,
                "oom.hitl:2:1: error: kept\n"
                "oom.hitl: note: out of memory: 1 more diagnostics not shown\n");
  diag_free(&d);
}

static void test_hint_without_diag(void **state) {
  (void)state;
  Diags d;
  diag_init(&d, "h.hitl", NULL, 0);
  diag_hint(&d, "nothing to attach to");
  assert_int_equal(d.n, 0);
  expect_output(&d, "");
  diag_free(&d);
}

static void test_long_line_window(void **state) {
  (void)state;
  /* 1000 'a', then "$", then 1000 'b': the window shows 100 characters
   * before the column and 99 after, with "..." on both sides */
  size_t n = 2001;
  char *src = malloc(n + 1);
  memset(src, 'a', 1000);
  src[1000] = '$';
  memset(src + 1001, 'b', 1000);
  src[n] = '\0';
  Diags d;
  diag_init(&d, "long.hitl", src, n);
  diag_error(&d, at(1, 1001, 3), "dollar");
  char *got = render(&d, false);

  char want[1024];
  int k = snprintf(want, sizeof want, "long.hitl:1:1001: error: dollar\n    1 | ...");
  memset(want + k, 'a', 100);
  k += 100;
  want[k++] = '$';
  memset(want + k, 'b', 99);
  k += 99;
  k += snprintf(want + k, sizeof want - (size_t)k, "...\n      |    ");
  memset(want + k, ' ', 100);
  k += 100;
  snprintf(want + k, sizeof want - (size_t)k, "^~~\n");
  assert_string_equal(got, want);
  free(got);
  diag_free(&d);
  free(src);
}

static void test_long_line_start(void **state) {
  (void)state;
  /* near the start of a long line: no leading "...", trailing one */
  size_t n = 500;
  char *src = malloc(n);
  memset(src, 'x', n);
  Diags d;
  diag_init(&d, "l.hitl", src, n);
  diag_error(&d, at(1, 3, 1), "e");
  char *got = render(&d, false);
  char want[512];
  int k = snprintf(want, sizeof want, "l.hitl:1:3: error: e\n    1 | ");
  memset(want + k, 'x', 200);
  k += 200;
  snprintf(want + k, sizeof want - (size_t)k, "...\n      |   ^\n");
  assert_string_equal(got, want);
  free(got);
  diag_free(&d);
  free(src);
}

static void test_end_of_line_and_file(void **state) {
  (void)state;
  const char *src = "ab\r\ncd\n";
  Diags d;
  diag_init(&d, "e.hitl", src, strlen(src));
  diag_error(&d, at(1, 3, 5), "end of line");     /* just past "ab"; CR not shown */
  diag_error(&d, at(3, 1, 1), "end of file");     /* the empty last line */
  diag_error(&d, at(7, 1, 1), "beyond");          /* no such line: no quote */
  diag_error(&d, at(0, 0, 0), "whole file");      /* no position */
  expect_output(&d,
                "e.hitl: error: whole file\n"
                "e.hitl:1:3: error: end of line\n"
                "    1 | ab\n"
                "      |   ^\n"
                "e.hitl:3:1: error: end of file\n"
                "    3 | \n"
                "      | ^\n"
                "e.hitl:7:1: error: beyond\n");
  diag_free(&d);
}

static void test_wide_line_numbers(void **state) {
  (void)state;
  size_t lines = 123456;
  char *src = malloc(lines * 2);
  for (size_t i = 0; i < lines; i++) {
    src[2 * i] = 'z';
    src[2 * i + 1] = '\n';
  }
  Diags d;
  diag_init(&d, "big.hitl", src, lines * 2);
  diag_error(&d, at(123456, 1, 1), "last");
  diag_error(&d, at(99999, 1, 1), "before");
  expect_output(&d,
                "big.hitl:99999:1: error: before\n"
                "99999 | z\n"
                "      | ^\n"
                "big.hitl:123456:1: error: last\n"
                "123456 | z\n"
                "       | ^\n");
  diag_free(&d);
  free(src);
}

static void test_colour(void **state) {
  (void)state;
  const char *src = "x";
  Diags d;
  diag_init(&d, "c.hitl", src, 1);
  diag_warning(&d, at(1, 1, 1), "w");
  unsetenv("NO_COLOR");
  char *got = render(&d, true);
  assert_string_equal(got,
                      "\033[1mc.hitl:1:1:\033[0m \033[1;35mwarning:\033[0m \033[1mw\033[0m\n"
                      "    1 | x\n"
                      "      | \033[1;32m^\033[0m\n");
  free(got);
  setenv("NO_COLOR", "1", 1);
  got = render(&d, true);
  assert_null(strchr(got, '\033'));
  free(got);
  unsetenv("NO_COLOR");
  got = render(&d, false);
  assert_null(strchr(got, '\033'));
  free(got);
  diag_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_basic_format),
    cmocka_unit_test(test_warning_and_len_zero),
    cmocka_unit_test(test_tab_copied),
    cmocka_unit_test(test_multibyte_columns),
    cmocka_unit_test(test_wide_characters),
    cmocka_unit_test(test_unsafe_bytes_replaced),
    cmocka_unit_test(test_stray_continuation_bytes),
    cmocka_unit_test(test_message_made_safe),
    cmocka_unit_test(test_sort_is_stable),
    cmocka_unit_test(test_sort_many),
    cmocka_unit_test(test_cap),
    cmocka_unit_test(test_default_cap),
    cmocka_unit_test(test_out_of_memory),
    cmocka_unit_test(test_hint_without_diag),
    cmocka_unit_test(test_long_line_window),
    cmocka_unit_test(test_long_line_start),
    cmocka_unit_test(test_end_of_line_and_file),
    cmocka_unit_test(test_wide_line_numbers),
    cmocka_unit_test(test_colour),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
