/* vm/store_query.c — running the store's statements and reading their rows.
 *
 * The statement cache (each statement of vm/store_sqlite.h prepared once per
 * Store, SQLITE_PREPARE_PERSISTENT, and reset after every use), binding,
 * stepping, and turning rows into mem_alloc'd records (SqRecord): one
 * record, a list of them, or a walk over rows.  A row whose required
 * column is NULL or malformed (a hostile file) is an error, never a
 * half-filled record. */
#include "store_sqlite.h"

#include <string.h>

#include "mem.h"

static const char *const statement_sql[Q_COUNT] = {
#define SQ_SQL(name, sql) sql,
  SQ_STATEMENTS(SQ_SQL)
#undef SQ_SQL
};

/* ---- statements --------------------------------------------------------------------- */

sqlite3_stmt *sq_stmt(Store *st, int which) {
  if (st->q[which]) return st->q[which];
  int rc = sqlite3_prepare_v3(st->db, statement_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                              &st->q[which], NULL);
  if (rc != SQLITE_OK) {
    st->start_rc = sq_fail(st, rc, "prepare");
    sqlite3_finalize(st->q[which]);
    st->q[which] = NULL;
  }
  return st->q[which];
}

void sq_done(sqlite3_stmt *s) {
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

/* Inside st_begin, only while the transaction still stands: SQLite rolls a
 * transaction back by itself after some errors (I/O, out of memory), and a
 * write after that must not commit on its own. */
void sq_start(Store *st, int which, SqBind *b) {
  b->s = NULL;
  b->rc = SQLITE_MISUSE;   /* until it has started: every bind skipped */
  if (st->in_txn && sqlite3_get_autocommit(st->db)) {
    sq_err(st, "the transaction was rolled back after an earlier error; call st_rollback");
    st->start_rc = ST_ERR;
    return;
  }
  b->s = sq_stmt(st, which);
  if (b->s) b->rc = SQLITE_OK;
}

void sq_bind_text(SqBind *b, int i, const char *v) {
  if (b->rc != SQLITE_OK) return;
  b->rc = v ? sqlite3_bind_text(b->s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(b->s, i);
}

void sq_bind_int(SqBind *b, int i, int64_t v) {
  if (b->rc == SQLITE_OK) b->rc = sqlite3_bind_int64(b->s, i, v);
}

void sq_bind_opt_int(SqBind *b, int i, int64_t v) {
  if (b->rc == SQLITE_OK) b->rc = v < 0 ? sqlite3_bind_null(b->s, i) : sqlite3_bind_int64(b->s, i, v);
}

void sq_bind_double(SqBind *b, int i, double v) {
  if (b->rc == SQLITE_OK) b->rc = sqlite3_bind_double(b->s, i, v);
}

/* A zero-length blob is bound as one, not as NULL (what a NULL pointer binds). */
void sq_bind_blob(SqBind *b, int i, const void *p, size_t len) {
  if (b->rc != SQLITE_OK) return;
  if (len == 0) b->rc = sqlite3_bind_zeroblob(b->s, i, 0);
  else b->rc = sqlite3_bind_blob64(b->s, i, p, (sqlite3_uint64)len, SQLITE_STATIC);
}

int sq_ready(Store *st, SqBind *b, const char *what) {
  if (!b->s) return st->start_rc;
  if (b->rc == SQLITE_OK) return ST_OK;
  int rc = sq_fail(st, b->rc, what);
  sq_done(b->s);
  return rc;
}

int sq_run(Store *st, SqBind *b, const char *what) {
  int out = sq_ready(st, b, what);
  if (out != ST_OK) return out;
  int rc = sqlite3_step(b->s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) out = sq_fail(st, rc, what);
  sq_done(b->s);
  return out;
}

int sq_run_one(Store *st, SqBind *b, const char *what, const char *missing) {
  int rc = sq_run(st, b, what);
  if (rc == ST_OK && sqlite3_changes(st->db) == 0) {
    sq_err(st, "%s: %s", what, missing);
    return ST_NOTFOUND;
  }
  return rc;
}

int sq_next(Store *st, sqlite3_stmt *s, const char *what, int *status) {
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return 1;
  if (rc == SQLITE_DONE) return 0;
  *status = sq_fail(st, rc, what);
  sq_done(s);
  return -1;
}

int sq_first(Store *st, SqBind *b, const char *what) {
  int rc = sq_ready(st, b, what);
  if (rc != ST_OK) return rc;
  int r = sq_next(st, b->s, what, &rc);
  if (r < 0) return rc;
  if (r == 0) {
    sq_done(b->s);
    return ST_NOTFOUND;
  }
  return ST_OK;
}

int sq_each(Store *st, SqBind *b, const char *what, bool (*row)(Store *, sqlite3_stmt *, void *),
            void *ctx) {
  int rc = sq_ready(st, b, what);
  if (rc != ST_OK) return rc;
  int r;
  while ((r = sq_next(st, b->s, what, &rc)) > 0)
    if (!row(st, b->s, ctx)) {
      if (rc == ST_OK) {
        sq_err(st, "%s: stopped by the caller", what);
        rc = ST_ERR;
      }
      break;
    }
  if (r >= 0) sq_done(b->s);
  return rc;
}

/* ---- reading rows into mem_alloc'd records -------------------------------------- */

static char *dup_bytes(const void *p, size_t n) {
  char *c = mem_alloc(n + 1);
  if (!c) return NULL;
  if (n) memcpy(c, p, n);
  c[n] = '\0';
  return c;
}

/* The column is NULL: fine if nullable, corrupt if not. */
static bool col_null(SqRow *r, int i, bool nullable) {
  if (sqlite3_column_type(r->s, i) != SQLITE_NULL) return false;
  if (!nullable) r->bad = SQ_ROW_CORRUPT, r->col = i;
  return true;
}

char *sq_col_str(SqRow *r, int i, bool nullable) {
  if (r->bad || col_null(r, i, nullable)) return NULL;
  const unsigned char *t = sqlite3_column_text(r->s, i);
  if (!t) {   /* not NULL, so SQLite ran out of memory converting it */
    r->bad = SQ_ROW_OOM;
    return NULL;
  }
  char *c = dup_bytes(t, (size_t)sqlite3_column_bytes(r->s, i));
  if (!c) r->bad = SQ_ROW_OOM;
  return c;
}

/* A blob (or text: a hostile file may hold either) as mem_alloc'd bytes. */
uint8_t *sq_col_blob(SqRow *r, int i, size_t *len) {
  *len = 0;
  if (r->bad || col_null(r, i, false)) return NULL;
  const void *p = sqlite3_column_blob(r->s, i);
  size_t n = (size_t)sqlite3_column_bytes(r->s, i);
  if (!p && n) {
    r->bad = SQ_ROW_OOM;
    return NULL;
  }
  uint8_t *c = mem_alloc(n ? n : 1);
  if (!c) {
    r->bad = SQ_ROW_OOM;
    return NULL;
  }
  if (n) memcpy(c, p, n);
  *len = n;
  return c;
}

void sq_col_hash(SqRow *r, int i, uint8_t out[32]) {
  if (r->bad) return;
  if (sqlite3_column_type(r->s, i) != SQLITE_BLOB || sqlite3_column_bytes(r->s, i) != 32) {
    r->bad = SQ_ROW_CORRUPT, r->col = i;
    return;
  }
  const void *p = sqlite3_column_blob(r->s, i);
  if (!p) r->bad = SQ_ROW_OOM;
  else memcpy(out, p, 32);
}

int64_t sq_col_int(SqRow *r, int i) { return sqlite3_column_int64(r->s, i); }

int64_t sq_col_opt_int(SqRow *r, int i) {
  return sqlite3_column_type(r->s, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(r->s, i);
}

int sq_row_failed(Store *st, SqRow *r, const char *table) {
  if (r->bad == SQ_ROW_OOM) return sq_oom(st);
  const char *col = sqlite3_column_name(r->s, r->col);
  sq_err(st, "corrupt store: %s row with a missing or malformed %s", table, col ? col : "column");
  return ST_ERR;
}

void sq_free_str(char *s) {
  if (s) mem_free(s, strlen(s) + 1);
}

/* ---- records ---------------------------------------------------------------------- */

int sq_read(Store *st, sqlite3_stmt *s, const SqRecord *t, void *rec) {
  SqRow r = {s, 0, 0};
  memset(rec, 0, t->size);
  t->fill(&r, rec);
  if (!r.bad) return ST_OK;
  sq_record_free(t, rec);
  return sq_row_failed(st, &r, t->table);
}

void sq_record_free(const SqRecord *t, void *rec) {
  if (!rec) return;
  for (size_t i = 0; i < t->nstrs; i++) {
    char **p = (char **)((char *)rec + t->strs[i]);
    sq_free_str(*p);
  }
  memset(rec, 0, t->size);
}

void sq_records_free(const SqRecord *t, void *v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) sq_record_free(t, (char *)v + i * t->size);
  mem_free(v, 0);
}

int sq_get(Store *st, SqBind *b, const char *what, const SqRecord *t, void *out) {
  memset(out, 0, t->size);
  int rc = sq_first(st, b, what);
  if (rc != ST_OK) return rc;
  rc = sq_read(st, b->s, t, out);
  sq_done(b->s);
  return rc;
}

int sq_list(Store *st, SqBind *b, const char *what, const SqRecord *t, void **out, size_t *n) {
  *out = NULL;
  *n = 0;
  int rc = sq_ready(st, b, what);
  if (rc != ST_OK) return rc;
  char *v = NULL;
  size_t len = 0, cap = 0;
  int r;
  while ((r = sq_next(st, b->s, what, &rc)) > 0) {
    if (len == cap) {   /* grow by doubling; v untouched when out of memory */
      size_t ncap = cap ? cap * 2 : 8;
      char *nv = mem_realloc(v, cap * t->size, ncap * t->size);
      if (!nv) {
        rc = sq_oom(st);
        break;
      }
      v = nv;
      cap = ncap;
    }
    if ((rc = sq_read(st, b->s, t, v + len * t->size)) != ST_OK) break;
    len++;
  }
  if (r >= 0) sq_done(b->s);
  if (rc != ST_OK) {
    sq_records_free(t, v, len);
    return rc;
  }
  *out = v;
  *n = len;
  return ST_OK;
}
