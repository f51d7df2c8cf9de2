/* tests/unit/test_store_txn.c — transactions and concurrency (vm/store_sqlite.c):
 * a rolled-back change leaves nothing behind, two connections and the busy
 * timeout, and two processes racing to close the same items. */
#include "test_store.h"

/* ---- transactions --------------------------------------------------------------- */

static void test_transactions(void **state) {
  (void)state;
  Store *st = populated();
  char *before = api_dump(st), *sql_before = sql_dump();

  /* rollback leaves nothing */
  assert_int_equal(st_begin(st), ST_OK);
  add_instance(st, "tx");
  add_item(st, "tx", "finance");
  assert_int_equal(st_append_event(st, "0123456789abcdef", 9, "log", "{}"), ST_OK);
  assert_int_equal(st_close_item(st, 1, "decided"), ST_OK);
  assert_int_equal(st_rollback(st), ST_OK);
  char *after = api_dump(st), *sql_after = sql_dump();
  assert_same_dump(before, after);
  assert_same_dump(sql_before, sql_after);
  free(after);
  free(sql_after);

  /* a failure part way, then rollback: as before */
  assert_int_equal(st_begin(st), ST_OK);
  add_instance(st, "tx");
  assert_int_equal(st_save_snapshot(st, "0123456789abcdef", (const uint8_t *)"zz", 2), ST_OK);
  StInstance dup = instance("0123456789abcdef", "running", 1);
  assert_int_equal(st_insert_instance(st, &dup), ST_CONFLICT);
  assert_int_equal(st_rollback(st), ST_OK);
  after = api_dump(st);
  sql_after = sql_dump();
  assert_same_dump(before, after);
  assert_same_dump(sql_before, sql_after);
  free(after);
  free(sql_after);

  /* a failed single write outside a transaction changes nothing either */
  assert_int_equal(st_insert_instance(st, &dup), ST_CONFLICT);
  assert_int_equal(st_close_item(st, 424242, "decided"), ST_NOTFOUND);
  after = api_dump(st);
  assert_same_dump(before, after);
  free(after);

  /* commit keeps it, also after a reopen */
  assert_int_equal(st_begin(st), ST_OK);
  add_instance(st, "tx");
  assert_int_equal(st_begin(st), ST_ERR);   /* no nesting */
  assert_int_equal(st_commit(st), ST_OK);
  assert_int_equal(st_commit(st), ST_ERR);   /* nothing open */
  assert_int_equal(st_rollback(st), ST_OK);  /* harmless */
  st_close(st);
  st = open_store();
  StInstance got;
  assert_int_equal(st_get_instance(st, "tx", &got), ST_OK);
  st_instance_free(&got);
  /* closing with a transaction open rolls it back */
  assert_int_equal(st_begin(st), ST_OK);
  add_instance(st, "lost");
  st_close(st);
  st = open_store();
  assert_int_equal(st_get_instance(st, "lost", &got), ST_NOTFOUND);
  st_close(st);
  free(before);
  free(sql_before);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* A child process opens its own connection, takes st_begin, adds an item,
 * says so on `ready`, holds the lock for hold_ms, commits. */
static pid_t hold_lock(int hold_ms) {
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(ready[0]);
    Store *st = NULL;
    char e[512];
    int ok = st_open(path, &st, e, sizeof e) == ST_OK && st_begin(st) == ST_OK;
    if (ok) {
      StItem it = item("i1", "child", 1);
      ok = st_insert_item(st, &it) == ST_OK;
    }
    if (write(ready[1], "x", 1) != 1) _exit(3);
    struct timespec ts = {hold_ms / 1000, (long)(hold_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    ok = ok && st_commit(st) == ST_OK;
    st_close(st);
    _exit(ok ? 0 : 1);
  }
  close(ready[1]);
  char c;
  assert_int_equal(read(ready[0], &c, 1), 1);
  close(ready[0]);
  return pid;
}

static void wait_ok(pid_t pid) {
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_two_connections(void **state) {
  (void)state;
  Store *st = fresh_store();
  put_program(st);
  add_instance(st, "i1");
  Store *other = open_store();   /* a second connection in this process */
  assert_int_equal(st_begin(other), ST_OK);
  add_item(other, "i1", "other");
  /* readers see the last commit, not the open transaction */
  StItem *v;
  size_t n;
  assert_int_equal(st_list_items(st, NULL, NULL, &v, &n), ST_OK);
  assert_int_equal(n, 0);
  assert_int_equal(st_commit(other), ST_OK);
  assert_int_equal(st_list_items(st, NULL, NULL, &v, &n), ST_OK);
  assert_int_equal(n, 1);
  st_items_free(v, n);
  st_close(other);

  /* another process holds st_begin: ours waits, then succeeds and sees its item */
  pid_t pid = hold_lock(300);
  double t0 = now_ms();
  assert_int_equal(st_begin(st), ST_OK);
  double waited = now_ms() - t0;
  assert_true(waited >= 200);
  assert_int_equal(st_list_items(st, NULL, "child", &v, &n), ST_OK);
  assert_int_equal(n, 1);
  st_items_free(v, n);
  assert_int_equal(st_commit(st), ST_OK);
  wait_ok(pid);
  st_close(st);

  /* with a short busy timeout: ST_BUSY, and nothing written */
  setenv("HITL_STORE_BUSY_TIMEOUT", "100", 1);
  st = open_store();
  unsetenv("HITL_STORE_BUSY_TIMEOUT");
  pid = hold_lock(1500);
  t0 = now_ms();
  assert_int_equal(st_begin(st), ST_BUSY);
  assert_true(now_ms() - t0 < 1200);
  assert_non_null(strstr(st_errmsg(st), "locked"));
  StItem it = item("i1", "busy", 1);
  assert_int_equal(st_insert_item(st, &it), ST_BUSY);
  assert_int_equal(st_close_item(st, 1, "decided"), ST_BUSY);
  wait_ok(pid);
  assert_int_equal(st_list_items(st, NULL, "busy", &v, &n), ST_OK);
  assert_int_equal(n, 0);
  assert_int_equal(st_count_open_items(st), 3);
  st_close(st);
}

/* Two processes close the same 100 items (half alone, half inside
 * st_begin..st_commit): exactly one wins each. */
enum { RACE_ITEMS = 100 };

static void test_close_race(void **state) {
  (void)state;
  Store *st = fresh_store();
  put_program(st);
  add_instance(st, "i1");
  int64_t ids[RACE_ITEMS];
  assert_int_equal(st_begin(st), ST_OK);
  for (int i = 0; i < RACE_ITEMS; i++) ids[i] = add_item(st, "i1", NULL);
  assert_int_equal(st_commit(st), ST_OK);

  int go[2], res[2][2];
  assert_int_equal(pipe(go), 0);
  pid_t pids[2];
  for (int k = 0; k < 2; k++) {
    assert_int_equal(pipe(res[k]), 0);
    pids[k] = fork();
    assert_true(pids[k] >= 0);
    if (pids[k] == 0) {
      close(go[1]);
      Store *mine = NULL;
      char e[512];
      unsigned char out[RACE_ITEMS];
      memset(out, 0xff, sizeof out);
      if (st_open(path, &mine, e, sizeof e) != ST_OK) _exit(2);
      char c;
      if (read(go[0], &c, 1) != 1) _exit(3);
      for (int i = 0; i < RACE_ITEMS; i++) {
        int rc;
        if (i % 2) {
          rc = st_begin(mine);
          if (rc == ST_OK) {
            rc = st_close_item(mine, ids[i], "decided");
            if (rc == ST_OK) rc = st_commit(mine);
            else st_rollback(mine);
          }
        } else {
          rc = st_close_item(mine, ids[i], "decided");
        }
        out[i] = (unsigned char)rc;
      }
      st_close(mine);
      if (write(res[k][1], out, sizeof out) != (ssize_t)sizeof out) _exit(4);
      _exit(0);
    }
    close(res[k][1]);
  }
  close(go[0]);
  assert_int_equal(write(go[1], "xx", 2), 2);
  close(go[1]);
  unsigned char out[2][RACE_ITEMS];
  for (int k = 0; k < 2; k++) {
    size_t got = 0;
    while (got < RACE_ITEMS) {
      ssize_t r = read(res[k][0], out[k] + got, RACE_ITEMS - got);
      assert_true(r > 0);
      got += (size_t)r;
    }
    close(res[k][0]);
    wait_ok(pids[k]);
  }
  for (int i = 0; i < RACE_ITEMS; i++) {
    int wins = (out[0][i] == ST_OK) + (out[1][i] == ST_OK);
    int lost = (out[0][i] == ST_CONFLICT) + (out[1][i] == ST_CONFLICT);
    if (wins != 1 || lost != 1) fail_msg("item %d: results %d and %d", i, out[0][i], out[1][i]);
  }
  assert_int_equal(st_count_open_items(st), 0);
  st_close(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_transactions),
    cmocka_unit_test(test_two_connections),
    cmocka_unit_test(test_close_race),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
