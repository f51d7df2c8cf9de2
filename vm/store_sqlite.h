/* vm/store_sqlite.h — the SQLite store's internals, shared by vm/store_*.c
 * and by nothing else (the interface is vm/store.h).
 *
 * Here: every statement the store runs (one list, so that a Store prepares
 * each once and keeps it in one array), struct Store, and the sq_ helpers
 * the files have in common — errors and their status codes
 * (vm/store_sqlite.c), binding, stepping and reading rows into mem_alloc'd
 * records (vm/store_query.c), the version and migrations
 * (vm/store_schema.c), and the hash chains' links (vm/store_chain.c).
 * docs/store.md says which file does what. */
#ifndef HITL_STORE_SQLITE_H
#define HITL_STORE_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* ---- every statement, once ------------------------------------------------------ */

#define SQ_INSTANCE_COLS                                                                   \
  "id, program, playbook, status, starter, input, params, mocks, mock_state, result, "    \
  "error, owner, segment, created, updated"
#define SQ_ITEM_COLS                                                                       \
  "id, instance, kind, title, payload, digest, \"by\", quorum, editable, status, created, " \
  "deadline, timeout_verdict, timeout_reason"
#define SQ_VERDICT_COLS "id, item, instance, verdict, reviewer, reason, edits, at, signature"
#define SQ_REVIEWER_SELECT                                                                 \
  "SELECT r.name, r.key, (SELECT json_group_array(grp) FROM "                              \
  "(SELECT grp FROM memberships WHERE reviewer = r.name ORDER BY grp)), "                  \
  "r.created FROM reviewers r "
#define SQ_THRESHOLD_SELECT "SELECT playbook, action, value, target, samples, at FROM thresholds "

/* S(name, sql), grouped by the file that runs them */
#define SQ_STATEMENTS(S)                                                                   \
  /* store_sqlite.c: transactions */                                                       \
  S(BEGIN, "BEGIN IMMEDIATE")                                                              \
  S(COMMIT, "COMMIT")                                                                      \
  S(ROLLBACK, "ROLLBACK")                                                                  \
  /* store_schema.c */                                                                     \
  S(SCHEMA_STATE, "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "   \
                  "name = 'meta'), (SELECT count(*) FROM sqlite_master)")                  \
  S(GET_VERSION, "SELECT value FROM meta WHERE key = 'schema_version'")                    \
  S(SET_VERSION, "INSERT INTO meta(key, value) VALUES ('schema_version', ?1) "             \
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value")                  \
  /* store_rows.c */                                                                       \
  S(PUT_PROGRAM, "INSERT INTO programs(hash, playbook, bytes, created) "                   \
                 "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(hash) DO NOTHING")                   \
  S(GET_PROGRAM, "SELECT bytes FROM programs WHERE hash = ?1")                             \
  S(INSERT_INSTANCE, "INSERT INTO instances(" SQ_INSTANCE_COLS ") "                        \
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)") \
  S(GET_INSTANCE, "SELECT " SQ_INSTANCE_COLS " FROM instances WHERE id = ?1")              \
  S(UPDATE_INSTANCE, "UPDATE instances SET status = ?2, result = ?3, error = ?4, "         \
                     "mock_state = ?5, segment = ?6, owner = ?7, updated = ?8 WHERE id = ?1") \
  S(LIST_INSTANCES, "SELECT " SQ_INSTANCE_COLS " FROM instances ORDER BY created, id")     \
  S(LIST_INSTANCES_STATUS, "SELECT " SQ_INSTANCE_COLS " FROM instances WHERE status = ?1 " \
                           "ORDER BY created, id")                                         \
  /* the literal status lets SQLite use the partial index (v5) */                         \
  S(LIST_INSTANCES_RUNNING, "SELECT " SQ_INSTANCE_COLS " FROM instances "                  \
                            "WHERE status = 'running' ORDER BY created, id")               \
  S(SAVE_SNAPSHOT, "INSERT INTO snapshots(instance, bytes) VALUES (?1, ?2) "               \
                   "ON CONFLICT(instance) DO UPDATE SET bytes = excluded.bytes")           \
  S(LOAD_SNAPSHOT, "SELECT bytes FROM snapshots WHERE instance = ?1")                      \
  S(DELETE_SNAPSHOT, "DELETE FROM snapshots WHERE instance = ?1")                          \
  S(INSERT_ITEM, "INSERT INTO items(instance, kind, title, payload, digest, \"by\", quorum, " \
                 "editable, status, created, deadline, timeout_verdict, timeout_reason) "  \
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")        \
  S(SET_ITEM_DIGEST, "UPDATE items SET digest = ?2 WHERE id = ?1")                         \
  S(GET_ITEM, "SELECT " SQ_ITEM_COLS " FROM items WHERE id = ?1")                          \
  S(LIST_ITEMS, "SELECT " SQ_ITEM_COLS " FROM items ORDER BY id")                          \
  S(LIST_ITEMS_STATUS, "SELECT " SQ_ITEM_COLS " FROM items WHERE status = ?1 ORDER BY id") \
  S(LIST_ITEMS_GROUP, "SELECT " SQ_ITEM_COLS " FROM items WHERE \"by\" = ?2 ORDER BY id")  \
  S(LIST_ITEMS_STATUS_GROUP, "SELECT " SQ_ITEM_COLS " FROM items "                         \
                             "WHERE status = ?1 AND \"by\" = ?2 ORDER BY id")              \
  S(LIST_OPEN_ITEMS, "SELECT " SQ_ITEM_COLS " FROM items INDEXED BY items_open "           \
                     "WHERE status = 'open' ORDER BY id")                                  \
  S(LIST_OPEN_ITEMS_GROUP, "SELECT " SQ_ITEM_COLS " FROM items "                           \
                           "WHERE status = 'open' AND \"by\" = ?2 ORDER BY id")            \
  S(LIST_OPEN_ITEMS_OF, "SELECT " SQ_ITEM_COLS " FROM items "                              \
                        "WHERE status = 'open' AND instance = ?1 ORDER BY id")            \
  S(CLOSE_ITEM, "UPDATE items SET status = ?2 WHERE id = ?1 AND status = 'open'")          \
  S(ITEM_EXISTS, "SELECT 1 FROM items WHERE id = ?1")                                      \
  S(COUNT_OPEN_ITEMS, "SELECT count(*) FROM items WHERE status = 'open'")                  \
  S(INSERT_VERDICT, "INSERT INTO verdicts(item, instance, verdict, reviewer, reason, edits, at, " \
                    "signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                  \
  S(LIST_VERDICTS, "SELECT " SQ_VERDICT_COLS " FROM verdicts WHERE item = ?1 ORDER BY id") \
  /* store_registry.c */                                                                   \
  S(ADD_REVIEWER, "INSERT INTO reviewers(name, key, created) VALUES (?1, ?2, ?3) "         \
                  "ON CONFLICT(name) DO UPDATE SET key = coalesce(excluded.key, key)")     \
  S(ADD_MEMBERSHIP, "INSERT INTO memberships(reviewer, grp) VALUES (?1, ?2) "              \
                    "ON CONFLICT(reviewer, grp) DO NOTHING")                               \
  S(REMOVE_REVIEWER, "DELETE FROM reviewers WHERE name = ?1")                              \
  S(REMOVE_MEMBERSHIP, "DELETE FROM memberships WHERE reviewer = ?1 AND grp = ?2")         \
  S(IS_MEMBER, "SELECT 1 FROM memberships WHERE reviewer = ?1 AND grp = ?2")               \
  S(LIST_REVIEWERS, SQ_REVIEWER_SELECT "ORDER BY r.name")                                  \
  S(GET_REVIEWER, SQ_REVIEWER_SELECT "WHERE r.name = ?1")                                  \
  S(SET_GROUP_SIGNED, "INSERT INTO groups(name, signed) VALUES (?1, ?2) "                  \
                      "ON CONFLICT(name) DO UPDATE SET signed = excluded.signed")          \
  S(GET_GROUP_SIGNED, "SELECT signed FROM groups WHERE name = ?1")                         \
  /* store_chain.c */                                                                      \
  S(LAST_EVENT, "SELECT seq, hash FROM events WHERE instance = ?1 ORDER BY seq DESC LIMIT 1") \
  S(APPEND_EVENT, "INSERT INTO events(instance, seq, at, kind, fields, hash) "             \
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                       \
  S(SET_EVENT_HASH, "UPDATE events SET hash = ?3 WHERE instance = ?1 AND seq = ?2")        \
  S(PUT_HEAD, "INSERT INTO heads(instance, seq, hash) VALUES (?1, ?2, ?3) "                \
              "ON CONFLICT(instance) DO UPDATE SET seq = excluded.seq, hash = excluded.hash") \
  S(LAST_DECISION, "SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1")            \
  S(PUT_DECISION, "INSERT INTO decisions(seq, verdict, hash) VALUES (?1, ?2, ?3)")         \
  S(ALL_VERDICTS, "SELECT " SQ_VERDICT_COLS " FROM verdicts ORDER BY id")                  \
  S(LIST_EVENTS, "SELECT seq, at, kind, fields FROM events WHERE instance = ?1 ORDER BY seq") \
  /* store_audit.c */                                                                      \
  S(GET_HEAD, "SELECT seq, hash FROM heads WHERE instance = ?1")                           \
  S(EACH_DECISION_LINK, "SELECT d.seq, d.verdict, d.hash, v.id, v.item, v.instance, v.verdict, " \
                        "v.reviewer, v.reason, v.edits, v.at, v.signature FROM decisions d " \
                        "LEFT JOIN verdicts v ON v.id = d.verdict ORDER BY d.seq")         \
  S(UNCHAINED_VERDICT, "SELECT min(id) FROM verdicts WHERE id NOT IN "                     \
                       "(SELECT verdict FROM decisions)")                                  \
  S(LIST_EVENTS_HASHED, "SELECT seq, at, kind, fields, hash FROM events WHERE instance = ?1 " \
                        "ORDER BY seq")                                                    \
  /* store_journal.c */                                                                    \
  S(GET_CALL, "SELECT instance, idx, action, args, state, result, at FROM calls "          \
              "WHERE instance = ?1 AND idx = ?2")                                          \
  S(PUT_CALL, "INSERT INTO calls(instance, idx, action, args, state, result, at) "         \
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(instance, idx) DO UPDATE "  \
              "SET action = excluded.action, args = excluded.args, state = excluded.state, " \
              "result = excluded.result, at = excluded.at")                                \
  S(PRUNE_CALLS, "DELETE FROM calls WHERE instance = ?1 AND idx < ?2 "                   \
                 "AND state IN ('done', 'failed')")                                        \
  S(PUT_THRESHOLD, "INSERT INTO thresholds(playbook, action, value, target, samples, at) " \
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(playbook, action) DO UPDATE " \
                   "SET value = excluded.value, target = excluded.target, "                \
                   "samples = excluded.samples, at = excluded.at")                         \
  S(LIST_THRESHOLDS, SQ_THRESHOLD_SELECT "ORDER BY playbook, action")                      \
  S(LIST_THRESHOLDS_PLAYBOOK, SQ_THRESHOLD_SELECT "WHERE playbook = ?1 ORDER BY action")   \
  /* store_learn.c */                                                                      \
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

#define SQ_ENUM(name, sql) Q_##name,
enum { SQ_STATEMENTS(SQ_ENUM) Q_COUNT };
#undef SQ_ENUM

struct Store {
  sqlite3 *db;
  sqlite3_stmt *q[Q_COUNT];   /* prepared on first use, reset after each */
  bool in_txn;                /* between st_begin and st_commit / st_rollback */
  /* the last event appended in the open transaction (store_chain.c): the
   * next append to the same instance links to it without reading it back */
  char link_instance[64];
  int64_t link_seq;
  char link_hash[65];
  int start_rc;               /* the status of the last sq_start that failed */
  int version;
  char err[512];
};

/* ---- errors (vm/store_sqlite.c) ------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void sq_err(Store *st, const char *fmt, ...);   /* what st_errmsg will say */
int sq_oom(Store *st);                           /* "out of memory", ST_ERR */
/* SQLite said rc while doing `what`: say so, and map the code (busy or
 * locked ST_BUSY, a duplicate key ST_CONFLICT, a missing foreign row
 * ST_NOTFOUND, anything else ST_ERR). */
int sq_fail(Store *st, int rc, const char *what);
int sq_exec(Store *st, const char *sql, const char *what);   /* a script, no rows */

/* ---- running statements (vm/store_query.c) -------------------------------------- */

/* The statement, prepared on first use; NULL (st->start_rc set) on failure. */
sqlite3_stmt *sq_stmt(Store *st, int which);
void sq_done(sqlite3_stmt *s);   /* reset for reuse, bindings cleared */

/* A statement being bound.  The first failure is kept and the rest of the
 * binds skipped; a failed sq_start leaves s NULL, and whatever runs the
 * statement then returns st->start_rc. */
typedef struct SqBind {
  sqlite3_stmt *s;
  int rc;
} SqBind;

/* Start a statement: prepared, and (inside st_begin) only while the
 * transaction still stands. */
void sq_start(Store *st, int which, SqBind *b);
void sq_bind_text(SqBind *b, int i, const char *v);          /* NULL as NULL */
void sq_bind_int(SqBind *b, int i, int64_t v);
void sq_bind_opt_int(SqBind *b, int i, int64_t v);           /* -1 (none) as NULL */
void sq_bind_double(SqBind *b, int i, double v);
void sq_bind_blob(SqBind *b, int i, const void *p, size_t len);
/* ST_OK when the statement started and every bind took; else the error
 * (the statement reset). */
int sq_ready(Store *st, SqBind *b, const char *what);

/* Run a statement that returns no rows; sq_run_one: it must change exactly
 * one row, none is ST_NOTFOUND ("what: missing"). */
int sq_run(Store *st, SqBind *b, const char *what);
int sq_run_one(Store *st, SqBind *b, const char *what, const char *missing);
/* Step a query: 1 a row, 0 the end, -1 an error (*status set, statement reset). */
int sq_next(Store *st, sqlite3_stmt *s, const char *what, int *status);
/* Step to the first row of a bound query: ST_OK with the row current (read
 * it, then sq_done), ST_NOTFOUND with the statement reset and no message
 * set (the caller says what is missing), or the error. */
int sq_first(Store *st, SqBind *b, const char *what);
/* Hand each row to `row` until it returns false, which ends the walk with
 * ST_ERR, "what: stopped by the caller" (replacing any message the callback
 * set: a callback that fails keeps its own status, as store_learn.c's do). */
int sq_each(Store *st, SqBind *b, const char *what, bool (*row)(Store *, sqlite3_stmt *, void *),
            void *ctx);

/* ---- reading rows into mem_alloc'd records (vm/store_query.c) ------------------- */

/* The columns of the current row; the first bad one (SQ_ROW_OOM, or
 * SQ_ROW_CORRUPT: a required column NULL or malformed) is kept and every
 * later read skipped. */
typedef struct SqRow {
  sqlite3_stmt *s;
  int bad;
  int col;   /* the column that was corrupt */
} SqRow;
enum { SQ_ROW_OOM = 1, SQ_ROW_CORRUPT = 2 };

char *sq_col_str(SqRow *r, int i, bool nullable);            /* a mem_alloc'd copy */
uint8_t *sq_col_blob(SqRow *r, int i, size_t *len);          /* blob or text, mem_alloc'd */
void sq_col_hash(SqRow *r, int i, uint8_t out[32]);          /* a 32-byte blob */
int64_t sq_col_int(SqRow *r, int i);
int64_t sq_col_opt_int(SqRow *r, int i);                      /* NULL as -1 */
/* The error of a bad row: out of memory, or "corrupt store: <table> row
 * with a missing or malformed <column>". */
int sq_row_failed(Store *st, SqRow *r, const char *table);
void sq_free_str(char *s);

/* A record type: its table, its size, which of its fields are mem_alloc'd
 * strings, and how the current row fills it. */
typedef struct SqRecord {
  const char *table;
  size_t size;
  const size_t *strs;   /* offsets of its char * fields */
  size_t nstrs;
  void (*fill)(SqRow *r, void *rec);
} SqRecord;
#define SQ_COUNT_OF(a) (sizeof (a) / sizeof (a)[0])

/* The current row as a record: zeroed, filled; on a bad row nothing is left
 * to free and the error is returned. */
int sq_read(Store *st, sqlite3_stmt *s, const SqRecord *t, void *rec);
void sq_record_free(const SqRecord *t, void *rec);            /* its strings; zeroed */
void sq_records_free(const SqRecord *t, void *v, size_t n);   /* and the array */
/* The record a bound query finds (*out zeroed first): ST_NOTFOUND as
 * sq_first says. */
int sq_get(Store *st, SqBind *b, const char *what, const SqRecord *t, void *out);
/* Every row of a bound query as an array of records; on failure *out is
 * NULL, *n 0. */
int sq_list(Store *st, SqBind *b, const char *what, const SqRecord *t, void **out, size_t *n);
/* StVerdict's (vm/store_rows.c); the chains' backfill reads verdicts too. */
extern const SqRecord sq_verdict_record;

/* ---- the schema, the chains ------------------------------------------------------ */

int sq_migrate(Store *st);                                /* vm/store_schema.c */
int sq_backfill_chains(Store *st);                        /* vm/store_chain.c */
/* The verdict's link in the decisions chain (inside a transaction). */
int sq_chain_verdict(Store *st, const StVerdict *v);      /* vm/store_chain.c */
/* The (seq, hash) of a bound query's first row with those two columns; seq
 * 0 and hash "" when there is none. */
int sq_last_link(Store *st, SqBind *b, const char *what, int64_t *seq, char hash[65]);
/* Reading the last link and writing the next must not interleave with
 * another writer: inside the caller's transaction, or one of their own
 * (sq_own_end commits it, or rolls it back when rc is not ST_OK). */
int sq_own_begin(Store *st, bool *own);
int sq_own_end(Store *st, bool own, int rc);

#endif
