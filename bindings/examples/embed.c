/* bindings/examples/embed.c — hitl embedded in a C program, through
 * nothing but <hitl.h>: compile a playbook held in memory, bind its actions
 * to C functions, run it to a checkpoint, keep the suspended instance as
 * bytes, restore it into a fresh instance (as another process would), give
 * the verdict and print the result.
 *
 *   cc embed.c $(pkg-config --cflags --libs hitl) -o embed && ./embed
 */
#include <hitl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const PLAYBOOK =
    "playbook refund \"Refund an order once a person agrees\"\n"
    "input {\n"
    "  order_id: string\n"
    "  amount: float\n"
    "}\n"
    "action lookup_order(id: string) -> map\n"
    "action issue_refund(order_id: string, amount: float) -> map { irreversible  edit amount }\n"
    "rules {\n"
    "  when approved -> auto\n"
    "  when irreversible -> approve\n"
    "  otherwise -> auto\n"
    "}\n"
    "let order = lookup_order(order_id)\n"
    "checkpoint \"Refund {amount} to {order.customer}?\" {\n"
    "  show order.total\n"
    "  edit amount\n"
    "} approve {\n"
    "  let receipt = issue_refund(order_id, amount)\n"
    "  return {refunded: amount, receipt: receipt.id}\n"
    "}\n";

/* The host's actions: JSON in, JSON out (allocated with hitl_alloc). */
static int lookup_order(void *user, const char *action, const char *args_json, char **result_json) {
  (void)user, (void)action, (void)args_json;
  *result_json = hitl_strdup("{\"id\": \"A-1\", \"customer\": \"Ada\", \"total\": 120.5}");
  return 0;
}

static int issue_refund(void *user, const char *action, const char *args_json, char **result_json) {
  int *refunds = user;
  (void)action;
  printf("issue_refund%s\n", args_json);
  ++*refunds;
  *result_json = hitl_strdup("{\"id\": \"R-1\"}");
  return 0;
}

static int fail(const char *what, hitl_error *e) {
  fprintf(stderr, "embed: %s: %s: %s\n", what, hitl_error_kind(e), hitl_error_message(e));
  hitl_error_free(e);
  return 1;
}

int main(void) {
  printf("hitl %s\n", hitl_version());
  hitl_program *prog;
  hitl_error *err;
  if (hitl_compile(PLAYBOOK, strlen(PLAYBOOK), "refund.hitl", NULL, &prog, &err) != 0)
    return fail("compile", err);

  /* first run: stops at the checkpoint */
  hitl_instance *run = hitl_instance_new(prog, NULL);
  int refunds = 0;
  hitl_bind(run, "lookup_order", lookup_order, NULL);
  hitl_bind(run, "issue_refund", issue_refund, &refunds);
  if (hitl_start(run, "{\"order_id\": \"A-1\", \"amount\": 120.5}", &err) != HITL_SUSPENDED)
    return fail("start", err);
  printf("pending: %s\n", hitl_pending_json(run));
  uint8_t *snap;
  size_t len;
  if (hitl_snapshot(run, &snap, &len, &err) != 0) return fail("snapshot", err);
  hitl_instance_free(run);
  printf("snapshot: %zu bytes\n", len);

  /* later (this could be another process with the program's bytes): restore,
   * bind again, decide */
  hitl_instance *later;
  if (hitl_restore(prog, snap, len, NULL, &later, &err) != 0) return fail("restore", err);
  hitl_free(snap);
  hitl_bind(later, "lookup_order", lookup_order, NULL);
  hitl_bind(later, "issue_refund", issue_refund, &refunds);
  hitl_status st = hitl_resume(later, "{\"kind\": \"modify\", \"edits\": {\"amount\": 99.5}, \"reviewers\": [\"bob\"]}", &err);
  if (st != HITL_COMPLETED) return fail("resume", err);
  printf("result: %s\n", hitl_result_json(later));
  hitl_instance_free(later);
  hitl_program_free(prog);
  return refunds == 1 ? 0 : 1;
}
