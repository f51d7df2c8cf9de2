/* bench/store_cycles.c — durable suspend + resume cycles per second
 * (TOOLS.md §7), in one process, through the runtime's calls that
 * `hitlvm resume ITEM approve --json` and hitl_store_resume make (vm/rt.h):
 * no process start, no option parsing, no printing.
 *
 *   bash bench/run.sh bin     (section store builds and runs it)
 *   store_cycles PLAYBOOK.hitl DB N [BACKGROUND]
 *     prints "CYCLES SECONDS COMMITS SNAPSHOT_BYTES WAL_PAGES" (the last: the
 *     pages all the cycles' commits wrote to the WAL)
 *
 * PLAYBOOK must loop around a checkpoint (input {n: int}).  BACKGROUND
 * (default 0) other instances of it are started first and left suspended at
 * their first checkpoint, so the store holds that many waiting instances and
 * items, as a desk does (set up with HITL_STORE_SYNC=NORMAL; the store is
 * then opened again with the setting the caller gave).  Then one instance is
 * started as `hitlvm run` starts it (rt_run_prepare, rt_run_start: the
 * program, the instance and `started` in one transaction, the run to its
 * first stop in another), and each cycle does what one `hitlvm resume ITEM
 * approve --json` does after parsing its options:
 *
 *   rt_item_get       the item (its instance recovered first if orphaned)
 *   rt_check_verdict  open, allowed, the digest the reviewer saw, the decider
 *   rt_decide         the program and snapshot restored, the claim in one
 *                     transaction (verdict, its event, the item closed, the
 *                     instance running), the run on to the next checkpoint
 *                     and its stop in one transaction (item, digest, events,
 *                     snapshot, instance suspended)
 *   rt_outcome_json   the outcome resume prints: the instance, its open items
 *
 * The reviewer learns the next item's id from the outcome, as a person
 * reading `resume --json` would.  Commits are counted with SQLite's commit
 * hook, installed on the store's connection by wrapping sqlite3_open_v2
 * (link with -Wl,--wrap=sqlite3_open_v2): every transaction that writes,
 * explicit or autocommit, is one.  A WAL hook counts the pages the commits
 * write. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compiler/compile.h"
#include "vm/mem.h"
#include "vm/rt.h"
#include "vm/store.h"

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
    wal_pages = 0;
  }
  return rc;
}

/* ---- helpers ---------------------------------------------------------------- */

static void die(const char *what, const char *why) {
  fprintf(stderr, "store_cycles: %s: %s\n", what, why ? why : "failed");
  exit(1);
}
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static RtCtx ctx;
static void ctx_die(const char *what) { die(what, ctx.err ? ctx.err : st_errmsg(ctx.st)); }

static void open_store(const char *path) {
  char err[512];
  if (st_open(path, &ctx.st, err, sizeof err) != ST_OK) die("st_open", err);
}

/* Start an instance as `hitlvm run` does; it must stop at its checkpoint. */
static void start(const Module *m, const char *input) {
  RtStart s = {0};
  s.m = m;
  s.input = input;
  RtRun r;
  if (rt_run_prepare(&ctx, &s, &r) != RT_COMPLETED) ctx_die("rt_run_prepare");
  int cls = rt_run_start(&r);
  if (cls != RT_SUSPENDED) ctx_die("rt_run_start: the instance did not suspend");
  rt_run_free(&r);
}

/* The outcome's one pending item: its id and digest (what the reviewer
 * reads), found by a plain scan: the bench should not time a JSON parser
 * the reviewer would run in another process. */
static int64_t pending_of(const char *outcome, char digest[65]) {
  const char *p = strstr(outcome, "\"pending\":[{\"id\":");
  const char *d = p ? strstr(p, "\"digest\":\"") : NULL;
  if (!p || !d || strstr(p, "},{\"id\":")) die("outcome: not one pending item", outcome);
  d += strlen("\"digest\":\"");
  memcpy(digest, d, 64);
  digest[64] = 0;
  if (strlen(digest) != 64 || d[64] != '"') die("outcome: no digest", outcome);
  return strtoll(p + strlen("\"pending\":[{\"id\":"), NULL, 10);
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: store_cycles PLAYBOOK.hitl DB N [BACKGROUND]\n");
    return 2;
  }
  const char *db = argv[2];
  long n = atol(argv[3]), background = argc == 5 ? atol(argv[4]) : 0;
  char host[64];
  snprintf(host, sizeof host, "bench");
  char owner[96];
  snprintf(owner, sizeof owner, "%s:%ld", host, (long)getpid());
  ctx.store_path = db;
  ctx.user = "agent";
  ctx.owner = owner;
  ctx.host = host;

  char *src;
  size_t len;
  if (cp_read_file(argv[1], &src, &len)) die(argv[1], "unreadable");
  Diags d;
  Module *m = cp_compile(argv[1], src, len, &d);
  if (!m || d.errors) die(argv[1], "does not compile");
  char input[64];
  snprintf(input, sizeof input, "{\"n\": %ld}", n + 2);
  char wal[1024], shm[1024];
  snprintf(wal, sizeof wal, "%s-wal", db);
  snprintf(shm, sizeof shm, "%s-shm", db);
  unlink(db);
  unlink(wal);
  unlink(shm);

  /* the other instances waiting in the store, set up without fsyncs */
  if (background > 0) {
    const char *sync = getenv("HITL_STORE_SYNC");
    char *keep = sync ? strdup(sync) : NULL;
    setenv("HITL_STORE_SYNC", "NORMAL", 1);
    open_store(db);
    for (long i = 0; i < background; i++) start(m, input);
    st_close(ctx.st);
    if (keep) setenv("HITL_STORE_SYNC", keep, 1);
    else unsetenv("HITL_STORE_SYNC");
    free(keep);
  }
  open_store(db);

  /* `hitlvm run`: the instance, run to its first checkpoint */
  start(m, input);
  char *outcome = NULL;
  StItem *items;
  size_t nitems;
  if (st_list_items(ctx.st, "open", NULL, &items, &nitems) != ST_OK || nitems != (size_t)background + 1)
    die("items", "not one open item per instance");
  char id[64];
  snprintf(id, sizeof id, "%s", items[nitems - 1].instance);   /* the last item opened */
  st_items_free(items, nitems);
  if (rt_outcome_json(&ctx, id, &outcome) != RT_COMPLETED) ctx_die("rt_outcome_json");

  /* the cycles: `hitlvm resume ITEM approve --json` each, as bob */
  long c0 = commits, f0 = frames;
  double t0 = now();
  for (long i = 0; i < n; i++) {
    char digest[65];
    int64_t item = pending_of(outcome, digest);
    mem_free(outcome, 0);
    StItem it;
    if (rt_item_get(&ctx, item, NULL, &it) != RT_COMPLETED) ctx_die("rt_item_get");
    if (rt_check_verdict(&ctx, &it, "approve", false, digest, "bob") != RT_COMPLETED) ctx_die("rt_check_verdict");
    RtDecided dd;
    int cls = rt_decide(&ctx, &it, "approve", "bob", NULL, NULL, NULL, "decided", (int64_t)time(NULL), true, &dd);
    if (cls != RT_SUSPENDED) ctx_die("rt_decide: the instance did not suspend again");
    if (rt_outcome_json(&ctx, dd.instance, &outcome) != RT_COMPLETED) ctx_die("rt_outcome_json");
    st_item_free(&it);
  }
  double secs = now() - t0;
  mem_free(outcome, 0);
  uint8_t *snap;
  size_t snap_bytes = 0;
  if (st_load_snapshot(ctx.st, id, &snap, &snap_bytes) == ST_OK) mem_free(snap, snap_bytes);
  printf("%ld %.3f %ld %zu %ld\n", n, secs, commits - c0, snap_bytes, frames - f0);
  st_close(ctx.st);
  rt_clear(&ctx);
  bc_free(m);
  diag_free(&d);
  cp_free_text(src);
  return 0;
}
