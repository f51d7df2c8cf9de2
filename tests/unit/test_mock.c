/* tests/unit/test_mock.c — mock bindings (vm/mock.c): the three forms of a
 * mock, sequencing with the last result repeating, unbound actions, hostile
 * files, the call-count state, and every allocation failing in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm/mem.h"
#include "vm/mock.h"

static char err[512];

static Mocks *parse(const char *text) {
  err[0] = '\0';
  return mock_parse("m.json", text, strlen(text), err, sizeof err);
}

/* Parsing must fail with a message containing want. */
static void expect_refused(const char *text, const char *want) {
  Mocks *mk = parse(text);
  if (mk) {
    mock_free(mk);
    fail_msg("accepted: %s", text);
  }
  if (!strstr(err, want)) fail_msg("message '%s' lacks '%s'", err, want);
}

/* One call: its status and its text, which must equal want. */
static void expect_call(Mocks *mk, const char *action, int status, const char *want) {
  char *out = (char *)"untouched";
  int rc = mock_call(mk, action, "{}", &out);
  assert_int_equal(rc, status);
  assert_non_null(out);
  assert_string_equal(out, want);
  mem_free(out, 0);
}

static void test_plain_value(void **state) {
  (void)state;
  Mocks *mk = parse("{\"lookup\": {\"id\": \"A-1\", \"n\": [1, 2]}, \"score\": 0.5, "
                    "\"flag\": true, \"nothing\": null, \"name\": \"x\\\"y\"}");
  assert_non_null(mk);
  for (int i = 0; i < 3; i++) expect_call(mk, "lookup", 0, "{\"id\":\"A-1\",\"n\":[1,2]}");
  assert_int_equal(mock_calls(mk, "lookup"), 3);
  expect_call(mk, "score", 0, "0.5");
  expect_call(mk, "flag", 0, "true");
  expect_call(mk, "nothing", 0, "null");
  expect_call(mk, "name", 0, "\"x\\\"y\"");
  assert_int_equal(mock_count(mk), 5);
  assert_string_equal(mock_name(mk, 0), "lookup");   /* the file's order */
  assert_string_equal(mock_name(mk, 4), "name");
  assert_null(mock_name(mk, 5));
  mock_free(mk);
}

static void test_results_sequence(void **state) {
  (void)state;
  Mocks *mk = parse("{\"next\": {\"results\": [1, \"two\", [3]]}, \"one\": {\"results\": [7]}}");
  assert_non_null(mk);
  expect_call(mk, "next", 0, "1");
  expect_call(mk, "next", 0, "\"two\"");
  expect_call(mk, "next", 0, "[3]");
  expect_call(mk, "next", 0, "[3]");   /* the last repeats */
  expect_call(mk, "next", 0, "[3]");
  for (int i = 0; i < 3; i++) expect_call(mk, "one", 0, "7");
  /* each action keeps its own count */
  assert_int_equal(mock_calls(mk, "next"), 5);
  assert_int_equal(mock_calls(mk, "one"), 3);
  assert_int_equal(mock_calls(mk, "other"), 0);
  mock_free(mk);
}

static void test_error_form(void **state) {
  (void)state;
  Mocks *mk = parse("{\"notify\": {\"error\": \"smtp is down\"}, \"empty\": {\"error\": \"\"}}");
  assert_non_null(mk);
  expect_call(mk, "notify", 1, "smtp is down");
  expect_call(mk, "notify", 1, "smtp is down");
  expect_call(mk, "empty", 1, "");
  assert_int_equal(mock_calls(mk, "notify"), 2);
  mock_free(mk);
}

static void test_unbound(void **state) {
  (void)state;
  Mocks *mk = parse("{\"a\": 1}");
  assert_non_null(mk);
  expect_call(mk, "b", 1, "no binding for action 'b'");
  expect_call(mk, "", 1, "no binding for action ''");
  expect_call(NULL, "a", 1, "no binding for action 'a'");   /* no mocks at all */
  mock_free(mk);
  mk = parse("{}");
  assert_non_null(mk);
  assert_int_equal(mock_count(mk), 0);
  expect_call(mk, "a", 1, "no binding for action 'a'");
  mock_free(mk);
}

/* Objects that only look like the special forms are plain values; a value that
 * is the special form itself is written inside a results list. */
static void test_special_form_boundaries(void **state) {
  (void)state;
  Mocks *mk = parse("{\"two_keys\": {\"results\": [1], \"more\": 2},"
                    " \"err_and\": {\"error\": \"x\", \"code\": 3},"
                    " \"wrapped\": {\"results\": [{\"error\": \"not a failure\"}]},"
                    " \"wrapped2\": {\"results\": [{\"results\": []}]},"
                    " \"other\": {\"result\": 1}, \"empty\": {}}");
  assert_non_null(mk);
  expect_call(mk, "two_keys", 0, "{\"results\":[1],\"more\":2}");
  expect_call(mk, "err_and", 0, "{\"error\":\"x\",\"code\":3}");
  expect_call(mk, "wrapped", 0, "{\"error\":\"not a failure\"}");
  expect_call(mk, "wrapped2", 0, "{\"results\":[]}");
  expect_call(mk, "other", 0, "{\"result\":1}");
  expect_call(mk, "empty", 0, "{}");
  mock_free(mk);
}

static void test_malformed_forms(void **state) {
  (void)state;
  expect_refused("{\"a\": {\"results\": []}}", "mock for 'a': \"results\" must be a non-empty list");
  expect_refused("{\"a\": {\"results\": []}}", "found an empty list");
  expect_refused("{\"a\": {\"results\": 5}}", "found an integer");
  expect_refused("{\"a\": {\"results\": {\"x\": 1}}}", "found an object");
  expect_refused("{\"a\": {\"error\": 1}}", "mock for 'a': \"error\" must be a string");
  expect_refused("{\"a\": {\"error\": null}}", "found null");
  expect_refused("{\"a\": {\"error\": [\"m\"]}}", "write {\"results\": [VALUE]}");
  /* the first bad entry stops the parse, after good ones were kept */
  expect_refused("{\"ok\": {\"results\": [1, 2]}, \"bad\": {\"results\": []}}", "'bad'");
}

static void test_hostile_files(void **state) {
  (void)state;
  expect_refused("", "m.json:1:0: malformed JSON");
  expect_refused("{\"a\": 1", "malformed JSON");
  expect_refused("{\"a\": 1,\n \"b\": }", "m.json:2:");
  expect_refused("{\"a\": 1} trailing", "malformed JSON");
  expect_refused("[1, 2]", "m.json: expected a JSON object from action name to mock, found a list");
  expect_refused("42", "found an integer");
  expect_refused("\"a\"", "found a string");
  expect_refused("null", "found null");
  expect_refused("{\"a\": 1, \"a\": 2}", "duplicate");
  expect_refused("{\"a\": \"\\u0000\"}", "malformed JSON");
  expect_refused("{\"a\": \"\xff\"}", "malformed JSON");   /* not UTF-8 */
  Mocks *mk = mock_parse("nul.json", "{\"a\": 1}\0{", 10, err, sizeof err);
  assert_null(mk);
  assert_non_null(strstr(err, "nul.json: malformed JSON: a NUL byte at offset 8"));
  /* a small buffer truncates the message, never overflows */
  char small[8];
  assert_null(mock_parse("m.json", "[", 1, small, sizeof small));
  assert_int_equal(strlen(small), sizeof small - 1);
  assert_null(mock_parse("m.json", "[", 1, NULL, 0));
}

static void test_deep_and_big(void **state) {
  (void)state;
  /* deep nesting is refused by the JSON reader, not a crash */
  size_t depth = 100000;
  char *deep = malloc(2 * depth + 16);
  assert_non_null(deep);
  strcpy(deep, "{\"a\": ");
  size_t k = strlen(deep);
  for (size_t i = 0; i < depth; i++) deep[k++] = '[';
  for (size_t i = 0; i < depth; i++) deep[k++] = ']';
  deep[k++] = '}';
  deep[k] = '\0';
  Mocks *mk = parse(deep);
  if (mk) mock_free(mk);
  else assert_non_null(strstr(err, "malformed JSON"));
  free(deep);
  /* many actions: each is found */
  size_t n = 5000;
  char *many = malloc(n * 32 + 8);
  assert_non_null(many);
  k = 0;
  many[k++] = '{';
  for (size_t i = 0; i < n; i++)
    k += (size_t)sprintf(many + k, "%s\"act%zu\": %zu", i ? ", " : "", (n - i) * 7 % n, i);
  many[k++] = '}';
  many[k] = '\0';
  mk = parse(many);
  assert_non_null(mk);
  for (size_t i = 0; i < n; i += 97) {
    char name[32], want[32];
    snprintf(name, sizeof name, "act%zu", (n - i) * 7 % n);
    snprintf(want, sizeof want, "%zu", i);
    expect_call(mk, name, 0, want);
  }
  mock_free(mk);
  free(many);
}

static void test_state(void **state) {
  (void)state;
  Mocks *mk = parse("{\"a\": {\"results\": [1, 2, 3]}, \"b\": 9, \"c\": 0}");
  assert_non_null(mk);
  char *s = mock_state_json(mk);
  assert_string_equal(s, "{}");
  mem_free(s, 0);
  expect_call(mk, "a", 0, "1");
  expect_call(mk, "a", 0, "2");
  expect_call(mk, "b", 0, "9");
  s = mock_state_json(mk);
  assert_string_equal(s, "{\"a\":2,\"b\":1}");

  /* a fresh Mocks from the same file carries on where the first stopped */
  Mocks *again = parse("{\"a\": {\"results\": [1, 2, 3]}, \"b\": 9, \"c\": 0}");
  assert_non_null(again);
  expect_call(again, "c", 0, "0");
  assert_true(mock_set_state_json(again, s, err, sizeof err));
  mem_free(s, 0);
  assert_int_equal(mock_calls(again, "c"), 0);   /* restored exactly: c is back at 0 */
  expect_call(again, "a", 0, "3");
  expect_call(again, "a", 0, "3");

  /* refusals leave the counts as they were */
  assert_false(mock_set_state_json(again, "{\"zz\": 1}", err, sizeof err));
  assert_non_null(strstr(err, "'zz' has no mock"));
  assert_false(mock_set_state_json(again, "{\"a\": 0, \"b\": -1}", err, sizeof err));
  assert_non_null(strstr(err, "non-negative integer"));
  assert_false(mock_set_state_json(again, "{\"a\": 1.5}", err, sizeof err));
  assert_false(mock_set_state_json(again, "[]", err, sizeof err));
  assert_false(mock_set_state_json(again, "{", err, sizeof err));
  assert_false(mock_set_state_json(again, NULL, err, sizeof err));
  assert_int_equal(mock_calls(again, "a"), 4);
  mock_free(again);
  mock_free(mk);
}

/* Fail each allocation in turn: parse and call either work or report, and
 * nothing leaks (the ASan build checks that). */
static void test_out_of_memory(void **state) {
  (void)state;
  const char *text = "{\"a\": {\"results\": [1, {\"x\": [2, 3]}]}, \"b\": {\"error\": \"e\"}, "
                     "\"c\": \"text\"}";
  for (long k = 1; k < 200; k++) {
    mem_fail_after(k);
    Mocks *mk = parse(text);
    if (!mk) {
      mem_fail_after(0);
      assert_string_equal(err, "out of memory reading the mocks");
      continue;
    }
    char *out = NULL;
    int rc = mock_call(mk, "a", "{}", &out);
    mem_fail_after(0);
    if (out) assert_int_equal(rc, 0);
    else assert_int_not_equal(rc, 0);
    mem_free(out, 0);
    mock_free(mk);
  }
  mem_fail_after(0);
}

/* HITL_WITNESS: one fsync'd line per call actually made ("ID ACTION ARGS",
 * the pid until an id is set, line breaks in ARGS made spaces); mock_skip
 * moves the counter on without a line; unbound actions leave none. */
static void test_witness(void **state) {
  (void)state;
  char path[] = "/tmp/hitl-witness-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  setenv("HITL_WITNESS", path, 1);
  setenv("HITL_ACTION_DELAY_US", "1000", 1);
  Mocks *mk = parse("{\"pay\": {\"results\": [1, 2, 3]}}");
  assert_non_null(mk);
  expect_call(mk, "pay", 0, "1");
  mock_skip(mk, "pay");
  mock_skip(mk, "nothing");
  assert_true(mock_set_witness_id(mk, "0123456789abcdef"));
  char *out = NULL;
  assert_int_equal(mock_call(mk, "pay", "{\"to\":\n\"x\"}", &out), 0);
  assert_string_equal(out, "3");
  mem_free(out, 0);
  expect_call(mk, "unbound", 1, "no binding for action 'unbound'");
  assert_int_equal(mock_calls(mk, "pay"), 3);
  mock_free(mk);
  unsetenv("HITL_WITNESS");
  unsetenv("HITL_ACTION_DELAY_US");
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char text[512] = "";
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  fclose(f);
  unlink(path);
  char want[512];
  snprintf(want, sizeof want, "%ld pay {}\n0123456789abcdef pay {\"to\": \"x\"}\n", (long)getpid());
  assert_string_equal(text, want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_plain_value),
    cmocka_unit_test(test_results_sequence),
    cmocka_unit_test(test_error_form),
    cmocka_unit_test(test_unbound),
    cmocka_unit_test(test_special_form_boundaries),
    cmocka_unit_test(test_malformed_forms),
    cmocka_unit_test(test_hostile_files),
    cmocka_unit_test(test_deep_and_big),
    cmocka_unit_test(test_state),
    cmocka_unit_test(test_out_of_memory),
    cmocka_unit_test(test_witness),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
