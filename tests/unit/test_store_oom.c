/* tests/unit/test_store_oom.c — every allocation of the store's operations
 * failing in turn (SQLite's own too, through mem.h): ST_ERR with a message,
 * and nothing changed. */
#include "test_store.h"

/* ---- allocation failures ------------------------------------------------------- */

/* Run op with the nth allocation failing, for n = 1, 2, ... until it runs
 * without reaching the failure.  A failed op must report ST_ERR with a
 * message and (for the ops that write) leave the store as it was. */
typedef int (*Op)(Store *st);

static void fail_each(Op op, bool fresh) {
  bool done = false;
  for (long n = 1; !done && n < 20000; n++) {
    Store *st = fresh ? populated() : open_store();
    char *before = api_dump(st);
    unsigned long c0 = mem_count();
    mem_fail_after(n);
    int rc = op(st);
    unsigned long used = mem_count() - c0;
    mem_fail_after(0);
    if (rc != ST_OK) {
      if (rc != ST_ERR) fail_msg("n=%ld: status %d (%s)", n, rc, st_errmsg(st));
      assert_true(st_errmsg(st)[0] != '\0');
      st_rollback(st);
      char *after = api_dump(st);
      assert_same_dump(before, after);
      free(after);
    }
    if (used < (unsigned long)n) {
      assert_int_equal(rc, ST_OK);
      done = true;
    }
    free(before);
    st_close(st);
  }
  assert_true(done);
}

static int op_list(Store *st) {
  StItem *v;
  size_t n;
  int rc = st_list_items(st, NULL, NULL, &v, &n);
  st_items_free(v, n);
  if (rc != ST_OK) return rc;
  StInstance *in;
  rc = st_list_instances(st, NULL, &in, &n);
  st_instances_free(in, n);
  if (rc != ST_OK) return rc;
  StEvent *ev;
  rc = st_list_events(st, "0123456789abcdef", &ev, &n);
  st_events_free(ev, n);
  if (rc != ST_OK) return rc;
  StVerdict *vs;
  rc = st_list_verdicts(st, 1, &vs, &n);
  st_verdicts_free(vs, n);
  return rc;
}

static int op_get(Store *st) {
  StInstance in;
  int rc = st_get_instance(st, "0123456789abcdef", &in);
  st_instance_free(&in);
  if (rc != ST_OK) return rc;
  StItem it;
  rc = st_get_item(st, 1, &it);
  st_item_free(&it);
  if (rc != ST_OK) return rc;
  StCall c;
  rc = st_get_call(st, "0123456789abcdef", 0, &c);
  st_call_free(&c);
  if (rc != ST_OK) return rc;
  uint8_t *b;
  size_t n;
  rc = st_load_snapshot(st, "0123456789abcdef", &b, &n);
  mem_free(b, n);
  if (rc != ST_OK) return rc;
  rc = st_get_program(st, hash_a, &b, &n);
  mem_free(b, n);
  return rc;
}

/* one state change: suspend-like, several writes in a transaction */
static int op_change(Store *st) {
  int rc = st_begin(st);
  if (rc != ST_OK) return rc;
  StItem it = item("0123456789abcdef", "finance", 9);
  if ((rc = st_insert_item(st, &it)) != ST_OK) goto undo;
  if ((rc = st_set_item_digest(st, it.id, "00ff")) != ST_OK) goto undo;
  if ((rc = st_append_event(st, "0123456789abcdef", 9, "checkpoint", "{}")) != ST_OK) goto undo;
  if ((rc = st_save_snapshot(st, "0123456789abcdef", (const uint8_t *)"snap\0shot", 9)) != ST_OK)
    goto undo;
  if ((rc = st_close_item(st, 1, "decided")) != ST_OK) goto undo;
  return st_commit(st);
undo:
  st_rollback(st);
  return rc;
}

/* single writes, each its own transaction */
static int op_insert(Store *st) {
  StInstance in = instance("00000000000000ff", "running", 5);
  return st_insert_instance(st, &in);
}

static int op_event(Store *st) {
  return st_append_event(st, "0123456789abcdef", 3, "log", "{\"message\":\"hi\"}");
}

static int op_call(Store *st) {
  StCall c = {(char *)"0123456789abcdef", 1, (char *)"notify", (char *)"{}", (char *)"intent",
              NULL, 7};
  return st_put_call(st, &c);
}

static int op_nothing(Store *st) {
  (void)st;
  return ST_OK;
}

static void test_out_of_memory(void **state) {
  (void)state;
  /* st_open on a new file (creating the schema), then on an existing one */
  bool done = false;
  for (long n = 1; !done && n < 20000; n++) {
    remove_db(path);
    Store *st = (Store *)&st;
    unsigned long c0 = mem_count();
    mem_fail_after(n);
    int rc = st_open(path, &st, err, sizeof err);
    unsigned long used = mem_count() - c0;
    mem_fail_after(0);
    if (rc != ST_OK) {
      assert_int_equal(rc, ST_ERR);
      assert_null(st);
      assert_true(err[0] != '\0');
    } else {
      assert_int_equal(st_schema_version(st), SCHEMA_V);
      st_close(st);
    }
    done = used < (unsigned long)n;
  }
  assert_true(done);
  Store *st = populated();
  st_close(st);
  fail_each(op_nothing, false);   /* st_open of an existing store, through open_store */
  fail_each(op_list, true);
  fail_each(op_get, true);
  fail_each(op_change, true);
  fail_each(op_insert, true);
  fail_each(op_event, true);
  fail_each(op_call, true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
