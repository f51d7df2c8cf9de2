/* tests/unit/test_store.h — what the store's unit tests (tests/unit/
 * test_store_*.c, one binary each) share: a fresh store file in a temporary
 * folder per binary (setup/teardown), records to insert, a populated store,
 * and dumps of the whole store as text (through the interface, and through
 * the sqlite3 shell) to compare before and after. */
#ifndef HITL_TEST_STORE_H
#define HITL_TEST_STORE_H

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

/* the schema version this build writes */
#define SCHEMA_V 5

static char dir[256];
static char path[512];
static char err[512];

/* ---- fixtures ------------------------------------------------------------------- */

static inline void remove_db(const char *p) {
  char aux[600];
  unlink(p);
  snprintf(aux, sizeof aux, "%s-wal", p);
  unlink(aux);
  snprintf(aux, sizeof aux, "%s-shm", p);
  unlink(aux);
}

static inline int setup(void **state) {
  (void)state;
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/hitl-test-store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) return -1;
  snprintf(path, sizeof path, "%s/store.db", dir);
  return 0;
}

static inline int teardown(void **state) {
  (void)state;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static inline Store *open_store(void) {
  Store *st = NULL;
  err[0] = '\0';
  int rc = st_open(path, &st, err, sizeof err);
  if (rc != ST_OK) fail_msg("st_open: %d %s", rc, err);
  assert_non_null(st);
  return st;
}

static inline Store *fresh_store(void) {
  remove_db(path);
  return open_store();
}

static uint8_t hash_a[32], hash_b[32];

static inline void init_hashes(void) {
  for (int i = 0; i < 32; i++) {
    hash_a[i] = (uint8_t)(i * 7 + 1);
    hash_b[i] = (uint8_t)(255 - i);
  }
  hash_a[5] = 0;   /* a NUL inside the key */
}

static inline void put_program(Store *st) {
  static const uint8_t code[] = {'H', 'B', 'C', 0, 1, 0, 2};
  init_hashes();
  assert_int_equal(st_put_program(st, hash_a, "refund", code, sizeof code), ST_OK);
}

static inline StInstance instance(const char *id, const char *status, int64_t created) {
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

static inline void add_instance(Store *st, const char *id) {
  StInstance in = instance(id, "running", 1000);
  assert_int_equal(st_insert_instance(st, &in), ST_OK);
}

static inline StItem item(const char *instance, const char *by, int64_t created) {
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

static inline int64_t add_item(Store *st, const char *instance, const char *by) {
  StItem it = item(instance, by, 2000);
  assert_int_equal(st_insert_item(st, &it), ST_OK);
  return it.id;
}

/* A store with a program, instance "i1" with a snapshot, an item with a
 * verdict, two events and a call. */
static inline Store *populated(void) {
  Store *st = fresh_store();
  put_program(st);
  add_instance(st, "0123456789abcdef");
  static const uint8_t snap[] = {1, 0, 2, 0, 3};
  assert_int_equal(st_save_snapshot(st, "0123456789abcdef", snap, sizeof snap), ST_OK);
  int64_t id = add_item(st, "0123456789abcdef", "finance");
  StVerdict v = {0, id, (char *)"0123456789abcdef", (char *)"approve", (char *)"bob", NULL, NULL, 3000, NULL};
  assert_int_equal(st_insert_verdict(st, &v), ST_OK);
  assert_int_equal(st_append_event(st, "0123456789abcdef", 1, "started", "{}"), ST_OK);
  assert_int_equal(st_append_event(st, "0123456789abcdef", 2, "checkpoint", "{\"item\":1}"), ST_OK);
  StCall c = {(char *)"0123456789abcdef", 0, (char *)"issue_refund", (char *)"{}", (char *)"done",
              (char *)"true", 5};
  assert_int_equal(st_put_call(st, &c), ST_OK);
  return st;
}

/* ---- dumps: the whole store as text, to compare before and after ---------------- */

static inline void dump_str(FILE *f, const char *name, const char *s) {
  fprintf(f, " %s=%s", name, s ? s : "<NULL>");
}

static inline void dump_blob(FILE *f, const uint8_t *b, size_t n) {
  fprintf(f, " [%zu]", n);
  for (size_t i = 0; i < n; i++) fprintf(f, "%02x", b[i]);
}

/* Everything reachable through the interface (calls by index 0..15). */
static inline char *api_dump(Store *st) {
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

static inline bool have_sqlite3_cli(void) {
  return system("command -v sqlite3 >/dev/null 2>&1") == 0;
}

/* Every table, through the sqlite3 command-line shell (another connection);
 * NULL when the shell is not installed. */
static inline char *sql_dump(void) {
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

static inline int sql(const char *script) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "sqlite3 '%s' \"%s\" >/dev/null 2>&1", path, script);
  return system(cmd);
}

static inline void assert_same_dump(const char *a, const char *b) {
  if ((a == NULL) != (b == NULL)) fail_msg("one dump missing");
  if (a && strcmp(a, b) != 0) fail_msg("store changed:\n--- before\n%s\n--- after\n%s", a, b);
}

static inline uint8_t *pattern(size_t n) {
  uint8_t *b = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(i * 31 + (i >> 8));
  return b;
}

#endif
