/* tests/unit/test_route.c — routing (LANGUAGE.md §6) where vm/route.c takes
 * short cuts: a rule condition that reads only what a call site fixes
 * (action, irreversible, compliance, approved, reviewed) is run once per
 * site and its value kept.  These check that nothing observable changes:
 * the kept value is per site (approved differs between sites of the same
 * action), a condition that raises fails closed on every call, not only the
 * first, and a call at the depth limit still fails closed; with and without
 * a collection at every allocation. */
#include "vmtest.h"

static int one_binding(void *user, const char *action, const char *args, char **result) {
  (void)user, (void)action, (void)args;
  *result = mem_alloc(2);
  memcpy(*result, "1", 2);
  return 0;
}

static void count_alerts(void *user, const char *kind, const char *fields) {
  (void)fields;
  if (strcmp(kind, "alert") == 0) ++*(int *)user;
}

static VM *start(const Module *m, uint32_t max_depth, bool stress, int *alerts) {
  Host h = {.actions = one_binding, .events = count_alerts, .events_user = alerts,
            .limits = &(VmLimits){.max_depth = max_depth}, .stress = stress};
  return start_vm(m, &h, "{}");
}

static void approve(VM *vm) {
  char err[256];
  if (!vm_resume(vm, "{\"kind\":\"approve\"}", err, sizeof err)) fail_msg("resume: %s", err);
}

/* fixed conditions, kept per site: the same action is denied inside an
 * approve block and runs outside it; a list test; a dynamic rule after them */
static void test_fixed_rules_kept_per_site(void **state) {
  (void)state;
  Module *m = compile(
      "playbook fixed \"fixed conditions\"\n"
      "action look(id: string) -> int\n"
      "action wipe(id: string) -> int\n"
      "rules {\n"
      "  when action in [\"wipe\", \"erase\"] -> deny \"no wiping\"\n"
      "  when action == \"look\" and approved -> deny \"not in approve\"\n"
      "  when compliance == \"x\" -> approve\n"
      "  when args.id == \"z\" -> deny \"z\"\n"
      "  otherwise -> auto\n"
      "}\n"
      "let out = []\n"
      "for id in [\"a\", \"z\", \"b\"] {\n"
      "  try { append(out, look(id)) } catch e { append(out, e.message) }\n"
      "  try { append(out, wipe(id)) } catch e { append(out, e.kind) }\n"
      "}\n"
      "checkpoint \"go?\" { } approve {\n"
      "  for i in range(2) {\n"
      "    try { append(out, look(\"c\")) } catch e { append(out, e.message) }\n"
      "  }\n"
      "}\n"
      "append(out, look(\"d\"))\n"
      "return out\n");
  for (int stress = 0; stress < 2; stress++) {
    int alerts = 0;
    VM *vm = start(m, 0, stress, &alerts);
    assert_int_equal(vm_run(vm), VM_SUSPENDED);
    approve(vm);
    assert_int_equal(vm_run(vm), VM_COMPLETED);
    assert_string_equal(vm_result_json(vm),
                        "[1,\"denied\",\"z\",\"denied\",1,\"denied\",\"not in approve\",\"not in approve\",1]");
    assert_int_equal(alerts, 0);
    vm_free(vm);
  }
  bc_free(m);
}

/* a fixed condition that raises (nil < "m") fails closed at every call from
 * the site, each time with its alert */
static void test_raising_rule_fails_closed_every_call(void **state) {
  (void)state;
  Module *m = compile(
      "playbook raises \"a fixed condition that raises\"\n"
      "action look(id: string) -> int\n"
      "rules {\n"
      "  when compliance < \"m\" -> auto\n"
      "  otherwise -> auto\n"
      "}\n"
      "let out = []\n"
      "for id in [\"x\", \"y\"] {\n"
      "  append(out, look(id))\n"
      "}\n"
      "return out\n");
  for (int stress = 0; stress < 2; stress++) {
    int alerts = 0;
    VM *vm = start(m, 0, stress, &alerts);
    for (int call = 0; call < 2; call++) {
      assert_int_equal(vm_run(vm), VM_SUSPENDED);
      assert_non_null(strstr(vm_pending_json(vm), "fail closed: the rule at line 4 raised"));
      assert_int_equal(alerts, call + 1);
      approve(vm);
    }
    assert_int_equal(vm_run(vm), VM_COMPLETED);
    assert_string_equal(vm_result_json(vm), "[1,1]");
    vm_free(vm);
  }
  bc_free(m);
}

/* a call at the depth limit: running the condition would go past it, so the
 * call fails closed even though the site's value is kept */
static void test_depth_limit_still_fails_closed(void **state) {
  (void)state;
  Module *m = compile(
      "playbook deep \"a kept condition at the depth limit\"\n"
      "action look(id: string) -> int\n"
      "rules {\n"
      "  when action == \"look\" -> auto\n"
      "}\n"
      "fn f(n: int) -> int {\n"
      "  if n == 0 {\n"
      "    return look(\"x\")\n"
      "  }\n"
      "  return f(n - 1)\n"
      "}\n"
      "let a = f(0)\n"
      "let b = f(5)\n"
      "let c = f(6)\n"
      "return [a, b, c]\n");
  int alerts = 0;
  VM *vm = start(m, 8, false, &alerts);
  /* f(6): 1 body frame + 7 of f = 8 frames at the call, the limit */
  assert_int_equal(vm_run(vm), VM_SUSPENDED);
  assert_non_null(strstr(vm_pending_json(vm), "fail closed: the rule at line 4 raised"));
  assert_non_null(strstr(vm_pending_json(vm), "call depth limit"));
  approve(vm);
  assert_int_equal(vm_run(vm), VM_COMPLETED);
  assert_string_equal(vm_result_json(vm), "[1,1,1]");
  vm_free(vm);
  bc_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixed_rules_kept_per_site),
      cmocka_unit_test(test_raising_rule_fails_closed_every_call),
      cmocka_unit_test(test_depth_limit_still_fails_closed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
