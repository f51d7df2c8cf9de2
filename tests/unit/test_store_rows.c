/* tests/unit/test_store_rows.c — the store's records there and back
 * (vm/store_rows.c, vm/store_registry.c): programs and snapshots (blobs with
 * NUL bytes, a megabyte, empty), instances, items (ids, list filters and
 * order, closing once), verdicts (one vote per reviewer) and the reviewer
 * registry. */
#include "test_store.h"

/* ---- round trips ---------------------------------------------------------------- */

static void test_programs(void **state) {
  (void)state;
  Store *st = fresh_store();
  init_hashes();
  uint8_t *big = pattern(1 << 20);
  big[0] = 0;
  assert_int_equal(st_put_program(st, hash_a, "refund", big, 1 << 20), ST_OK);
  /* content-addressed: the same hash again is fine and keeps the first */
  assert_int_equal(st_put_program(st, hash_a, "refund", big, 10), ST_OK);
  uint8_t *got;
  size_t n;
  assert_int_equal(st_get_program(st, hash_a, &got, &n), ST_OK);
  assert_int_equal(n, 1 << 20);
  assert_memory_equal(got, big, n);
  mem_free(got, n);
  /* an empty program is an empty blob, not NULL */
  assert_int_equal(st_put_program(st, hash_b, "empty", big, 0), ST_OK);
  assert_int_equal(st_get_program(st, hash_b, &got, &n), ST_OK);
  assert_int_equal(n, 0);
  assert_non_null(got);
  mem_free(got, 1);
  uint8_t other[32] = {9};
  got = (uint8_t *)"x";
  assert_int_equal(st_get_program(st, other, &got, &n), ST_NOTFOUND);
  assert_null(got);
  assert_int_equal(n, 0);
  assert_non_null(strstr(st_errmsg(st), "not found"));
  /* a NULL playbook breaks NOT NULL: an error, nothing stored */
  assert_int_equal(st_put_program(st, other, NULL, big, 4), ST_ERR);
  assert_int_equal(st_get_program(st, other, &got, &n), ST_NOTFOUND);
  free(big);
  st_close(st);
}

static void test_instances(void **state) {
  (void)state;
  Store *st = fresh_store();
  put_program(st);
  StInstance a = instance("00000000000000aa", "suspended", 50);
  StInstance b = instance("00000000000000bb", "running", 40);
  b.mocks = (char *)"{\"x\":{\"results\":[1,2]}}";
  b.mock_state = (char *)"{\"x\":1}";
  b.result = (char *)"{\"ok\":true}";
  b.error = (char *)"{\"kind\":\"action\"}";
  b.owner = (char *)"host:42";
  b.segment = 7;
  b.updated = 41;
  StInstance c = instance("00000000000000cc", "suspended", 50);
  assert_int_equal(st_insert_instance(st, &c), ST_OK);
  assert_int_equal(st_insert_instance(st, &a), ST_OK);
  assert_int_equal(st_insert_instance(st, &b), ST_OK);
  assert_int_equal(st_insert_instance(st, &a), ST_CONFLICT);   /* same id */
  StInstance bad = instance("00000000000000dd", "running", 1);
  bad.program[0] ^= 1;                                           /* no such program */
  assert_int_equal(st_insert_instance(st, &bad), ST_NOTFOUND);
  bad = instance("00000000000000dd", "running", 1);
  bad.starter = NULL;
  assert_int_equal(st_insert_instance(st, &bad), ST_ERR);
  assert_non_null(strstr(st_errmsg(st), "NOT NULL"));

  StInstance got;
  assert_int_equal(st_get_instance(st, "00000000000000aa", &got), ST_OK);
  assert_string_equal(got.id, a.id);
  assert_memory_equal(got.program, hash_a, 32);
  assert_string_equal(got.playbook, "refund");
  assert_string_equal(got.status, "suspended");
  assert_string_equal(got.starter, "alice");
  assert_string_equal(got.input, a.input);
  assert_string_equal(got.params, "{}");
  assert_null(got.mocks);
  assert_null(got.mock_state);
  assert_null(got.result);
  assert_null(got.error);
  assert_null(got.owner);
  assert_int_equal(got.segment, 0);
  assert_int_equal(got.created, 50);
  st_instance_free(&got);
  assert_int_equal(st_get_instance(st, "00000000000000bb", &got), ST_OK);
  assert_string_equal(got.mocks, b.mocks);
  assert_string_equal(got.mock_state, b.mock_state);
  assert_string_equal(got.result, b.result);
  assert_string_equal(got.error, b.error);
  assert_string_equal(got.owner, "host:42");
  assert_int_equal(got.segment, 7);
  assert_int_equal(got.created, 40);
  assert_int_equal(got.updated, 41);
  st_instance_free(&got);
  assert_int_equal(st_get_instance(st, "nope", &got), ST_NOTFOUND);
  assert_null(got.id);

  /* update: only status, result, error, mock_state, segment, owner, updated */
  StInstance u = b;
  u.status = (char *)"completed";
  u.result = NULL;
  u.error = NULL;
  u.mock_state = NULL;
  u.owner = NULL;
  u.segment = 8;
  u.updated = 99;
  u.input = (char *)"{\"ignored\":1}";
  assert_int_equal(st_update_instance(st, &u), ST_OK);
  assert_int_equal(st_get_instance(st, "00000000000000bb", &got), ST_OK);
  assert_string_equal(got.status, "completed");
  assert_null(got.result);
  assert_null(got.error);
  assert_null(got.mock_state);
  assert_null(got.owner);
  assert_string_equal(got.mocks, b.mocks);
  assert_string_equal(got.input, b.input);
  assert_int_equal(got.segment, 8);
  assert_int_equal(got.updated, 99);
  st_instance_free(&got);
  u.id = (char *)"ffffffffffffffff";
  assert_int_equal(st_update_instance(st, &u), ST_NOTFOUND);

  /* list: by created, then id */
  StInstance *v;
  size_t n;
  assert_int_equal(st_list_instances(st, NULL, &v, &n), ST_OK);
  assert_int_equal(n, 3);
  assert_string_equal(v[0].id, "00000000000000bb");
  assert_string_equal(v[1].id, "00000000000000aa");
  assert_string_equal(v[2].id, "00000000000000cc");
  st_instances_free(v, n);
  assert_int_equal(st_list_instances(st, "suspended", &v, &n), ST_OK);
  assert_int_equal(n, 2);
  assert_string_equal(v[0].id, "00000000000000aa");
  assert_string_equal(v[1].id, "00000000000000cc");
  st_instances_free(v, n);
  assert_int_equal(st_list_instances(st, "failed", &v, &n), ST_OK);
  assert_int_equal(n, 0);
  assert_null(v);
  /* each status's list is the full list filtered (running: its partial index, v5) */
  static const char *const statuses[] = {"running", "suspended", "reviewing", "completed", "failed"};
  StInstance *all;
  size_t nall;
  assert_int_equal(st_list_instances(st, NULL, &all, &nall), ST_OK);
  for (size_t k = 0; k < 5; k++) {
    assert_int_equal(st_list_instances(st, statuses[k], &v, &n), ST_OK);
    size_t at = 0;
    for (size_t i = 0; i < nall; i++) {
      if (strcmp(all[i].status, statuses[k]) != 0) continue;
      assert_true(at < n);
      assert_string_equal(v[at].id, all[i].id);
      at++;
    }
    assert_int_equal(at, n);
    st_instances_free(v, n);
  }
  st_instances_free(all, nall);
  st_update_instance(st, &(StInstance){.id = (char *)"00000000000000cc", .status = (char *)"running", .updated = 1});
  assert_int_equal(st_list_instances(st, "running", &v, &n), ST_OK);
  assert_true(n >= 1);
  assert_string_equal(v[n - 1].id, "00000000000000cc");
  st_instances_free(v, n);
  st_close(st);
}

static void test_snapshots(void **state) {
  (void)state;
  Store *st = fresh_store();
  put_program(st);
  add_instance(st, "i1");
  uint8_t *big = pattern(1 << 20);
  assert_int_equal(st_save_snapshot(st, "i1", big, 1 << 20), ST_OK);
  uint8_t *got;
  size_t n;
  assert_int_equal(st_load_snapshot(st, "i1", &got, &n), ST_OK);
  assert_int_equal(n, 1 << 20);
  assert_memory_equal(got, big, n);
  mem_free(got, n);
  static const uint8_t nuls[] = {0, 0, 'a', 0};
  assert_int_equal(st_save_snapshot(st, "i1", nuls, sizeof nuls), ST_OK);   /* replaces */
  assert_int_equal(st_load_snapshot(st, "i1", &got, &n), ST_OK);
  assert_int_equal(n, 4);
  assert_memory_equal(got, nuls, 4);
  mem_free(got, n);
  assert_int_equal(st_save_snapshot(st, "i1", NULL, 0), ST_OK);
  assert_int_equal(st_load_snapshot(st, "i1", &got, &n), ST_OK);
  assert_int_equal(n, 0);
  mem_free(got, 1);
  assert_int_equal(st_save_snapshot(st, "nobody", nuls, 4), ST_NOTFOUND);   /* no instance */
  assert_int_equal(st_delete_snapshot(st, "i1"), ST_OK);
  assert_int_equal(st_load_snapshot(st, "i1", &got, &n), ST_NOTFOUND);
  assert_null(got);
  assert_int_equal(st_delete_snapshot(st, "i1"), ST_NOTFOUND);
  free(big);
  st_close(st);
}

static void test_items(void **state) {
  (void)state;
  Store *st = fresh_store();
  put_program(st);
  add_instance(st, "i1");
  add_instance(st, "i2");
  StItem full = item("i2", "finance", 77);
  full.kind = (char *)"review";
  full.digest = (char *)"ab12";
  full.quorum = 2;
  full.editable = (char *)"[\"amount\"]";
  full.deadline = 9000;
  full.timeout_verdict = 1;
  full.timeout_reason = (char *)"no answer";
  int64_t ids[6];
  ids[0] = add_item(st, "i1", NULL);
  assert_int_equal(st_insert_item(st, &full), ST_OK);
  ids[1] = full.id;
  ids[2] = add_item(st, "i1", "finance");
  ids[3] = add_item(st, "i2", "support");
  ids[4] = add_item(st, "i1", "finance");
  for (int i = 1; i < 5; i++) assert_true(ids[i] > ids[i - 1]);
  StItem orphan = item("nobody", NULL, 1);
  assert_int_equal(st_insert_item(st, &orphan), ST_NOTFOUND);
  StItem zero = item("i1", NULL, 1);
  zero.quorum = 0;
  assert_int_equal(st_insert_item(st, &zero), ST_ERR);   /* CHECK (quorum >= 1) */

  StItem got;
  assert_int_equal(st_get_item(st, ids[0], &got), ST_OK);
  assert_int_equal(got.id, ids[0]);
  assert_string_equal(got.instance, "i1");
  assert_string_equal(got.kind, "approval");
  assert_string_equal(got.title, "Refund 12.5?");
  assert_string_equal(got.payload, "{\"title\":\"Refund 12.5?\"}");
  assert_null(got.digest);
  assert_null(got.by);
  assert_int_equal(got.quorum, 1);
  assert_string_equal(got.editable, "[]");
  assert_string_equal(got.status, "open");
  assert_int_equal(got.created, 2000);
  assert_int_equal(got.deadline, -1);
  assert_int_equal(got.timeout_verdict, -1);
  assert_null(got.timeout_reason);
  st_item_free(&got);
  assert_int_equal(st_get_item(st, ids[1], &got), ST_OK);
  assert_string_equal(got.kind, "review");
  assert_string_equal(got.digest, "ab12");
  assert_string_equal(got.by, "finance");
  assert_int_equal(got.quorum, 2);
  assert_string_equal(got.editable, "[\"amount\"]");
  assert_int_equal(got.created, 77);
  assert_int_equal(got.deadline, 9000);
  assert_int_equal(got.timeout_verdict, 1);
  assert_string_equal(got.timeout_reason, "no answer");
  st_item_free(&got);
  assert_int_equal(st_get_item(st, 999999, &got), ST_NOTFOUND);

  assert_int_equal(st_set_item_digest(st, ids[0], "cafe"), ST_OK);
  assert_int_equal(st_get_item(st, ids[0], &got), ST_OK);
  assert_string_equal(got.digest, "cafe");
  st_item_free(&got);
  assert_int_equal(st_set_item_digest(st, 999999, "cafe"), ST_NOTFOUND);

  /* close: once; a second close is a conflict; an unknown id not found */
  assert_int_equal(st_count_open_items(st), 5);
  assert_int_equal(st_close_item(st, ids[2], "decided"), ST_OK);
  assert_int_equal(st_close_item(st, ids[2], "decided"), ST_CONFLICT);
  assert_non_null(strstr(st_errmsg(st), "already decided"));
  assert_int_equal(st_close_item(st, ids[2], "expired"), ST_CONFLICT);
  assert_int_equal(st_close_item(st, 999999, "decided"), ST_NOTFOUND);
  assert_int_equal(st_close_item(st, ids[3], "cancelled"), ST_OK);
  assert_int_equal(st_count_open_items(st), 3);
  assert_int_equal(st_get_item(st, ids[2], &got), ST_OK);
  assert_string_equal(got.status, "decided");
  st_item_free(&got);

  /* lists: filters, ordered by id */
  StItem *v;
  size_t n;
  assert_int_equal(st_list_items(st, NULL, NULL, &v, &n), ST_OK);
  assert_int_equal(n, 5);
  for (size_t i = 0; i < n; i++) assert_int_equal(v[i].id, ids[i]);
  st_items_free(v, n);
  assert_int_equal(st_list_items(st, "open", NULL, &v, &n), ST_OK);
  assert_int_equal(n, 3);
  assert_int_equal(v[0].id, ids[0]);
  assert_int_equal(v[1].id, ids[1]);
  assert_int_equal(v[2].id, ids[4]);
  st_items_free(v, n);
  assert_int_equal(st_list_items(st, NULL, "finance", &v, &n), ST_OK);
  assert_int_equal(n, 3);
  assert_int_equal(v[0].id, ids[1]);
  assert_int_equal(v[1].id, ids[2]);
  assert_int_equal(v[2].id, ids[4]);
  st_items_free(v, n);
  assert_int_equal(st_list_items(st, "open", "finance", &v, &n), ST_OK);
  assert_int_equal(n, 2);
  assert_int_equal(v[0].id, ids[1]);
  assert_int_equal(v[1].id, ids[4]);
  st_items_free(v, n);
  assert_int_equal(st_list_items(st, "open", "nobody", &v, &n), ST_OK);
  assert_int_equal(n, 0);
  assert_null(v);
  /* an instance's open items */
  assert_int_equal(st_list_open_items_of(st, "i1", &v, &n), ST_OK);
  assert_int_equal(n, 2);
  assert_int_equal(v[0].id, ids[0]);
  assert_int_equal(v[1].id, ids[4]);
  st_items_free(v, n);
  assert_int_equal(st_list_open_items_of(st, "i2", &v, &n), ST_OK);
  assert_int_equal(n, 1);
  assert_int_equal(v[0].id, ids[1]);
  assert_string_equal(v[0].by, "finance");
  st_items_free(v, n);
  assert_int_equal(st_list_open_items_of(st, "nobody", &v, &n), ST_OK);
  assert_int_equal(n, 0);
  assert_null(v);

  /* ids keep increasing across a reopen */
  st_close(st);
  st = open_store();
  ids[5] = add_item(st, "i1", NULL);
  assert_true(ids[5] > ids[4]);
  st_close(st);
}

static void test_verdicts(void **state) {
  (void)state;
  Store *st = fresh_store();
  put_program(st);
  add_instance(st, "i1");
  int64_t a = add_item(st, "i1", NULL), b = add_item(st, "i1", NULL);
  StVerdict v1 = {0, a, (char *)"i1", (char *)"approve", (char *)"bob", NULL, NULL, 10, NULL};
  StVerdict v2 = {0, b, (char *)"i1", (char *)"modify", (char *)"carol", (char *)"too much",
                  (char *)"{\"amount\":5}", 11, NULL};
  StVerdict v3 = {0, a, (char *)"i1", (char *)"approve", (char *)"dave", (char *)"ok", NULL, 12, NULL};
  assert_int_equal(st_insert_verdict(st, &v1), ST_OK);
  assert_int_equal(st_insert_verdict(st, &v2), ST_OK);
  assert_int_equal(st_insert_verdict(st, &v3), ST_OK);
  assert_true(v1.id < v2.id && v2.id < v3.id);
  StVerdict bad = {0, 424242, (char *)"i1", (char *)"approve", (char *)"x", NULL, NULL, 1, NULL};
  assert_int_equal(st_insert_verdict(st, &bad), ST_NOTFOUND);
  StVerdict *v;
  size_t n;
  assert_int_equal(st_list_verdicts(st, a, &v, &n), ST_OK);
  assert_int_equal(n, 2);
  assert_int_equal(v[0].id, v1.id);
  assert_int_equal(v[0].item, a);
  assert_string_equal(v[0].instance, "i1");
  assert_string_equal(v[0].verdict, "approve");
  assert_string_equal(v[0].reviewer, "bob");
  assert_null(v[0].reason);
  assert_null(v[0].edits);
  assert_int_equal(v[0].at, 10);
  assert_string_equal(v[1].reviewer, "dave");
  assert_string_equal(v[1].reason, "ok");
  st_verdicts_free(v, n);
  assert_int_equal(st_list_verdicts(st, b, &v, &n), ST_OK);
  assert_int_equal(n, 1);
  assert_string_equal(v[0].reason, "too much");
  assert_string_equal(v[0].edits, "{\"amount\":5}");
  st_verdicts_free(v, n);
  assert_int_equal(st_list_verdicts(st, 31337, &v, &n), ST_OK);
  assert_int_equal(n, 0);
  /* one vote per reviewer and item; a signature is kept */
  StVerdict again = {0, a, (char *)"i1", (char *)"reject", (char *)"bob", NULL, NULL, 13, NULL};
  assert_int_equal(st_insert_verdict(st, &again), ST_CONFLICT);
  StVerdict sig = {0, b, (char *)"i1", (char *)"approve", (char *)"erin", NULL, NULL, 14, (char *)"abcd"};
  assert_int_equal(st_insert_verdict(st, &sig), ST_OK);
  assert_int_equal(st_list_verdicts(st, b, &v, &n), ST_OK);
  assert_int_equal(n, 2);
  assert_null(v[0].signature);
  assert_string_equal(v[1].signature, "abcd");
  st_verdicts_free(v, n);
  st_close(st);
}

static void test_reviewers(void **state) {
  (void)state;
  Store *st = fresh_store();
  StReviewer *v;
  size_t n;
  assert_int_equal(st_list_reviewers(st, &v, &n), ST_OK);
  assert_int_equal(n, 0);
  assert_int_equal(st_add_reviewer(st, "bob", NULL, 5), ST_OK);
  assert_int_equal(st_add_membership(st, "bob", "finance"), ST_OK);
  assert_int_equal(st_add_membership(st, "bob", "finance"), ST_OK);   /* idempotent */
  assert_int_equal(st_add_membership(st, "bob", "audit"), ST_OK);
  assert_int_equal(st_add_membership(st, "nobody", "audit"), ST_NOTFOUND);
  const char *key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  assert_int_equal(st_add_reviewer(st, "alice", key, 6), ST_OK);
  assert_int_equal(st_add_reviewer(st, "alice", NULL, 7), ST_OK);   /* keeps the key */
  assert_int_equal(st_list_reviewers(st, &v, &n), ST_OK);
  assert_int_equal(n, 2);
  assert_string_equal(v[0].name, "alice");
  assert_string_equal(v[0].key, key);
  assert_string_equal(v[0].groups, "[]");
  assert_int_equal(v[0].created, 6);
  assert_string_equal(v[1].name, "bob");
  assert_null(v[1].key);
  assert_string_equal(v[1].groups, "[\"audit\",\"finance\"]");
  st_reviewers_free(v, n);
  assert_int_equal(st_is_member(st, "bob", "finance"), ST_OK);
  assert_int_equal(st_is_member(st, "bob", "ops"), ST_NOTFOUND);
  assert_int_equal(st_is_member(st, "alice", "finance"), ST_NOTFOUND);
  assert_int_equal(st_remove_membership(st, "bob", "finance"), ST_OK);
  assert_int_equal(st_remove_membership(st, "bob", "finance"), ST_NOTFOUND);
  assert_int_equal(st_is_member(st, "bob", "finance"), ST_NOTFOUND);
  assert_int_equal(st_remove_reviewer(st, "bob"), ST_OK);
  assert_int_equal(st_remove_reviewer(st, "bob"), ST_NOTFOUND);
  assert_int_equal(st_is_member(st, "bob", "audit"), ST_NOTFOUND);   /* the memberships went too */
  StReviewer r;
  assert_int_equal(st_get_reviewer(st, "bob", &r), ST_NOTFOUND);
  assert_int_equal(st_get_reviewer(st, "alice", &r), ST_OK);
  assert_string_equal(r.key, key);
  st_reviewer_free(&r);
  bool sign = true;
  assert_int_equal(st_group_signed(st, "finance", &sign), ST_OK);
  assert_false(sign);
  assert_int_equal(st_set_group_signed(st, "finance", true), ST_OK);
  assert_int_equal(st_group_signed(st, "finance", &sign), ST_OK);
  assert_true(sign);
  assert_int_equal(st_set_group_signed(st, "finance", false), ST_OK);
  assert_int_equal(st_group_signed(st, "finance", &sign), ST_OK);
  assert_false(sign);
  st_close(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_programs),
    cmocka_unit_test(test_instances),
    cmocka_unit_test(test_snapshots),
    cmocka_unit_test(test_items),
    cmocka_unit_test(test_verdicts),
    cmocka_unit_test(test_reviewers),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
