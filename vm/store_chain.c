/* vm/store_chain.c — the event log and the hash chains (schema v4).
 *
 * Every event is appended with the next seq of its instance and a hash
 * chained to the one before, and the instance's head moves on; every
 * verdict row gets the next link of the store-wide decisions chain.  The
 * hashes' exact input is in docs/store.md; vm/store_audit.c checks them.
 * Migrating a store to v4 chains the rows already there
 * (sq_backfill_chains). */
#include "store_sqlite.h"

#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "sha256.h"

/* ---- the hashes ----------------------------------------------------------------- */

/* The text a hash is computed over: in `small` while it fits, then in a
 * mem_alloc'd buffer. */
typedef struct ChainBuf {
  char *p;
  size_t len, cap;
  bool oom;
  char small[512];
} ChainBuf;

static void buf_init(ChainBuf *b) {
  b->p = b->small;
  b->len = 0;
  b->cap = sizeof b->small;
  b->oom = false;
}

static void buf_release(ChainBuf *b) {
  if (b->p != b->small) mem_free(b->p, b->cap);
}

static void buf_add(ChainBuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t ncap = (b->len + n + 1) * 2;
    char *np = b->p == b->small ? mem_alloc(ncap) : mem_realloc(b->p, b->cap, ncap);
    if (!np) {
      b->oom = true;
      return;
    }
    if (b->p == b->small) memcpy(np, b->small, b->len);
    b->p = np;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

/* "N|" in decimal (as printf's %lld would write it) */
static void buf_int(ChainBuf *b, int64_t v) {
  char t[24];
  size_t i = sizeof t;
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  t[--i] = '|';
  do {
    t[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) t[--i] = '-';
  buf_add(b, t + i, sizeof t - i);
}

/* Length-prefixed text ("N:bytes|"), "-|" for NULL. */
static void buf_text(ChainBuf *b, const char *s) {
  if (!s) {
    buf_add(b, "-|", 2);
    return;
  }
  size_t n = strlen(s);
  buf_int(b, (int64_t)n);
  b->len--;   /* "N|" -> "N:" */
  buf_add(b, ":", 1);
  buf_add(b, s, n);
  buf_add(b, "|", 1);
}

static const char zero_hash[65] = "0000000000000000000000000000000000000000000000000000000000000000";

static bool buf_hash(ChainBuf *b, char out[65]) {
  if (b->oom) {
    buf_release(b);
    return false;
  }
  uint8_t h[32];
  hitl_sha256(h, b->p, b->len);
  buf_release(b);
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = digits[h[i] >> 4];
    out[2 * i + 1] = digits[h[i] & 15];
  }
  out[64] = '\0';
  return true;
}

bool st_event_hash(const char *prev, const char *instance, int64_t seq, int64_t at, const char *kind,
                   const char *fields, char out[65]) {
  ChainBuf b;
  buf_init(&b);
  buf_add(&b, prev ? prev : zero_hash, 64);
  buf_add(&b, "|hitl-event-1|", 14);
  buf_text(&b, instance);
  buf_int(&b, seq);
  buf_int(&b, at);
  buf_text(&b, kind);
  buf_text(&b, fields);
  return buf_hash(&b, out);
}

bool st_verdict_hash(const char *prev, const StVerdict *v, char out[65]) {
  ChainBuf b;
  buf_init(&b);
  buf_add(&b, prev ? prev : zero_hash, 64);
  buf_add(&b, "|hitl-verdict-1|", 16);
  buf_int(&b, v->id);
  buf_int(&b, v->item);
  buf_text(&b, v->instance);
  buf_text(&b, v->verdict);
  buf_text(&b, v->reviewer);
  buf_text(&b, v->reason);
  buf_text(&b, v->edits);
  buf_int(&b, v->at);
  buf_text(&b, v->signature);
  return buf_hash(&b, out);
}

/* ---- links ---------------------------------------------------------------------- */

int sq_last_link(Store *st, SqBind *b, const char *what, int64_t *seq, char hash[65]) {
  *seq = 0;
  hash[0] = '\0';
  int rc = sq_first(st, b, what);
  if (rc == ST_NOTFOUND) return ST_OK;
  if (rc != ST_OK) return rc;
  *seq = sqlite3_column_int64(b->s, 0);
  const unsigned char *h = sqlite3_column_text(b->s, 1);
  if (h && strlen((const char *)h) == 64) memcpy(hash, h, 65);
  sq_done(b->s);
  return ST_OK;
}

int sq_own_begin(Store *st, bool *own) {
  *own = !st->in_txn;
  return *own ? st_begin(st) : ST_OK;
}

int sq_own_end(Store *st, bool own, int rc) {
  if (!own) return rc;
  if (rc == ST_OK) return st_commit(st);
  st_rollback(st);
  return rc;
}

/* An (instance, seq, hash) row: an event's hash, or the instance's head. */
static int put_link(Store *st, int which, const char *instance, int64_t seq, const char *hash,
                    const char *what) {
  SqBind b;
  sq_start(st, which, &b);
  sq_bind_text(&b, 1, instance);
  sq_bind_int(&b, 2, seq);
  sq_bind_text(&b, 3, hash);
  return sq_run(st, &b, what);
}

int sq_chain_verdict(Store *st, const StVerdict *v) {
  SqBind b;
  sq_start(st, Q_LAST_DECISION, &b);
  int64_t seq;
  char prev[65], hash[65];
  int rc = sq_last_link(st, &b, "st_insert_verdict", &seq, prev);
  if (rc != ST_OK) return rc;
  if (!st_verdict_hash(seq ? prev : NULL, v, hash)) return sq_oom(st);
  sq_start(st, Q_PUT_DECISION, &b);
  sq_bind_int(&b, 1, seq + 1);
  sq_bind_int(&b, 2, v->id);
  sq_bind_text(&b, 3, hash);
  return sq_run(st, &b, "st_insert_verdict");
}

/* ---- the event log -------------------------------------------------------------- */

static int append_event(Store *st, const char *instance, int64_t at, const char *kind, const char *fields) {
  SqBind b;
  int64_t seq;
  char prev[65], hash[65];
  int rc = ST_OK;
  if (st->in_txn && instance && strcmp(st->link_instance, instance) == 0) {
    /* appended to in this transaction: the link is the one we wrote */
    seq = st->link_seq;
    memcpy(prev, st->link_hash, 65);
  } else {
    sq_start(st, Q_LAST_EVENT, &b);
    sq_bind_text(&b, 1, instance);
    rc = sq_last_link(st, &b, "st_append_event", &seq, prev);
  }
  st->link_instance[0] = '\0';
  if (rc != ST_OK) return rc;
  if (!st_event_hash(seq ? prev : NULL, instance, seq + 1, at, kind, fields, hash)) return sq_oom(st);
  sq_start(st, Q_APPEND_EVENT, &b);
  sq_bind_text(&b, 1, instance);
  sq_bind_int(&b, 2, seq + 1);
  sq_bind_int(&b, 3, at);
  sq_bind_text(&b, 4, kind);
  sq_bind_text(&b, 5, fields);
  sq_bind_text(&b, 6, hash);
  if ((rc = sq_run(st, &b, "st_append_event")) != ST_OK) return rc;
  rc = put_link(st, Q_PUT_HEAD, instance, seq + 1, hash, "st_append_event");
  if (rc == ST_OK && st->in_txn && strlen(instance) < sizeof st->link_instance) {
    snprintf(st->link_instance, sizeof st->link_instance, "%s", instance);
    st->link_seq = seq + 1;
    memcpy(st->link_hash, hash, 65);
  }
  return rc;
}

/* seq is the last + 1, the hash chained to the last's, and the instance's
 * head moved on, all in one transaction. */
int st_append_event(Store *st, const char *instance, int64_t at, const char *kind,
                    const char *fields) {
  bool own;
  int rc = sq_own_begin(st, &own);
  if (rc != ST_OK) return rc;
  return sq_own_end(st, own, append_event(st, instance, at, kind, fields));
}

static void fill_event(SqRow *r, void *rec) {
  StEvent *e = rec;
  e->seq = sq_col_int(r, 0);
  e->at = sq_col_int(r, 1);
  e->kind = sq_col_str(r, 2, false);
  e->fields = sq_col_str(r, 3, false);
}

static const size_t event_strs[] = {offsetof(StEvent, kind), offsetof(StEvent, fields)};
static const SqRecord event_record = {"events", sizeof(StEvent), event_strs, SQ_COUNT_OF(event_strs),
                                      fill_event};

void st_events_free(StEvent *v, size_t n) { sq_records_free(&event_record, v, n); }

int st_list_events(Store *st, const char *instance, StEvent **out, size_t *n) {
  SqBind b;
  sq_start(st, Q_LIST_EVENTS, &b);
  sq_bind_text(&b, 1, instance);
  void *v;
  int rc = sq_list(st, &b, "st_list_events", &event_record, &v, n);
  *out = v;
  return rc;
}

/* ---- schema v4 on a store that has rows: chain what is there --------------------- */

static int chain_events(Store *st, const char *id) {
  StEvent *e = NULL;
  size_t ne = 0;
  int rc = st_list_events(st, id, &e, &ne);
  char prev[65] = "", hash[65];
  for (size_t k = 0; rc == ST_OK && k < ne; k++) {
    if (!st_event_hash(k ? prev : NULL, id, e[k].seq, e[k].at, e[k].kind, e[k].fields, hash)) {
      rc = sq_oom(st);
      break;
    }
    rc = put_link(st, Q_SET_EVENT_HASH, id, e[k].seq, hash, "chaining the events");
    memcpy(prev, hash, 65);
    if (rc == ST_OK && k + 1 == ne) rc = put_link(st, Q_PUT_HEAD, id, e[k].seq, hash, "chaining the events");
  }
  st_events_free(e, ne);
  return rc;
}

int sq_backfill_chains(Store *st) {
  StInstance *v = NULL;
  size_t n = 0;
  int rc = st_list_instances(st, NULL, &v, &n);
  for (size_t i = 0; rc == ST_OK && i < n; i++) rc = chain_events(st, v[i].id);
  st_instances_free(v, n);
  if (rc != ST_OK) return rc;
  /* the verdicts, in id order */
  SqBind b;
  sq_start(st, Q_ALL_VERDICTS, &b);
  void *all;
  size_t len;
  rc = sq_list(st, &b, "chaining the verdicts", &sq_verdict_record, &all, &len);
  StVerdict *vv = all;
  for (size_t i = 0; rc == ST_OK && i < len; i++) rc = sq_chain_verdict(st, &vv[i]);
  st_verdicts_free(vv, len);
  return rc;
}
