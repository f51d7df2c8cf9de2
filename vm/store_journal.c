/* vm/store_journal.c — the action journal (one row per action call of an
 * instance, so that a replay after a crash calls nothing twice) and the
 * calibrated thresholds (hitlvm calibrate --apply); vm/store.h. */
#include "store_sqlite.h"

/* ---- the action journal --------------------------------------------------------- */

static void fill_call(SqRow *r, void *rec) {
  StCall *c = rec;
  c->instance = sq_col_str(r, 0, false);
  c->idx = sq_col_int(r, 1);
  c->action = sq_col_str(r, 2, false);
  c->args = sq_col_str(r, 3, false);
  c->state = sq_col_str(r, 4, false);
  c->result = sq_col_str(r, 5, true);
  c->at = sq_col_int(r, 6);
}

static const size_t call_strs[] = {
  offsetof(StCall, instance), offsetof(StCall, action), offsetof(StCall, args),
  offsetof(StCall, state),    offsetof(StCall, result),
};
static const SqRecord call_record = {"calls", sizeof(StCall), call_strs, SQ_COUNT_OF(call_strs),
                                     fill_call};

void st_call_free(StCall *c) { sq_record_free(&call_record, c); }

int st_get_call(Store *st, const char *instance, int64_t idx, StCall *out) {
  SqBind b;
  sq_start(st, Q_GET_CALL, &b);
  sq_bind_text(&b, 1, instance);
  sq_bind_int(&b, 2, idx);
  int rc = sq_get(st, &b, "st_get_call", &call_record, out);
  if (rc == ST_NOTFOUND)
    sq_err(st, "no call %lld of instance %s", (long long)idx, instance ? instance : "(null)");
  return rc;
}

int st_put_call(Store *st, const StCall *c) {
  SqBind b;
  sq_start(st, Q_PUT_CALL, &b);
  sq_bind_text(&b, 1, c->instance);
  sq_bind_int(&b, 2, c->idx);
  sq_bind_text(&b, 3, c->action);
  sq_bind_text(&b, 4, c->args);
  sq_bind_text(&b, 5, c->state);
  sq_bind_text(&b, 6, c->result);
  sq_bind_int(&b, 7, c->at);
  return sq_run(st, &b, "st_put_call");
}

int st_prune_calls(Store *st, const char *instance, int64_t below) {
  SqBind b;
  sq_start(st, Q_PRUNE_CALLS, &b);
  sq_bind_text(&b, 1, instance);
  sq_bind_int(&b, 2, below);
  return sq_run(st, &b, "st_prune_calls");
}

/* ---- calibrated thresholds ------------------------------------------------------ */

static void fill_threshold(SqRow *r, void *rec) {
  StThreshold *t = rec;
  t->playbook = sq_col_str(r, 0, false);
  t->action = sq_col_str(r, 1, false);
  t->value = sqlite3_column_double(r->s, 2);
  t->target = sqlite3_column_double(r->s, 3);
  t->samples = sq_col_int(r, 4);
  t->at = sq_col_int(r, 5);
}

static const size_t threshold_strs[] = {offsetof(StThreshold, playbook), offsetof(StThreshold, action)};
static const SqRecord threshold_record = {"thresholds", sizeof(StThreshold), threshold_strs,
                                          SQ_COUNT_OF(threshold_strs), fill_threshold};

int st_put_threshold(Store *st, const StThreshold *t) {
  SqBind b;
  sq_start(st, Q_PUT_THRESHOLD, &b);
  sq_bind_text(&b, 1, t->playbook);
  sq_bind_text(&b, 2, t->action);
  sq_bind_double(&b, 3, t->value);
  sq_bind_double(&b, 4, t->target);
  sq_bind_int(&b, 5, t->samples);
  sq_bind_int(&b, 6, t->at);
  return sq_run(st, &b, "st_put_threshold");
}

void st_thresholds_free(StThreshold *v, size_t n) { sq_records_free(&threshold_record, v, n); }

int st_list_thresholds(Store *st, const char *playbook, StThreshold **out, size_t *n) {
  SqBind b;
  sq_start(st, playbook ? Q_LIST_THRESHOLDS_PLAYBOOK : Q_LIST_THRESHOLDS, &b);
  if (playbook) sq_bind_text(&b, 1, playbook);
  void *v;
  int rc = sq_list(st, &b, "st_list_thresholds", &threshold_record, &v, n);
  *out = v;
  return rc;
}
