/* bindings/examples/embed_store.c — hitl embedded in a C program over a
 * durable store, through nothing but <hitl.h>: one process runs a playbook
 * with its own C actions until the checkpoint stops it, another process
 * (later, anywhere the store file is) approves the item and the refund is
 * issued there, by that process's own binding of the action.
 *
 *   cc embed_store.c $(pkg-config --cflags --libs hitl) -o embed_store
 *   ./embed_store refunds.db run              # as "agent": prints the item waiting for a person
 *   ./embed_store refunds.db approve ITEM     # as "alice": the refund is issued in this process
 *
 * The same store works with the command line: hitlvm pending --store
 * refunds.db, hitlvm log INSTANCE --store refunds.db, or hitlvm resume. */
#include <hitl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const PLAYBOOK =
    "playbook refund \"Refund an order once a person agrees\"\n"
    "input {\n"
    "  order_id: string\n"
    "  amount: float\n"
    "}\n"
    "action lookup_order(id: string) -> map\n"
    "action issue_refund(order_id: string, amount: float) -> map { irreversible }\n"
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
  (void)user, (void)action;
  printf("issue_refund%s in process %ld\n", args_json, (long)getpid());
  *result_json = hitl_strdup("{\"id\": \"R-1\"}");
  return 0;
}

static int fail(const char *what, hitl_error *e) {
  fprintf(stderr, "embed_store: %s: %s: %s\n", what, hitl_error_kind(e), hitl_error_message(e));
  hitl_error_free(e);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[2], "run") != 0 && (strcmp(argv[2], "approve") != 0 || argc < 4))) {
    fprintf(stderr, "usage: embed_store STORE run | embed_store STORE approve ITEM\n");
    return 2;
  }
  hitl_store *store;
  hitl_error *err;
  if (hitl_store_open(argv[1], &store, &err) != 0) return fail("open", err);
  /* each process binds the actions it may call: bindings are not stored */
  hitl_store_bind(store, "lookup_order", lookup_order, NULL);
  hitl_store_bind(store, "issue_refund", issue_refund, NULL);
  char *outcome = NULL;
  int rc;
  if (strcmp(argv[2], "run") == 0) {
    hitl_program *prog;
    if (hitl_compile(PLAYBOOK, strlen(PLAYBOOK), "refund.hitl", NULL, &prog, &err) != 0)
      return fail("compile", err);
    rc = hitl_store_run(store, prog, "{\"order_id\": \"A-1\", \"amount\": 120.5}", NULL, "agent", &outcome, &err);
    hitl_program_free(prog);
    if (rc != HITL_EXIT_SUSPENDED) return fail("run", err);
    char *pending;
    if (hitl_store_pending(store, NULL, "alice", &pending, &err) != HITL_EXIT_COMPLETED) return fail("pending", err);
    printf("suspended: %s\n", outcome);
    printf("alice may decide: %s\n", pending);
    hitl_free(pending);
  } else {
    char *end;
    long long item = strtoll(argv[3], &end, 10);
    if (*end || item <= 0) {
      fprintf(stderr, "embed_store: ITEM is a positive integer, not '%s'\n", argv[3]);
      return 2;
    }
    rc = hitl_store_resume(store, item, "approve", "looks right", NULL, NULL, "alice", &outcome, &err);
    if (rc != HITL_EXIT_COMPLETED) return fail("approve", err);
    printf("completed: %s\n", outcome);
  }
  hitl_free(outcome);
  hitl_store_close(store);
  return 0;
}
