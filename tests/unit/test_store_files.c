/* tests/unit/test_store_files.c — the store's file (vm/store_sqlite.c,
 * vm/store_schema.c): reopening, the schema version and the migrations from
 * older ones, and hostile files (not a database, corrupt, unreadable). */
#include "test_store.h"

/* the SQL that takes a store of this version back to version 4, and to
 * version 2 (to test the migrations from older ones) */
#define BACK_TO_V4 "DROP INDEX items_open; DROP INDEX items_open_by; DROP INDEX instances_running; " \
                   "CREATE INDEX items_status ON items(status, id); " \
                   "CREATE INDEX items_by ON items([by], status, id); " \
                   "CREATE INDEX verdicts_item ON verdicts(item, id); " \
                   "CREATE INDEX instances_status ON instances(status, created, id); "
#define BACK_TO_V2 BACK_TO_V4 \
                   "DROP TABLE heads; DROP TABLE decisions; ALTER TABLE events DROP COLUMN hash; " \
                   "DROP TABLE memberships; DROP TABLE reviewers; DROP TABLE groups; " \
                   "DROP INDEX verdicts_vote; ALTER TABLE verdicts DROP COLUMN signature; "

/* ---- reopening, versions, hostile files ----------------------------------------- */

static void test_reopen(void **state) {
  (void)state;
  Store *st = populated();
  assert_int_equal(st_schema_version(st), SCHEMA_V);
  char *before = api_dump(st);
  st_close(st);
  st = open_store();
  assert_int_equal(st_schema_version(st), SCHEMA_V);
  char *after = api_dump(st);
  assert_same_dump(before, after);
  free(before);
  free(after);
  st_close(st);
}

static void expect_open_error(const char *want) {
  Store *st = (Store *)&st;
  err[0] = '\0';
  int rc = st_open(path, &st, err, sizeof err);
  if (rc == ST_OK) {
    st_close(st);
    fail_msg("opened; wanted an error with '%s'", want);
  }
  assert_int_equal(rc, ST_ERR);
  assert_null(st);
  if (!strstr(err, want)) fail_msg("message '%s' lacks '%s'", err, want);
}

static void test_versions(void **state) {
  (void)state;
  if (!have_sqlite3_cli()) skip();
  Store *st = populated();
  st_close(st);
  assert_int_equal(sql("UPDATE meta SET value = 99 WHERE key = 'schema_version'"), 0);
  expect_open_error("newer than this hitl supports");
  assert_int_equal(sql("UPDATE meta SET value = 'x' WHERE key = 'schema_version'"), 0);
  expect_open_error("schema_version");

  /* an older store (version 0: the meta table alone) is migrated */
  remove_db(path);
  assert_int_equal(sql("CREATE TABLE meta (key TEXT PRIMARY KEY, value); "
                       "INSERT INTO meta VALUES ('schema_version', 0)"), 0);
  st = open_store();
  assert_int_equal(st_schema_version(st), SCHEMA_V);
  put_program(st);
  add_instance(st, "i1");
  st_close(st);

  /* a migration that fails (a table in the way) is rolled back whole */
  remove_db(path);
  assert_int_equal(sql("CREATE TABLE meta (key TEXT PRIMARY KEY, value); "
                       "INSERT INTO meta VALUES ('schema_version', 0); "
                       "CREATE TABLE calls (x)"), 0);
  expect_open_error("already exists");
  assert_int_equal(sql("DROP TABLE calls"), 0);
  st = open_store();
  assert_int_equal(st_schema_version(st), SCHEMA_V);
  st_close(st);

  /* a version 1 store (before the thresholds) is migrated, its rows kept */
  remove_db(path);
  st = open_store();
  put_program(st);
  add_instance(st, "i1");
  st_close(st);
  assert_int_equal(sql(BACK_TO_V2 "DROP TABLE thresholds; UPDATE meta SET value = 1 WHERE key = 'schema_version'"), 0);
  st = open_store();
  assert_int_equal(st_schema_version(st), SCHEMA_V);
  StInstance got;
  assert_int_equal(st_get_instance(st, "i1", &got), ST_OK);
  st_instance_free(&got);
  StThreshold t = {(char *)"refund", (char *)"issue_refund", 0.9, 0.99, 120, 500};
  assert_int_equal(st_put_threshold(st, &t), ST_OK);
  st_close(st);

  /* a version 3 store with events and verdicts: v4 chains them */
  remove_db(path);
  st = populated();
  st_close(st);
  assert_int_equal(sql(BACK_TO_V4 "DROP TABLE heads; DROP TABLE decisions; ALTER TABLE events DROP COLUMN hash; "
                       "UPDATE meta SET value = 3 WHERE key = 'schema_version'"), 0);
  st = open_store();
  StAudit a;
  assert_int_equal(st_audit(st, NULL, &a), ST_OK);
  assert_true(a.ok);
  assert_true(a.events > 0 && a.decisions > 0);
  st_close(st);
  assert_int_equal(sql("UPDATE events SET kind = 'x' WHERE seq = 1"), 0);
  st = open_store();
  assert_int_equal(st_audit(st, NULL, &a), ST_OK);
  assert_false(a.ok);
  assert_int_equal(a.seq, 1);
  st_close(st);

  /* a version 4 store: v5 swaps the status indexes for partial ones, its rows kept */
  remove_db(path);
  st = populated();
  add_item(st, "0123456789abcdef", NULL);
  char *before = api_dump(st);
  st_close(st);
  assert_int_equal(sql(BACK_TO_V4 "UPDATE meta SET value = 4 WHERE key = 'schema_version'"), 0);
  st = open_store();
  assert_int_equal(st_schema_version(st), SCHEMA_V);
  char *after = api_dump(st);
  assert_same_dump(before, after);
  free(before);
  free(after);
  StItem *its;
  size_t nit;
  assert_int_equal(st_list_open_items_of(st, "0123456789abcdef", &its, &nit), ST_OK);
  assert_int_equal(nit, 2);
  st_items_free(its, nit);
  assert_int_equal(st_list_items(st, "open", "finance", &its, &nit), ST_OK);
  assert_int_equal(nit, 1);
  st_items_free(its, nit);
  st_close(st);
  /* the same indexes as a new store's */
  char cmd[700];
  snprintf(cmd, sizeof cmd, "sqlite3 '%s' \"SELECT group_concat(name, ' ') FROM "
           "(SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name)\"", path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char names[512] = "";
  assert_non_null(fgets(names, sizeof names, p));
  assert_int_equal(pclose(p), 0);
  assert_string_equal(names, "instances_running items_open items_open_by memberships_grp verdicts_vote\n");

  /* somebody else's database */
  remove_db(path);
  assert_int_equal(sql("CREATE TABLE accounts (id INTEGER)"), 0);
  expect_open_error("not a hitl store");
}

static void write_file(const char *p, const void *data, size_t n) {
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  fclose(f);
}

/* Every read (and one write) on a store that may be corrupt: any status but
 * a crash.  Returns a note of the statuses. */
static char *api_dump_tolerant(Store *st) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  uint8_t *bytes;
  size_t n;
  fprintf(f, "program %d\n", st_get_program(st, hash_a, &bytes, &n));
  mem_free(bytes, n);
  StInstance *ins;
  size_t nin;
  fprintf(f, "instances %d\n", st_list_instances(st, NULL, &ins, &nin));
  for (size_t i = 0; i < nin; i++) {
    fprintf(f, "snapshot %d\n", st_load_snapshot(st, ins[i].id, &bytes, &n));
    mem_free(bytes, n);
    StEvent *ev;
    size_t nev;
    fprintf(f, "events %d\n", st_list_events(st, ins[i].id, &ev, &nev));
    st_events_free(ev, nev);
    StCall c;
    fprintf(f, "call %d\n", st_get_call(st, ins[i].id, 0, &c));
    st_call_free(&c);
  }
  st_instances_free(ins, nin);
  StItem *its;
  size_t nit;
  fprintf(f, "items %d\n", st_list_items(st, "open", NULL, &its, &nit));
  for (size_t i = 0; i < nit; i++) {
    StVerdict *vs;
    size_t nv;
    fprintf(f, "verdicts %d\n", st_list_verdicts(st, its[i].id, &vs, &nv));
    st_verdicts_free(vs, nv);
  }
  st_items_free(its, nit);
  fprintf(f, "open %lld\n", (long long)st_count_open_items(st));
  StItem it = item("0123456789abcdef", NULL, 1);
  fprintf(f, "insert %d\n", st_insert_item(st, &it));
  fprintf(f, "close %d\n", st_close_item(st, 1, "decided"));
  fclose(f);
  return buf;
}

static void test_hostile_files(void **state) {
  (void)state;
  remove_db(path);
  write_file(path, "this is not a database, just some text that goes on for a while\n", 64);
  expect_open_error("not a database");
  uint8_t *junk = pattern(8192);
  write_file(path, junk, 8192);
  expect_open_error("not a database");
  /* an SQLite header followed by garbage */
  memcpy(junk, "SQLite format 3", 16);
  write_file(path, junk, 8192);
  Store *st = NULL;
  int rc = st_open(path, &st, err, sizeof err);
  assert_int_equal(rc, ST_ERR);
  assert_true(err[0] != '\0');

  /* a real store with pages overwritten: errors, never a crash */
  for (long off = 1024; off < 3 * 4096 + 1024; off += 1024) {
    st = populated();
    st_close(st);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, off, SEEK_SET);
    fwrite(junk + 100, 1, 2048, f);
    fclose(f);
    st = NULL;
    rc = st_open(path, &st, err, sizeof err);
    if (rc != ST_OK) {
      assert_int_equal(rc, ST_ERR);
      assert_true(err[0] != '\0');
      continue;
    }
    char *d = api_dump_tolerant(st);
    free(d);
    st_close(st);
  }
  free(junk);

  /* a missing directory; a bad HITL_STORE_SYNC */
  char saved[512];
  snprintf(saved, sizeof saved, "%s", path);
  snprintf(path, sizeof path, "%s/no/such/dir/store.db", dir);
  expect_open_error("unable to open");
  snprintf(path, sizeof path, "%s", saved);
  remove_db(path);
  setenv("HITL_STORE_SYNC", "sometimes", 1);
  expect_open_error("HITL_STORE_SYNC");
  setenv("HITL_STORE_SYNC", "normal", 1);
  st = open_store();
  st_close(st);
  unsetenv("HITL_STORE_SYNC");
  /* an empty file is an empty database */
  remove_db(path);
  write_file(path, "", 0);
  st = open_store();
  assert_int_equal(st_schema_version(st), SCHEMA_V);
  st_close(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_reopen),
    cmocka_unit_test(test_versions),
    cmocka_unit_test(test_hostile_files),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
