/* tests/unit/test_store_journal.c — the store's logs (vm/store_chain.c,
 * vm/store_journal.c, vm/store_learn.c): event sequence numbers, the action
 * journal, calibrated thresholds, and the decision and action-call walks. */
#include "test_store.h"

/* ---- events and the action journal ----------------------------------------------- */

static void test_events(void **state) {
  (void)state;
  Store *st = fresh_store();
  put_program(st);
  add_instance(st, "i1");
  add_instance(st, "i2");
  for (int i = 0; i < 5; i++) {
    char fields[64];
    snprintf(fields, sizeof fields, "{\"n\":%d}", i);
    assert_int_equal(st_append_event(st, "i1", 100 + i, "log", fields), ST_OK);
    if (i < 2) assert_int_equal(st_append_event(st, "i2", 200 + i, "step", "{}"), ST_OK);
  }
  assert_int_equal(st_begin(st), ST_OK);   /* inside a transaction too */
  assert_int_equal(st_append_event(st, "i2", 300, "resumed", "{}"), ST_OK);
  assert_int_equal(st_append_event(st, "i2", 301, "completed", "{\"result\":1}"), ST_OK);
  assert_int_equal(st_commit(st), ST_OK);
  /* two instances in turn in one transaction, one rolled back: the chains hold */
  add_instance(st, "i3");
  assert_int_equal(st_begin(st), ST_OK);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(st_append_event(st, "i3", 400 + i, "log", "{}"), ST_OK);
    assert_int_equal(st_append_event(st, i == 1 ? "i3" : "i1", 500 + i, "log", "{}"), ST_OK);
  }
  assert_int_equal(st_rollback(st), ST_OK);
  assert_int_equal(st_begin(st), ST_OK);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(st_append_event(st, "i3", 400 + i, "log", "{}"), ST_OK);
    assert_int_equal(st_append_event(st, i == 1 ? "i3" : "i1", 500 + i, "log", "{}"), ST_OK);
  }
  assert_int_equal(st_commit(st), ST_OK);
  assert_int_equal(st_append_event(st, "i3", 600, "log", "{}"), ST_OK);
  StAudit a;
  assert_int_equal(st_audit(st, NULL, &a), ST_OK);
  if (!a.ok) fail_msg("audit: %s %lld: %s", a.instance, (long long)a.seq, a.problem);
  StEvent *e3;
  size_t n3;
  assert_int_equal(st_list_events(st, "i3", &e3, &n3), ST_OK);
  assert_int_equal(n3, 5);
  for (size_t i = 0; i < n3; i++) assert_int_equal(e3[i].seq, (int64_t)i + 1);
  st_events_free(e3, n3);
  st_close(st);
  st = open_store();
  assert_int_equal(st_append_event(st, "nobody", 1, "log", "{}"), ST_NOTFOUND);
  assert_int_equal(st_append_event(st, "i1", 1, "log", NULL), ST_ERR);
  StEvent *v;
  size_t n;
  assert_int_equal(st_list_events(st, "i1", &v, &n), ST_OK);
  assert_int_equal(n, 7);
  for (size_t i = 0; i < 5; i++) {
    char fields[64];
    snprintf(fields, sizeof fields, "{\"n\":%zu}", i);
    assert_int_equal(v[i].seq, (int64_t)i + 1);
    assert_int_equal(v[i].at, 100 + (int64_t)i);
    assert_string_equal(v[i].kind, "log");
    assert_string_equal(v[i].fields, fields);
  }
  st_events_free(v, n);
  assert_int_equal(st_list_events(st, "i2", &v, &n), ST_OK);
  assert_int_equal(n, 4);
  for (size_t i = 0; i < n; i++) assert_int_equal(v[i].seq, (int64_t)i + 1);
  assert_string_equal(v[3].kind, "completed");
  st_events_free(v, n);
  assert_int_equal(st_list_events(st, "nobody", &v, &n), ST_OK);
  assert_int_equal(n, 0);
  st_close(st);
}

static void test_calls(void **state) {
  (void)state;
  Store *st = fresh_store();
  put_program(st);
  add_instance(st, "i1");
  StCall c = {(char *)"i1", 3, (char *)"issue_refund", (char *)"{\"id\":1}", (char *)"intent", NULL, 50};
  assert_int_equal(st_put_call(st, &c), ST_OK);
  StCall got;
  assert_int_equal(st_get_call(st, "i1", 3, &got), ST_OK);
  assert_string_equal(got.instance, "i1");
  assert_int_equal(got.idx, 3);
  assert_string_equal(got.action, "issue_refund");
  assert_string_equal(got.args, "{\"id\":1}");
  assert_string_equal(got.state, "intent");
  assert_null(got.result);
  assert_int_equal(got.at, 50);
  st_call_free(&got);
  c.state = (char *)"done";
  c.result = (char *)"{\"ok\":true}";
  c.at = 51;
  assert_int_equal(st_put_call(st, &c), ST_OK);   /* replaces */
  assert_int_equal(st_get_call(st, "i1", 3, &got), ST_OK);
  assert_string_equal(got.state, "done");
  assert_string_equal(got.result, "{\"ok\":true}");
  assert_int_equal(got.at, 51);
  st_call_free(&got);
  assert_int_equal(st_get_call(st, "i1", 4, &got), ST_NOTFOUND);
  assert_null(got.action);
  c.instance = (char *)"nobody";
  assert_int_equal(st_put_call(st, &c), ST_NOTFOUND);

  /* pruning below a snapshot's call count: finished rows only, this instance only */
  add_instance(st, "i2");
  static const char *const states[] = {"done", "failed", "intent", "retry", "done", "done"};
  for (int k = 0; k < 6; k++) {
    StCall r = {(char *)(k < 5 ? "i2" : "i1"), k < 5 ? k : 0, (char *)"a", (char *)"{}", (char *)states[k], NULL, 60};
    assert_int_equal(st_put_call(st, &r), ST_OK);
  }
  assert_int_equal(st_prune_calls(st, "i2", 4), ST_OK);
  for (int k = 0; k < 5; k++) {
    int rc = st_get_call(st, "i2", k, &got);
    assert_int_equal(rc, k < 2 ? ST_NOTFOUND : ST_OK);
    if (rc == ST_OK) st_call_free(&got);
  }
  assert_int_equal(st_get_call(st, "i1", 0, &got), ST_OK);   /* another instance's row stays */
  st_call_free(&got);
  assert_int_equal(st_prune_calls(st, "i2", 0), ST_OK);       /* nothing below 0 */
  assert_int_equal(st_prune_calls(st, "nobody", 9), ST_OK);
  st_close(st);
}

/* ---- calibrated thresholds, decisions, action calls ------------------------------ */

static void test_thresholds(void **state) {
  (void)state;
  Store *st = fresh_store();
  StThreshold t = {(char *)"refund", (char *)"issue_refund", 0.9, 0.99, 120, 500};
  assert_int_equal(st_put_threshold(st, &t), ST_OK);
  StThreshold u = {(char *)"alerts", (char *)"page", 0.5, 0.95, 60, 501};
  assert_int_equal(st_put_threshold(st, &u), ST_OK);
  t.value = 0.875;   /* replaced, not added */
  t.samples = 130;
  assert_int_equal(st_put_threshold(st, &t), ST_OK);
  StThreshold bad = {(char *)"refund", (char *)"x", 1.5, 0.99, 1, 1};
  assert_int_equal(st_put_threshold(st, &bad), ST_ERR);
  StThreshold *v;
  size_t n;
  assert_int_equal(st_list_thresholds(st, NULL, &v, &n), ST_OK);
  assert_int_equal(n, 2);
  assert_string_equal(v[0].playbook, "alerts");
  assert_string_equal(v[1].action, "issue_refund");
  assert_true(v[1].value == 0.875);
  assert_true(v[1].target == 0.99);
  assert_int_equal(v[1].samples, 130);
  assert_int_equal(v[1].at, 500);
  st_thresholds_free(v, n);
  assert_int_equal(st_list_thresholds(st, "refund", &v, &n), ST_OK);
  assert_int_equal(n, 1);
  st_thresholds_free(v, n);
  assert_int_equal(st_list_thresholds(st, "nothing", &v, &n), ST_OK);
  assert_int_equal(n, 0);
  assert_null(v);
  st_close(st);
}

typedef struct Seen {
  int n;
  char text[8][160];
} Seen;

static bool see_decision(void *user, const StDecision *d) {
  Seen *s = user;
  if (s->n < 8)
    snprintf(s->text[s->n], sizeof s->text[0], "%lld %s %s %s %.2f %.2f %s %s %s %s %lld", (long long)d->item,
             d->playbook, d->action, d->status, d->confidence, d->threshold, d->verdict ? d->verdict : "-",
             d->edits ? d->edits : "-", d->args ? d->args : "-", d->because ? d->because : "-", (long long)d->at);
  s->n++;
  return true;
}

static bool see_call(void *user, const StActionCall *c) {
  Seen *s = user;
  if (s->n < 8)
    snprintf(s->text[s->n], sizeof s->text[0], "%s %s %s %.2f %lld %s %s %d", c->playbook, c->action, c->route,
             c->confidence, (long long)c->seq, c->args ? c->args : "-", c->rule ? c->rule : "-", c->failed);
  s->n++;
  return s->n < 2;   /* stops after the second */
}

static void test_decisions(void **state) {
  (void)state;
  Store *st = fresh_store();
  put_program(st);
  add_instance(st, "i1");
  StItem a = item("i1", NULL, 10);   /* a checkpoint: no action/risk/rule, not a decision */
  assert_int_equal(st_insert_item(st, &a), ST_OK);
  StItem b = item("i1", NULL, 11);
  b.payload = (char *)"{\"action\":\"issue_refund\",\"args\":{\"amount\":12.5},\"because\":\"ok\","
                      "\"risk\":{\"confidence\":0.75,\"threshold\":0.9},\"rule\":{\"line\":3,\"text\":\"x\"}}";
  assert_int_equal(st_insert_item(st, &b), ST_OK);
  StItem c = b;
  c.payload = (char *)"{\"action\":\"issue_refund\",\"args\":{},\"risk\":{\"threshold\":0.9},\"rule\":{}}";
  assert_int_equal(st_insert_item(st, &c), ST_OK);
  StItem d = b;
  d.payload = (char *)"not json";
  assert_int_equal(st_insert_item(st, &d), ST_OK);
  /* two verdicts on b (a quorum): the last one counts */
  StVerdict v1 = {0, b.id, (char *)"i1", (char *)"approve", (char *)"bob", NULL, NULL, 20, NULL};
  StVerdict v2 = {0, b.id, (char *)"i1", (char *)"modify", (char *)"carol", NULL, (char *)"{\"amount\":5}", 21, NULL};
  assert_int_equal(st_insert_verdict(st, &v1), ST_OK);
  assert_int_equal(st_insert_verdict(st, &v2), ST_OK);
  assert_int_equal(st_close_item(st, b.id, "decided"), ST_OK);
  Seen seen = {0};
  assert_int_equal(st_each_decision(st, see_decision, &seen), ST_OK);
  assert_int_equal(seen.n, 2);
  char want[160];
  snprintf(want, sizeof want, "%lld refund issue_refund decided 0.75 0.90 modify {\"amount\":5} "
           "{\"amount\":12.5} \"ok\" 21", (long long)b.id);
  assert_string_equal(seen.text[0], want);
  snprintf(want, sizeof want, "%lld refund issue_refund open -1.00 0.90 - - {} - -1", (long long)c.id);
  assert_string_equal(seen.text[1], want);

  assert_int_equal(st_append_event(st, "i1", 30, "log", "{\"message\":\"hi\"}"), ST_OK);
  assert_int_equal(st_append_event(st, "i1", 31, "action", "{\"name\":\"lookup\",\"args\":{\"id\":\"A\"},"
                   "\"route\":\"auto\",\"rule\":null,\"queue\":0,\"confidence\":null,\"result\":{}}"), ST_OK);
  assert_int_equal(st_append_event(st, "i1", 32, "action", "{broken"), ST_OK);
  assert_int_equal(st_append_event(st, "i1", 33, "action", "{\"name\":\"issue_refund\",\"args\":{},"
                   "\"route\":\"deny\",\"rule\":4,\"confidence\":0.5,\"error\":\"no\"}"), ST_OK);
  assert_int_equal(st_append_event(st, "i1", 34, "action", "{\"name\":\"x\",\"route\":\"auto\"}"), ST_OK);
  memset(&seen, 0, sizeof seen);
  assert_int_equal(st_each_action_call(st, see_call, &seen), ST_ERR);   /* stopped by the caller */
  assert_non_null(strstr(st_errmsg(st), "stopped"));
  assert_int_equal(seen.n, 2);
  assert_string_equal(seen.text[0], "refund lookup auto -1.00 2 {\"id\":\"A\"} null 0");
  assert_string_equal(seen.text[1], "refund issue_refund deny 0.50 4 {} 4 1");
  st_close(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_events),
    cmocka_unit_test(test_calls),
    cmocka_unit_test(test_thresholds),
    cmocka_unit_test(test_decisions),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
