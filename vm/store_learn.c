/* vm/store_learn.c — the walks hitlvm stats, calibrate and export read the
 * store with: every routed decision with its last verdict, and every
 * `action` event.  JSON fields are picked out by SQLite (3.38 or later);
 * each row goes to the caller's callback with borrowed strings. */
#include "store_sqlite.h"

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

/* A walk: the caller's callback and the status of the row that stopped it. */
typedef struct Walk {
  union {
    StDecisionFn decision;
    StActionCallFn call;
  } fn;
  void *user;
  int rc;
  bool no_mem;   /* col_text ran out of memory */
} Walk;

/* Whether the row was read whole: not out of memory, and every required
 * column there (else "corrupt store: <what> with a missing column"). */
static bool row_whole(Store *st, Walk *w, bool complete, const char *what) {
  if (w->no_mem) {
    w->rc = sq_oom(st);
    return false;
  }
  if (!complete) {
    sq_err(st, "corrupt store: %s with a missing column", what);
    w->rc = ST_ERR;
    return false;
  }
  return true;
}

static int walk(Store *st, int which, const char *what, bool (*row)(Store *, sqlite3_stmt *, void *),
                Walk *w) {
  SqBind b;
  sq_start(st, which, &b);
  int rc = sq_each(st, &b, what, row, w);
  return w->rc != ST_OK ? w->rc : rc;
}

static bool decision_row(Store *st, sqlite3_stmt *s, void *ctx) {
  Walk *w = ctx;
  bool *no_mem = &w->no_mem;
  StDecision d;
  d.item = sqlite3_column_int64(s, 0);
  d.instance = col_text(s, 1, no_mem);
  d.playbook = col_text(s, 2, no_mem);
  d.action = col_text(s, 3, no_mem);
  d.confidence = col_num(s, 4);
  d.threshold = col_num(s, 5);
  d.payload = col_text(s, 6, no_mem);
  d.status = col_text(s, 7, no_mem);
  d.created = sqlite3_column_int64(s, 8);
  d.verdict = col_text(s, 9, no_mem);
  d.reviewer = col_text(s, 10, no_mem);
  d.reason = col_text(s, 11, no_mem);
  d.edits = col_text(s, 12, no_mem);
  d.at = sqlite3_column_type(s, 13) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 13);
  d.args = col_text(s, 14, no_mem);
  d.risk = col_text(s, 15, no_mem);
  d.rule = col_text(s, 16, no_mem);
  d.because = col_text(s, 17, no_mem);
  bool complete = d.instance && d.playbook && d.action && d.payload && d.status;
  return row_whole(st, w, complete, "an item") && w->fn.decision(w->user, &d);
}

int st_each_decision(Store *st, StDecisionFn fn, void *user) {
  Walk w = {.fn.decision = fn, .user = user, .rc = ST_OK};
  return walk(st, Q_EACH_DECISION, "st_each_decision", decision_row, &w);
}

static bool call_row(Store *st, sqlite3_stmt *s, void *ctx) {
  Walk *w = ctx;
  bool *no_mem = &w->no_mem;
  StActionCall c;
  c.instance = col_text(s, 0, no_mem);
  c.playbook = col_text(s, 1, no_mem);
  c.action = col_text(s, 2, no_mem);
  c.route = col_text(s, 3, no_mem);
  c.confidence = col_num(s, 4);
  c.seq = sqlite3_column_int64(s, 5);
  c.at = sqlite3_column_int64(s, 6);
  c.fields = col_text(s, 7, no_mem);
  c.args = col_text(s, 8, no_mem);
  c.rule = col_text(s, 9, no_mem);
  c.because = col_text(s, 10, no_mem);
  c.failed = sqlite3_column_int(s, 11) != 0;
  bool complete = c.instance && c.playbook && c.action && c.route && c.fields;
  return row_whole(st, w, complete, "an action event") && w->fn.call(w->user, &c);
}

int st_each_action_call(Store *st, StActionCallFn fn, void *user) {
  Walk w = {.fn.call = fn, .user = user, .rc = ST_OK};
  return walk(st, Q_EACH_ACTION_CALL, "st_each_action_call", call_row, &w);
}
