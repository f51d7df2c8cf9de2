/* vm/store_registry.c — the reviewer registry (hitlvm reviewers; schema v3):
 * reviewers and their keys, group memberships, and which groups accept only
 * signed verdicts (vm/store.h). */
#include "store_sqlite.h"

int st_add_reviewer(Store *st, const char *name, const char *key, int64_t at) {
  SqBind b;
  sq_start(st, Q_ADD_REVIEWER, &b);
  sq_bind_text(&b, 1, name);
  sq_bind_text(&b, 2, key);
  sq_bind_int(&b, 3, at);
  return sq_run(st, &b, "st_add_reviewer");
}

/* A statement on (reviewer, group). */
static void start_pair(Store *st, int which, SqBind *b, const char *name, const char *group) {
  sq_start(st, which, b);
  sq_bind_text(b, 1, name);
  sq_bind_text(b, 2, group);
}

int st_add_membership(Store *st, const char *name, const char *group) {
  SqBind b;
  start_pair(st, Q_ADD_MEMBERSHIP, &b, name, group);
  return sq_run(st, &b, "st_add_membership");
}

int st_remove_reviewer(Store *st, const char *name) {
  SqBind b;
  sq_start(st, Q_REMOVE_REVIEWER, &b);
  sq_bind_text(&b, 1, name);
  return sq_run_one(st, &b, "st_remove_reviewer", "no such reviewer");
}

int st_remove_membership(Store *st, const char *name, const char *group) {
  SqBind b;
  start_pair(st, Q_REMOVE_MEMBERSHIP, &b, name, group);
  return sq_run_one(st, &b, "st_remove_membership", "not a member of that group");
}

int st_is_member(Store *st, const char *name, const char *group) {
  SqBind b;
  start_pair(st, Q_IS_MEMBER, &b, name, group);
  int rc = sq_first(st, &b, "st_is_member");
  if (rc == ST_OK) sq_done(b.s);
  return rc;
}

int st_set_group_signed(Store *st, const char *group, bool sign) {
  SqBind b;
  sq_start(st, Q_SET_GROUP_SIGNED, &b);
  sq_bind_text(&b, 1, group);
  sq_bind_int(&b, 2, sign ? 1 : 0);
  return sq_run(st, &b, "st_set_group_signed");
}

int st_group_signed(Store *st, const char *group, bool *sign) {
  SqBind b;
  *sign = false;
  sq_start(st, Q_GET_GROUP_SIGNED, &b);
  sq_bind_text(&b, 1, group);
  int rc = sq_first(st, &b, "st_group_signed");
  if (rc == ST_NOTFOUND) return ST_OK;
  if (rc != ST_OK) return rc;
  *sign = sqlite3_column_int64(b.s, 0) != 0;
  sq_done(b.s);
  return ST_OK;
}

/* ---- reviewers as records ---------------------------------------------------- */

static void fill_reviewer(SqRow *r, void *rec) {
  StReviewer *rv = rec;
  rv->name = sq_col_str(r, 0, false);
  rv->key = sq_col_str(r, 1, true);
  rv->groups = sq_col_str(r, 2, false);
  rv->created = sq_col_int(r, 3);
}

static const size_t reviewer_strs[] = {
  offsetof(StReviewer, name), offsetof(StReviewer, key), offsetof(StReviewer, groups),
};
static const SqRecord reviewer_record = {"reviewers", sizeof(StReviewer), reviewer_strs,
                                         SQ_COUNT_OF(reviewer_strs), fill_reviewer};

void st_reviewer_free(StReviewer *r) { sq_record_free(&reviewer_record, r); }
void st_reviewers_free(StReviewer *v, size_t n) { sq_records_free(&reviewer_record, v, n); }

int st_get_reviewer(Store *st, const char *name, StReviewer *out) {
  SqBind b;
  sq_start(st, Q_GET_REVIEWER, &b);
  sq_bind_text(&b, 1, name);
  int rc = sq_get(st, &b, "st_get_reviewer", &reviewer_record, out);
  if (rc == ST_NOTFOUND) sq_err(st, "no reviewer %s", name);
  return rc;
}

int st_list_reviewers(Store *st, StReviewer **out, size_t *n) {
  SqBind b;
  sq_start(st, Q_LIST_REVIEWERS, &b);
  void *v;
  int rc = sq_list(st, &b, "st_list_reviewers", &reviewer_record, &v, n);
  *out = v;
  return rc;
}
