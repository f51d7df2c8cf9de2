/* bench/store_cycles.c — durable suspend + resume cycles per second
 * (TOOLS.md §7), in one process, through the library calls `hitlvm run` and
 * `hitlvm resume` make (vm/rt_run.c, vm/rt_desk.c): no process
 * start, no option parsing, no printing — the VM and the store only.
 *
 *   bash bench/run.sh bin     (section store builds and runs it)
 *   store_cycles PLAYBOOK.hitl DB N
 *     prints "CYCLES SECONDS COMMITS SNAPSHOT_BYTES WAL_PAGES" (the last: the
 *     pages all the cycles' commits wrote to the WAL)
 *
 * PLAYBOOK must loop around a checkpoint (input {n: int}).  One instance is
 * started (as `run` does: program, instance and `started` in one transaction,
 * then the run to its first stop stored in one transaction); then each cycle
 * does what one `hitlvm resume ITEM approve` does after parsing its options:
 *
 *   read the item and its instance; load the program and bc_read it; load
 *   the snapshot and vm_restore it; vm_resume with the verdict;
 *   claim: BEGIN; close the item; insert the verdict; the verdict event;
 *          the instance running, segment + 1; COMMIT
 *   vm_run to the next checkpoint;
 *   stop:  BEGIN; insert the item; its digest; the snapshot; the resumed
 *          and checkpoint events; the instance suspended; COMMIT
 *
 * Commits are counted with SQLite's commit hook, installed on the store's
 * connection by wrapping sqlite3_open_v2 (link with
 * -Wl,--wrap=sqlite3_open_v2): every transaction that writes, explicit or
 * autocommit, is one.  A WAL hook counts the pages the commits write. */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compiler/compile.h"
#include "vm/bytecode.h"
#include "vm/mem.h"
#include "vm/sha256.h"
#include "vm/store.h"
#include "vm/vm.h"

/* ---- counting commits ------------------------------------------------------ */

static long commits, frames;
static int on_commit(void *user) {
  (void)user;
  commits++;
  return 0;                          /* 0: let it commit */
}
/* The WAL hook sees the WAL's size in pages after each commit: the pages
 * a commit wrote (what its fsync has to flush).  Installing it replaces
 * SQLite's auto-checkpoint hook, so it checkpoints as that one does, at
 * 1000 pages. */
static int wal_pages;
static int on_wal(void *user, sqlite3 *db, const char *name, int pages) {
  (void)user;
  frames += pages > wal_pages ? pages - wal_pages : pages;
  wal_pages = pages;
  if (pages >= 1000) {
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  }
  return SQLITE_OK;
}
int __real_sqlite3_open_v2(const char *, sqlite3 **, int, const char *);
int __wrap_sqlite3_open_v2(const char *path, sqlite3 **db, int flags, const char *vfs) {
  int rc = __real_sqlite3_open_v2(path, db, flags, vfs);
  if (rc == SQLITE_OK) {
    sqlite3_commit_hook(*db, on_commit, NULL);
    sqlite3_wal_hook(*db, on_wal, NULL);
  }
  return rc;
}

/* ---- helpers ---------------------------------------------------------------- */

static void die(const char *what, const char *why) {
  fprintf(stderr, "store_cycles: %s: %s\n", what, why ? why : "failed");
  exit(1);
}
static Store *st;
static void ok(int rc, const char *what) {
  if (rc != ST_OK) die(what, st_errmsg(st));
}
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *ID = "00000000c0ffee00";
static uint8_t hash[32];
static size_t snap_bytes;

/* Events as the VM reports them, kept until the stop is stored. */
typedef struct Ev { char kind[32]; char *fields; } Ev;
static Ev ev[64];
static size_t nev;
static void on_event(void *user, const char *kind, const char *fields) {
  (void)user;
  if (strcmp(kind, "started") == 0 || nev == 64) return;
  snprintf(ev[nev].kind, sizeof ev[nev].kind, "%s", kind);
  ev[nev].fields = strdup(fields);
  nev++;
}
static void add_event(const char *kind, const char *fields) { on_event(NULL, kind, fields); }

/* Store a stop as hitlvm's store_stop does: one transaction. */
static void store_stop(VM *vm, VmStatus vs, int64_t segment) {
  int64_t t = (int64_t)time(NULL);
  if (vs != VM_SUSPENDED) die("run", vs == VM_FAILED ? vm_error_json(vm) : "completed before the cycles ran out");
  StInstance in;
  ok(st_get_instance(st, ID, &in), "get instance");
  ok(st_begin(st), "begin");
  StItem it = {0};
  it.instance = (char *)ID;
  it.kind = "approval";
  it.title = "cycle";
  it.payload = (char *)vm_pending_json(vm);
  it.quorum = 1;
  it.editable = "[]";
  it.status = "open";
  it.created = t;
  it.deadline = -1;
  it.timeout_verdict = -1;
  ok(st_insert_item(st, &it), "insert item");
  char digest[65];
  if (!vm_item_digest(vm, ID, it.id, digest, NULL)) die("digest", NULL);
  ok(st_set_item_digest(st, it.id, digest), "set digest");
  uint8_t *snap;
  if (!vm_snapshot(vm, hash, &snap, &snap_bytes)) die("snapshot", NULL);
  ok(st_save_snapshot(st, ID, snap, snap_bytes), "save snapshot");
  mem_free(snap, snap_bytes);
  for (size_t i = 0; i < nev; i++) {
    char f[256];
    const char *fields = ev[i].fields;
    if (strcmp(ev[i].kind, "checkpoint") == 0) {
      snprintf(f, sizeof f, "{\"item\":%lld,\"digest\":\"%s\",%s", (long long)it.id, digest, ev[i].fields + 1);
      fields = f;
    }
    ok(st_append_event(st, ID, t, ev[i].kind, fields), "append event");
    free(ev[i].fields);
  }
  nev = 0;
  StInstance up = in;
  up.status = "suspended";
  up.owner = NULL;
  up.segment = segment;
  up.updated = t;
  ok(st_update_instance(st, &up), "update instance");
  ok(st_commit(st), "commit stop");
  st_instance_free(&in);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: store_cycles PLAYBOOK.hitl DB N\n");
    return 2;
  }
  long n = atol(argv[3]);
  char err[512];
  unlink(argv[2]);
  if (st_open(argv[2], &st, err, sizeof err) != ST_OK) die("st_open", err);

  /* `hitlvm run`: compile, the instance, run to the first checkpoint */
  char *src;
  size_t len;
  if (cp_read_file(argv[1], &src, &len)) die(argv[1], "unreadable");
  Diags d;
  Module *m = cp_compile(argv[1], src, len, &d);
  if (!m || d.errors) die(argv[1], "does not compile");
  uint8_t *bytes;
  size_t blen;
  if (!bc_write(m, &bytes, &blen)) die("bc_write", NULL);
  hitl_sha256(hash, bytes, blen);
  VM *vm = vm_new(m, NULL);
  char input[64];
  snprintf(input, sizeof input, "{\"n\": %ld}", n + 2);
  if (!vm || !vm_set_input_json(vm, input, err, sizeof err)) die("input", err);
  vm_set_events(vm, on_event, NULL);
  int64_t t = (int64_t)time(NULL);
  StInstance in = {0};
  in.id = (char *)ID;
  memcpy(in.program, hash, 32);
  in.playbook = (char *)m->playbook;
  in.status = "running";
  in.starter = "agent";
  in.input = input;
  in.params = "{}";
  in.owner = "bench:1";
  in.created = in.updated = t;
  ok(st_begin(st), "begin");
  ok(st_put_program(st, hash, in.playbook, bytes, blen), "put program");
  ok(st_insert_instance(st, &in), "insert instance");
  ok(st_append_event(st, ID, t, "started", "{\"input\":{},\"params\":{},\"requester\":\"agent\"}"), "started");
  ok(st_commit(st), "commit run");
  store_stop(vm, vm_run(vm), 0);
  vm_free(vm);
  bc_free(m);
  mem_free(bytes, blen);

  /* the cycles: `hitlvm resume ITEM approve` each */
  long c0 = commits, f0 = frames;
  double t0 = now();
  for (long i = 0; i < n; i++) {
    StItem *items;
    size_t ni;
    ok(st_list_items(st, "open", NULL, &items, &ni), "list items");
    if (ni != 1) die("items", "not exactly one open item");
    StItem it;
    ok(st_get_item(st, items[0].id, &it), "get item");
    st_items_free(items, ni);
    StInstance cur;
    ok(st_get_instance(st, it.instance, &cur), "get instance");
    ok(st_get_program(st, cur.program, &bytes, &blen), "get program");
    Module *pm = bc_read(bytes, blen, err, sizeof err);
    if (!pm) die("bc_read", err);
    mem_free(bytes, blen);
    uint8_t *snap;
    size_t slen;
    ok(st_load_snapshot(st, ID, &snap, &slen), "load snapshot");
    VM *rv = vm_restore(pm, cur.program, snap, slen, NULL, err, sizeof err);
    if (!rv) die("vm_restore", err);
    mem_free(snap, slen);
    vm_set_events(rv, on_event, NULL);
    char fields[128];
    snprintf(fields, sizeof fields, "{\"item\":%lld,\"segment\":%lld}", (long long)it.id, (long long)cur.segment + 1);
    add_event("resumed", fields);
    t = (int64_t)time(NULL);
    if (!vm_resume(rv, "{\"kind\":\"approve\",\"reviewers\":[\"bob\"],\"reason\":null,\"edits\":{},"
                       "\"at\":\"2026-11-28T14:00:00Z\"}", err, sizeof err))
      die("vm_resume", err);
    ok(st_begin(st), "begin claim");
    ok(st_close_item(st, it.id, "decided"), "close item");
    StVerdict v = {0, it.id, it.instance, "approve", "bob", NULL, NULL, t};
    ok(st_insert_verdict(st, &v), "insert verdict");
    snprintf(fields, sizeof fields, "{\"item\":%lld,\"verdict\":\"approve\",\"reviewer\":\"bob\",\"reason\":null,\"edits\":null}",
             (long long)it.id);
    ok(st_append_event(st, ID, t, "verdict", fields), "verdict event");
    StInstance up = cur;
    up.status = "running";
    up.owner = "bench:1";
    up.segment = cur.segment + 1;
    up.updated = t;
    ok(st_update_instance(st, &up), "update instance");
    ok(st_commit(st), "commit claim");
    store_stop(rv, vm_run(rv), cur.segment + 1);
    vm_free(rv);
    bc_free(pm);
    st_item_free(&it);
    st_instance_free(&cur);
  }
  double secs = now() - t0;
  printf("%ld %.3f %ld %zu %ld\n", n, secs, commits - c0, snap_bytes, frames - f0);
  st_close(st);
  return 0;
}
