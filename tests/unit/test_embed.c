/* tests/unit/test_embed.c — the public embedding API (include/hitl.h) used
 * as a host would use it, through nothing but hitl.h: compiling and loading,
 * bindings and their order, every failure as a hitl_error, checkpoints,
 * snapshots restored into a fresh instance, mocks, params, events, `from`
 * actions through libffi (libtestactions.so, next to this binary: the
 * playbook's-folder rule), and instances running on several threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "include/hitl.h"

static char test_dir[4096] = ".";   /* where this binary and libtestactions.so are */

static hitl_program *compile_ok(const char *src) {
  hitl_program *p = NULL;
  hitl_error *e = (hitl_error *)1;
  int rc = hitl_compile(src, strlen(src), "t.hitl", test_dir, &p, &e);
  if (rc != 0) fprintf(stderr, "%s\n", hitl_error_message(e));
  assert_int_equal(rc, 0);
  assert_null(e);
  assert_non_null(p);
  return p;
}

static int echo_action(void *user, const char *action, const char *args, char **result) {
  int *calls = user;
  if (calls) (*calls)++;
  size_t n = strlen(action) + strlen(args) + 32;
  *result = hitl_alloc(n);
  snprintf(*result, n, "{\"action\": \"%s\", \"args\": %s}", action, args);
  return 0;
}

static int failing_action(void *user, const char *action, const char *args, char **result) {
  (void)user, (void)action, (void)args;
  *result = hitl_strdup("the payment service is down");
  return 7;
}

/* ---- library and programs ------------------------------------------------ */

static void test_version(void **state) {
  (void)state;
  assert_string_equal(hitl_version(), HITL_VERSION_STRING);
  char *s = hitl_strdup("x");
  assert_string_equal(s, "x");
  hitl_free(s);
  assert_null(hitl_strdup(NULL));
}

static void test_compile_error(void **state) {
  (void)state;
  const char *src = "playbook p \"bad\"\nlet x = 1\nlet x = 2\nreturn y\n";
  hitl_program *p = (hitl_program *)1;
  hitl_error *e = NULL;
  assert_int_equal(hitl_compile(src, strlen(src), "bad.hitl", NULL, &p, &e), -1);
  assert_null(p);
  assert_non_null(e);
  assert_string_equal(hitl_error_kind(e), "compile");
  assert_non_null(strstr(hitl_error_message(e), "bad.hitl:3:"));
  assert_non_null(strstr(hitl_error_message(e), "error:"));
  assert_non_null(strstr(hitl_error_message(e), "bad.hitl:4:"));   /* every error, not just the first */
  assert_int_equal(hitl_error_line(e), 3);
  hitl_error_free(e);
  /* the error pointer is optional */
  assert_int_equal(hitl_compile(src, strlen(src), NULL, NULL, &p, NULL), -1);
}

static void test_load_and_bytes(void **state) {
  (void)state;
  hitl_program *p = compile_ok("playbook sum \"a sum\"\ninput { n: int }\nreturn n + 1\n");
  assert_string_equal(hitl_program_name(p), "sum");
  size_t len;
  const uint8_t *bytes = hitl_program_bytes(p, &len);
  assert_true(len > 16);
  assert_memory_equal(bytes, "\x7fHBC", 4);
  hitl_program *q = NULL;
  hitl_error *e = NULL;
  assert_int_equal(hitl_load(bytes, len, NULL, &q, &e), 0);
  assert_null(e);
  assert_string_equal(hitl_program_hash(p), hitl_program_hash(q));
  assert_int_equal(strlen(hitl_program_hash(q)), 64);
  hitl_instance *in = hitl_instance_new(q, NULL);
  assert_int_equal(hitl_start(in, "{\"n\": 41}", &e), HITL_COMPLETED);
  assert_string_equal(hitl_result_json(in), "42");
  assert_string_equal(hitl_pending_json(in), "null");
  hitl_instance_free(in);
  hitl_program_free(q);

  /* corrupt and truncated bytecode is refused with kind "load" */
  uint8_t *bad = malloc(len);
  memcpy(bad, bytes, len);
  bad[len / 2] ^= 0x55;
  assert_int_equal(hitl_load(bad, len, NULL, &q, &e), -1);
  assert_null(q);
  assert_string_equal(hitl_error_kind(e), "load");
  hitl_error_free(e);
  assert_int_equal(hitl_load(bytes, 10, NULL, &q, &e), -1);
  assert_string_equal(hitl_error_kind(e), "load");
  hitl_error_free(e);
  free(bad);
  hitl_program_free(p);
}

/* ---- bindings ------------------------------------------------------------ */

static const char *const ACTIONS =
    "playbook acts \"actions bound by the host\"\n"
    "input { order: string }\n"
    "action lookup(id: string) -> map\n"
    "action score(o: map) -> float\n"
    "let o = lookup(order)\n"
    "return {o: o, s: score(o)}\n";

static int score_action(void *user, const char *action, const char *args, char **result) {
  (void)user, (void)args;
  assert_string_equal(action, "score");
  *result = hitl_strdup("0.75");
  return 0;
}

static void test_bind(void **state) {
  (void)state;
  hitl_program *p = compile_ok(ACTIONS);
  hitl_instance *in = hitl_instance_new(p, NULL);
  int calls = 0;
  assert_int_equal(hitl_bind(in, "lookup", echo_action, &calls), 0);
  assert_int_equal(hitl_bind(in, "score", score_action, NULL), 0);
  assert_int_equal(hitl_bind(in, "nosuch", echo_action, NULL), -1);
  hitl_error *e = (hitl_error *)1;
  assert_int_equal(hitl_instance_status(in), HITL_ERROR);
  assert_int_equal(hitl_start(in, "{\"order\": \"A-1\"}", &e), HITL_COMPLETED);
  assert_null(e);
  assert_int_equal(calls, 1);
  assert_string_equal(hitl_result_json(in),
                      "{\"o\":{\"action\":\"lookup\",\"args\":{\"id\":\"A-1\"}},\"s\":0.75}");
  assert_int_equal(hitl_instance_status(in), HITL_COMPLETED);
  /* a second start is refused */
  assert_int_equal(hitl_start(in, "{\"order\": \"A-1\"}", &e), HITL_ERROR);
  assert_string_equal(hitl_error_kind(e), "usage");
  hitl_error_free(e);
  hitl_instance_free(in);
  hitl_program_free(p);
}

static void test_bind_default_and_missing(void **state) {
  (void)state;
  hitl_program *p = compile_ok(ACTIONS);
  /* nothing bound: the first call fails with kind action, naming it */
  hitl_instance *in = hitl_instance_new(p, NULL);
  hitl_error *e = NULL;
  assert_int_equal(hitl_start(in, "{\"order\": \"A-1\"}", &e), HITL_FAILED);
  assert_string_equal(hitl_error_kind(e), "action");
  assert_non_null(strstr(hitl_error_message(e), "no binding for action 'lookup'"));
  assert_int_equal(hitl_error_line(e), 5);
  assert_non_null(strstr(hitl_error_json(in), "\"kind\":\"action\""));
  hitl_error_free(e);
  hitl_instance_free(in);

  /* the default binding takes every action nothing else binds; a specific
   * binding wins over it; removing it brings the default back */
  in = hitl_instance_new(p, NULL);
  int calls = 0;
  hitl_bind_default(in, echo_action, &calls);
  assert_int_equal(hitl_bind(in, "score", score_action, NULL), 0);
  assert_int_equal(hitl_bind(in, "score", NULL, NULL), 0);
  assert_int_equal(hitl_bind(in, "score", score_action, NULL), 0);
  assert_int_equal(hitl_start(in, "{\"order\": \"B-2\"}", &e), HITL_COMPLETED);
  assert_int_equal(calls, 1);
  assert_non_null(strstr(hitl_result_json(in), "\"s\":0.75"));
  hitl_instance_free(in);
  hitl_program_free(p);
}

static void test_action_failure(void **state) {
  (void)state;
  hitl_program *p = compile_ok(ACTIONS);
  hitl_instance *in = hitl_instance_new(p, NULL);
  hitl_bind_default(in, failing_action, NULL);
  hitl_error *e = NULL;
  assert_int_equal(hitl_start(in, "{\"order\": \"A-1\"}", &e), HITL_FAILED);
  assert_string_equal(hitl_error_kind(e), "action");
  assert_non_null(strstr(hitl_error_message(e), "the payment service is down"));
  assert_int_equal(hitl_error_line(e), 5);
  hitl_error_free(e);
  hitl_instance_free(in);

  /* a result of the wrong type is the action's fault: kind action */
  in = hitl_instance_new(p, NULL);
  hitl_bind_default(in, echo_action, NULL);     /* score returns a map, not a float */
  assert_int_equal(hitl_start(in, "{\"order\": \"A-1\"}", &e), HITL_FAILED);
  assert_string_equal(hitl_error_kind(e), "action");
  assert_int_equal(hitl_error_line(e), 6);
  hitl_error_free(e);
  hitl_instance_free(in);
  hitl_program_free(p);
}

static void test_input_and_params(void **state) {
  (void)state;
  hitl_program *p = compile_ok("playbook p \"params\"\ninput { n: int }\nparam k: int = 2\nreturn n * k\n");
  hitl_instance *in = hitl_instance_new(p, NULL);
  hitl_error *e = NULL;
  assert_int_equal(hitl_start(in, "{\"n\": \"x\"}", &e), HITL_ERROR);
  assert_string_equal(hitl_error_kind(e), "input");
  hitl_error_free(e);
  assert_int_equal(hitl_start(in, "{\"n\": 1, \"m\": 2}", &e), HITL_ERROR);
  assert_string_equal(hitl_error_kind(e), "input");
  hitl_error_free(e);
  assert_int_equal(hitl_start(in, "not json", &e), HITL_ERROR);
  hitl_error_free(e);
  assert_int_equal(hitl_set_param(in, "nope", "1", &e), -1);
  assert_string_equal(hitl_error_kind(e), "input");
  hitl_error_free(e);
  assert_int_equal(hitl_set_param(in, "k", "\"s\"", &e), -1);
  hitl_error_free(e);
  assert_int_equal(hitl_set_param(in, "k", "5", &e), 0);
  assert_int_equal(hitl_start(in, "{\"n\": 3}", &e), HITL_COMPLETED);
  assert_string_equal(hitl_result_json(in), "15");
  assert_int_equal(hitl_set_param(in, "k", "5", &e), -1);
  assert_string_equal(hitl_error_kind(e), "usage");
  hitl_error_free(e);
  hitl_instance_free(in);

  /* limits: fuel runs out with the resource kind */
  hitl_program *q = compile_ok("playbook p \"loop\"\nlet i = 0\nwhile true { i = i + 1 }\n");
  hitl_limits lim = {.fuel = 1000};
  in = hitl_instance_new(q, &lim);
  assert_int_equal(hitl_start(in, NULL, &e), HITL_FAILED);
  assert_string_equal(hitl_error_kind(e), "fuel");
  hitl_error_free(e);
  hitl_instance_free(in);
  hitl_program_free(q);
  hitl_program_free(p);
}

/* ---- checkpoints and snapshots -------------------------------------------- */

static const char *const REFUND =
    "playbook refund \"refund with a person's approval\"\n"
    "input {\n  order: string\n  amount: float\n}\n"
    "action issue_refund(order: string, amount: float) -> map { irreversible }\n"
    "step \"decide\" {\n"
    "  checkpoint \"Refund {amount} for {order}?\" {\n"
    "    show order, amount\n"
    "    edit amount\n"
    "  }\n"
    "}\n"
    "let r = issue_refund(order, amount)\n"
    "return {refunded: amount, r: r}\n";

static void events(void *user, const char *kind, const char *fields) {
  (void)fields;
  int *n = user;
  if (strcmp(kind, "checkpoint") == 0) n[0]++;
  if (strcmp(kind, "action") == 0) n[1]++;
}

static void test_checkpoint_snapshot_restore(void **state) {
  (void)state;
  hitl_program *p = compile_ok(REFUND);
  hitl_instance *in = hitl_instance_new(p, NULL);
  int seen[2] = {0, 0};
  hitl_on_event(in, events, seen);
  int calls = 0;
  hitl_bind(in, "issue_refund", echo_action, &calls);
  hitl_error *e = NULL;
  assert_int_equal(hitl_start(in, "{\"order\": \"A-1\", \"amount\": 120.5}", &e), HITL_SUSPENDED);
  assert_null(e);
  assert_int_equal(seen[0], 1);
  assert_int_equal(calls, 0);
  char *pending = hitl_strdup(hitl_pending_json(in));
  assert_non_null(strstr(pending, "\"title\":\"Refund 120.5 for A-1?\""));
  assert_non_null(strstr(pending, "\"step\":\"decide\""));
  assert_string_equal(hitl_result_json(in), "null");
  char hex[65];
  assert_int_equal(hitl_pending_digest(in, "inst-1", 1, hex), 0);
  assert_int_equal(strlen(hex), 64);

  uint8_t *snap;
  size_t len;
  assert_int_equal(hitl_snapshot(in, &snap, &len, &e), 0);
  assert_true(len > 0);

  /* a refused verdict changes nothing */
  assert_int_equal(hitl_resume(in, "{\"kind\": \"modify\", \"edits\": {\"order\": \"B\"}}", &e), HITL_ERROR);
  assert_string_equal(hitl_error_kind(e), "verdict");
  hitl_error_free(e);
  assert_int_equal(hitl_resume(in, "{\"kind\": \"maybe\"}", &e), HITL_ERROR);
  hitl_error_free(e);
  assert_int_equal(hitl_instance_status(in), HITL_SUSPENDED);
  hitl_instance_free(in);

  /* another "process": the program from its bytes, the instance from the
   * snapshot, the action bound again */
  size_t blen;
  const uint8_t *bytes = hitl_program_bytes(p, &blen);
  hitl_program *p2 = NULL;
  assert_int_equal(hitl_load(bytes, blen, NULL, &p2, &e), 0);
  hitl_instance *in2 = NULL;
  assert_int_equal(hitl_restore(p2, snap, len, NULL, &in2, &e), 0);
  assert_int_equal(hitl_instance_status(in2), HITL_SUSPENDED);
  assert_string_equal(hitl_pending_json(in2), pending);
  hitl_free(pending);
  char hex2[65];
  assert_int_equal(hitl_pending_digest(in2, "inst-1", 1, hex2), 0);
  assert_string_equal(hex, hex2);
  calls = 0;
  hitl_bind(in2, "issue_refund", echo_action, &calls);
  assert_int_equal(hitl_resume(in2, "{\"kind\": \"modify\", \"edits\": {\"amount\": 99.5}, \"reviewers\": [\"bob\"]}", &e),
                   HITL_SUSPENDED);
  /* issue_refund is irreversible and there are no rules: it fails closed to
   * an approval of the call itself */
  assert_null(e);
  assert_int_equal(calls, 0);
  assert_non_null(strstr(hitl_pending_json(in2), "\"action\":\"issue_refund\""));
  assert_non_null(strstr(hitl_pending_json(in2), "99.5"));
  assert_int_equal(hitl_resume(in2, "{\"kind\": \"approve\"}", &e), HITL_COMPLETED);
  assert_int_equal(calls, 1);
  assert_non_null(strstr(hitl_result_json(in2), "\"refunded\":99.5"));
  assert_int_equal(hitl_pending_digest(in2, "inst-1", 1, hex2), -1);
  /* not suspended any more: no snapshot, no verdict */
  uint8_t *s2;
  size_t l2;
  assert_int_equal(hitl_snapshot(in2, &s2, &l2, &e), -1);
  assert_string_equal(hitl_error_kind(e), "usage");
  hitl_error_free(e);
  assert_int_equal(hitl_resume(in2, "{\"kind\": \"approve\"}", &e), HITL_ERROR);
  assert_string_equal(hitl_error_kind(e), "usage");
  hitl_error_free(e);
  hitl_instance_free(in2);

  /* reject without a reject block raises `rejected` */
  assert_int_equal(hitl_restore(p2, snap, len, NULL, &in2, &e), 0);
  assert_int_equal(hitl_resume(in2, "{\"kind\": \"reject\", \"reason\": \"too much\"}", &e), HITL_FAILED);
  assert_string_equal(hitl_error_kind(e), "rejected");
  assert_non_null(strstr(hitl_error_message(e), "too much"));
  hitl_error_free(e);
  hitl_instance_free(in2);

  /* a snapshot is refused by another program, and when truncated or corrupt */
  hitl_program *other = compile_ok(ACTIONS);
  assert_int_equal(hitl_restore(other, snap, len, NULL, &in2, &e), -1);
  assert_null(in2);
  assert_string_equal(hitl_error_kind(e), "snapshot");
  hitl_error_free(e);
  assert_int_equal(hitl_restore(p2, snap, len / 2, NULL, &in2, &e), -1);
  assert_string_equal(hitl_error_kind(e), "snapshot");
  hitl_error_free(e);
  snap[len - 3] ^= 1;
  assert_int_equal(hitl_restore(p2, snap, len, NULL, &in2, &e), -1);
  hitl_error_free(e);
  hitl_program_free(other);

  hitl_free(snap);
  hitl_program_free(p2);
  hitl_program_free(p);
}

/* ---- mocks --------------------------------------------------------------- */

static void test_mocks(void **state) {
  (void)state;
  hitl_program *p = compile_ok(ACTIONS);
  hitl_instance *in = hitl_instance_new(p, NULL);
  hitl_error *e = NULL;
  assert_int_equal(hitl_bind_mocks(in, "{\"lookup\": {\"id\": \"A-1\"}, \"score\": {\"results\": [0.5]}}", &e), 0);
  assert_int_equal(hitl_start(in, "{\"order\": \"A-1\"}", &e), HITL_COMPLETED);
  assert_string_equal(hitl_result_json(in), "{\"o\":{\"id\":\"A-1\"},\"s\":0.5}");
  hitl_instance_free(in);

  in = hitl_instance_new(p, NULL);
  assert_int_equal(hitl_bind_mocks(in, "{\"lookup\": ", &e), -1);
  assert_string_equal(hitl_error_kind(e), "input");
  hitl_error_free(e);
  /* a host binding wins over a mock; unmocked actions fall to the default */
  assert_int_equal(hitl_bind_mocks(in, "{\"lookup\": {\"error\": \"mocked failure\"}}", &e), 0);
  hitl_bind(in, "score", score_action, NULL);
  assert_int_equal(hitl_start(in, "{\"order\": \"A-1\"}", &e), HITL_FAILED);
  assert_non_null(strstr(hitl_error_message(e), "mocked failure"));
  hitl_error_free(e);
  hitl_instance_free(in);
  hitl_program_free(p);
}

/* ---- reviews ---------------------------------------------------------------- */

static const char *const REVIEWS =
    "playbook reviews \"a review block and a routed review through the API\"\n"
    "action send(to: string) -> map\n"
    "action pay(to: string) -> map { undo refund }\n"
    "action refund(to: string, paid: map) -> map\n"
    "rules {\n"
    "  when action == \"pay\" -> review within 1h by \"finance\"\n"
    "  otherwise -> auto\n"
    "}\n"
    "let who = \"ann\"\n"
    "review \"Sent to {who}\" { send(who) } flag (why) { send(\"{who}: {why}\") }\n"
    "who = \"changed\"\n"
    "pay(\"bob\")\n"
    "return who\n";

static void test_reviews(void **state) {
  (void)state;
  hitl_program *p = compile_ok(REVIEWS);
  hitl_instance *in = hitl_instance_new(p, NULL);
  int calls = 0;
  hitl_bind_default(in, echo_action, &calls);
  hitl_error *e = NULL;
  assert_int_equal(hitl_start(in, "{}", &e), HITL_REVIEWING);
  assert_string_equal(hitl_result_json(in), "\"changed\"");
  const char *r = hitl_reviews_json(in);
  assert_non_null(strstr(r, "{\"item\":1,\"payload\":{\"title\":\"Sent to ann\""));
  assert_non_null(strstr(r, "{\"item\":2,\"payload\":{\"title\":\"pay(\\\"bob\\\")\""));
  assert_int_equal(calls, 2);
  /* another process decides: the snapshot of an instance with reviews open */
  uint8_t *bytes;
  size_t len;
  assert_int_equal(hitl_snapshot(in, &bytes, &len, &e), 0);
  hitl_instance_free(in);
  assert_int_equal(hitl_restore(p, bytes, len, NULL, &in, &e), 0);
  hitl_free(bytes);
  assert_int_equal(hitl_instance_status(in), HITL_REVIEWING);
  hitl_bind_default(in, echo_action, &calls);
  assert_int_equal(hitl_review(in, 9, "{\"kind\":\"pass\"}", &e), HITL_ERROR);
  assert_string_equal(hitl_error_kind(e), "usage");
  hitl_error_free(e);
  assert_int_equal(hitl_review(in, 1, "{\"kind\":\"approve\"}", &e), HITL_ERROR);
  assert_string_equal(hitl_error_kind(e), "verdict");
  hitl_error_free(e);
  e = NULL;
  assert_int_equal(hitl_review(in, 1, "{\"kind\":\"flag\",\"reason\":\"rude\"}", &e), HITL_REVIEWING);
  assert_int_equal(calls, 3);   /* the flag block's send, with who as it was */
  assert_int_equal(hitl_review(in, 2, "{\"kind\":\"flag\",\"reason\":\"wrong\"}", &e), HITL_COMPLETED);
  assert_int_equal(calls, 4);   /* the undo */
  assert_string_equal(hitl_reviews_json(in), "[]");
  assert_string_equal(hitl_result_json(in), "\"changed\"");
  hitl_instance_free(in);
  hitl_program_free(p);
}

/* ---- `from` actions through libffi ---------------------------------------- */

static int count_action(void *user, const char *action, const char *args, char **result) {
  (void)action, (void)args;
  int *n = user;
  (*n)++;
  *result = hitl_strdup("1");
  return 0;
}

static const char *const FFI =
    "playbook ffi \"from actions through libffi\"\n"
    "action add(a: int, b: int) -> int from \"libtestactions.so\" symbol \"ta_add\"\n"
    "action scale(x: float, k: float) -> float from \"libtestactions.so\" symbol \"ta_scale\"\n"
    "action negate(b: bool) -> bool from \"libtestactions.so\" symbol \"ta_not\"\n"
    "action greet(name: string) -> string from \"libtestactions.so\" symbol \"ta_greet\"\n"
    "action wrap(m: map) -> map from \"libtestactions.so\" symbol \"ta_wrap\"\n"
    "action mix(f: bool, s: string, n: int, x: float) -> float from \"libtestactions.so\" symbol \"ta_mix\"\n"
    "action nothing() -> string from \"libtestactions.so\" symbol \"ta_null\"\n"
    "action nosym() -> int from \"libtestactions.so\" symbol \"ta_no_such_symbol\"\n"
    "action nolib() -> int from \"libno_such_library.so\" symbol \"f\"\n"
    "let e1 = \"\"\n"
    "let e2 = \"\"\n"
    "try { nosym() } catch e { e1 = e.kind + \": \" + e.message }\n"
    "try { nolib() } catch e { e2 = e.kind + \": \" + e.message }\n"
    "return {add: add(40, 2), big: add(9007199254740993, 0), scale: scale(1.5, 3),\n"
    "        t: negate(false), f: negate(true), greet: greet(\"Ada Lovelace\"),\n"
    "        wrap: wrap({k: [1, 2.5, \"s\"], n: nil}), mix: mix(true, \"ab\", 3, 0.5),\n"
    "        e1: e1, e2: e2}\n";

static void test_ffi(void **state) {
  (void)state;
  hitl_program *p = compile_ok(FFI);
  hitl_instance *in = hitl_instance_new(p, NULL);
  hitl_error *e = NULL;
  assert_int_equal(hitl_start(in, NULL, &e), HITL_COMPLETED);
  const char *r = hitl_result_json(in);
  assert_non_null(strstr(r, "\"add\":42"));
  assert_non_null(strstr(r, "\"big\":9007199254740993"));
  assert_non_null(strstr(r, "\"scale\":4.5"));
  assert_non_null(strstr(r, "\"t\":true"));
  assert_non_null(strstr(r, "\"f\":false"));
  assert_non_null(strstr(r, "\"greet\":\"hello, Ada Lovelace\""));
  assert_non_null(strstr(r, "\"wrap\":{\"got\":{\"k\":[1,2.5,\"s\"],\"n\":null},\"bytes\":26}"));
  assert_non_null(strstr(r, "\"mix\":1230.5"));
  assert_non_null(strstr(r, "\"e1\":\"action: action 'nosym' failed: library 'libtestactions.so' has no symbol 'ta_no_such_symbol'\""));
  assert_non_null(strstr(r, "\"e2\":\"action: action 'nolib' failed: cannot open library 'libno_such_library.so'"));
  hitl_instance_free(in);

  /* a host binding wins over the `from` declaration */
  in = hitl_instance_new(p, NULL);
  hitl_bind(in, "nosym", count_action, &(int){0});
  assert_int_equal(hitl_start(in, NULL, &e), HITL_COMPLETED);
  assert_non_null(strstr(hitl_result_json(in), "\"e1\":\"\""));
  hitl_instance_free(in);
  hitl_program_free(p);

  /* a NULL string result is nil, which a `-> string` action may not return */
  hitl_program *q = compile_ok(
      "playbook q \"null\"\n"
      "action nothing() -> string from \"libtestactions.so\" symbol \"ta_null\"\n"
      "return nothing()\n");
  in = hitl_instance_new(q, NULL);
  assert_int_equal(hitl_start(in, NULL, &e), HITL_FAILED);
  assert_string_equal(hitl_error_kind(e), "action");
  hitl_error_free(e);
  hitl_instance_free(in);
  hitl_program_free(q);

  /* without the playbook's folder the library is not found */
  const char *src = "playbook q \"x\"\naction add(a: int, b: int) -> int from \"libtestactions.so\" symbol \"ta_add\"\n"
                    "return add(1, 2)\n";
  assert_int_equal(hitl_compile(src, strlen(src), "q.hitl", NULL, &q, &e), 0);
  in = hitl_instance_new(q, NULL);
  assert_int_equal(hitl_start(in, NULL, &e), HITL_FAILED);
  assert_string_equal(hitl_error_kind(e), "action");
  assert_non_null(strstr(hitl_error_message(e), "cannot open library 'libtestactions.so'"));
  hitl_error_free(e);
  hitl_instance_free(in);
  hitl_program_free(q);
}

/* ---- threads ------------------------------------------------------------- */

typedef struct Job {
  const hitl_program *p;
  int n;
  int ok;
} Job;


static void *worker(void *arg) {
  Job *j = arg;
  for (int round = 0; round < 20; round++) {
    hitl_instance *in = hitl_instance_new(j->p, NULL);
    int calls = 0;
    hitl_bind(in, "tick", count_action, &calls);
    char input[64];
    snprintf(input, sizeof input, "{\"n\": %d}", j->n);
    hitl_error *e = NULL;
    hitl_status st = hitl_start(in, input, &e);
    char want[32];
    snprintf(want, sizeof want, "%d", j->n);
    if (st == HITL_COMPLETED && strcmp(hitl_result_json(in), want) == 0 && calls == j->n) j->ok++;
    hitl_error_free(e);
    hitl_instance_free(in);
  }
  return NULL;
}

/* one program shared by threads, each running its own instances */
static void test_threads(void **state) {
  (void)state;
  hitl_program *p = compile_ok(
      "playbook t \"threads\"\ninput { n: int }\naction tick() -> int\n"
      "let s = 0\nfor i in range(n) { s = s + tick() }\nreturn s\n");
  enum { N = 4 };
  pthread_t th[N];
  Job jobs[N];
  for (int i = 0; i < N; i++) {
    jobs[i] = (Job){p, 500 + i, 0};
    assert_int_equal(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(jobs[i].ok, 20);
  }
  hitl_program_free(p);
}

int main(int argc, char **argv) {
  (void)argc;
  const char *slash = strrchr(argv[0], '/');
  if (slash) snprintf(test_dir, sizeof test_dir, "%.*s", (int)(slash - argv[0]), argv[0]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_compile_error),
      cmocka_unit_test(test_load_and_bytes),
      cmocka_unit_test(test_bind),
      cmocka_unit_test(test_bind_default_and_missing),
      cmocka_unit_test(test_action_failure),
      cmocka_unit_test(test_input_and_params),
      cmocka_unit_test(test_checkpoint_snapshot_restore),
      cmocka_unit_test(test_mocks),
      cmocka_unit_test(test_reviews),
      cmocka_unit_test(test_ffi),
      cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
