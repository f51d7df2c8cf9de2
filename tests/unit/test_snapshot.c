/* tests/unit/test_snapshot.c — suspending, snapshotting, restoring and
 * resuming: a VM restored from a snapshot (as another process would) ends
 * exactly like the original given the same verdict; verdicts are checked
 * before anything changes; digests follow LANGUAGE.md §7; corrupt, foreign
 * or truncated snapshots are refused without a crash or a leak. */
#include "vmtest.h"

/* A playbook that suspends deep inside: a checkpoint in a fn, in a try, in a
 * step, in a loop, with shared and cyclic structures alive on the stack. */
static const char *const DEEP =
    "playbook deep \"suspend deep inside\"\n"
    "input { amount: float }\n"
    "action pay(amount: float) -> map\n"
    "fn ask(n: int, shared: list) -> map {\n"
    "  let note = \"try {n}\"\n"
    "  let v = checkpoint \"Pay {amount} (round {n})?\" {\n"
    "    show amount, note, first: shared[0]\n"
    "    edit note\n"
    "  }\n"
    "  append(shared, note)\n"
    "  return v\n"
    "}\n"
    "let shared = [\"s\"]\n"
    "let cyc = {name: \"c\"}\n"
    "cyc.self = [cyc]\n"
    "let results = []\n"
    "step \"rounds\" {\n"
    "  for i in range(2) {\n"
    "    try {\n"
    "      let v = ask(i, shared)\n"
    "      append(results, v.kind)\n"
    "    } catch e {\n"
    "      append(results, e.kind)\n"
    "    }\n"
    "  }\n"
    "}\n"
    "checkpoint \"Really pay {amount}?\" { edit amount }\n"
    "let r = pay(amount)\n"
    "return {results: results, shared: shared, amount: amount, paid: r, cyc: cyc.self[0].name}\n";

static int pay_binding(void *user, const char *action, const char *args, char **result) {
  (void)user;
  (void)action;
  size_t n = strlen(args) + 32;
  *result = mem_alloc(n);
  snprintf(*result, n, "{\"paid\":%s}", args);
  return 0;
}

static const Host PAY = {.actions = pay_binding};

static VM *start(const Module *m, const char *input) { return start_vm(m, &PAY, input); }
static VM *reload(const Module *m, const uint8_t hash[32], VM *vm) { return reload_vm(m, hash, vm, &PAY); }

static const char *const VERDICTS[] = {
    "{\"kind\":\"approve\",\"reviewers\":[\"ann\"],\"reason\":null,\"edits\":{},\"at\":\"2026-11-28T14:00:00Z\"}",
    "{\"kind\":\"modify\",\"edits\":{\"note\":\"changed\"}}",
    "{\"kind\":\"modify\",\"edits\":{\"amount\":250}}",
};

static void test_restored_vm_ends_like_the_original(void **state) {
  (void)state;
  Module *m = compile(DEEP);
  uint8_t hash[32];
  hash_of(m, hash);
  char err[256];
  VM *a = start(m, "{\"amount\": 100.5}");
  VM *b = start(m, "{\"amount\": 100.5}");
  for (int i = 0; i < 3; i++) {
    assert_int_equal(vm_run(a), VM_SUSPENDED);
    assert_int_equal(vm_run(b), VM_SUSPENDED);
    assert_string_equal(vm_pending_json(a), vm_pending_json(b));
    b = reload(m, hash, b);
    assert_string_equal(vm_pending_json(a), vm_pending_json(b));
    assert_true(vm_resume(a, VERDICTS[i], err, sizeof err));
    assert_true(vm_resume(b, VERDICTS[i], err, sizeof err));
  }
  assert_int_equal(vm_run(a), VM_COMPLETED);
  assert_int_equal(vm_run(b), VM_COMPLETED);
  assert_string_equal(vm_result_json(a), vm_result_json(b));
  assert_string_equal(vm_result_json(a),
                      "{\"results\":[\"approve\",\"modify\"],\"shared\":[\"s\",\"try 0\",\"changed\"],"
                      "\"amount\":250.0,\"paid\":{\"paid\":{\"amount\":250.0}},\"cyc\":\"c\"}");
  vm_free(a);
  vm_free(b);
  bc_free(m);
}

/* DEEP run to its first checkpoint: the program, its hash, the VM and a
 * snapshot of it there */
typedef struct Deep {
  Module *m;
  uint8_t hash[32];
  VM *vm;
  uint8_t *snap;
  size_t len;
} Deep;

static Deep deep_suspended(void) {
  Deep d = {.m = compile(DEEP)};
  hash_of(d.m, d.hash);
  d.vm = start(d.m, "{\"amount\": 1.0}");
  assert_int_equal(vm_run(d.vm), VM_SUSPENDED);
  assert_true(vm_snapshot(d.vm, d.hash, &d.snap, &d.len));
  return d;
}

static void deep_free(Deep *d) {
  mem_free(d->snap, d->len);
  vm_free(d->vm);
  bc_free(d->m);
}

static void test_refused_verdicts_change_nothing(void **state) {
  (void)state;
  Deep d = deep_suspended();
  static const struct { const char *verdict, *phrase; } bad[] = {
      {"not json", "not valid JSON"},
      {"[1]", "JSON object"},
      {"{\"kind\":\"maybe\"}", "unknown verdict"},
      {"{\"kind\":\"modify\",\"edits\":{}}", "at least one edit"},
      {"{\"kind\":\"approve\",\"edits\":{\"note\":\"x\"}}", "only a modify"},
      {"{\"kind\":\"modify\",\"edits\":{\"amount\":2.0}}", "not editable"},
      {"{\"kind\":\"modify\",\"edits\":{\"note\":5}}", "is string"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char err[256] = "";
    assert_false(vm_resume(d.vm, bad[i].verdict, err, sizeof err));
    if (!strstr(err, bad[i].phrase)) fail_msg("verdict %s: '%s' lacks '%s'", bad[i].verdict, err, bad[i].phrase);
    uint8_t *after;
    size_t alen;
    assert_true(vm_snapshot(d.vm, d.hash, &after, &alen));
    assert_int_equal(alen, d.len);
    assert_memory_equal(after, d.snap, d.len);
    mem_free(after, alen);
  }
  deep_free(&d);
}

static void test_reject_raises_or_runs_the_block(void **state) {
  (void)state;
  Module *m = compile(
      "playbook r \"reject\"\n"
      "checkpoint \"a?\" { } reject (why) { log why }\n"
      "try { checkpoint \"b?\" { } } catch e { return [e.kind, e.reason] }\n"
      "return 0\n");
  VM *vm = start(m, "{}");
  char err[256];
  assert_int_equal(vm_run(vm), VM_SUSPENDED);
  assert_true(vm_resume(vm, "{\"kind\":\"reject\",\"reason\":\"no\"}", err, sizeof err));
  assert_int_equal(vm_run(vm), VM_SUSPENDED);
  assert_true(vm_resume(vm, "{\"kind\":\"reject\",\"reason\":\"never\"}", err, sizeof err));
  assert_int_equal(vm_run(vm), VM_COMPLETED);
  assert_string_equal(vm_result_json(vm), "[\"rejected\",\"never\"]");
  vm_free(vm);
  bc_free(m);
}

static void test_digest_is_sha256_of_canonical_json(void **state) {
  (void)state;
  Module *m = compile(
      "playbook d \"digest\"\n"
      "let z = {b: 1, a: [0.5, \"\\u{e9}\\n\"]}\n"
      "checkpoint \"T\" { show z }\n"
      "return 1\n");
  VM *vm = start(m, "{}");
  assert_int_equal(vm_run(vm), VM_SUSPENDED);
  char hex[65], *canon = NULL;
  assert_true(vm_item_digest(vm, "abc123", 7, hex, &canon));
  assert_string_equal(canon,
                      "{\"instance\":\"abc123\",\"item\":7,\"payload\":{\"by\":null,\"deadline\":null,"
                      "\"editable\":[],\"quorum\":1,\"show\":{\"z\":{\"a\":[0.5,\"\xc3\xa9\\n\"],\"b\":1}},"
                      "\"step\":null,\"title\":\"T\"}}");
  uint8_t sum[32];
  hitl_sha256(sum, canon, strlen(canon));
  char want[65];
  for (int i = 0; i < 32; i++) snprintf(want + 2 * i, 3, "%02x", sum[i]);
  assert_string_equal(hex, want);
  mem_free(canon, 0);
  vm_free(vm);
  bc_free(m);
}

static void test_bad_snapshots_are_refused(void **state) {
  (void)state;
  Deep d = deep_suspended();
  const Module *m = d.m;
  const uint8_t *hash = d.hash, *snap = d.snap;
  size_t len = d.len;
  uint8_t other[32];
  memcpy(other, hash, 32);
  other[0] ^= 1;
  char err[256];
  assert_null(vm_restore(m, other, snap, len, NULL, err, sizeof err));
  assert_non_null(strstr(err, "another program"));
  for (size_t cut = 0; cut < len; cut++) {
    VM *r = vm_restore(m, hash, snap, cut, NULL, err, sizeof err);
    assert_null(r);
  }
  uint8_t *copy = malloc(len);
  for (size_t i = 0; i < len; i++) {
    memcpy(copy, snap, len);
    copy[i] ^= 0x5a;
    VM *r = vm_restore(m, hash, copy, len, NULL, err, sizeof err);
    if (i >= 40 && i < 72) {
      assert_null(r);   /* the body hash itself */
      continue;
    }
    assert_null(r);
    /* re-signed: the structural checks must hold on their own (no crash, no leak) */
    hitl_sha256(copy + 40, copy + 72, len - 72);
    r = vm_restore(m, hash, copy, len, NULL, err, sizeof err);
    if (r) {
      char e2[128];
      vm_resume(r, VERDICTS[0], e2, sizeof e2);
      vm_bind_actions(r, pay_binding, NULL);
      VmLimits lim = {0};
      (void)lim;
      vm_run(r);
      vm_free(r);
    }
  }
  free(copy);
  deep_free(&d);
}

static void test_restore_survives_failing_allocations(void **state) {
  (void)state;
  Deep d = deep_suspended();
  char err[256];
  for (long n = 1; n < 5000; n++) {
    mem_fail_after(n);
    VM *r = vm_restore(d.m, d.hash, d.snap, d.len, NULL, err, sizeof err);
    mem_fail_after(0);
    if (r) {
      vm_free(r);
      break;
    }
  }
  deep_free(&d);
}

/* a binding that reports the first call in doubt, then answers calls */
typedef struct Doubt { VM *vm; int calls; bool saw_retry; } Doubt;

static int doubt_binding(void *user, const char *action, const char *args, char **result) {
  Doubt *d = user;
  (void)action;
  (void)args;
  VmCallInfo info;
  vm_current_call(d->vm, &info);
  if (info.index == 0 && !info.retry) return VM_ACTION_IN_DOUBT;
  if (info.retry) d->saw_retry = true;
  d->calls++;
  *result = mem_alloc(16);
  snprintf(*result, 16, "%d", 40 + d->calls);
  return 0;
}

static void test_action_in_doubt(void **state) {
  (void)state;
  Module *m = compile(
      "playbook doubt \"in doubt\"\n"
      "action send(to: string) -> int { irreversible }\n"
      "rules { otherwise -> auto }\n"
      "let a = send(\"x\")\n"
      "let b = send(\"y\")\n"
      "return [a, b]\n");
  uint8_t hash[32];
  hash_of(m, hash);
  static const struct { const char *verdict, *result; } cases[] = {
      {"{\"kind\":\"approve\"}", "[41,42]"},                       /* called again */
      {"{\"kind\":\"modify\",\"edits\":{\"result\":7}}", "[7,41]"},  /* it happened: 7 */
      {"{\"kind\":\"reject\",\"reason\":\"no\"}", NULL},             /* the call fails */
  };
  for (size_t i = 0; i < 3; i++) {
    Doubt d = {0};
    VM *vm = start(m, "{}");
    d.vm = vm;
    vm_bind_actions(vm, doubt_binding, &d);
    assert_int_equal(vm_run(vm), VM_SUSPENDED);
    assert_non_null(strstr(vm_pending_json(vm), "\"kind\":\"in_doubt\""));
    assert_non_null(strstr(vm_pending_json(vm), "In doubt: send(\\\"x\\\")"));
    vm = reload(m, hash, vm);
    d.vm = vm;
    vm_bind_actions(vm, doubt_binding, &d);
    char err[256];
    assert_false(vm_resume(vm, "{\"kind\":\"modify\",\"edits\":{\"result\":\"s\"}}", err, sizeof err));
    assert_true(vm_resume(vm, cases[i].verdict, err, sizeof err));
    ends_with(vm, cases[i].result);
    assert_int_equal(d.saw_retry, i == 0);
    vm_free(vm);
  }
  bc_free(m);
}

static int echo_binding(void *user, const char *action, const char *args, char **result) {
  (void)user;
  (void)action;
  *result = mem_alloc(strlen(args) + 1);
  strcpy(*result, args);
  return 0;
}

static void test_approve_route(void **state) {
  (void)state;
  Module *m = compile(
      "playbook route \"approve route\"\n"
      "action refund(order: string, amount: float) -> map { irreversible edit amount }\n"
      "rules {\n"
      "  when args.amount > 100 -> approve by \"finance\"\n"
      "  otherwise -> auto\n"
      "}\n"
      "let small = refund(\"A-0\", 5.0)\n"
      "let big = refund(\"A-1\", 120.5) with confidence 0.5 because \"policy\"\n"
      "return [small.amount, big.amount]\n");
  uint8_t hash[32];
  hash_of(m, hash);
  static const struct { const char *verdict, *result; } cases[] = {
      {"{\"kind\":\"approve\"}", "[5.0,120.5]"},
      {"{\"kind\":\"modify\",\"edits\":{\"amount\":99}}", "[5.0,99.0]"},
      {"{\"kind\":\"reject\",\"reason\":\"too much\"}", NULL},
  };
  for (size_t i = 0; i < 3; i++) {
    VM *vm = start(m, "{}");
    vm_bind_actions(vm, echo_binding, NULL);
    assert_int_equal(vm_run(vm), VM_SUSPENDED);
    const char *p = vm_pending_json(vm);
    assert_non_null(strstr(p, "\"title\":\"refund(\\\"A-1\\\", 120.5)\""));
    assert_non_null(strstr(p, "\"by\":\"finance\""));
    assert_non_null(strstr(p, "\"editable\":[\"amount\"]"));
    assert_non_null(strstr(p, "\"rule\":{\"line\":4,\"text\":\"when args.amount > 100 -> approve by \\\"finance\\\"\"}"));
    assert_non_null(strstr(p, "\"because\":\"policy\""));
    vm = reload(m, hash, vm);
    vm_bind_actions(vm, echo_binding, NULL);
    char err[256];
    assert_false(vm_resume(vm, "{\"kind\":\"modify\",\"edits\":{\"order\":\"B\"}}", err, sizeof err));
    assert_non_null(strstr(err, "not an editable argument"));
    assert_true(vm_resume(vm, cases[i].verdict, err, sizeof err));
    ends_with(vm, cases[i].result);
    if (!cases[i].result) assert_non_null(strstr(vm_error_json(vm), "too much"));
    vm_free(vm);
  }
  bc_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_restored_vm_ends_like_the_original),
      cmocka_unit_test(test_refused_verdicts_change_nothing),
      cmocka_unit_test(test_reject_raises_or_runs_the_block),
      cmocka_unit_test(test_digest_is_sha256_of_canonical_json),
      cmocka_unit_test(test_bad_snapshots_are_refused),
      cmocka_unit_test(test_restore_survives_failing_allocations),
      cmocka_unit_test(test_action_in_doubt),
      cmocka_unit_test(test_approve_route),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
