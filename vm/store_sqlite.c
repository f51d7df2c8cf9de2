/* vm/store_sqlite.c — the store (vm/store.h) on SQLite: the connection.
 *
 * Opening (pragmas, then the schema: vm/store_schema.c), closing, the
 * transactions, errors and how SQLite's codes map to ST_*.  One Store is one
 * connection; every statement it runs is in the list in vm/store_sqlite.h,
 * prepared the first time it is needed and reset for reuse after every call
 * (vm/store_query.c), and every value reaches SQLite through sqlite3_bind_*,
 * never through the SQL text.  The record operations are in
 * vm/store_rows.c, store_registry.c, store_chain.c, store_audit.c,
 * store_journal.c and store_learn.c; docs/store.md describes the tables,
 * the durability settings and what concurrent writers see.
 *
 * SQLite's own memory goes through mem.h too (SQLITE_CONFIG_MALLOC), so the
 * failing-allocation tests reach inside it. */
#include "store_sqlite.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

/* ---- SQLite's memory through mem.h ---------------------------------------------- */

/* Each block carries its size in front (xSize, and mem_realloc's old size);
 * 16 bytes keep the block as aligned as malloc's. */
enum { SQMEM_HEAD = 16 };

static size_t sqmem_head(void *p) {
  size_t n;
  memcpy(&n, (char *)p - SQMEM_HEAD, sizeof n);
  return n;
}

static void *sqmem_malloc(int n) {
  char *p = mem_alloc((size_t)n + SQMEM_HEAD);
  if (!p) return NULL;
  size_t sz = (size_t)n;
  memcpy(p, &sz, sizeof sz);
  return p + SQMEM_HEAD;
}

static void sqmem_free(void *p) {
  if (p) mem_free((char *)p - SQMEM_HEAD, sqmem_head(p) + SQMEM_HEAD);
}

static void *sqmem_realloc(void *p, int n) {
  if (!p) return sqmem_malloc(n);
  size_t old = sqmem_head(p);
  char *q = mem_realloc((char *)p - SQMEM_HEAD, old + SQMEM_HEAD, (size_t)n + SQMEM_HEAD);
  if (!q) return NULL;
  size_t sz = (size_t)n;
  memcpy(q, &sz, sizeof sz);
  return q + SQMEM_HEAD;
}

static int sqmem_size(void *p) { return p ? (int)sqmem_head(p) : 0; }
static int sqmem_roundup(int n) { return (n + 7) & ~7; }
static int sqmem_init(void *arg) { (void)arg; return SQLITE_OK; }
static void sqmem_shutdown(void *arg) { (void)arg; }

static pthread_once_t sqmem_once = PTHREAD_ONCE_INIT;

/* Before SQLite's first use in the process.  Should the embedding program
 * have started SQLite already, these calls fail (SQLITE_MISUSE) and SQLite
 * keeps its own allocator, which is harmless. */
static void sqmem_configure(void) {
  static const sqlite3_mem_methods methods = {
    sqmem_malloc, sqmem_free, sqmem_realloc, sqmem_size, sqmem_roundup, sqmem_init, sqmem_shutdown, NULL,
  };
  sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);   /* no global counter and its mutex per allocation */
}

/* ---- errors ------------------------------------------------------------------------- */

void sq_err(Store *st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st->err, sizeof st->err, fmt, ap);
  va_end(ap);
}

int sq_oom(Store *st) {
  sq_err(st, "out of memory");
  return ST_ERR;
}

int sq_fail(Store *st, int rc, const char *what) {
  const char *msg = (rc & 0xff) == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(st->db);
  sq_err(st, "%s: %s", what, msg);
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return ST_BUSY;
  case SQLITE_CONSTRAINT:
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) return ST_CONFLICT;
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return ST_NOTFOUND;
    return ST_ERR;
  default:
    return ST_ERR;
  }
}

int sq_exec(Store *st, const char *sql, const char *what) {
  int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? ST_OK : sq_fail(st, rc, what);
}

const char *st_errmsg(Store *st) { return st ? st->err : "no store"; }

int st_schema_version(Store *st) { return st->version; }

/* ---- opening -------------------------------------------------------------------- */

static int busy_ms(void) {
  const char *e = getenv("HITL_STORE_BUSY_TIMEOUT");
  if (!e || !*e) return 10000;
  char *end;
  long ms = strtol(e, &end, 10);
  if (*end || ms < 0) return 10000;
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int configure(Store *st) {
  const char *sync = getenv("HITL_STORE_SYNC");
  const char *level = "FULL";
  if (sync && *sync) {
    if (strcasecmp(sync, "NORMAL") == 0) level = "NORMAL";
    else if (strcasecmp(sync, "FULL") != 0) {
      sq_err(st, "HITL_STORE_SYNC must be FULL or NORMAL, not '%s'", sync);
      return ST_ERR;
    }
  }
  sqlite3_extended_result_codes(st->db, 1);
  sqlite3_busy_timeout(st->db, busy_ms());
  /* a hostile file's schema may not hide side effects in triggers or views */
  sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
  sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);

  /* A new store gets 2 KiB pages (an existing file keeps its page size;
   * SQLite ignores this then).  Each change touches a leaf page of ten or
   * so B-trees with a row or two in each: every page touched is written to
   * the WAL, checksummed and fsync'd whole, so smaller pages are fewer bytes
   * per commit; below 2 KiB an item row (~600 bytes) fills a page alone
   * (docs/store.md, "Speed").  A file that is not a database fails at the
   * first read below, not here. */
  sqlite3_exec(st->db, "PRAGMA page_size = 2048", NULL, NULL, NULL);
  /* the first read: a file that is not a database fails here.  Opening the
   * WAL can meet another process closing the store (its last connection
   * checkpoints and removes the WAL under an exclusive lock), and SQLite
   * answers that with SQLITE_BUSY without its busy handler: wait for it
   * here, up to the busy timeout. */
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
  for (int waited = 0, ms = busy_ms(); rc == SQLITE_OK;) {
    rc = sqlite3_step(s);
    if ((rc & 0xff) != SQLITE_BUSY || waited >= ms) break;
    sqlite3_reset(s);
    sqlite3_sleep(5);
    waited += 5;
    rc = SQLITE_OK;
  }
  if (rc != SQLITE_ROW) {
    int out = sq_fail(st, rc, "setting the WAL journal");
    sqlite3_finalize(s);
    return out;
  }
  const char *mode = (const char *)sqlite3_column_text(s, 0);
  bool ok = mode && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0);
  if (!ok) sq_err(st, "the store needs a WAL journal, and SQLite kept '%s'", mode ? mode : "?");
  sqlite3_finalize(s);
  if (!ok) return ST_ERR;

  char pragmas[96];
  snprintf(pragmas, sizeof pragmas, "PRAGMA synchronous = %s; PRAGMA foreign_keys = ON", level);
  return sq_exec(st, pragmas, "setting the pragmas");
}

int st_open(const char *path, Store **out, char *err, size_t n) {
  *out = NULL;
  pthread_once(&sqmem_once, sqmem_configure);
  Store *st = mem_calloc(sizeof *st);
  if (!st) {
    if (err && n) snprintf(err, n, "%s: out of memory", path);
    return ST_ERR;
  }
  int rc = sqlite3_open_v2(path, &st->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  int status = ST_OK;
  if (rc != SQLITE_OK) status = st->db ? sq_fail(st, rc, "opening") : sq_oom(st);
  if (status == ST_OK) status = configure(st);
  if (status == ST_OK) status = sq_migrate(st);
  if (status != ST_OK) {
    if (err && n) snprintf(err, n, "%s: %s", path, st->err);
    st_close(st);
    return status;
  }
  *out = st;
  return ST_OK;
}

void st_close(Store *st) {
  if (!st) return;
  for (int i = 0; i < Q_COUNT; i++) sqlite3_finalize(st->q[i]);
  sqlite3_close(st->db);   /* rolls back a transaction still open */
  mem_free(st, sizeof *st);
}

/* ---- transactions --------------------------------------------------------------- */

int st_begin(Store *st) {
  if (st->in_txn) {
    sq_err(st, "st_begin: a transaction is already open");
    return ST_ERR;
  }
  SqBind b;
  st->link_instance[0] = '\0';
  sq_start(st, Q_BEGIN, &b);
  int rc = sq_run(st, &b, "st_begin");
  if (rc == ST_OK) st->in_txn = true;
  return rc;
}

/* Run a statement of the transaction's end, whatever autocommit says. */
static int end_txn(Store *st, int which, const char *what) {
  SqBind b = {sq_stmt(st, which), SQLITE_OK};
  return b.s ? sq_run(st, &b, what) : ST_ERR;
}

int st_commit(Store *st) {
  if (!st->in_txn) {
    sq_err(st, "st_commit: no transaction is open");
    return ST_ERR;
  }
  st->in_txn = false;
  st->link_instance[0] = '\0';
  if (sqlite3_get_autocommit(st->db)) {
    sq_err(st, "st_commit: the transaction was rolled back after an earlier error");
    return ST_ERR;
  }
  int rc = end_txn(st, Q_COMMIT, "st_commit");
  if (rc != ST_OK && !sqlite3_get_autocommit(st->db)) {
    /* still open (e.g. busy): undo it, so a failed commit changes nothing */
    sqlite3_stmt *r = sq_stmt(st, Q_ROLLBACK);
    if (r) {
      sqlite3_step(r);
      sq_done(r);
    }
  }
  return rc;
}

/* Safe after any failure, and a no-op without an open transaction. */
int st_rollback(Store *st) {
  st->in_txn = false;
  st->link_instance[0] = '\0';
  if (sqlite3_get_autocommit(st->db)) return ST_OK;
  return end_txn(st, Q_ROLLBACK, "st_rollback");
}
