/* tests/unit/test_store.c — the store (vm/store.h on vm/store_sqlite.c):
 * every record type there and back (NULL fields, blobs with NUL bytes, a
 * megabyte), item ids and their close-once race, event sequence numbers,
 * list filters and order, transactions that leave nothing behind, two
 * connections and two processes at once, reopening, the schema version,
 * hostile files, and every allocation failing in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm/mem.h"
#include "vm/store.h"

static char dir[256];
static char path[512];
static char err[512];

/* ---- fixtures ------------------------------------------------------------------- */

static void remove_db(const char *p) {
  char aux[600];
  unlink(p);
  snprintf(aux, sizeof aux, "%s-wal", p);
  unlink(aux);
  snprintf(aux, sizeof aux, "%s-shm", p);
  unlink(aux);
}

static int setup(void **state) {
  (void)state;
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/hitl-test-store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) return -1;
  snprintf(path, sizeof path, "%s/store.db", dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static Store *open_store(void) {
  Store *st = NULL;
  err[0] = '\0';
  int rc = st_open(path, &st, err, sizeof err);
  if (rc != ST_OK) fail_msg("st_open: %d %s", rc, err);
  assert_non_null(st);
  return st;
}

static Store *fresh_store(void) {
  remove_db(path);
  return open_store();
}

static uint8_t hash_a[32], hash_b[32];

static void init_hashes(void) {
  for (int i = 0; i < 32; i++) {
    hash_a[i] = (uint8_t)(i * 7 + 1);
    hash_b[i] = (uint8_t)(255 - i);
  }
  hash_a[5] = 0;   /* a NUL inside the key */
}

static void put_program(Store *st) {
  static const uint8_t code[] = {'H', 'B', 'C', 0, 1, 0, 2};
  init_hashes();
  assert_int_equal(st_put_program(st, hash_a, "refund", code, sizeof code), ST_OK);
}

static StInstance instance(const char *id, const char *status, int64_t created) {
  StInstance in = {0};
  in.id = (char *)id;
  memcpy(in.program, hash_a, 32);
  in.playbook = (char *)"refund";
  in.status = (char *)status;
  in.starter = (char *)"alice";
  in.input = (char *)"{\"amount\":12.5}";
  in.params = (char *)"{}";
  in.segment = 0;
  in.created = created;
  in.updated = created;
  return in;
}

static void add_instance(Store *st, const char *id) {
  StInstance in = instance(id, "running", 1000);
  assert_int_equal(st_insert_instance(st, &in), ST_OK);
}

static StItem item(const char *instance, const char *by, int64_t created) {
  StItem it = {0};
  it.instance = (char *)instance;
  it.kind = (char *)"approval";
  it.title = (char *)"Refund 12.5?";
  it.payload = (char *)"{\"title\":\"Refund 12.5?\"}";
  it.by = (char *)by;
  it.quorum = 1;
  it.editable = (char *)"[]";
  it.status = (char *)"open";
  it.created = created;
  it.deadline = -1;
  it.timeout_verdict = -1;
  return it;
}

static int64_t add_item(Store *st, const char *instance, const char *by) {
  StItem it = item(instance, by, 2000);
  assert_int_equal(st_insert_item(st, &it), ST_OK);
  return it.id;
}

/* A store with a program, instance "i1" with a snapshot, an item with a
 * verdict, two events and a call. */
static Store *populated(void) {
  Store *st = fresh_store();
  put_program(st);
  add_instance(st, "0123456789abcdef");
  static const uint8_t snap[] = {1, 0, 2, 0, 3};
  assert_int_equal(st_save_snapshot(st, "0123456789abcdef", snap, sizeof snap), ST_OK);
  int64_t id = add_item(st, "0123456789abcdef", "finance");
  StVerdict v = {0, id, (char *)"0123456789abcdef", (char *)"approve", (char *)"bob", NULL, NULL, 3000};
  assert_int_equal(st_insert_verdict(st, &v), ST_OK);
  assert_int_equal(st_append_event(st, "0123456789abcdef", 1, "started", "{}"), ST_OK);
  assert_int_equal(st_append_event(st, "0123456789abcdef", 2, "checkpoint", "{\"item\":1}"), ST_OK);
  StCall c = {(char *)"0123456789abcdef", 0, (char *)"issue_refund", (char *)"{}", (char *)"done",
              (char *)"true", 5};
  assert_int_equal(st_put_call(st, &c), ST_OK);
  return st;
}

/* ---- dumps: the whole store as text, to compare before and after ---------------- */

static void dump_str(FILE *f, const char *name, const char *s) {
  fprintf(f, " %s=%s", name, s ? s : "<NULL>");
}

static void dump_blob(FILE *f, const uint8_t *b, size_t n) {
  fprintf(f, " [%zu]", n);
  for (size_t i = 0; i < n; i++) fprintf(f, "%02x", b[i]);
}

/* Everything reachable through the interface (calls by index 0..15). */
static char *api_dump(Store *st) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  uint8_t *bytes;
  size_t n;
  const uint8_t *hashes[] = {hash_a, hash_b};
  for (int h = 0; h < 2; h++) {
    int rc = st_get_program(st, hashes[h], &bytes, &n);
    fprintf(f, "program %d rc=%d", h, rc);
    if (rc == ST_OK) dump_blob(f, bytes, n);
    fputc('\n', f);
    mem_free(bytes, n);
  }
  StInstance *ins;
  size_t nin;
  assert_int_equal(st_list_instances(st, NULL, &ins, &nin), ST_OK);
  for (size_t i = 0; i < nin; i++) {
    StInstance *in = &ins[i];
    fprintf(f, "instance");
    dump_str(f, "id", in->id);
    dump_blob(f, in->program, 32);
    dump_str(f, "playbook", in->playbook);
    dump_str(f, "status", in->status);
    dump_str(f, "starter", in->starter);
    dump_str(f, "input", in->input);
    dump_str(f, "params", in->params);
    dump_str(f, "mocks", in->mocks);
    dump_str(f, "mock_state", in->mock_state);
    dump_str(f, "result", in->result);
    dump_str(f, "error", in->error);
    dump_str(f, "owner", in->owner);
    fprintf(f, " %lld %lld %lld\n", (long long)in->segment, (long long)in->created,
            (long long)in->updated);
    int rc = st_load_snapshot(st, in->id, &bytes, &n);
    fprintf(f, " snapshot rc=%d", rc);
    if (rc == ST_OK) dump_blob(f, bytes, n);
    fputc('\n', f);
    mem_free(bytes, n);
    StEvent *ev;
    size_t nev;
    assert_int_equal(st_list_events(st, in->id, &ev, &nev), ST_OK);
    for (size_t e = 0; e < nev; e++)
      fprintf(f, " event %lld %lld %s %s\n", (long long)ev[e].seq, (long long)ev[e].at, ev[e].kind,
              ev[e].fields);
    st_events_free(ev, nev);
    for (int64_t k = 0; k < 16; k++) {
      StCall c;
      if (st_get_call(st, in->id, k, &c) != ST_OK) continue;
      fprintf(f, " call %lld %s %s %s", (long long)c.idx, c.action, c.args, c.state);
      dump_str(f, "result", c.result);
      fprintf(f, " %lld\n", (long long)c.at);
      st_call_free(&c);
    }
  }
  st_instances_free(ins, nin);
  StItem *its;
  size_t nit;
  assert_int_equal(st_list_items(st, NULL, NULL, &its, &nit), ST_OK);
  for (size_t i = 0; i < nit; i++) {
    StItem *it = &its[i];
    fprintf(f, "item %lld", (long long)it->id);
    dump_str(f, "instance", it->instance);
    dump_str(f, "kind", it->kind);
    dump_str(f, "title", it->title);
    dump_str(f, "payload", it->payload);
    dump_str(f, "digest", it->digest);
    dump_str(f, "by", it->by);
    dump_str(f, "editable", it->editable);
    dump_str(f, "status", it->status);
    dump_str(f, "timeout_reason", it->timeout_reason);
    fprintf(f, " %lld %lld %lld %d\n", (long long)it->quorum, (long long)it->created,
            (long long)it->deadline, it->timeout_verdict);
    StVerdict *vs;
    size_t nv;
    assert_int_equal(st_list_verdicts(st, it->id, &vs, &nv), ST_OK);
    for (size_t k = 0; k < nv; k++) {
      fprintf(f, " verdict %lld %lld %s %s %s", (long long)vs[k].id, (long long)vs[k].item,
              vs[k].instance, vs[k].verdict, vs[k].reviewer);
      dump_str(f, "reason", vs[k].reason);
      dump_str(f, "edits", vs[k].edits);
      fprintf(f, " %lld\n", (long long)vs[k].at);
    }
    st_verdicts_free(vs, nv);
  }
  st_items_free(its, nit);
  fprintf(f, "open %lld\n", (long long)st_count_open_items(st));
  fclose(f);
  return buf;
}

static bool have_sqlite3_cli(void) {
  return system("command -v sqlite3 >/dev/null 2>&1") == 0;
}

/* Every table, through the sqlite3 command-line shell (another connection);
 * NULL when the shell is not installed. */
static char *sql_dump(void) {
  if (!have_sqlite3_cli()) return NULL;
  char cmd[700];
  snprintf(cmd, sizeof cmd, "sqlite3 '%s' .dump", path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  char chunk[4096];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, p)) > 0) fwrite(chunk, 1, got, f);
  fclose(f);
  assert_int_equal(pclose(p), 0);
  return buf;
}

static int sql(const char *script) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "sqlite3 '%s' \"%s\" >/dev/null 2>&1", path, script);
  return system(cmd);
}

static void assert_same_dump(const char *a, const char *b) {
  if ((a == NULL) != (b == NULL)) fail_msg("one dump missing");
  if (a && strcmp(a, b) != 0) fail_msg("store changed:\n--- before\n%s\n--- after\n%s", a, b);
}

/* ---- round trips ---------------------------------------------------------------- */

static uint8_t *pattern(size_t n) {
  uint8_t *b = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(i * 31 + (i >> 8));
  return b;
}

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
  StVerdict v1 = {0, a, (char *)"i1", (char *)"approve", (char *)"bob", NULL, NULL, 10};
  StVerdict v2 = {0, b, (char *)"i1", (char *)"modify", (char *)"carol", (char *)"too much",
                  (char *)"{\"amount\":5}", 11};
  StVerdict v3 = {0, a, (char *)"i1", (char *)"approve", (char *)"dave", (char *)"ok", NULL, 12};
  assert_int_equal(st_insert_verdict(st, &v1), ST_OK);
  assert_int_equal(st_insert_verdict(st, &v2), ST_OK);
  assert_int_equal(st_insert_verdict(st, &v3), ST_OK);
  assert_true(v1.id < v2.id && v2.id < v3.id);
  StVerdict bad = {0, 424242, (char *)"i1", (char *)"approve", (char *)"x", NULL, NULL, 1};
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
  st_close(st);
}

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
  assert_int_equal(st_append_event(st, "nobody", 1, "log", "{}"), ST_NOTFOUND);
  assert_int_equal(st_append_event(st, "i1", 1, "log", NULL), ST_ERR);
  StEvent *v;
  size_t n;
  assert_int_equal(st_list_events(st, "i1", &v, &n), ST_OK);
  assert_int_equal(n, 5);
  for (size_t i = 0; i < n; i++) {
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
  st_close(st);
}

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
  StVerdict v1 = {0, b.id, (char *)"i1", (char *)"approve", (char *)"bob", NULL, NULL, 20};
  StVerdict v2 = {0, b.id, (char *)"i1", (char *)"modify", (char *)"carol", NULL, (char *)"{\"amount\":5}", 21};
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

/* ---- reopening, versions, hostile files ----------------------------------------- */

static void test_reopen(void **state) {
  (void)state;
  Store *st = populated();
  assert_int_equal(st_schema_version(st), 2);
  char *before = api_dump(st);
  st_close(st);
  st = open_store();
  assert_int_equal(st_schema_version(st), 2);
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
  assert_int_equal(st_schema_version(st), 2);
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
  assert_int_equal(st_schema_version(st), 2);
  st_close(st);

  /* a version 1 store (before the thresholds) is migrated, its rows kept */
  remove_db(path);
  st = open_store();
  put_program(st);
  add_instance(st, "i1");
  st_close(st);
  assert_int_equal(sql("DROP TABLE thresholds; UPDATE meta SET value = 1 WHERE key = 'schema_version'"), 0);
  st = open_store();
  assert_int_equal(st_schema_version(st), 2);
  StInstance got;
  assert_int_equal(st_get_instance(st, "i1", &got), ST_OK);
  st_instance_free(&got);
  StThreshold t = {(char *)"refund", (char *)"issue_refund", 0.9, 0.99, 120, 500};
  assert_int_equal(st_put_threshold(st, &t), ST_OK);
  st_close(st);

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
  assert_int_equal(st_schema_version(st), 2);
  st_close(st);
}

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
      assert_int_equal(st_schema_version(st), 2);
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
    cmocka_unit_test(test_programs),
    cmocka_unit_test(test_instances),
    cmocka_unit_test(test_snapshots),
    cmocka_unit_test(test_items),
    cmocka_unit_test(test_verdicts),
    cmocka_unit_test(test_events),
    cmocka_unit_test(test_calls),
    cmocka_unit_test(test_transactions),
    cmocka_unit_test(test_two_connections),
    cmocka_unit_test(test_close_race),
    cmocka_unit_test(test_thresholds),
    cmocka_unit_test(test_decisions),
    cmocka_unit_test(test_reopen),
    cmocka_unit_test(test_versions),
    cmocka_unit_test(test_hostile_files),
    cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
