/* bench/commit_rate.c — the anchor of the store's performance goal
 * (TOOLS.md §7): how many commits per second a bare SQLite insert loop gets
 * on this disk, one row per transaction, WAL journal, synchronous=FULL (the
 * store's durable setting).  SQLite directly: this is the yardstick the
 * store is measured against, not product code.
 *
 *   cc -O2 -o commit_rate bench/commit_rate.c -lsqlite3
 *   ./commit_rate DB [SECONDS [ROW_BYTES]]
 *     prints "COMMITS SECONDS WAL_PAGES COMMITS_PER_SECOND"; ROW_BYTES
 *     (default 100) makes each commit write more pages, for comparison
 *
 * WAL_PAGES: the pages the commits wrote to the WAL, counted by a WAL hook
 * (which checkpoints at 1000 pages, as SQLite's own hook would). */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long frames;
static int wal_pages;
static int on_wal(void *user, sqlite3 *db, const char *name, int pages) {
  (void)user;
  frames += pages > wal_pages ? pages - wal_pages : pages;
  wal_pages = pages;
  if (pages >= 1000) sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  return SQLITE_OK;
}

static void check(sqlite3 *db, int rc, const char *what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  fprintf(stderr, "commit_rate: %s: %s\n", what, sqlite3_errmsg(db));
  exit(1);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: commit_rate DB [SECONDS [ROW_BYTES]]\n");
    return 2;
  }
  double secs = argc > 2 ? atof(argv[2]) : 3.0;
  int row = argc > 3 ? atoi(argv[3]) : 100;
  unlink(argv[1]);
  sqlite3 *db;
  check(NULL, sqlite3_open(argv[1], &db), "open");
  check(db, sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                             "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)", NULL, NULL, NULL),
        "setup");
  sqlite3_wal_hook(db, on_wal, NULL);
  sqlite3_stmt *ins;
  check(db, sqlite3_prepare_v2(db, "INSERT INTO t(v) VALUES (randomblob(?))", -1, &ins, NULL), "prepare");
  sqlite3_bind_int(ins, 1, row);
  long n = 0;
  double t0 = now(), t;
  do {
    /* one row, one transaction: an autocommit insert */
    check(db, sqlite3_step(ins), "insert");
    sqlite3_reset(ins);
    n++;
    t = now() - t0;
  } while (t < secs);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  printf("%ld %.3f %ld %.1f\n", n, t, frames, (double)n / t);
  return 0;
}
