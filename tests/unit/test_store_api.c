/* tests/unit/test_store_api.c — the store in the public API (hitl_store_*,
 * include/hitl.h) as a host uses it: run to a checkpoint, the desk (pending,
 * show, instances, log), every refusal leaving the store as it was, a second
 * handle resuming with its own bindings, mocks kept with the instance,
 * params and input, a failed playbook, expire, groups and quorum votes,
 * `from` actions, the default binding, a process that dies inside an
 * irreversible host callback (the journal makes it an in-doubt item, not a
 * second call), and allocation failures at every step.  JSON results are
 * read with jansson. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "include/hitl.h"

void mem_fail_after(long n);          /* vm/mem.h: the test hooks of the library's allocator */
unsigned long mem_count(void);

static char test_dir[4096] = ".";     /* where this binary and libtestactions.so are */
static char tmp_dir[] = "/tmp/test_store_api.XXXXXX";
static int store_no;

static const char *const REFUND =
    "playbook refund \"refund with approval\"\n"
    "input {\n"
    "  order: string\n"
    "  amount: float\n"
    "}\n"
    "action lookup(id: string) -> map\n"
    "action issue_refund(order: string, amount: float) -> map { irreversible }\n"
    "rules {\n"
    "  when approved -> auto\n"
    "  when irreversible -> approve\n"
    "  otherwise -> auto\n"
    "}\n"
    "let o = lookup(order)\n"
    "checkpoint \"Refund {amount} to {o.customer}?\" {\n"
    "  show order, amount\n"
    "  edit amount\n"
    "} approve {\n"
    "  let r = issue_refund(order, amount)\n"
    "}\n"
    "return {refunded: amount, customer: o.customer}\n";

/* ---- helpers ------------------------------------------------------------------ */

static hitl_program *compile_ok(const char *src) {
  hitl_program *p = NULL;
  hitl_error *e = NULL;
  int rc = hitl_compile(src, strlen(src), "t.hitl", test_dir, &p, &e);
  if (rc != 0) fprintf(stderr, "%s\n", hitl_error_message(e));
  assert_int_equal(rc, 0);
  return p;
}

/* a new store file in the test folder */
static hitl_store *open_new(char path[4200]) {
  snprintf(path, 4200, "%s/store%d.db", tmp_dir, ++store_no);
  hitl_store *s = NULL;
  hitl_error *e = (hitl_error *)1;
  assert_int_equal(hitl_store_open(path, &s, &e), 0);
  assert_null(e);
  assert_non_null(s);
  return s;
}

static hitl_store *reopen(const char *path) {
  hitl_store *s = NULL;
  assert_int_equal(hitl_store_open(path, &s, NULL), 0);
  return s;
}

static json_t *parse(const char *text) {
  assert_non_null(text);
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (!j) fprintf(stderr, "not JSON (%s): %s\n", je.text, text);
  assert_non_null(j);
  return j;
}

/* text: parsed and freed */
static json_t *take(char *text) {
  json_t *j = parse(text);
  hitl_free(text);
  return j;
}

static const char *str(json_t *j, const char *key) { return json_string_value(json_object_get(j, key)); }

static void expect_error(hitl_error *e, const char *kind, const char *part) {
  assert_non_null(e);
  if (strcmp(hitl_error_kind(e), kind) != 0 || !strstr(hitl_error_message(e), part))
    fprintf(stderr, "got %s: %s\n", hitl_error_kind(e), hitl_error_message(e));
  assert_string_equal(hitl_error_kind(e), kind);
  assert_non_null(strstr(hitl_error_message(e), part));
  hitl_error_free(e);
}

/* What a refusal must not change: the instances, every log, the items. */
static char *state_of(hitl_store *s) {
  char *inst = NULL, *items = NULL;
  assert_int_equal(hitl_store_instances(s, NULL, &inst, NULL), HITL_EXIT_COMPLETED);
  assert_int_equal(hitl_store_pending(s, NULL, NULL, &items, NULL), HITL_EXIT_COMPLETED);
  json_t *list = parse(inst);
  size_t n = strlen(inst) + strlen(items) + 2;
  char *all = malloc(n);
  snprintf(all, n, "%s\n%s", inst, items);
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    char *log = NULL;
    assert_int_equal(hitl_store_log(s, str(v, "id"), &log, NULL), HITL_EXIT_COMPLETED);
    n += strlen(log) + 1;
    all = realloc(all, n);
    strcat(all, "\n");
    strcat(all, log);
    hitl_free(log);
  }
  json_decref(list);
  hitl_free(inst);
  hitl_free(items);
  return all;
}

/* ---- the host's actions --------------------------------------------------------- */

typedef struct Calls {
  int lookups, refunds;
  char last_args[256];
} Calls;

static int lookup(void *user, const char *action, const char *args, char **result) {
  Calls *c = user;
  (void)action, (void)args;
  if (c) c->lookups++;
  *result = hitl_strdup("{\"id\": \"A-1\", \"customer\": \"Ada\"}");
  return 0;
}

static int issue_refund(void *user, const char *action, const char *args, char **result) {
  Calls *c = user;
  (void)action;
  c->refunds++;
  snprintf(c->last_args, sizeof c->last_args, "%s", args);
  *result = hitl_strdup("{\"receipt\": \"R-1\"}");
  return 0;
}

static int die(void *user, const char *action, const char *args, char **result) {
  (void)user, (void)action, (void)args, (void)result;
  _exit(9);   /* the process dies inside the call: an intent without an outcome */
}

static void bind_both(hitl_store *s, Calls *c) {
  assert_int_equal(hitl_store_bind(s, "lookup", lookup, c), 0);
  assert_int_equal(hitl_store_bind(s, "issue_refund", issue_refund, c), 0);
}

/* run REFUND as agent to its checkpoint; the item's id and digest */
static int64_t run_to_checkpoint(hitl_store *s, hitl_program *p, char digest[65], char instance[64]) {
  char *out = NULL;
  hitl_error *e = NULL;
  int rc = hitl_store_run(s, p, "{\"order\": \"A-1\", \"amount\": 120.5}", NULL, "agent", &out, &e);
  if (e) fprintf(stderr, "%s\n", hitl_error_message(e));
  assert_int_equal(rc, HITL_EXIT_SUSPENDED);
  assert_null(e);
  json_t *o = take(out);
  assert_string_equal(str(o, "status"), "suspended");
  json_t *item = json_array_get(json_object_get(o, "pending"), 0);
  assert_non_null(item);
  assert_string_equal(str(item, "title"), "Refund 120.5 to Ada?");
  assert_string_equal(str(item, "kind"), "approval");
  if (digest) snprintf(digest, 65, "%s", str(item, "digest"));
  if (instance) snprintf(instance, 64, "%s", str(o, "instance"));
  int64_t id = json_integer_value(json_object_get(item, "id"));
  json_decref(o);
  return id;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_open(void **state) {
  (void)state;
  hitl_store *s = (hitl_store *)1;
  hitl_error *e = NULL;
  assert_int_equal(hitl_store_open(tmp_dir, &s, &e), -1);   /* a directory */
  assert_null(s);
  expect_error(e, "store", "is a directory");
  char path[4200];
  snprintf(path, sizeof path, "%s/no/such/folder/s.db", tmp_dir);
  assert_int_equal(hitl_store_open(path, &s, &e), -1);
  expect_error(e, "store", "cannot open the store");
  hitl_store_close(NULL);
  char *out = (char *)1;
  assert_int_equal(hitl_store_pending(NULL, NULL, NULL, &out, &e), HITL_EXIT_REFUSED);
  assert_null(out);
  expect_error(e, "usage", "no store");
}

static void test_run_desk_resume(void **state) {
  (void)state;
  char path[4200], digest[65], inst[64];
  hitl_store *s = open_new(path);
  hitl_program *p = compile_ok(REFUND);
  Calls agent = {0};
  bind_both(s, &agent);
  int64_t item = run_to_checkpoint(s, p, digest, inst);
  assert_int_equal(agent.lookups, 1);
  assert_int_equal(agent.refunds, 0);

  /* the desk */
  char *out = NULL;
  hitl_error *e = NULL;
  assert_int_equal(hitl_store_pending(s, NULL, NULL, &out, &e), HITL_EXIT_COMPLETED);
  json_t *j = take(out);
  assert_int_equal(json_array_size(j), 1);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "id")), item);
  json_decref(j);
  assert_int_equal(hitl_store_pending(s, NULL, "agent", &out, NULL), HITL_EXIT_COMPLETED);
  assert_string_equal(out, "[]");   /* the starter may decide nothing of its own */
  hitl_free(out);
  assert_int_equal(hitl_store_show(s, item, &out, NULL), HITL_EXIT_COMPLETED);
  j = take(out);
  assert_string_equal(str(j, "digest"), digest);
  assert_string_equal(str(j, "status"), "open");
  assert_int_equal(json_integer_value(json_object_get(j, "approvals")), 0);
  json_decref(j);
  assert_int_equal(hitl_store_instances(s, "suspended", &out, NULL), HITL_EXIT_COMPLETED);
  j = take(out);
  assert_string_equal(str(json_array_get(j, 0), "id"), inst);
  assert_string_equal(str(json_array_get(j, 0), "starter"), "agent");
  json_decref(j);
  assert_int_equal(hitl_store_outcome(s, inst, &out, NULL), HITL_EXIT_COMPLETED);
  j = take(out);
  assert_string_equal(str(j, "status"), "suspended");
  json_decref(j);

  /* refusals change nothing */
  char *before = state_of(s);
  struct {
    int64_t item;
    const char *verdict, *edits, *digest, *as, *kind, *msg;
  } bad[] = {
      {item, "approve", NULL, NULL, "agent", "verdict", "may not decide its items"},
      {item, "maybe", NULL, NULL, "bob", "verdict", "is not a verdict"},
      {item, "modify", NULL, NULL, "bob", "verdict", "modify needs at least one edit"},
      {item, "approve", "{\"amount\": 1}", NULL, "bob", "verdict", "edits goes with modify only"},
      {item, "modify", "{\"amount\": ", NULL, "bob", "verdict", "malformed JSON"},
      {item, "modify", "[1]", NULL, "bob", "verdict", "must be a JSON object"},
      {item, "modify", "{\"amount\": 1, \"amount\": 2}", NULL, "bob", "verdict", "malformed JSON"},
      {item, "modify", "{\"order\": \"B\"}", NULL, "bob", "verdict", "verdict refused"},
      {item, "modify", "{\"amount\": \"lots\"}", NULL, "bob", "verdict", "verdict refused"},
      {item, "approve", NULL, "00", "bob", "verdict", "digest mismatch"},
      {item, "approve", NULL, NULL, "timeout", "verdict", "'timeout'"},
      {item, "approve", NULL, NULL, "", "usage", "needs a name"},
      {item + 100, "approve", NULL, NULL, "bob", "usage", "unknown item"},
      {item, NULL, NULL, NULL, "bob", "usage", "no verdict"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    out = (char *)1;
    int rc = hitl_store_resume(s, bad[i].item, bad[i].verdict, NULL, bad[i].edits, bad[i].digest, bad[i].as, &out, &e);
    assert_int_equal(rc, HITL_EXIT_REFUSED);
    assert_null(out);
    expect_error(e, bad[i].kind, bad[i].msg);
  }
  char *after = state_of(s);
  assert_string_equal(before, after);
  free(before);
  free(after);
  assert_int_equal(agent.refunds, 0);

  /* another handle (another process would do the same) resumes with its own binding */
  hitl_store *t = reopen(path);
  Calls desk = {0};
  bind_both(t, &desk);
  int rc = hitl_store_resume(t, item, "modify", "a partial refund", "{\"amount\": 99.5}", digest, "alice", &out, &e);
  assert_int_equal(rc, HITL_EXIT_COMPLETED);
  assert_null(e);
  j = take(out);
  assert_string_equal(str(j, "status"), "completed");
  assert_string_equal(str(j, "instance"), inst);
  assert_string_equal(str(json_object_get(j, "result"), "customer"), "Ada");
  assert_true(json_real_value(json_object_get(json_object_get(j, "result"), "refunded")) == 99.5);
  assert_int_equal(json_array_size(json_object_get(j, "pending")), 0);
  json_decref(j);
  assert_int_equal(desk.refunds, 1);
  assert_string_equal(desk.last_args, "{\"order\":\"A-1\",\"amount\":99.5}");
  assert_int_equal(agent.refunds, 0);

  /* decided once */
  assert_int_equal(hitl_store_resume(s, item, "approve", NULL, NULL, NULL, "bob", &out, &e), HITL_EXIT_REFUSED);
  expect_error(e, "verdict", "already decided");
  assert_int_equal(desk.refunds, 1);

  /* the log tells the story: the verdict, the call, the result */
  assert_int_equal(hitl_store_log(s, inst, &out, NULL), HITL_EXIT_COMPLETED);
  j = take(out);
  const char *want[] = {"started", "action", "checkpoint", "verdict", "resumed", "action", "completed"};
  assert_int_equal(json_array_size(j), sizeof want / sizeof *want);
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) assert_string_equal(str(json_array_get(j, i), "kind"), want[i]);
  assert_string_equal(str(json_array_get(j, 3), "reviewer"), "alice");
  assert_string_equal(str(json_array_get(j, 3), "reason"), "a partial refund");
  assert_string_equal(str(json_array_get(j, 0), "requester"), "agent");
  json_decref(j);
  assert_int_equal(hitl_store_log(s, "nosuch", &out, &e), HITL_EXIT_REFUSED);
  expect_error(e, "usage", "unknown instance");
  assert_int_equal(hitl_store_instances(s, "sleeping", &out, &e), HITL_EXIT_REFUSED);
  expect_error(e, "usage", "status is running, suspended");
  assert_int_equal(hitl_store_outcome(s, "nosuch", &out, &e), HITL_EXIT_REFUSED);
  expect_error(e, "usage", "unknown instance");

  hitl_store_close(t);
  hitl_store_close(s);
  hitl_program_free(p);
}

static void test_input_params_refused(void **state) {
  (void)state;
  char path[4200];
  hitl_store *s = open_new(path);
  hitl_program *p = compile_ok("playbook pp \"params\"\n"
                               "input { n: int }\n"
                               "param limit: int = 10\n"
                               "param who: string = \"x\"\n"
                               "return [n, limit, who]\n");
  char *out = (char *)1;
  hitl_error *e = NULL;
  struct {
    const char *input, *params, *msg;
  } bad[] = {
      {"{\"n\": \"one\"}", NULL, "bad input"},
      {"{\"m\": 1}", NULL, "bad input"},
      {"{\"n\": 1", NULL, "bad input"},
      {"{\"n\": 1}", "{\"nosuch\": 1}", "bad param nosuch"},
      {"{\"n\": 1}", "{\"limit\": \"many\"}", "bad param limit"},
      {"{\"n\": 1}", "[1]", "params must be a JSON object"},
      {"{\"n\": 1}", "{\"limit\": ", "params: malformed JSON"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(hitl_store_run(s, p, bad[i].input, bad[i].params, "agent", &out, &e), HITL_EXIT_REFUSED);
    assert_null(out);
    expect_error(e, "input", bad[i].msg);
  }
  assert_int_equal(hitl_store_instances(s, NULL, &out, NULL), HITL_EXIT_COMPLETED);
  assert_string_equal(out, "[]");   /* nothing was stored */
  hitl_free(out);
  assert_int_equal(hitl_store_run(s, p, "{\"n\": 1}", "{\"limit\": 250, \"who\": \"ada\"}", "agent", &out, &e),
                   HITL_EXIT_COMPLETED);
  json_t *j = take(out);
  char *r = json_dumps(json_object_get(j, "result"), JSON_COMPACT);
  assert_string_equal(r, "[1,250,\"ada\"]");
  free(r);
  json_decref(j);
  assert_int_equal(hitl_store_run(s, p, "{\"n\": 2}", "{\"limit\": \"7\"}", NULL, &out, &e), HITL_EXIT_COMPLETED);
  j = take(out);
  assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "result"), 1)), 7);
  json_decref(j);
  assert_int_equal(hitl_store_run(s, NULL, NULL, NULL, "agent", &out, &e), HITL_EXIT_REFUSED);
  expect_error(e, "usage", "no program");
  hitl_store_close(s);
  hitl_program_free(p);
}

static int fail_action(void *user, const char *action, const char *args, char **result) {
  (void)user, (void)action, (void)args;
  *result = hitl_strdup("the payment service is down");
  return 3;
}

static int answer_two(void *user, const char *action, const char *args, char **result) {
  (void)user, (void)action, (void)args;
  *result = hitl_strdup("2");
  return 0;
}

static void test_failed_and_default(void **state) {
  (void)state;
  char path[4200];
  hitl_store *s = open_new(path);
  hitl_program *p = compile_ok("playbook f \"fails\"\n"
                               "action pay(n: int) -> int\n"
                               "action other() -> int\n"
                               "return pay(other())\n");
  char *out = NULL;
  hitl_error *e = NULL;
  /* nothing bound */
  assert_int_equal(hitl_store_run(s, p, NULL, NULL, "agent", &out, &e), HITL_EXIT_FAILED);
  assert_non_null(out);
  json_t *j = take(out);
  assert_string_equal(str(j, "status"), "failed");
  assert_string_equal(str(json_object_get(j, "error"), "kind"), "action");
  json_decref(j);
  expect_error(e, "action", "no binding for action 'other'");
  /* the default answers other; pay's own binding wins over the default */
  hitl_store_bind_default(s, answer_two, NULL);
  assert_int_equal(hitl_store_bind(s, "pay", fail_action, NULL), 0);
  assert_int_equal(hitl_store_run(s, p, NULL, NULL, "agent", &out, &e), HITL_EXIT_FAILED);
  hitl_free(out);
  expect_error(e, "action", "action 'pay' failed: the payment service is down");
  assert_int_equal(hitl_store_bind(s, "pay", NULL, NULL), 0);   /* unbound: the default answers it too */
  assert_int_equal(hitl_store_run(s, p, NULL, NULL, "agent", &out, &e), HITL_EXIT_COMPLETED);
  assert_null(e);
  j = take(out);
  assert_int_equal(json_integer_value(json_object_get(j, "result")), 2);
  json_decref(j);
  assert_int_equal(hitl_store_bind(s, NULL, lookup, NULL), -1);
  hitl_store_close(s);
  hitl_program_free(p);
}

static void on_note(void *user, const char *message) {
  char *seen = user;
  snprintf(seen, 512, "%s", message);
}

static void test_mocks_kept(void **state) {
  (void)state;
  char path[4200], digest[65], inst[64];
  hitl_store *s = open_new(path);
  hitl_program *p = compile_ok(REFUND);
  hitl_error *e = NULL;
  assert_int_equal(hitl_store_bind_mocks(s, "{\"lookup\": ", &e), -1);
  expect_error(e, "input", "mocks");
  assert_int_equal(hitl_store_bind_mocks(s,
                                         "{\"lookup\": {\"customer\": \"Bo\"}, \"issue_refund\": {\"results\": "
                                         "[{\"receipt\": \"M-1\"}]}, \"nosuch\": 1}",
                                         &e),
                   0);
  char note[512] = "";
  hitl_store_on_note(s, on_note, note);
  char *out = NULL;
  assert_int_equal(hitl_store_run(s, p, "{\"order\": \"A-1\", \"amount\": 5}", NULL, "agent", &out, &e),
                   HITL_EXIT_SUSPENDED);
  assert_string_equal(note, "warning: mocks: 'nosuch' is not an action of playbook 'refund'");
  json_t *j = take(out);
  int64_t item = json_integer_value(json_object_get(json_array_get(json_object_get(j, "pending"), 0), "id"));
  snprintf(inst, sizeof inst, "%s", str(j, "instance"));
  snprintf(digest, sizeof digest, "%s", str(json_array_get(json_object_get(j, "pending"), 0), "digest"));
  json_decref(j);
  /* a handle without mocks or bindings resumes: the instance's mocks answer */
  hitl_store *t = reopen(path);
  assert_int_equal(hitl_store_resume(t, item, "approve", NULL, NULL, digest, "bob", &out, &e), HITL_EXIT_COMPLETED);
  j = take(out);
  assert_string_equal(str(json_object_get(j, "result"), "customer"), "Bo");
  json_decref(j);
  /* a host binding wins over a mock */
  Calls c = {0};
  bind_both(s, &c);
  item = run_to_checkpoint(s, p, digest, inst);
  assert_int_equal(c.lookups, 1);
  assert_int_equal(hitl_store_bind_mocks(s, NULL, &e), 0);
  hitl_store_close(t);
  hitl_store_close(s);
  hitl_program_free(p);
}

static void test_expire(void **state) {
  (void)state;
  char path[4200];
  hitl_store *s = open_new(path);
  hitl_program *p = compile_ok("playbook slow \"times out\"\n"
                               "checkpoint \"Go?\" {\n"
                               "  timeout 1h -> reject \"no answer\"\n"
                               "} approve {\n"
                               "  log \"approved\"\n"
                               "}\n"
                               "return 1\n");
  char *out = NULL;
  hitl_error *e = NULL;
  assert_int_equal(hitl_store_run(s, p, NULL, NULL, "agent", &out, &e), HITL_EXIT_SUSPENDED);
  json_t *j = take(out);
  const char *deadline = str(json_array_get(json_object_get(j, "pending"), 0), "deadline");
  assert_non_null(deadline);
  char inst[64];
  snprintf(inst, sizeof inst, "%s", str(j, "instance"));
  json_decref(j);
  assert_int_equal(hitl_store_expire(s, -1, &out, &e), HITL_EXIT_COMPLETED);   /* not yet */
  assert_string_equal(out, "[]");
  hitl_free(out);
  assert_int_equal(hitl_store_expire(s, (int64_t)time(NULL) + 7200, &out, &e), HITL_EXIT_COMPLETED);
  j = take(out);
  assert_int_equal(json_array_size(j), 1);
  assert_string_equal(str(json_array_get(j, 0), "verdict"), "reject");
  assert_string_equal(str(json_array_get(j, 0), "status"), "failed");
  assert_string_equal(str(json_array_get(j, 0), "instance"), inst);
  json_decref(j);
  assert_int_equal(hitl_store_outcome(s, inst, &out, &e), HITL_EXIT_COMPLETED);
  j = take(out);
  assert_string_equal(str(json_object_get(j, "error"), "kind"), "rejected");
  json_decref(j);
  hitl_store_close(s);
  hitl_program_free(p);
}

static void test_groups_and_quorum(void **state) {
  (void)state;
  char path[4200];
  hitl_store *s = open_new(path);
  hitl_program *p = compile_ok("playbook q \"two of finance\"\n"
                               "checkpoint \"Pay?\" {\n"
                               "  by \"finance\" quorum 2\n"
                               "} approve {\n"
                               "  log \"paid\"\n"
                               "}\n"
                               "return \"done\"\n");
  hitl_error *e = NULL;
  const char *fin[] = {"finance"};
  assert_int_equal(hitl_store_reviewers_add(s, "alice", fin, 1, &e), HITL_EXIT_COMPLETED);
  assert_int_equal(hitl_store_reviewers_add(s, "carol", fin, 1, &e), HITL_EXIT_COMPLETED);
  assert_int_equal(hitl_store_reviewers_add(s, "has space", fin, 1, &e), HITL_EXIT_REFUSED);
  expect_error(e, "input", "is not a reviewer name");
  assert_int_equal(hitl_store_reviewers_add(s, "timeout", fin, 1, &e), HITL_EXIT_REFUSED);
  expect_error(e, "input", "is not a reviewer name");
  const char *bad[] = {""};
  assert_int_equal(hitl_store_reviewers_add(s, "dave", bad, 1, &e), HITL_EXIT_REFUSED);
  expect_error(e, "input", "is not a group name");
  char *out = NULL;
  assert_int_equal(hitl_store_run(s, p, NULL, NULL, "agent", &out, &e), HITL_EXIT_SUSPENDED);
  json_t *j = take(out);
  json_t *it = json_array_get(json_object_get(j, "pending"), 0);
  int64_t item = json_integer_value(json_object_get(it, "id"));
  assert_string_equal(str(it, "by"), "finance");
  assert_int_equal(json_integer_value(json_object_get(it, "quorum")), 2);
  json_decref(j);
  assert_int_equal(hitl_store_pending(s, "finance", "alice", &out, &e), HITL_EXIT_COMPLETED);
  j = take(out);
  assert_int_equal(json_array_size(j), 1);
  json_decref(j);
  assert_int_equal(hitl_store_pending(s, NULL, "bob", &out, &e), HITL_EXIT_COMPLETED);
  assert_string_equal(out, "[]");
  hitl_free(out);
  assert_int_equal(hitl_store_resume(s, item, "approve", NULL, NULL, NULL, "bob", &out, &e), HITL_EXIT_REFUSED);
  expect_error(e, "verdict", "is not a member of group finance");
  assert_int_equal(hitl_store_resume(s, item, "modify", NULL, "{\"x\": 1}", NULL, "alice", &out, &e),
                   HITL_EXIT_REFUSED);
  expect_error(e, "verdict", "needs a quorum of 2");
  assert_int_equal(hitl_store_resume(s, item, "approve", NULL, NULL, NULL, "alice", &out, &e), HITL_EXIT_SUSPENDED);
  j = take(out);
  assert_string_equal(str(j, "status"), "suspended");
  assert_int_equal(json_array_size(json_object_get(j, "pending")), 1);
  json_decref(j);
  assert_int_equal(hitl_store_resume(s, item, "approve", NULL, NULL, NULL, "alice", &out, &e), HITL_EXIT_REFUSED);
  expect_error(e, "verdict", "already voted");
  assert_int_equal(hitl_store_show(s, item, &out, &e), HITL_EXIT_COMPLETED);
  j = take(out);
  assert_int_equal(json_integer_value(json_object_get(j, "approvals")), 1);
  assert_string_equal(str(json_array_get(json_object_get(j, "votes"), 0), "reviewer"), "alice");
  json_decref(j);
  assert_int_equal(hitl_store_resume(s, item, "approve", NULL, NULL, NULL, "carol", &out, &e), HITL_EXIT_COMPLETED);
  j = take(out);
  assert_string_equal(str(j, "result"), "done");
  json_decref(j);
  hitl_store_close(s);
  hitl_program_free(p);
}

static void test_from_actions(void **state) {
  (void)state;
  char path[4200];
  hitl_store *s = open_new(path);
  hitl_program *p = compile_ok("playbook ffi \"from, over the store\"\n"
                               "action add(a: int, b: int) -> int from \"libtestactions.so\" symbol \"ta_add\"\n"
                               "action nosym() -> int from \"libtestactions.so\" symbol \"nope\"\n"
                               "let e = nil\n"
                               "try { nosym() } catch err { e = err.kind }\n"
                               "return [add(2, 3), e]\n");
  char *out = NULL;
  hitl_error *e = NULL;
  assert_int_equal(hitl_store_run(s, p, NULL, NULL, "agent", &out, &e), HITL_EXIT_COMPLETED);
  json_t *j = take(out);
  char *r = json_dumps(json_object_get(j, "result"), JSON_COMPACT);
  assert_string_equal(r, "[5,\"action\"]");
  free(r);
  json_decref(j);
  /* a host binding of the same name wins */
  assert_int_equal(hitl_store_bind(s, "add", fail_action, NULL), 0);
  assert_int_equal(hitl_store_run(s, p, NULL, NULL, "agent", &out, &e), HITL_EXIT_FAILED);
  hitl_free(out);
  expect_error(e, "action", "the payment service is down");
  hitl_store_close(s);
  hitl_program_free(p);
}

/* A review statement: the body goes on and ends (reviewing, exit 0); a flag
 * from another handle runs the flag block with that handle's binding. */
static int send_reply(void *user, const char *action, const char *args, char **result) {
  (void)action;
  char *log = user;
  strncat(log, args, 1000 - strlen(log) - 1);
  *result = hitl_strdup("true");
  return 0;
}

static void test_review(void **state) {
  (void)state;
  char path[4200], sent[1000] = "", fixed[1000] = "";
  hitl_store *s = open_new(path);
  hitl_program *p = compile_ok("playbook rv \"reviewed reply\"\n"
                               "action send_reply(who: string, text: string) -> bool\n"
                               "review \"Sent to ada\" {\n"
                               "  send_reply(\"ada\", \"hello\")\n"
                               "} flag (why) {\n"
                               "  send_reply(\"ada\", \"please disregard: {why}\")\n"
                               "}\n"
                               "return \"sent\"\n");
  assert_int_equal(hitl_store_bind(s, "send_reply", send_reply, sent), 0);
  char *out = NULL;
  hitl_error *e = NULL;
  assert_int_equal(hitl_store_run(s, p, NULL, NULL, "agent", &out, &e), HITL_EXIT_COMPLETED);
  json_t *j = take(out);
  assert_string_equal(str(j, "status"), "reviewing");
  assert_string_equal(str(j, "result"), "sent");
  json_t *it = json_array_get(json_object_get(j, "pending"), 0);
  assert_string_equal(str(it, "kind"), "review");
  int64_t item = json_integer_value(json_object_get(it, "id"));
  char inst[64];
  snprintf(inst, sizeof inst, "%s", str(j, "instance"));
  json_decref(j);
  assert_string_equal(sent, "{\"who\":\"ada\",\"text\":\"hello\"}");
  assert_int_equal(hitl_store_resume(s, item, "approve", NULL, NULL, NULL, "bob", &out, &e), HITL_EXIT_REFUSED);
  expect_error(e, "verdict", "pass or flag");
  hitl_store *t = reopen(path);
  assert_int_equal(hitl_store_bind(t, "send_reply", send_reply, fixed), 0);
  assert_int_equal(hitl_store_resume(t, item, "flag", "wrong customer", NULL, NULL, "bob", &out, &e),
                   HITL_EXIT_COMPLETED);
  j = take(out);
  assert_string_equal(str(j, "status"), "completed");
  json_decref(j);
  assert_string_equal(fixed, "{\"who\":\"ada\",\"text\":\"please disregard: wrong customer\"}");
  hitl_store_close(t);
  hitl_store_close(s);
  hitl_program_free(p);
}

/* The process that gives the verdict dies inside the irreversible call: the
 * journal has its intent and no outcome.  The next look at the store (from
 * this process, with its own binding) recovers the instance into an in-doubt
 * item instead of calling again; approving that item calls it once. */
static void test_dies_inside_the_call(void **state) {
  (void)state;
  char path[4200], digest[65], inst[64];
  hitl_store *s = open_new(path);
  hitl_program *p = compile_ok(REFUND);
  Calls c = {0};
  bind_both(s, &c);
  int64_t item = run_to_checkpoint(s, p, digest, inst);
  hitl_store_close(s);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    hitl_store *t = NULL;
    if (hitl_store_open(path, &t, NULL) != 0) _exit(2);
    hitl_store_bind(t, "lookup", lookup, NULL);
    hitl_store_bind(t, "issue_refund", die, NULL);
    char *out = NULL;
    hitl_store_resume(t, item, "approve", NULL, NULL, NULL, "alice", &out, NULL);
    _exit(3);   /* not reached: die() ends the process inside the call */
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 9);

  s = reopen(path);
  bind_both(s, &c);
  char note[512] = "";
  hitl_store_on_note(s, on_note, note);
  char *out = NULL;
  hitl_error *e = NULL;
  assert_int_equal(hitl_store_pending(s, NULL, NULL, &out, &e), HITL_EXIT_COMPLETED);
  assert_non_null(strstr(note, "recovered instance"));
  json_t *j = take(out);
  assert_int_equal(json_array_size(j), 1);
  json_t *doubt = json_array_get(j, 0);
  int64_t item2 = json_integer_value(json_object_get(doubt, "id"));
  assert_true(item2 > item);
  assert_string_equal(str(json_object_get(doubt, "payload"), "kind"), "in_doubt");
  assert_string_equal(str(json_object_get(doubt, "payload"), "action"), "issue_refund");
  json_decref(j);
  assert_int_equal(c.refunds, 0);   /* not called again unasked */
  assert_int_equal(hitl_store_resume(s, item2, "approve", NULL, NULL, NULL, "bob", &out, &e), HITL_EXIT_COMPLETED);
  j = take(out);
  assert_string_equal(str(j, "status"), "completed");
  json_decref(j);
  assert_int_equal(c.refunds, 1);
  hitl_store_close(s);
  hitl_program_free(p);
}

/* Every allocation of a run and a resume failing in turn: a refusal or a
 * run that stops, never a crash or (under ASan) a leak. */
static void test_alloc_failures(void **state) {
  (void)state;
  char path[4200];
  hitl_store *s = open_new(path);
  hitl_program *p = compile_ok(REFUND);
  Calls c = {0};
  bind_both(s, &c);
  /* how many allocations one cycle makes, then a failure at ~200 points of it */
  unsigned long before = mem_count();
  int64_t first = run_to_checkpoint(s, p, NULL, NULL);
  char *done = NULL;
  assert_int_equal(hitl_store_resume(s, first, "approve", NULL, NULL, NULL, "bob", &done, NULL), HITL_EXIT_COMPLETED);
  hitl_free(done);
  long total = (long)(mem_count() - before), step = total / 200 + 1;
  assert_true(total > 100);
  for (long n = 1; n <= total + 1; n += n < 50 ? 1 : step) {
    char *out = NULL, *digest = NULL;
    hitl_error *e = NULL;
    mem_fail_after(n);
    int rc = hitl_store_run(s, p, "{\"order\": \"A-1\", \"amount\": 1}", NULL, "agent", &out, &e);
    mem_fail_after(0);
    assert_true(rc >= 0 && rc <= 3);
    if (rc == HITL_EXIT_SUSPENDED && out) {
      json_t *j = take(out);
      json_t *it = json_array_get(json_object_get(j, "pending"), 0);
      int64_t item = json_integer_value(json_object_get(it, "id"));
      digest = hitl_strdup(str(it, "digest"));
      json_decref(j);
      out = NULL;
      mem_fail_after(n);
      rc = hitl_store_resume(s, item, "approve", NULL, NULL, digest, "bob", &out, &e);
      mem_fail_after(0);
      assert_true(rc >= 0 && rc <= 3);
    }
    hitl_free(out);
    hitl_free(digest);
    hitl_error_free(e);
  }
  hitl_store_close(s);
  hitl_program_free(p);
}

int main(int argc, char **argv) {
  (void)argc;
  const char *slash = strrchr(argv[0], '/');
  if (slash && (size_t)(slash - argv[0]) < sizeof test_dir) {
    memcpy(test_dir, argv[0], (size_t)(slash - argv[0]));
    test_dir[slash - argv[0]] = '\0';
  }
  if (!mkdtemp(tmp_dir)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open),
      cmocka_unit_test(test_run_desk_resume),
      cmocka_unit_test(test_input_params_refused),
      cmocka_unit_test(test_failed_and_default),
      cmocka_unit_test(test_mocks_kept),
      cmocka_unit_test(test_expire),
      cmocka_unit_test(test_groups_and_quorum),
      cmocka_unit_test(test_from_actions),
      cmocka_unit_test(test_review),
      cmocka_unit_test(test_dies_inside_the_call),
      cmocka_unit_test(test_alloc_failures),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
  if (system(cmd) != 0) failed++;
  return failed;
}
