/* tests/unit/test_review.c — post-action review in the VM (LANGUAGE.md §7):
 * review blocks record their calls and open items while the body runs on;
 * a flag runs the flag block with the variables as they were at the block's
 * end, whether the body is suspended or ended, also after a snapshot; a
 * routed review's flag calls the undo; an error in a flag block fails the
 * instance; an error leaving a review block still opens its item. */
#include "vmtest.h"

/* every call returns {"ok": ARGS}; the calls and events are recorded */
typedef struct Log {
  char text[16384];
  size_t len;
} Log;

static void add(Log *l, const char *a, const char *b) {
  int n = snprintf(l->text + l->len, sizeof l->text - l->len, "%s %s\n", a, b);
  assert_true(n > 0 && (size_t)n < sizeof l->text - l->len);
  l->len += (size_t)n;
}

static int binding(void *user, const char *action, const char *args, char **result) {
  add(user, "call", action);
  add(user, "args", args);
  if (strcmp(action, "broken") == 0) {
    *result = mem_alloc(8);
    memcpy(*result, "broken", 7);
    return 1;
  }
  size_t n = strlen(args) + 16;
  *result = mem_alloc(n);
  snprintf(*result, n, "{\"ok\":%s}", args);
  return 0;
}

static void on_event(void *user, const char *kind, const char *fields) {
  if (strcmp(kind, "review_opened") == 0 || strcmp(kind, "alert") == 0 || strcmp(kind, "log") == 0) {
    add(user, kind, fields);
  }
}

/* the host: every call and every event of interest into log */
static Host host(Log *log) {
  return (Host){.actions = binding, .actions_user = log, .events = on_event, .events_user = log};
}

static VM *start(const Module *m, Log *log) {
  Host h = host(log);
  return start_vm(m, &h, "{}");
}

static VM *reload(const Module *m, VM *vm, Log *log) {
  uint8_t hash[32];
  hash_of(m, hash);
  Host h = host(log);
  return reload_vm(m, hash, vm, &h);
}

/* name every new review with ids from *next */
static void assign_all(VM *vm, int64_t *next) {
  uint32_t n = vm_new_reviews(vm);
  for (uint32_t k = 0; k < n; k++) {
    char hex[65];
    assert_non_null(vm_new_review_json(vm, 0));
    assert_true(vm_review_digest(vm, 0, "i", *next, hex));
    assert_int_equal(strlen(hex), 64);
    assert_true(vm_review_assign(vm, 0, (*next)++));
  }
  assert_int_equal(vm_new_reviews(vm), 0);
}

static const char *const FLAG = "{\"kind\":\"flag\",\"reason\":\"wrong tone\",\"reviewers\":[\"rev\"]}";
static const char *const PASS = "{\"kind\":\"pass\",\"reason\":null,\"reviewers\":[\"rev\"]}";

static const char *const REPLY =
    "playbook reply \"a review block, then a checkpoint\"\n"
    "action send(to: string, text: string) -> map\n"
    "let customer = \"ann\"\n"
    "let tags = [\"first\"]\n"
    "review \"Reply to {customer}\" within 4h by \"support\" {\n"
    "  send(customer, \"hello\")\n"
    "  send(customer, \"again\")\n"
    "} flag (why) {\n"
    "  log \"flag sees {customer} {tags} because {why}\"\n"
    "  send(customer, \"disregard: {why}\")\n"
    "}\n"
    "customer = \"bob\"\n"
    "append(tags, \"second\")\n"
    "checkpoint \"Go on?\" { }\n"
    "return customer\n";

static void test_flag_while_suspended_sees_variables_as_they_were(void **state) {
  (void)state;
  Module *m = compile(REPLY);
  Log log = {0};
  VM *vm = start(m, &log);
  assert_int_equal(vm_run(vm), VM_SUSPENDED);
  assert_int_equal(vm_new_reviews(vm), 1);
  const char *p = vm_new_review_json(vm, 0);
  assert_non_null(strstr(p, "\"title\":\"Reply to ann\""));
  assert_non_null(strstr(p, "\"by\":\"support\""));
  assert_non_null(strstr(p, "\"calls\":[{\"action\":\"send\",\"args\":{\"to\":\"ann\",\"text\":\"hello\"}"));
  assert_non_null(strstr(p, "\"text\":\"again\""));
  int64_t next = 7;
  assign_all(vm, &next);
  vm = reload(m, vm, &log);   /* another process decides the review */
  char err[256];
  assert_int_equal(vm_review_verdict(vm, 99, FLAG, err, sizeof err), -1);
  assert_int_equal(vm_review_verdict(vm, 7, "{\"kind\":\"approve\"}", err, sizeof err), -1);
  assert_int_equal(vm_open_reviews(vm), 1);
  assert_int_equal(vm_review_verdict(vm, 7, FLAG, err, sizeof err), 1);
  assert_non_null(strstr(log.text, "flag sees ann [\\\"first\\\"] because wrong tone"));
  assert_non_null(strstr(log.text, "\"text\":\"disregard: wrong tone\""));
  assert_int_equal(vm_open_reviews(vm), 0);
  assert_false(vm_review_has(vm, 7));
  /* the body is still waiting where it was */
  assert_non_null(strstr(vm_pending_json(vm), "Go on?"));
  assert_true(vm_resume(vm, "{\"kind\":\"approve\"}", err, sizeof err));
  assert_int_equal(vm_run(vm), VM_COMPLETED);
  assert_string_equal(vm_result_json(vm), "\"bob\"");
  vm_free(vm);
  bc_free(m);
}

static const char *const ENDS =
    "playbook ends \"the body ends with a review open\"\n"
    "action send(to: string) -> map\n"
    "action unsend(to: string, sent: map) -> bool\n"
    "action pay(to: string) -> map { undo refund }\n"
    "action refund(to: string, paid: map) -> map\n"
    "rules {\n"
    "  when action == \"pay\" -> review within 2h by \"finance\"\n"
    "  otherwise -> auto\n"
    "}\n"
    "let who = \"cy\"\n"
    "review \"Sent to {who}\" { send(who) } flag { send(\"{who} again\") }\n"
    "pay(who)\n"
    "return 1\n";

static void test_flag_after_the_body_ended(void **state) {
  (void)state;
  Module *m = compile(ENDS);
  Log log = {0};
  VM *vm = start(m, &log);
  assert_int_equal(vm_run(vm), VM_COMPLETED);
  assert_int_equal(vm_new_reviews(vm), 2);
  assert_non_null(strstr(vm_new_review_json(vm, 1), "\"title\":\"pay(\\\"cy\\\")\""));
  assert_non_null(strstr(vm_new_review_json(vm, 1), "\"by\":\"finance\""));
  int64_t next = 1;
  assign_all(vm, &next);
  vm = reload(m, vm, &log);   /* an ended body with open reviews snapshots */
  assert_int_equal(vm_run(vm), VM_COMPLETED);
  assert_string_equal(vm_result_json(vm), "1");
  char err[256];
  log.len = 0;
  log.text[0] = 0;
  assert_int_equal(vm_review_verdict(vm, 1, PASS, err, sizeof err), 1);
  assert_int_equal(log.len, 0);   /* a pass runs nothing */
  assert_int_equal(vm_review_verdict(vm, 2, FLAG, err, sizeof err), 1);
  /* the routed call's undo: its arguments, then its result; and an alert */
  assert_non_null(strstr(log.text, "call refund"));
  assert_non_null(strstr(log.text, "{\"to\":\"cy\",\"paid\":{\"ok\":{\"to\":\"cy\"}}}"));
  assert_non_null(strstr(log.text, "alert"));
  assert_int_equal(vm_open_reviews(vm), 0);
  assert_int_equal(vm_run(vm), VM_COMPLETED);
  vm_free(vm);
  bc_free(m);
}

static const char *const FAILS =
    "playbook fails \"a flag block that fails fails the instance\"\n"
    "action send(to: string) -> map\n"
    "action broken(to: string) -> map\n"
    "let who = \"dee\"\n"
    "review \"Sent\" { send(who) } flag (why) { broken(who) }\n"
    "checkpoint \"Wait\" { }\n"
    "return 1\n";

static void test_a_failing_flag_block_fails_the_instance(void **state) {
  (void)state;
  Module *m = compile(FAILS);
  Log log = {0};
  VM *vm = start(m, &log);
  assert_int_equal(vm_run(vm), VM_SUSPENDED);
  int64_t next = 3;
  assign_all(vm, &next);
  char err[256];
  assert_int_equal(vm_review_verdict(vm, 3, FLAG, err, sizeof err), 0);
  assert_int_equal(vm_run(vm), VM_FAILED);
  assert_string_equal(vm_error_kind(vm), "action");
  assert_non_null(strstr(log.text, "alert"));
  assert_non_null(strstr(log.text, "the flag block of review item 3 failed"));
  vm_free(vm);
  bc_free(m);
}

static const char *const CAUGHT =
    "playbook caught \"an error leaves a review block\"\n"
    "action send(to: string) -> map\n"
    "action broken(to: string) -> map\n"
    "let n = 0\n"
    "try {\n"
    "  review \"Two sends\" { send(\"a\")\n broken(\"b\")\n send(\"c\") } flag { n = n + 1 }\n"
    "} catch e {\n"
    "  n = 10\n"
    "}\n"
    "return n\n";

static void test_an_error_leaving_the_block_opens_its_item(void **state) {
  (void)state;
  Module *m = compile(CAUGHT);
  Log log = {0};
  VM *vm = start(m, &log);
  assert_int_equal(vm_run(vm), VM_COMPLETED);
  assert_string_equal(vm_result_json(vm), "10");
  assert_int_equal(vm_new_reviews(vm), 1);
  const char *p = vm_new_review_json(vm, 0);
  assert_non_null(strstr(p, "\"args\":{\"to\":\"a\"}"));
  assert_null(strstr(p, "\"to\":\"c\""));   /* never made */
  int64_t next = 1;
  assign_all(vm, &next);
  char err[256];
  assert_int_equal(vm_review_verdict(vm, 1, FLAG, err, sizeof err), 1);
  vm_free(vm);
  bc_free(m);
}

/* every byte of snapshots holding review blocks, open reviews and an ended
 * body flipped, the checksum made right again: refused, or a VM whose
 * reviews can be decided and run without a crash or a leak */
static int flip_all(const Module *m, VM *vm) {
  int accepted = 0;
  uint8_t hash[32], *snap;
  size_t len;
  hash_of(m, hash);
  assert_true(vm_snapshot(vm, hash, &snap, &len));
  uint8_t *copy = malloc(len);
  assert_non_null(copy);
  char err[256];
  Log log = {0};
  for (size_t i = 72; i < len; i++) {
    for (int mask = 0; mask < 2; mask++) {
      memcpy(copy, snap, len);
      copy[i] ^= mask ? 0x01 : 0xff;
      hitl_sha256(copy + 40, copy + 72, len - 72);
      VM *r = vm_restore(m, hash, copy, len, NULL, err, sizeof err);
      if (!r) continue;
      accepted++;
      log.len = 0;
      vm_bind_actions(r, binding, &log);
      for (int64_t item = 1; item <= 3; item++) vm_review_verdict(r, item, FLAG, err, sizeof err);
      vm_run(r);
      vm_free(r);
    }
  }
  free(copy);
  mem_free(snap, len);
  return accepted;
}

static void test_hostile_review_snapshots(void **state) {
  (void)state;
  Log log = {0};
  Module *m = compile(REPLY);   /* suspended, one review open */
  VM *vm = start(m, &log);
  assert_int_equal(vm_run(vm), VM_SUSPENDED);
  int64_t next = 1;
  assign_all(vm, &next);
  /* some damage is harmless (a different string, a different item id) */
  assert_true(flip_all(m, vm) > 0);
  vm_free(vm);
  bc_free(m);
  m = compile(ENDS);             /* ended, two reviews open (one routed) */
  vm = start(m, &log);
  assert_int_equal(vm_run(vm), VM_COMPLETED);
  next = 1;
  assign_all(vm, &next);
  assert_true(flip_all(m, vm) > 0);
  vm_free(vm);
  bc_free(m);
}

static void test_flag_blocks_cannot_wait(void **state) {
  (void)state;
  const char *src = "playbook w \"\"\n"
                    "action send(to: string) -> map\n"
                    "review \"x\" { send(\"a\") } flag { checkpoint \"again?\" { } }\n";
  Diags d;
  diag_init(&d, "t.hitl", src, strlen(src));
  Module *m = cp_compile("t.hitl", src, strlen(src), &d);
  assert_null(m);
  assert_true(d.errors > 0);
  diag_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flag_while_suspended_sees_variables_as_they_were),
      cmocka_unit_test(test_flag_after_the_body_ended),
      cmocka_unit_test(test_a_failing_flag_block_fails_the_instance),
      cmocka_unit_test(test_an_error_leaving_the_block_opens_its_item),
      cmocka_unit_test(test_flag_blocks_cannot_wait),
      cmocka_unit_test(test_hostile_review_snapshots),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
