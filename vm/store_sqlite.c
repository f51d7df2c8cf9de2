/* vm/store_sqlite.c — the store (vm/store.h) on SQLite.
 *
 * The only file in hitl that includes sqlite3.h or holds SQL.  One Store is
 * one connection; every statement it runs is in the list below, prepared the
 * first time it is needed and reset for reuse after every call, and every
 * value reaches SQLite through sqlite3_bind_*, never through the SQL text.
 *
 * The schema is versioned: `meta` holds schema_version, and `migrations`
 * lists the SQL that takes a database from version i to i + 1.  st_open runs
 * the missing steps inside one write transaction and refuses a database
 * newer than this build.  docs/store.md describes the tables, the
 * durability settings and what concurrent writers see.
 *
 * SQLite's own memory goes through mem.h too (SQLITE_CONFIG_MALLOC), so the
 * failing-allocation tests reach inside it. */
#include "store.h"

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mem.h"

/* ---- the schema --------------------------------------------------------------- */

/* migrations[i] takes the schema from version i to i + 1.  Append, never
 * edit: a database in the field may stand at any version. */
static const char *const migrations[] = {
  /* 0 -> 1 */
  "CREATE TABLE programs ("
  "  hash     BLOB PRIMARY KEY CHECK (length(hash) = 32),"
  "  playbook TEXT NOT NULL,"
  "  bytes    BLOB NOT NULL,"
  "  created  INTEGER NOT NULL);"
  "CREATE TABLE instances ("
  "  id         TEXT PRIMARY KEY,"
  "  program    BLOB NOT NULL REFERENCES programs(hash),"
  "  playbook   TEXT NOT NULL,"
  "  status     TEXT NOT NULL,"
  "  starter    TEXT NOT NULL,"
  "  input      TEXT NOT NULL,"
  "  params     TEXT NOT NULL,"
  "  mocks      TEXT,"
  "  mock_state TEXT,"
  "  result     TEXT,"
  "  error      TEXT,"
  "  owner      TEXT,"
  "  segment    INTEGER NOT NULL,"
  "  created    INTEGER NOT NULL,"
  "  updated    INTEGER NOT NULL);"
  "CREATE INDEX instances_status ON instances(status, created, id);"
  "CREATE TABLE snapshots ("
  "  instance TEXT PRIMARY KEY REFERENCES instances(id),"
  "  bytes    BLOB NOT NULL);"
  "CREATE TABLE items ("
  "  id              INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  instance        TEXT NOT NULL REFERENCES instances(id),"
  "  kind            TEXT NOT NULL,"
  "  title           TEXT NOT NULL,"
  "  payload         TEXT NOT NULL,"
  "  digest          TEXT,"
  "  \"by\"          TEXT,"
  "  quorum          INTEGER NOT NULL CHECK (quorum >= 1),"
  "  editable        TEXT NOT NULL,"
  "  status          TEXT NOT NULL,"
  "  created         INTEGER NOT NULL,"
  "  deadline        INTEGER,"          /* NULL: none (-1 in StItem) */
  "  timeout_verdict INTEGER,"          /* NULL: none, 0 approve, 1 reject */
  "  timeout_reason  TEXT);"
  "CREATE INDEX items_status ON items(status, id);"
  "CREATE INDEX items_by ON items(\"by\", status, id);"
  "CREATE TABLE verdicts ("
  "  id       INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  item     INTEGER NOT NULL REFERENCES items(id),"
  "  instance TEXT NOT NULL REFERENCES instances(id),"
  "  verdict  TEXT NOT NULL,"
  "  reviewer TEXT NOT NULL,"
  "  reason   TEXT,"
  "  edits    TEXT,"
  "  at       INTEGER NOT NULL);"
  "CREATE INDEX verdicts_item ON verdicts(item, id);"
  "CREATE TABLE events ("
  "  instance TEXT NOT NULL REFERENCES instances(id),"
  "  seq      INTEGER NOT NULL,"
  "  at       INTEGER NOT NULL,"
  "  kind     TEXT NOT NULL,"
  "  fields   TEXT NOT NULL,"
  "  PRIMARY KEY (instance, seq));"
  "CREATE TABLE calls ("
  "  instance TEXT NOT NULL REFERENCES instances(id),"
  "  idx      INTEGER NOT NULL,"
  "  action   TEXT NOT NULL,"
  "  args     TEXT NOT NULL,"
  "  state    TEXT NOT NULL,"
  "  result   TEXT,"
  "  at       INTEGER NOT NULL,"
  "  PRIMARY KEY (instance, idx));",
  /* 1 -> 2: calibrated thresholds (hitlvm calibrate --apply), per playbook
   * name and action */
  "CREATE TABLE thresholds ("
  "  playbook TEXT NOT NULL,"
  "  action   TEXT NOT NULL,"
  "  value    REAL NOT NULL CHECK (value >= 0 AND value <= 1),"
  "  target   REAL NOT NULL,"
  "  samples  INTEGER NOT NULL,"
  "  at       INTEGER NOT NULL,"
  "  PRIMARY KEY (playbook, action));",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- every statement, once ------------------------------------------------------ */

#define INSTANCE_COLS                                                                      \
  "id, program, playbook, status, starter, input, params, mocks, mock_state, result, "    \
  "error, owner, segment, created, updated"
#define ITEM_COLS                                                                          \
  "id, instance, kind, title, payload, digest, \"by\", quorum, editable, status, created, " \
  "deadline, timeout_verdict, timeout_reason"
#define VERDICT_COLS "id, item, instance, verdict, reviewer, reason, edits, at"

/* S(name, sql) */
#define ST_STATEMENTS(S)                                                                   \
  S(BEGIN, "BEGIN IMMEDIATE")                                                              \
  S(COMMIT, "COMMIT")                                                                      \
  S(ROLLBACK, "ROLLBACK")                                                                  \
  S(SCHEMA_STATE, "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "   \
                  "name = 'meta'), (SELECT count(*) FROM sqlite_master)")                  \
  S(GET_VERSION, "SELECT value FROM meta WHERE key = 'schema_version'")                    \
  S(SET_VERSION, "INSERT INTO meta(key, value) VALUES ('schema_version', ?1) "             \
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value")                  \
  S(PUT_PROGRAM, "INSERT INTO programs(hash, playbook, bytes, created) "                   \
                 "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(hash) DO NOTHING")                   \
  S(GET_PROGRAM, "SELECT bytes FROM programs WHERE hash = ?1")                             \
  S(INSERT_INSTANCE, "INSERT INTO instances(" INSTANCE_COLS ") "                           \
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)") \
  S(GET_INSTANCE, "SELECT " INSTANCE_COLS " FROM instances WHERE id = ?1")                 \
  S(UPDATE_INSTANCE, "UPDATE instances SET status = ?2, result = ?3, error = ?4, "         \
                     "mock_state = ?5, segment = ?6, owner = ?7, updated = ?8 WHERE id = ?1") \
  S(LIST_INSTANCES, "SELECT " INSTANCE_COLS " FROM instances ORDER BY created, id")        \
  S(LIST_INSTANCES_STATUS, "SELECT " INSTANCE_COLS " FROM instances WHERE status = ?1 "    \
                           "ORDER BY created, id")                                         \
  S(SAVE_SNAPSHOT, "INSERT INTO snapshots(instance, bytes) VALUES (?1, ?2) "               \
                   "ON CONFLICT(instance) DO UPDATE SET bytes = excluded.bytes")           \
  S(LOAD_SNAPSHOT, "SELECT bytes FROM snapshots WHERE instance = ?1")                      \
  S(DELETE_SNAPSHOT, "DELETE FROM snapshots WHERE instance = ?1")                          \
  S(INSERT_ITEM, "INSERT INTO items(instance, kind, title, payload, digest, \"by\", quorum, " \
                 "editable, status, created, deadline, timeout_verdict, timeout_reason) "  \
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")        \
  S(SET_ITEM_DIGEST, "UPDATE items SET digest = ?2 WHERE id = ?1")                         \
  S(GET_ITEM, "SELECT " ITEM_COLS " FROM items WHERE id = ?1")                             \
  S(LIST_ITEMS, "SELECT " ITEM_COLS " FROM items ORDER BY id")                             \
  S(LIST_ITEMS_STATUS, "SELECT " ITEM_COLS " FROM items WHERE status = ?1 ORDER BY id")    \
  S(LIST_ITEMS_GROUP, "SELECT " ITEM_COLS " FROM items WHERE \"by\" = ?2 ORDER BY id")     \
  S(LIST_ITEMS_STATUS_GROUP, "SELECT " ITEM_COLS " FROM items "                            \
                             "WHERE status = ?1 AND \"by\" = ?2 ORDER BY id")              \
  S(CLOSE_ITEM, "UPDATE items SET status = ?2 WHERE id = ?1 AND status = 'open'")          \
  S(ITEM_EXISTS, "SELECT 1 FROM items WHERE id = ?1")                                      \
  S(COUNT_OPEN_ITEMS, "SELECT count(*) FROM items WHERE status = 'open'")                  \
  S(INSERT_VERDICT, "INSERT INTO verdicts(item, instance, verdict, reviewer, reason, edits, at) " \
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                                 \
  S(LIST_VERDICTS, "SELECT " VERDICT_COLS " FROM verdicts WHERE item = ?1 ORDER BY id")    \
  S(APPEND_EVENT, "INSERT INTO events(instance, seq, at, kind, fields) VALUES (?1, "       \
                  "(SELECT coalesce(max(seq), 0) + 1 FROM events WHERE instance = ?1), "   \
                  "?2, ?3, ?4)")                                                           \
  S(LIST_EVENTS, "SELECT seq, at, kind, fields FROM events WHERE instance = ?1 ORDER BY seq") \
  S(GET_CALL, "SELECT instance, idx, action, args, state, result, at FROM calls "          \
              "WHERE instance = ?1 AND idx = ?2")                                          \
  S(PUT_CALL, "INSERT INTO calls(instance, idx, action, args, state, result, at) "         \
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(instance, idx) DO UPDATE "  \
              "SET action = excluded.action, args = excluded.args, state = excluded.state, " \
              "result = excluded.result, at = excluded.at")                              \
  S(PUT_THRESHOLD, "INSERT INTO thresholds(playbook, action, value, target, samples, at) " \
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(playbook, action) DO UPDATE " \
                   "SET value = excluded.value, target = excluded.target, "                \
                   "samples = excluded.samples, at = excluded.at")                         \
  S(LIST_THRESHOLDS, "SELECT playbook, action, value, target, samples, at FROM thresholds " \
                     "ORDER BY playbook, action")                                          \
  S(LIST_THRESHOLDS_PLAYBOOK, "SELECT playbook, action, value, target, samples, at "       \
                              "FROM thresholds WHERE playbook = ?1 ORDER BY action")       \
  S(EACH_DECISION, "SELECT it.id, it.instance, i.playbook, "                               \
                   "json_extract(it.payload, '$.action'), "                                \
                   "json_extract(it.payload, '$.risk.confidence'), "                       \
                   "json_extract(it.payload, '$.risk.threshold'), "                        \
                   "it.payload, it.status, it.created, "                                   \
                   "v.verdict, v.reviewer, v.reason, v.edits, v.at, "                      \
                   "it.payload -> '$.args', it.payload -> '$.risk', "                      \
                   "it.payload -> '$.rule', it.payload -> '$.because' "                    \
                   "FROM items it JOIN instances i ON i.id = it.instance "                 \
                   "LEFT JOIN verdicts v ON v.id = "                                       \
                   "(SELECT max(id) FROM verdicts WHERE item = it.id) "                    \
                   "WHERE it.kind = 'approval' AND json_valid(it.payload) "                \
                   "AND json_type(it.payload, '$.action') = 'text' "                       \
                   "AND json_type(it.payload, '$.risk') = 'object' "                       \
                   "AND json_type(it.payload, '$.rule') = 'object' ORDER BY it.id")        \
  S(EACH_ACTION_CALL, "SELECT e.instance, i.playbook, json_extract(e.fields, '$.name'), "  \
                      "json_extract(e.fields, '$.route'), "                                \
                      "json_extract(e.fields, '$.confidence'), e.seq, e.at, e.fields, "    \
                      "e.fields -> '$.args', e.fields -> '$.rule', e.fields -> '$.because', " \
                      "json_type(e.fields, '$.error') IS NOT NULL "                        \
                      "FROM events e JOIN instances i ON i.id = e.instance "               \
                      "WHERE e.kind = 'action' AND json_valid(e.fields) "                  \
                      "AND json_type(e.fields, '$.name') = 'text' "                        \
                      "AND json_type(e.fields, '$.route') = 'text' ORDER BY e.rowid")

#define S_ENUM(name, sql) Q_##name,
enum { ST_STATEMENTS(S_ENUM) Q_COUNT };
#undef S_ENUM
#define S_SQL(name, sql) sql,
static const char *const statement_sql[Q_COUNT] = {ST_STATEMENTS(S_SQL)};
#undef S_SQL

struct Store {
  sqlite3 *db;
  sqlite3_stmt *q[Q_COUNT];   /* prepared on first use, reset after each */
  bool in_txn;                /* between st_begin and st_commit / st_rollback */
  int start_rc;               /* the status of the last start() that failed */
  int version;
  char err[512];
};

/* ---- SQLite's memory through mem.h ---------------------------------------------- */

/* Each block carries its size in front (xSize, and mem_realloc's old size);
 * 16 bytes keep the block as aligned as malloc's. */
enum { SQ_HEAD = 16 };

static size_t sq_head(void *p) {
  size_t n;
  memcpy(&n, (char *)p - SQ_HEAD, sizeof n);
  return n;
}

static void *sq_malloc(int n) {
  char *p = mem_alloc((size_t)n + SQ_HEAD);
  if (!p) return NULL;
  size_t sz = (size_t)n;
  memcpy(p, &sz, sizeof sz);
  return p + SQ_HEAD;
}

static void sq_free(void *p) {
  if (p) mem_free((char *)p - SQ_HEAD, sq_head(p) + SQ_HEAD);
}

static void *sq_realloc(void *p, int n) {
  if (!p) return sq_malloc(n);
  size_t old = sq_head(p);
  char *q = mem_realloc((char *)p - SQ_HEAD, old + SQ_HEAD, (size_t)n + SQ_HEAD);
  if (!q) return NULL;
  size_t sz = (size_t)n;
  memcpy(q, &sz, sizeof sz);
  return q + SQ_HEAD;
}

static int sq_size(void *p) { return p ? (int)sq_head(p) : 0; }
static int sq_roundup(int n) { return (n + 7) & ~7; }
static int sq_init(void *arg) { (void)arg; return SQLITE_OK; }
static void sq_shutdown(void *arg) { (void)arg; }

static pthread_once_t sq_once = PTHREAD_ONCE_INIT;

/* Before SQLite's first use in the process.  Should the embedding program
 * have started SQLite already, these calls fail (SQLITE_MISUSE) and SQLite
 * keeps its own allocator, which is harmless. */
static void sq_configure(void) {
  static const sqlite3_mem_methods methods = {
    sq_malloc, sq_free, sq_realloc, sq_size, sq_roundup, sq_init, sq_shutdown, NULL,
  };
  sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);   /* no global counter and its mutex per allocation */
}

/* ---- errors ------------------------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void set_err(Store *st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st->err, sizeof st->err, fmt, ap);
  va_end(ap);
}

static int oom(Store *st) {
  set_err(st, "out of memory");
  return ST_ERR;
}

/* SQLite said rc while doing `what`: say so, and map the code.  A busy or
 * locked database is ST_BUSY; a duplicate key ST_CONFLICT; a reference to a
 * row that does not exist (a foreign key) ST_NOTFOUND; anything else ST_ERR. */
static int fail(Store *st, int rc, const char *what) {
  const char *msg = (rc & 0xff) == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(st->db);
  set_err(st, "%s: %s", what, msg);
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

const char *st_errmsg(Store *st) { return st ? st->err : "no store"; }

int st_schema_version(Store *st) { return st->version; }

/* ---- statements --------------------------------------------------------------------- */

static sqlite3_stmt *stmt(Store *st, int which) {
  if (st->q[which]) return st->q[which];
  int rc = sqlite3_prepare_v3(st->db, statement_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                              &st->q[which], NULL);
  if (rc != SQLITE_OK) {
    st->start_rc = fail(st, rc, "prepare");
    sqlite3_finalize(st->q[which]);
    st->q[which] = NULL;
  }
  return st->q[which];
}

static void done(sqlite3_stmt *s) {
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

/* Binding: the first failure is kept, the rest of the binds skipped. */
typedef struct Bind {
  sqlite3_stmt *s;
  int rc;
} Bind;

static void b_text(Bind *b, int i, const char *v) {
  if (b->rc != SQLITE_OK) return;
  b->rc = v ? sqlite3_bind_text(b->s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(b->s, i);
}

static void b_int(Bind *b, int i, int64_t v) {
  if (b->rc == SQLITE_OK) b->rc = sqlite3_bind_int64(b->s, i, v);
}

/* -1 (none) as NULL */
static void b_opt_int(Bind *b, int i, int64_t v) {
  if (b->rc == SQLITE_OK) b->rc = v < 0 ? sqlite3_bind_null(b->s, i) : sqlite3_bind_int64(b->s, i, v);
}

/* A zero-length blob is bound as one, not as NULL (what a NULL pointer binds). */
static void b_blob(Bind *b, int i, const void *p, size_t len) {
  if (b->rc != SQLITE_OK) return;
  if (len == 0) b->rc = sqlite3_bind_zeroblob(b->s, i, 0);
  else b->rc = sqlite3_bind_blob64(b->s, i, p, (sqlite3_uint64)len, SQLITE_STATIC);
}

/* Start a statement: prepared, and (inside st_begin) only while the
 * transaction still stands: SQLite rolls a transaction back by itself after
 * some errors (I/O, out of memory), and a write after that must not commit
 * on its own. */
static sqlite3_stmt *start(Store *st, int which, Bind *b) {
  if (st->in_txn && sqlite3_get_autocommit(st->db)) {
    set_err(st, "the transaction was rolled back after an earlier error; call st_rollback");
    st->start_rc = ST_ERR;
    return NULL;
  }
  sqlite3_stmt *s = stmt(st, which);
  b->s = s;
  b->rc = SQLITE_OK;
  return s;
}

static int bind_failed(Store *st, Bind *b, const char *what) {
  int rc = fail(st, b->rc, what);
  done(b->s);
  return rc;
}

/* Run a statement that returns no rows. */
static int run(Store *st, sqlite3_stmt *s, const char *what) {
  int rc = sqlite3_step(s);
  int out = ST_OK;
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) out = fail(st, rc, what);
  done(s);
  return out;
}

/* Step a query: 1 a row, 0 the end, -1 an error (reported, statement reset). */
static int next_row(Store *st, sqlite3_stmt *s, const char *what, int *status) {
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return 1;
  if (rc == SQLITE_DONE) return 0;
  *status = fail(st, rc, what);
  done(s);
  return -1;
}

/* ---- reading rows into mem_alloc'd records -------------------------------------- */

typedef struct Row {
  sqlite3_stmt *s;
  int bad;   /* 0, or ROW_OOM / ROW_CORRUPT: every later read is skipped */
  int col;   /* the column that was corrupt */
} Row;
enum { ROW_OOM = 1, ROW_CORRUPT = 2 };

static char *dup_bytes(const void *p, size_t n) {
  char *c = mem_alloc(n + 1);
  if (!c) return NULL;
  if (n) memcpy(c, p, n);
  c[n] = '\0';
  return c;
}

static char *row_str(Row *r, int i, bool nullable) {
  if (r->bad) return NULL;
  if (sqlite3_column_type(r->s, i) == SQLITE_NULL) {
    if (!nullable) r->bad = ROW_CORRUPT, r->col = i;
    return NULL;
  }
  const unsigned char *t = sqlite3_column_text(r->s, i);
  if (!t) {   /* not NULL, so SQLite ran out of memory converting it */
    r->bad = ROW_OOM;
    return NULL;
  }
  char *c = dup_bytes(t, (size_t)sqlite3_column_bytes(r->s, i));
  if (!c) r->bad = ROW_OOM;
  return c;
}

/* A blob (or text: a hostile file may hold either) as mem_alloc'd bytes. */
static uint8_t *row_blob(Row *r, int i, size_t *len) {
  *len = 0;
  if (r->bad) return NULL;
  if (sqlite3_column_type(r->s, i) == SQLITE_NULL) {
    r->bad = ROW_CORRUPT, r->col = i;
    return NULL;
  }
  const void *p = sqlite3_column_blob(r->s, i);
  size_t n = (size_t)sqlite3_column_bytes(r->s, i);
  if (!p && n) {
    r->bad = ROW_OOM;
    return NULL;
  }
  uint8_t *c = mem_alloc(n ? n : 1);
  if (!c) {
    r->bad = ROW_OOM;
    return NULL;
  }
  if (n) memcpy(c, p, n);
  *len = n;
  return c;
}

static void row_hash(Row *r, int i, uint8_t out[32]) {
  if (r->bad) return;
  if (sqlite3_column_type(r->s, i) != SQLITE_BLOB || sqlite3_column_bytes(r->s, i) != 32) {
    r->bad = ROW_CORRUPT, r->col = i;
    return;
  }
  const void *p = sqlite3_column_blob(r->s, i);
  if (!p) r->bad = ROW_OOM;
  else memcpy(out, p, 32);
}

/* NULL as -1 */
static int64_t row_opt_int(Row *r, int i) {
  return sqlite3_column_type(r->s, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(r->s, i);
}

static int row_failed(Store *st, Row *r, const char *table) {
  if (r->bad == ROW_OOM) return oom(st);
  const char *col = sqlite3_column_name(r->s, r->col);
  set_err(st, "corrupt store: %s row with a missing or malformed %s", table, col ? col : "column");
  return ST_ERR;
}

static void free_str(char *s) {
  if (s) mem_free(s, strlen(s) + 1);
}

/* Grow a list by one element; NULL when out of memory (v untouched). */
static void *grow(void *v, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) return v;
  size_t ncap = *cap ? *cap * 2 : 8;
  void *nv = mem_realloc(v, *cap * elem, ncap * elem);
  if (nv) *cap = ncap;
  return nv;
}

/* ---- opening, the schema -------------------------------------------------------- */

static int exec(Store *st, const char *sql, const char *what) {
  int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? ST_OK : fail(st, rc, what);
}

/* The schema version: 0 for an empty database; an error for a database that
 * has tables but no meta table (not a hitl store) or a malformed meta. */
static int read_version(Store *st, int64_t *version) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_SCHEMA_STATE, &b);
  if (!s) return st->start_rc;
  int status = ST_OK;
  if (next_row(st, s, "reading the schema", &status) <= 0)
    return status != ST_OK ? status : (set_err(st, "reading the schema: no answer"), ST_ERR);
  int64_t has_meta = sqlite3_column_int64(s, 0), tables = sqlite3_column_int64(s, 1);
  done(s);
  if (!has_meta) {
    if (tables > 0) {
      set_err(st, "not a hitl store: the database has tables but no meta table");
      return ST_ERR;
    }
    *version = 0;
    return ST_OK;
  }
  if (!(s = start(st, Q_GET_VERSION, &b))) return st->start_rc;
  int r = next_row(st, s, "reading the schema version", &status);
  if (r < 0) return status;
  if (r == 0 || sqlite3_column_type(s, 0) != SQLITE_INTEGER || sqlite3_column_int64(s, 0) < 0) {
    done(s);
    set_err(st, "corrupt store: the meta table has no valid schema_version");
    return ST_ERR;
  }
  *version = sqlite3_column_int64(s, 0);
  done(s);
  return ST_OK;
}

static int too_new(Store *st, int64_t v) {
  set_err(st, "the store's schema version %lld is newer than this hitl supports (%d): upgrade hitl",
          (long long)v, SCHEMA_VERSION);
  return ST_ERR;
}

/* Bring the schema to SCHEMA_VERSION: the missing migrations in one write
 * transaction (another process may have done it meanwhile: read again
 * under the lock). */
static int migrate(Store *st) {
  int64_t v;
  int rc = read_version(st, &v);
  if (rc != ST_OK) return rc;
  if (v > SCHEMA_VERSION) return too_new(st, v);
  if (v == SCHEMA_VERSION) {
    st->version = (int)v;
    return ST_OK;
  }
  if ((rc = st_begin(st)) != ST_OK) return rc;
  if ((rc = read_version(st, &v)) != ST_OK) goto undo;
  if (v > SCHEMA_VERSION) {
    rc = too_new(st, v);
    goto undo;
  }
  if ((rc = exec(st, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)",
                 "creating the meta table")) != ST_OK)
    goto undo;
  for (int64_t i = v; i < SCHEMA_VERSION; i++) {
    char what[64];
    snprintf(what, sizeof what, "migrating the schema to version %lld", (long long)i + 1);
    if ((rc = exec(st, migrations[i], what)) != ST_OK) goto undo;
  }
  Bind b;
  sqlite3_stmt *s = start(st, Q_SET_VERSION, &b);
  if (!s) {
    rc = ST_ERR;
    goto undo;
  }
  b_int(&b, 1, SCHEMA_VERSION);
  if (b.rc != SQLITE_OK) {
    rc = bind_failed(st, &b, "recording the schema version");
    goto undo;
  }
  if ((rc = run(st, s, "recording the schema version")) != ST_OK) goto undo;
  if ((rc = st_commit(st)) != ST_OK) return rc;
  st->version = SCHEMA_VERSION;
  return ST_OK;
undo:
  st_rollback(st);
  return rc;
}

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
      set_err(st, "HITL_STORE_SYNC must be FULL or NORMAL, not '%s'", sync);
      return ST_ERR;
    }
  }
  sqlite3_extended_result_codes(st->db, 1);
  sqlite3_busy_timeout(st->db, busy_ms());
  /* a hostile file's schema may not hide side effects in triggers or views */
  sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
  sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);

  /* the first read: a file that is not a database fails here */
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    int out = fail(st, rc, "setting the WAL journal");
    sqlite3_finalize(s);
    return out;
  }
  const char *mode = (const char *)sqlite3_column_text(s, 0);
  bool ok = mode && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0);
  if (!ok) set_err(st, "the store needs a WAL journal, and SQLite kept '%s'", mode ? mode : "?");
  sqlite3_finalize(s);
  if (!ok) return ST_ERR;

  char pragmas[96];
  snprintf(pragmas, sizeof pragmas, "PRAGMA synchronous = %s; PRAGMA foreign_keys = ON", level);
  return exec(st, pragmas, "setting the pragmas");
}

int st_open(const char *path, Store **out, char *err, size_t n) {
  *out = NULL;
  pthread_once(&sq_once, sq_configure);
  Store *st = mem_calloc(sizeof *st);
  if (!st) {
    if (err && n) snprintf(err, n, "%s: out of memory", path);
    return ST_ERR;
  }
  int rc = sqlite3_open_v2(path, &st->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  int status = ST_OK;
  if (rc != SQLITE_OK) status = st->db ? fail(st, rc, "opening") : oom(st);
  if (status == ST_OK) status = configure(st);
  if (status == ST_OK) status = migrate(st);
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
    set_err(st, "st_begin: a transaction is already open");
    return ST_ERR;
  }
  Bind b;
  sqlite3_stmt *s = start(st, Q_BEGIN, &b);
  if (!s) return st->start_rc;
  int rc = run(st, s, "st_begin");
  if (rc == ST_OK) st->in_txn = true;
  return rc;
}

int st_commit(Store *st) {
  if (!st->in_txn) {
    set_err(st, "st_commit: no transaction is open");
    return ST_ERR;
  }
  st->in_txn = false;
  if (sqlite3_get_autocommit(st->db)) {
    set_err(st, "st_commit: the transaction was rolled back after an earlier error");
    return ST_ERR;
  }
  sqlite3_stmt *s = stmt(st, Q_COMMIT);
  int rc = s ? run(st, s, "st_commit") : ST_ERR;
  if (rc != ST_OK && !sqlite3_get_autocommit(st->db)) {
    /* still open (e.g. busy): undo it, so a failed commit changes nothing */
    sqlite3_stmt *r = stmt(st, Q_ROLLBACK);
    if (r) {
      sqlite3_step(r);
      done(r);
    }
  }
  return rc;
}

/* Safe after any failure, and a no-op without an open transaction. */
int st_rollback(Store *st) {
  st->in_txn = false;
  if (sqlite3_get_autocommit(st->db)) return ST_OK;
  sqlite3_stmt *s = stmt(st, Q_ROLLBACK);
  return s ? run(st, s, "st_rollback") : ST_ERR;
}

/* ---- programs ------------------------------------------------------------------- */

int st_put_program(Store *st, const uint8_t hash[32], const char *playbook, const uint8_t *bytes,
                   size_t len) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_PUT_PROGRAM, &b);
  if (!s) return st->start_rc;
  b_blob(&b, 1, hash, 32);
  b_text(&b, 2, playbook);
  b_blob(&b, 3, bytes, len);
  b_int(&b, 4, (int64_t)time(NULL));
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_put_program");
  return run(st, s, "st_put_program");
}

/* One blob column of the one row a query finds. */
static int get_blob(Store *st, int which, Bind *b, const char *what, uint8_t **bytes, size_t *len) {
  sqlite3_stmt *s = b->s;
  *bytes = NULL;
  *len = 0;
  if (b->rc != SQLITE_OK) return bind_failed(st, b, what);
  int status = ST_OK;
  int r = next_row(st, s, what, &status);
  if (r < 0) return status;
  if (r == 0) {
    done(s);
    set_err(st, "%s: not found", what);
    return ST_NOTFOUND;
  }
  Row row = {s, 0, 0};
  *bytes = row_blob(&row, 0, len);
  int rc = row.bad ? row_failed(st, &row, which == Q_GET_PROGRAM ? "programs" : "snapshots") : ST_OK;
  done(s);
  return rc;
}

int st_get_program(Store *st, const uint8_t hash[32], uint8_t **bytes, size_t *len) {
  Bind b;
  *bytes = NULL;
  *len = 0;
  if (!start(st, Q_GET_PROGRAM, &b)) return st->start_rc;
  b_blob(&b, 1, hash, 32);
  return get_blob(st, Q_GET_PROGRAM, &b, "st_get_program", bytes, len);
}

/* ---- instances ------------------------------------------------------------------ */

void st_instance_free(StInstance *in) {
  if (!in) return;
  char *strs[] = {in->id, in->playbook, in->status, in->starter, in->input, in->params,
                  in->mocks, in->mock_state, in->result, in->error, in->owner};
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) free_str(strs[i]);
  memset(in, 0, sizeof *in);
}

void st_instances_free(StInstance *v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) st_instance_free(&v[i]);
  mem_free(v, 0);
}

static int read_instance(Store *st, sqlite3_stmt *s, StInstance *in) {
  Row r = {s, 0, 0};
  memset(in, 0, sizeof *in);
  in->id = row_str(&r, 0, false);
  row_hash(&r, 1, in->program);
  in->playbook = row_str(&r, 2, false);
  in->status = row_str(&r, 3, false);
  in->starter = row_str(&r, 4, false);
  in->input = row_str(&r, 5, false);
  in->params = row_str(&r, 6, false);
  in->mocks = row_str(&r, 7, true);
  in->mock_state = row_str(&r, 8, true);
  in->result = row_str(&r, 9, true);
  in->error = row_str(&r, 10, true);
  in->owner = row_str(&r, 11, true);
  in->segment = sqlite3_column_int64(s, 12);
  in->created = sqlite3_column_int64(s, 13);
  in->updated = sqlite3_column_int64(s, 14);
  if (!r.bad) return ST_OK;
  st_instance_free(in);
  return row_failed(st, &r, "instances");
}

int st_insert_instance(Store *st, const StInstance *in) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_INSERT_INSTANCE, &b);
  if (!s) return st->start_rc;
  b_text(&b, 1, in->id);
  b_blob(&b, 2, in->program, 32);
  b_text(&b, 3, in->playbook);
  b_text(&b, 4, in->status);
  b_text(&b, 5, in->starter);
  b_text(&b, 6, in->input);
  b_text(&b, 7, in->params);
  b_text(&b, 8, in->mocks);
  b_text(&b, 9, in->mock_state);
  b_text(&b, 10, in->result);
  b_text(&b, 11, in->error);
  b_text(&b, 12, in->owner);
  b_int(&b, 13, in->segment);
  b_int(&b, 14, in->created);
  b_int(&b, 15, in->updated);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_insert_instance");
  return run(st, s, "st_insert_instance");
}

int st_get_instance(Store *st, const char *id, StInstance *out) {
  Bind b;
  memset(out, 0, sizeof *out);
  sqlite3_stmt *s = start(st, Q_GET_INSTANCE, &b);
  if (!s) return st->start_rc;
  b_text(&b, 1, id);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_get_instance");
  int status = ST_OK;
  int r = next_row(st, s, "st_get_instance", &status);
  if (r < 0) return status;
  if (r == 0) {
    done(s);
    set_err(st, "no instance %s", id ? id : "(null)");
    return ST_NOTFOUND;
  }
  int rc = read_instance(st, s, out);
  done(s);
  return rc;
}

/* A write that must touch exactly one row: none is ST_NOTFOUND. */
static int run_one(Store *st, sqlite3_stmt *s, const char *what, const char *missing) {
  int rc = run(st, s, what);
  if (rc == ST_OK && sqlite3_changes(st->db) == 0) {
    set_err(st, "%s: %s", what, missing);
    return ST_NOTFOUND;
  }
  return rc;
}

int st_update_instance(Store *st, const StInstance *in) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_UPDATE_INSTANCE, &b);
  if (!s) return st->start_rc;
  b_text(&b, 1, in->id);
  b_text(&b, 2, in->status);
  b_text(&b, 3, in->result);
  b_text(&b, 4, in->error);
  b_text(&b, 5, in->mock_state);
  b_int(&b, 6, in->segment);
  b_text(&b, 7, in->owner);
  b_int(&b, 8, in->updated);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_update_instance");
  return run_one(st, s, "st_update_instance", "no such instance");
}

int st_list_instances(Store *st, const char *status, StInstance **out, size_t *n) {
  Bind b;
  *out = NULL;
  *n = 0;
  sqlite3_stmt *s = start(st, status ? Q_LIST_INSTANCES_STATUS : Q_LIST_INSTANCES, &b);
  if (!s) return st->start_rc;
  if (status) b_text(&b, 1, status);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_list_instances");
  StInstance *v = NULL;
  size_t len = 0, cap = 0;
  int rc = ST_OK, r;
  while ((r = next_row(st, s, "st_list_instances", &rc)) > 0) {
    StInstance *nv = grow(v, &cap, len, sizeof *v);
    if (!nv) {
      rc = oom(st);
      break;
    }
    v = nv;
    if ((rc = read_instance(st, s, &v[len])) != ST_OK) break;
    len++;
  }
  if (r >= 0) done(s);
  if (rc != ST_OK) {
    st_instances_free(v, len);
    return rc;
  }
  *out = v;
  *n = len;
  return ST_OK;
}

/* ---- snapshots ------------------------------------------------------------------ */

int st_save_snapshot(Store *st, const char *instance, const uint8_t *bytes, size_t len) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_SAVE_SNAPSHOT, &b);
  if (!s) return st->start_rc;
  b_text(&b, 1, instance);
  b_blob(&b, 2, bytes, len);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_save_snapshot");
  return run(st, s, "st_save_snapshot");
}

int st_load_snapshot(Store *st, const char *instance, uint8_t **bytes, size_t *len) {
  Bind b;
  *bytes = NULL;
  *len = 0;
  if (!start(st, Q_LOAD_SNAPSHOT, &b)) return st->start_rc;
  b_text(&b, 1, instance);
  return get_blob(st, Q_LOAD_SNAPSHOT, &b, "st_load_snapshot", bytes, len);
}

int st_delete_snapshot(Store *st, const char *instance) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_DELETE_SNAPSHOT, &b);
  if (!s) return st->start_rc;
  b_text(&b, 1, instance);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_delete_snapshot");
  return run_one(st, s, "st_delete_snapshot", "the instance has no snapshot");
}

/* ---- items ---------------------------------------------------------------------- */

void st_item_free(StItem *it) {
  if (!it) return;
  char *strs[] = {it->instance, it->kind,     it->title,  it->payload,       it->digest,
                  it->by,       it->editable, it->status, it->timeout_reason};
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) free_str(strs[i]);
  memset(it, 0, sizeof *it);
}

void st_items_free(StItem *v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) st_item_free(&v[i]);
  mem_free(v, 0);
}

static int read_item(Store *st, sqlite3_stmt *s, StItem *it) {
  Row r = {s, 0, 0};
  memset(it, 0, sizeof *it);
  it->id = sqlite3_column_int64(s, 0);
  it->instance = row_str(&r, 1, false);
  it->kind = row_str(&r, 2, false);
  it->title = row_str(&r, 3, false);
  it->payload = row_str(&r, 4, false);
  it->digest = row_str(&r, 5, true);
  it->by = row_str(&r, 6, true);
  it->quorum = sqlite3_column_int64(s, 7);
  it->editable = row_str(&r, 8, false);
  it->status = row_str(&r, 9, false);
  it->created = sqlite3_column_int64(s, 10);
  it->deadline = row_opt_int(&r, 11);
  int64_t tv = row_opt_int(&r, 12);
  it->timeout_verdict = tv == 0 || tv == 1 ? (int)tv : -1;
  it->timeout_reason = row_str(&r, 13, true);
  if (!r.bad) return ST_OK;
  st_item_free(it);
  return row_failed(st, &r, "items");
}

int st_insert_item(Store *st, StItem *it) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_INSERT_ITEM, &b);
  if (!s) return st->start_rc;
  b_text(&b, 1, it->instance);
  b_text(&b, 2, it->kind);
  b_text(&b, 3, it->title);
  b_text(&b, 4, it->payload);
  b_text(&b, 5, it->digest);
  b_text(&b, 6, it->by);
  b_int(&b, 7, it->quorum);
  b_text(&b, 8, it->editable);
  b_text(&b, 9, it->status);
  b_int(&b, 10, it->created);
  b_opt_int(&b, 11, it->deadline);
  b_opt_int(&b, 12, it->timeout_verdict);
  b_text(&b, 13, it->timeout_reason);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_insert_item");
  int rc = run(st, s, "st_insert_item");
  if (rc == ST_OK) it->id = sqlite3_last_insert_rowid(st->db);
  return rc;
}

int st_set_item_digest(Store *st, int64_t id, const char *digest) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_SET_ITEM_DIGEST, &b);
  if (!s) return st->start_rc;
  b_int(&b, 1, id);
  b_text(&b, 2, digest);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_set_item_digest");
  return run_one(st, s, "st_set_item_digest", "no such item");
}

int st_get_item(Store *st, int64_t id, StItem *out) {
  Bind b;
  memset(out, 0, sizeof *out);
  sqlite3_stmt *s = start(st, Q_GET_ITEM, &b);
  if (!s) return st->start_rc;
  b_int(&b, 1, id);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_get_item");
  int status = ST_OK;
  int r = next_row(st, s, "st_get_item", &status);
  if (r < 0) return status;
  if (r == 0) {
    done(s);
    set_err(st, "no item %lld", (long long)id);
    return ST_NOTFOUND;
  }
  int rc = read_item(st, s, out);
  done(s);
  return rc;
}

int st_list_items(Store *st, const char *status, const char *group, StItem **out, size_t *n) {
  Bind b;
  *out = NULL;
  *n = 0;
  int which = status ? (group ? Q_LIST_ITEMS_STATUS_GROUP : Q_LIST_ITEMS_STATUS)
                     : (group ? Q_LIST_ITEMS_GROUP : Q_LIST_ITEMS);
  sqlite3_stmt *s = start(st, which, &b);
  if (!s) return st->start_rc;
  if (status) b_text(&b, 1, status);
  if (group) b_text(&b, 2, group);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_list_items");
  StItem *v = NULL;
  size_t len = 0, cap = 0;
  int rc = ST_OK, r;
  while ((r = next_row(st, s, "st_list_items", &rc)) > 0) {
    StItem *nv = grow(v, &cap, len, sizeof *v);
    if (!nv) {
      rc = oom(st);
      break;
    }
    v = nv;
    if ((rc = read_item(st, s, &v[len])) != ST_OK) break;
    len++;
  }
  if (r >= 0) done(s);
  if (rc != ST_OK) {
    st_items_free(v, len);
    return rc;
  }
  *out = v;
  *n = len;
  return ST_OK;
}

int st_close_item(Store *st, int64_t id, const char *new_status) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_CLOSE_ITEM, &b);
  if (!s) return st->start_rc;
  b_int(&b, 1, id);
  b_text(&b, 2, new_status);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_close_item");
  int rc = run(st, s, "st_close_item");
  if (rc != ST_OK || sqlite3_changes(st->db) == 1) return rc;
  /* nothing changed: decided already, or no such item */
  if (!(s = start(st, Q_ITEM_EXISTS, &b))) return st->start_rc;
  b_int(&b, 1, id);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_close_item");
  int status = ST_OK;
  int r = next_row(st, s, "st_close_item", &status);
  if (r < 0) return status;
  done(s);
  if (r == 0) {
    set_err(st, "no item %lld", (long long)id);
    return ST_NOTFOUND;
  }
  set_err(st, "item %lld is already decided", (long long)id);
  return ST_CONFLICT;
}

int64_t st_count_open_items(Store *st) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_COUNT_OPEN_ITEMS, &b);
  if (!s) return -1;
  int status = ST_OK;
  int r = next_row(st, s, "st_count_open_items", &status);
  if (r < 0) return -1;
  int64_t count = r ? sqlite3_column_int64(s, 0) : 0;
  done(s);
  return count;
}

/* ---- verdicts ------------------------------------------------------------------- */

void st_verdict_free(StVerdict *v) {
  if (!v) return;
  char *strs[] = {v->instance, v->verdict, v->reviewer, v->reason, v->edits};
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) free_str(strs[i]);
  memset(v, 0, sizeof *v);
}

void st_verdicts_free(StVerdict *v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) st_verdict_free(&v[i]);
  mem_free(v, 0);
}

int st_insert_verdict(Store *st, StVerdict *v) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_INSERT_VERDICT, &b);
  if (!s) return st->start_rc;
  b_int(&b, 1, v->item);
  b_text(&b, 2, v->instance);
  b_text(&b, 3, v->verdict);
  b_text(&b, 4, v->reviewer);
  b_text(&b, 5, v->reason);
  b_text(&b, 6, v->edits);
  b_int(&b, 7, v->at);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_insert_verdict");
  int rc = run(st, s, "st_insert_verdict");
  if (rc == ST_OK) v->id = sqlite3_last_insert_rowid(st->db);
  return rc;
}

static int read_verdict(Store *st, sqlite3_stmt *s, StVerdict *v) {
  Row r = {s, 0, 0};
  memset(v, 0, sizeof *v);
  v->id = sqlite3_column_int64(s, 0);
  v->item = sqlite3_column_int64(s, 1);
  v->instance = row_str(&r, 2, false);
  v->verdict = row_str(&r, 3, false);
  v->reviewer = row_str(&r, 4, false);
  v->reason = row_str(&r, 5, true);
  v->edits = row_str(&r, 6, true);
  v->at = sqlite3_column_int64(s, 7);
  if (!r.bad) return ST_OK;
  st_verdict_free(v);
  return row_failed(st, &r, "verdicts");
}

int st_list_verdicts(Store *st, int64_t item, StVerdict **out, size_t *n) {
  Bind b;
  *out = NULL;
  *n = 0;
  sqlite3_stmt *s = start(st, Q_LIST_VERDICTS, &b);
  if (!s) return st->start_rc;
  b_int(&b, 1, item);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_list_verdicts");
  StVerdict *v = NULL;
  size_t len = 0, cap = 0;
  int rc = ST_OK, r;
  while ((r = next_row(st, s, "st_list_verdicts", &rc)) > 0) {
    StVerdict *nv = grow(v, &cap, len, sizeof *v);
    if (!nv) {
      rc = oom(st);
      break;
    }
    v = nv;
    if ((rc = read_verdict(st, s, &v[len])) != ST_OK) break;
    len++;
  }
  if (r >= 0) done(s);
  if (rc != ST_OK) {
    st_verdicts_free(v, len);
    return rc;
  }
  *out = v;
  *n = len;
  return ST_OK;
}

/* ---- events --------------------------------------------------------------------- */

/* seq is max + 1 within the one INSERT, so the statement's write transaction
 * (or the caller's) covers reading the maximum and writing the row. */
int st_append_event(Store *st, const char *instance, int64_t at, const char *kind,
                    const char *fields) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_APPEND_EVENT, &b);
  if (!s) return st->start_rc;
  b_text(&b, 1, instance);
  b_int(&b, 2, at);
  b_text(&b, 3, kind);
  b_text(&b, 4, fields);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_append_event");
  return run(st, s, "st_append_event");
}

void st_events_free(StEvent *v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) {
    free_str(v[i].kind);
    free_str(v[i].fields);
  }
  mem_free(v, 0);
}

int st_list_events(Store *st, const char *instance, StEvent **out, size_t *n) {
  Bind b;
  *out = NULL;
  *n = 0;
  sqlite3_stmt *s = start(st, Q_LIST_EVENTS, &b);
  if (!s) return st->start_rc;
  b_text(&b, 1, instance);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_list_events");
  StEvent *v = NULL;
  size_t len = 0, cap = 0;
  int rc = ST_OK, r;
  while ((r = next_row(st, s, "st_list_events", &rc)) > 0) {
    StEvent *nv = grow(v, &cap, len, sizeof *v);
    if (!nv) {
      rc = oom(st);
      break;
    }
    v = nv;
    Row row = {s, 0, 0};
    StEvent *e = &v[len];
    e->seq = sqlite3_column_int64(s, 0);
    e->at = sqlite3_column_int64(s, 1);
    e->kind = row_str(&row, 2, false);
    e->fields = row_str(&row, 3, false);
    if (row.bad) {
      free_str(e->kind);
      free_str(e->fields);
      rc = row_failed(st, &row, "events");
      break;
    }
    len++;
  }
  if (r >= 0) done(s);
  if (rc != ST_OK) {
    st_events_free(v, len);
    return rc;
  }
  *out = v;
  *n = len;
  return ST_OK;
}

/* ---- the action journal --------------------------------------------------------- */

void st_call_free(StCall *c) {
  if (!c) return;
  char *strs[] = {c->instance, c->action, c->args, c->state, c->result};
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) free_str(strs[i]);
  memset(c, 0, sizeof *c);
}

int st_get_call(Store *st, const char *instance, int64_t idx, StCall *out) {
  Bind b;
  memset(out, 0, sizeof *out);
  sqlite3_stmt *s = start(st, Q_GET_CALL, &b);
  if (!s) return st->start_rc;
  b_text(&b, 1, instance);
  b_int(&b, 2, idx);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_get_call");
  int status = ST_OK;
  int r = next_row(st, s, "st_get_call", &status);
  if (r < 0) return status;
  if (r == 0) {
    done(s);
    set_err(st, "no call %lld of instance %s", (long long)idx, instance ? instance : "(null)");
    return ST_NOTFOUND;
  }
  Row row = {s, 0, 0};
  out->instance = row_str(&row, 0, false);
  out->idx = sqlite3_column_int64(s, 1);
  out->action = row_str(&row, 2, false);
  out->args = row_str(&row, 3, false);
  out->state = row_str(&row, 4, false);
  out->result = row_str(&row, 5, true);
  out->at = sqlite3_column_int64(s, 6);
  int rc = ST_OK;
  if (row.bad) {
    st_call_free(out);
    rc = row_failed(st, &row, "calls");
  }
  done(s);
  return rc;
}

int st_put_call(Store *st, const StCall *c) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_PUT_CALL, &b);
  if (!s) return st->start_rc;
  b_text(&b, 1, c->instance);
  b_int(&b, 2, c->idx);
  b_text(&b, 3, c->action);
  b_text(&b, 4, c->args);
  b_text(&b, 5, c->state);
  b_text(&b, 6, c->result);
  b_int(&b, 7, c->at);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_put_call");
  return run(st, s, "st_put_call");
}

/* ---- calibrated thresholds ------------------------------------------------------ */

int st_put_threshold(Store *st, const StThreshold *t) {
  Bind b;
  sqlite3_stmt *s = start(st, Q_PUT_THRESHOLD, &b);
  if (!s) return st->start_rc;
  b_text(&b, 1, t->playbook);
  b_text(&b, 2, t->action);
  if (b.rc == SQLITE_OK) b.rc = sqlite3_bind_double(s, 3, t->value);
  if (b.rc == SQLITE_OK) b.rc = sqlite3_bind_double(s, 4, t->target);
  b_int(&b, 5, t->samples);
  b_int(&b, 6, t->at);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_put_threshold");
  return run(st, s, "st_put_threshold");
}

void st_thresholds_free(StThreshold *v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) {
    free_str(v[i].playbook);
    free_str(v[i].action);
  }
  mem_free(v, 0);
}

int st_list_thresholds(Store *st, const char *playbook, StThreshold **out, size_t *n) {
  Bind b;
  *out = NULL;
  *n = 0;
  sqlite3_stmt *s = start(st, playbook ? Q_LIST_THRESHOLDS_PLAYBOOK : Q_LIST_THRESHOLDS, &b);
  if (!s) return st->start_rc;
  if (playbook) b_text(&b, 1, playbook);
  if (b.rc != SQLITE_OK) return bind_failed(st, &b, "st_list_thresholds");
  StThreshold *v = NULL;
  size_t len = 0, cap = 0;
  int rc = ST_OK, r;
  while ((r = next_row(st, s, "st_list_thresholds", &rc)) > 0) {
    StThreshold *nv = grow(v, &cap, len, sizeof *v);
    if (!nv) {
      rc = oom(st);
      break;
    }
    v = nv;
    Row row = {s, 0, 0};
    StThreshold *t = &v[len];
    t->playbook = row_str(&row, 0, false);
    t->action = row_str(&row, 1, false);
    t->value = sqlite3_column_double(s, 2);
    t->target = sqlite3_column_double(s, 3);
    t->samples = sqlite3_column_int64(s, 4);
    t->at = sqlite3_column_int64(s, 5);
    if (row.bad) {
      free_str(t->playbook);
      free_str(t->action);
      rc = row_failed(st, &row, "thresholds");
      break;
    }
    len++;
  }
  if (r >= 0) done(s);
  if (rc != ST_OK) {
    st_thresholds_free(v, len);
    return rc;
  }
  *out = v;
  *n = len;
  return ST_OK;
}

/* ---- decisions and action calls (stats, calibrate, export) ----------------------- */

/* A text column as SQLite holds it (valid until the next step), NULL for NULL;
 * out of memory converting it sets *oom. */
static const char *col_text(sqlite3_stmt *s, int i, bool *oom_flag) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return NULL;
  const char *t = (const char *)sqlite3_column_text(s, i);
  if (!t) *oom_flag = true;
  return t;
}

/* A number column, -1 when NULL or not a number. */
static double col_num(sqlite3_stmt *s, int i) {
  int t = sqlite3_column_type(s, i);
  return t == SQLITE_INTEGER || t == SQLITE_FLOAT ? sqlite3_column_double(s, i) : -1.0;
}

/* Step through a query, handing each row to `row`; 0 from it stops. */
static int each_row(Store *st, int which, const char *what, bool (*row)(Store *, sqlite3_stmt *, void *),
                    void *ctx) {
  Bind b;
  sqlite3_stmt *s = start(st, which, &b);
  if (!s) return st->start_rc;
  int rc = ST_OK, r;
  while ((r = next_row(st, s, what, &rc)) > 0)
    if (!row(st, s, ctx)) {
      if (rc == ST_OK) {
        set_err(st, "%s: stopped by the caller", what);
        rc = ST_ERR;
      }
      break;
    }
  if (r >= 0) done(s);
  return rc;
}

typedef struct DecisionWalk {
  StDecisionFn fn;
  void *user;
  int rc;
} DecisionWalk;

static bool decision_row(Store *st, sqlite3_stmt *s, void *ctx) {
  DecisionWalk *w = ctx;
  bool no_mem = false;
  StDecision d;
  d.item = sqlite3_column_int64(s, 0);
  d.instance = col_text(s, 1, &no_mem);
  d.playbook = col_text(s, 2, &no_mem);
  d.action = col_text(s, 3, &no_mem);
  d.confidence = col_num(s, 4);
  d.threshold = col_num(s, 5);
  d.payload = col_text(s, 6, &no_mem);
  d.status = col_text(s, 7, &no_mem);
  d.created = sqlite3_column_int64(s, 8);
  d.verdict = col_text(s, 9, &no_mem);
  d.reviewer = col_text(s, 10, &no_mem);
  d.reason = col_text(s, 11, &no_mem);
  d.edits = col_text(s, 12, &no_mem);
  d.at = sqlite3_column_type(s, 13) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 13);
  d.args = col_text(s, 14, &no_mem);
  d.risk = col_text(s, 15, &no_mem);
  d.rule = col_text(s, 16, &no_mem);
  d.because = col_text(s, 17, &no_mem);
  if (no_mem) {
    w->rc = oom(st);
    return false;
  }
  if (!d.instance || !d.playbook || !d.action || !d.payload || !d.status) {
    set_err(st, "corrupt store: an item with a missing column");
    w->rc = ST_ERR;
    return false;
  }
  return w->fn(w->user, &d);
}

int st_each_decision(Store *st, StDecisionFn fn, void *user) {
  DecisionWalk w = {fn, user, ST_OK};
  int rc = each_row(st, Q_EACH_DECISION, "st_each_decision", decision_row, &w);
  return w.rc != ST_OK ? w.rc : rc;
}

typedef struct CallWalk {
  StActionCallFn fn;
  void *user;
  int rc;
} CallWalk;

static bool call_row(Store *st, sqlite3_stmt *s, void *ctx) {
  CallWalk *w = ctx;
  bool no_mem = false;
  StActionCall c;
  c.instance = col_text(s, 0, &no_mem);
  c.playbook = col_text(s, 1, &no_mem);
  c.action = col_text(s, 2, &no_mem);
  c.route = col_text(s, 3, &no_mem);
  c.confidence = col_num(s, 4);
  c.seq = sqlite3_column_int64(s, 5);
  c.at = sqlite3_column_int64(s, 6);
  c.fields = col_text(s, 7, &no_mem);
  c.args = col_text(s, 8, &no_mem);
  c.rule = col_text(s, 9, &no_mem);
  c.because = col_text(s, 10, &no_mem);
  c.failed = sqlite3_column_int(s, 11) != 0;
  if (no_mem) {
    w->rc = oom(st);
    return false;
  }
  if (!c.instance || !c.playbook || !c.action || !c.route || !c.fields) {
    set_err(st, "corrupt store: an action event with a missing column");
    w->rc = ST_ERR;
    return false;
  }
  return w->fn(w->user, &c);
}

int st_each_action_call(Store *st, StActionCallFn fn, void *user) {
  CallWalk w = {fn, user, ST_OK};
  int rc = each_row(st, Q_EACH_ACTION_CALL, "st_each_action_call", call_row, &w);
  return w.rc != ST_OK ? w.rc : rc;
}
