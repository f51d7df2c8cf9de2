/* vm/store_rows.c — the store's records of a run: programs, instances,
 * snapshots, items and verdicts (vm/store.h).
 *
 * Each record type is an SqRecord (vm/store_query.c reads rows into it);
 * a verdict also gets its link in the decisions chain (vm/store_chain.c)
 * in the same transaction. */
#include "store_sqlite.h"

#include <string.h>
#include <time.h>

/* ---- programs and snapshots: bytes --------------------------------------------- */

int st_put_program(Store *st, const uint8_t hash[32], const char *playbook, const uint8_t *bytes,
                   size_t len) {
  SqBind b;
  sq_start(st, Q_PUT_PROGRAM, &b);
  sq_bind_blob(&b, 1, hash, 32);
  sq_bind_text(&b, 2, playbook);
  sq_bind_blob(&b, 3, bytes, len);
  sq_bind_int(&b, 4, (int64_t)time(NULL));
  return sq_run(st, &b, "st_put_program");
}

/* One blob column of the one row a bound query finds. */
static int get_blob(Store *st, SqBind *b, const char *what, const char *table, uint8_t **bytes,
                    size_t *len) {
  *bytes = NULL;
  *len = 0;
  int rc = sq_first(st, b, what);
  if (rc == ST_NOTFOUND) sq_err(st, "%s: not found", what);
  if (rc != ST_OK) return rc;
  SqRow row = {b->s, 0, 0};
  *bytes = sq_col_blob(&row, 0, len);
  rc = row.bad ? sq_row_failed(st, &row, table) : ST_OK;
  sq_done(b->s);
  return rc;
}

int st_get_program(Store *st, const uint8_t hash[32], uint8_t **bytes, size_t *len) {
  SqBind b;
  sq_start(st, Q_GET_PROGRAM, &b);
  sq_bind_blob(&b, 1, hash, 32);
  return get_blob(st, &b, "st_get_program", "programs", bytes, len);
}

int st_save_snapshot(Store *st, const char *instance, const uint8_t *bytes, size_t len) {
  SqBind b;
  sq_start(st, Q_SAVE_SNAPSHOT, &b);
  sq_bind_text(&b, 1, instance);
  sq_bind_blob(&b, 2, bytes, len);
  return sq_run(st, &b, "st_save_snapshot");
}

int st_load_snapshot(Store *st, const char *instance, uint8_t **bytes, size_t *len) {
  SqBind b;
  sq_start(st, Q_LOAD_SNAPSHOT, &b);
  sq_bind_text(&b, 1, instance);
  return get_blob(st, &b, "st_load_snapshot", "snapshots", bytes, len);
}

int st_delete_snapshot(Store *st, const char *instance) {
  SqBind b;
  sq_start(st, Q_DELETE_SNAPSHOT, &b);
  sq_bind_text(&b, 1, instance);
  return sq_run_one(st, &b, "st_delete_snapshot", "the instance has no snapshot");
}

/* ---- instances ------------------------------------------------------------------ */

static void fill_instance(SqRow *r, void *rec) {
  StInstance *in = rec;
  in->id = sq_col_str(r, 0, false);
  sq_col_hash(r, 1, in->program);
  in->playbook = sq_col_str(r, 2, false);
  in->status = sq_col_str(r, 3, false);
  in->starter = sq_col_str(r, 4, false);
  in->input = sq_col_str(r, 5, false);
  in->params = sq_col_str(r, 6, false);
  in->mocks = sq_col_str(r, 7, true);
  in->mock_state = sq_col_str(r, 8, true);
  in->result = sq_col_str(r, 9, true);
  in->error = sq_col_str(r, 10, true);
  in->owner = sq_col_str(r, 11, true);
  in->segment = sq_col_int(r, 12);
  in->created = sq_col_int(r, 13);
  in->updated = sq_col_int(r, 14);
}

static const size_t instance_strs[] = {
  offsetof(StInstance, id),     offsetof(StInstance, playbook),   offsetof(StInstance, status),
  offsetof(StInstance, starter), offsetof(StInstance, input),     offsetof(StInstance, params),
  offsetof(StInstance, mocks),  offsetof(StInstance, mock_state), offsetof(StInstance, result),
  offsetof(StInstance, error),  offsetof(StInstance, owner),
};
static const SqRecord instance_record = {"instances", sizeof(StInstance), instance_strs,
                                         SQ_COUNT_OF(instance_strs), fill_instance};

void st_instance_free(StInstance *in) { sq_record_free(&instance_record, in); }
void st_instances_free(StInstance *v, size_t n) { sq_records_free(&instance_record, v, n); }

int st_insert_instance(Store *st, const StInstance *in) {
  SqBind b;
  sq_start(st, Q_INSERT_INSTANCE, &b);
  sq_bind_text(&b, 1, in->id);
  sq_bind_blob(&b, 2, in->program, 32);
  sq_bind_text(&b, 3, in->playbook);
  sq_bind_text(&b, 4, in->status);
  sq_bind_text(&b, 5, in->starter);
  sq_bind_text(&b, 6, in->input);
  sq_bind_text(&b, 7, in->params);
  sq_bind_text(&b, 8, in->mocks);
  sq_bind_text(&b, 9, in->mock_state);
  sq_bind_text(&b, 10, in->result);
  sq_bind_text(&b, 11, in->error);
  sq_bind_text(&b, 12, in->owner);
  sq_bind_int(&b, 13, in->segment);
  sq_bind_int(&b, 14, in->created);
  sq_bind_int(&b, 15, in->updated);
  return sq_run(st, &b, "st_insert_instance");
}

int st_get_instance(Store *st, const char *id, StInstance *out) {
  SqBind b;
  sq_start(st, Q_GET_INSTANCE, &b);
  sq_bind_text(&b, 1, id);
  int rc = sq_get(st, &b, "st_get_instance", &instance_record, out);
  if (rc == ST_NOTFOUND) sq_err(st, "no instance %s", id ? id : "(null)");
  return rc;
}

int st_update_instance(Store *st, const StInstance *in) {
  SqBind b;
  sq_start(st, Q_UPDATE_INSTANCE, &b);
  sq_bind_text(&b, 1, in->id);
  sq_bind_text(&b, 2, in->status);
  sq_bind_text(&b, 3, in->result);
  sq_bind_text(&b, 4, in->error);
  sq_bind_text(&b, 5, in->mock_state);
  sq_bind_int(&b, 6, in->segment);
  sq_bind_text(&b, 7, in->owner);
  sq_bind_int(&b, 8, in->updated);
  return sq_run_one(st, &b, "st_update_instance", "no such instance");
}

int st_list_instances(Store *st, const char *status, StInstance **out, size_t *n) {
  SqBind b;
  bool running = status && strcmp(status, "running") == 0;
  sq_start(st, running ? Q_LIST_INSTANCES_RUNNING : status ? Q_LIST_INSTANCES_STATUS : Q_LIST_INSTANCES, &b);
  if (status && !running) sq_bind_text(&b, 1, status);
  void *v;
  int rc = sq_list(st, &b, "st_list_instances", &instance_record, &v, n);
  *out = v;
  return rc;
}

/* ---- items ---------------------------------------------------------------------- */

static void fill_item(SqRow *r, void *rec) {
  StItem *it = rec;
  it->id = sq_col_int(r, 0);
  it->instance = sq_col_str(r, 1, false);
  it->kind = sq_col_str(r, 2, false);
  it->title = sq_col_str(r, 3, false);
  it->payload = sq_col_str(r, 4, false);
  it->digest = sq_col_str(r, 5, true);
  it->by = sq_col_str(r, 6, true);
  it->quorum = sq_col_int(r, 7);
  it->editable = sq_col_str(r, 8, false);
  it->status = sq_col_str(r, 9, false);
  it->created = sq_col_int(r, 10);
  it->deadline = sq_col_opt_int(r, 11);
  int64_t tv = sq_col_opt_int(r, 12);
  it->timeout_verdict = tv == 0 || tv == 1 ? (int)tv : -1;
  it->timeout_reason = sq_col_str(r, 13, true);
}

static const size_t item_strs[] = {
  offsetof(StItem, instance), offsetof(StItem, kind),     offsetof(StItem, title),
  offsetof(StItem, payload),  offsetof(StItem, digest),   offsetof(StItem, by),
  offsetof(StItem, editable), offsetof(StItem, status),   offsetof(StItem, timeout_reason),
};
static const SqRecord item_record = {"items", sizeof(StItem), item_strs, SQ_COUNT_OF(item_strs),
                                     fill_item};

void st_item_free(StItem *it) { sq_record_free(&item_record, it); }
void st_items_free(StItem *v, size_t n) { sq_records_free(&item_record, v, n); }

int st_insert_item(Store *st, StItem *it) {
  SqBind b;
  sq_start(st, Q_INSERT_ITEM, &b);
  sq_bind_text(&b, 1, it->instance);
  sq_bind_text(&b, 2, it->kind);
  sq_bind_text(&b, 3, it->title);
  sq_bind_text(&b, 4, it->payload);
  sq_bind_text(&b, 5, it->digest);
  sq_bind_text(&b, 6, it->by);
  sq_bind_int(&b, 7, it->quorum);
  sq_bind_text(&b, 8, it->editable);
  sq_bind_text(&b, 9, it->status);
  sq_bind_int(&b, 10, it->created);
  sq_bind_opt_int(&b, 11, it->deadline);
  sq_bind_opt_int(&b, 12, it->timeout_verdict);
  sq_bind_text(&b, 13, it->timeout_reason);
  int rc = sq_run(st, &b, "st_insert_item");
  if (rc == ST_OK) it->id = sqlite3_last_insert_rowid(st->db);
  return rc;
}

int st_set_item_digest(Store *st, int64_t id, const char *digest) {
  SqBind b;
  sq_start(st, Q_SET_ITEM_DIGEST, &b);
  sq_bind_int(&b, 1, id);
  sq_bind_text(&b, 2, digest);
  return sq_run_one(st, &b, "st_set_item_digest", "no such item");
}

int st_get_item(Store *st, int64_t id, StItem *out) {
  SqBind b;
  sq_start(st, Q_GET_ITEM, &b);
  sq_bind_int(&b, 1, id);
  int rc = sq_get(st, &b, "st_get_item", &item_record, out);
  if (rc == ST_NOTFOUND) sq_err(st, "no item %lld", (long long)id);
  return rc;
}

int st_list_items(Store *st, const char *status, const char *group, StItem **out, size_t *n) {
  SqBind b;
  bool open = status && strcmp(status, "open") == 0;
  if (open) sq_start(st, group ? Q_LIST_OPEN_ITEMS_GROUP : Q_LIST_OPEN_ITEMS, &b);
  else sq_start(st, status ? (group ? Q_LIST_ITEMS_STATUS_GROUP : Q_LIST_ITEMS_STATUS)
                           : (group ? Q_LIST_ITEMS_GROUP : Q_LIST_ITEMS), &b);
  if (status && !open) sq_bind_text(&b, 1, status);
  if (group) sq_bind_text(&b, 2, group);
  void *v;
  int rc = sq_list(st, &b, "st_list_items", &item_record, &v, n);
  *out = v;
  return rc;
}

int st_list_open_items_of(Store *st, const char *instance, StItem **out, size_t *n) {
  SqBind b;
  sq_start(st, Q_LIST_OPEN_ITEMS_OF, &b);
  sq_bind_text(&b, 1, instance);
  void *v;
  int rc = sq_list(st, &b, "st_list_open_items_of", &item_record, &v, n);
  *out = v;
  return rc;
}

int st_close_item(Store *st, int64_t id, const char *new_status) {
  SqBind b;
  sq_start(st, Q_CLOSE_ITEM, &b);
  sq_bind_int(&b, 1, id);
  sq_bind_text(&b, 2, new_status);
  int rc = sq_run(st, &b, "st_close_item");
  if (rc != ST_OK || sqlite3_changes(st->db) == 1) return rc;
  /* nothing changed: decided already, or no such item */
  sq_start(st, Q_ITEM_EXISTS, &b);
  sq_bind_int(&b, 1, id);
  rc = sq_first(st, &b, "st_close_item");
  if (rc == ST_NOTFOUND) sq_err(st, "no item %lld", (long long)id);
  if (rc != ST_OK) return rc;
  sq_done(b.s);
  sq_err(st, "item %lld is already decided", (long long)id);
  return ST_CONFLICT;
}

int64_t st_count_open_items(Store *st) {
  SqBind b;
  sq_start(st, Q_COUNT_OPEN_ITEMS, &b);
  int rc = sq_first(st, &b, "st_count_open_items");
  if (rc == ST_NOTFOUND) return 0;
  if (rc != ST_OK) return -1;
  int64_t count = sqlite3_column_int64(b.s, 0);
  sq_done(b.s);
  return count;
}

/* ---- verdicts ------------------------------------------------------------------- */

static void fill_verdict(SqRow *r, void *rec) {
  StVerdict *v = rec;
  v->id = sq_col_int(r, 0);
  v->item = sq_col_int(r, 1);
  v->instance = sq_col_str(r, 2, false);
  v->verdict = sq_col_str(r, 3, false);
  v->reviewer = sq_col_str(r, 4, false);
  v->reason = sq_col_str(r, 5, true);
  v->edits = sq_col_str(r, 6, true);
  v->at = sq_col_int(r, 7);
  v->signature = sq_col_str(r, 8, true);
}

static const size_t verdict_strs[] = {
  offsetof(StVerdict, instance), offsetof(StVerdict, verdict), offsetof(StVerdict, reviewer),
  offsetof(StVerdict, reason),   offsetof(StVerdict, edits),   offsetof(StVerdict, signature),
};
const SqRecord sq_verdict_record = {"verdicts", sizeof(StVerdict), verdict_strs,
                                    SQ_COUNT_OF(verdict_strs), fill_verdict};

void st_verdict_free(StVerdict *v) { sq_record_free(&sq_verdict_record, v); }
void st_verdicts_free(StVerdict *v, size_t n) { sq_records_free(&sq_verdict_record, v, n); }

static int insert_verdict(Store *st, StVerdict *v) {
  SqBind b;
  sq_start(st, Q_INSERT_VERDICT, &b);
  sq_bind_int(&b, 1, v->item);
  sq_bind_text(&b, 2, v->instance);
  sq_bind_text(&b, 3, v->verdict);
  sq_bind_text(&b, 4, v->reviewer);
  sq_bind_text(&b, 5, v->reason);
  sq_bind_text(&b, 6, v->edits);
  sq_bind_int(&b, 7, v->at);
  sq_bind_text(&b, 8, v->signature);
  int rc = sq_run(st, &b, "st_insert_verdict");
  if (rc != ST_OK) return rc;
  v->id = sqlite3_last_insert_rowid(st->db);
  return sq_chain_verdict(st, v);
}

/* The verdict row and its link in the decisions chain, in one transaction. */
int st_insert_verdict(Store *st, StVerdict *v) {
  bool own;
  int rc = sq_own_begin(st, &own);
  if (rc != ST_OK) return rc;
  return sq_own_end(st, own, insert_verdict(st, v));
}

int st_list_verdicts(Store *st, int64_t item, StVerdict **out, size_t *n) {
  SqBind b;
  sq_start(st, Q_LIST_VERDICTS, &b);
  sq_bind_int(&b, 1, item);
  void *v;
  int rc = sq_list(st, &b, "st_list_verdicts", &sq_verdict_record, &v, n);
  *out = v;
  return rc;
}
