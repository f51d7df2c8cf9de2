/* vm/store_audit.c — checking the hash chains (st_audit; hitlvm audit
 * verify): every event of an instance against its hash and the one before,
 * the log's end against the instance's head, and the store-wide decisions
 * chain against the verdict rows.  The first bad link is named
 * (docs/store.md lists what each finding means). */
#include "store_sqlite.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"

static bool audit_bad(StAudit *a, const char *instance, int64_t seq, const char *fmt, ...) {
  if (!a->ok) return false;
  a->ok = false;
  snprintf(a->instance, sizeof a->instance, "%s", instance ? instance : "");
  a->seq = seq;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->problem, sizeof a->problem, fmt, ap);
  va_end(ap);
  return false;
}

/* One chain being walked: the links come in seq order; each is checked
 * against the stored hash of the one before. */
typedef struct Chain {
  StAudit *a;
  const char *id;   /* the instance, NULL for the decisions chain */
  char prev[65];    /* the last link's stored hash, "" before the first */
  int64_t expect;   /* the seq the next link should have */
} Chain;

/* Check the current row's link; its seq and stored hash go to *seq, *stored.
 * False: out of memory. */
typedef bool (*LinkCheck)(Chain *c, sqlite3_stmt *s, int64_t *seq, const char **stored);

static int walk_chain(Store *st, SqBind *b, Chain *c, LinkCheck check) {
  int rc = sq_ready(st, b, "st_audit"), r;
  if (rc != ST_OK) return rc;
  while ((r = sq_next(st, b->s, "st_audit", &rc)) > 0) {
    int64_t seq;
    const char *stored;
    if (!check(c, b->s, &seq, &stored)) {
      rc = sq_oom(st);
      break;
    }
    if (stored && strlen(stored) == 64) memcpy(c->prev, stored, 65);
    c->expect = seq + 1;
  }
  if (r >= 0) sq_done(b->s);
  return rc;
}

static bool check_event(Chain *c, sqlite3_stmt *s, int64_t *seq_out, const char **stored_out) {
  StAudit *a = c->a;
  const char *id = c->id;
  int64_t seq = sqlite3_column_int64(s, 0), at = sqlite3_column_int64(s, 1), expect = c->expect;
  const char *kind = (const char *)sqlite3_column_text(s, 2);
  const char *fields = (const char *)sqlite3_column_text(s, 3);
  const char *stored = (const char *)sqlite3_column_text(s, 4);
  char hash[65];
  *seq_out = seq;
  *stored_out = stored;
  a->events++;
  if (a->ok && seq != expect) {
    if (seq > expect)
      audit_bad(a, id, expect, "event %lld is missing (the log goes from %lld to %lld): deleted",
                (long long)expect, (long long)expect - 1, (long long)seq);
    else
      audit_bad(a, id, seq, "event %lld is out of order", (long long)seq);
  }
  if (a->ok && (!kind || !fields || !stored)) audit_bad(a, id, seq, "event %lld has no hash or no contents", (long long)seq);
  if (a->ok && !st_event_hash(expect > 1 ? c->prev : NULL, id, seq, at, kind, fields, hash)) return false;
  if (a->ok && strcmp(hash, stored) != 0)
    audit_bad(a, id, seq, "event %lld (%s) does not match its hash: altered, reordered, or a link before it changed",
              (long long)seq, kind);
  return true;
}

static int audit_instance(Store *st, const char *id, StAudit *a) {
  SqBind b;
  sq_start(st, Q_LIST_EVENTS_HASHED, &b);
  sq_bind_text(&b, 1, id);
  Chain c = {a, id, "", 1};
  int rc = walk_chain(st, &b, &c, check_event);
  if (rc != ST_OK || !a->ok) return rc;
  /* the head: events removed at the end */
  sq_start(st, Q_GET_HEAD, &b);
  sq_bind_text(&b, 1, id);
  int64_t head, last = c.expect - 1;
  char head_hash[65];
  if ((rc = sq_last_link(st, &b, "st_audit", &head, head_hash)) != ST_OK) return rc;
  if (head == 0)
    audit_bad(a, id, c.expect, "the instance has no head record: its log was removed or forged");
  else if (head != last)
    audit_bad(a, id, last + (head > last), "the log ends at event %lld but its head says %lld: %s",
              (long long)last, (long long)head, head > last ? "events deleted at the end" : "head altered");
  else if (strcmp(head_hash, c.prev) != 0)
    audit_bad(a, id, head, "event %lld does not match the instance's head hash", (long long)head);
  return ST_OK;
}

static bool check_decision(Chain *c, sqlite3_stmt *s, int64_t *seq_out, const char **stored_out) {
  StAudit *a = c->a;
  int64_t seq = sqlite3_column_int64(s, 0), vid = sqlite3_column_int64(s, 1);
  const char *stored = (const char *)sqlite3_column_text(s, 2);
  *seq_out = seq;
  *stored_out = stored;
  a->decisions++;
  if (a->ok && seq != c->expect)
    audit_bad(a, NULL, c->expect, "decision %lld is missing from the store-wide chain", (long long)c->expect);
  if (a->ok && sqlite3_column_type(s, 3) == SQLITE_NULL)
    audit_bad(a, NULL, seq, "decision %lld: verdict %lld was deleted", (long long)seq, (long long)vid);
  if (!a->ok) return true;
  StVerdict v = {sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4),
                 (char *)sqlite3_column_text(s, 5), (char *)sqlite3_column_text(s, 6),
                 (char *)sqlite3_column_text(s, 7), (char *)sqlite3_column_text(s, 8),
                 (char *)sqlite3_column_text(s, 9), sqlite3_column_int64(s, 10),
                 (char *)sqlite3_column_text(s, 11)};
  char hash[65];
  if (!st_verdict_hash(c->expect > 1 ? c->prev : NULL, &v, hash)) return false;
  if (!stored || strcmp(hash, stored) != 0)
    audit_bad(a, v.instance, seq, "decision %lld (verdict %lld on item %lld) does not match its hash: altered",
              (long long)seq, (long long)vid, (long long)v.item);
  return true;
}

static int audit_decisions(Store *st, StAudit *a) {
  SqBind b;
  sq_start(st, Q_EACH_DECISION_LINK, &b);
  Chain c = {a, NULL, "", 1};
  int rc = walk_chain(st, &b, &c, check_decision);
  if (rc != ST_OK || !a->ok) return rc;
  sq_start(st, Q_UNCHAINED_VERDICT, &b);
  if ((rc = sq_first(st, &b, "st_audit")) == ST_NOTFOUND) return ST_OK;
  if (rc != ST_OK) return rc;
  if (sqlite3_column_type(b.s, 0) != SQLITE_NULL)
    audit_bad(a, NULL, 0, "verdict %lld is not in the decisions chain: inserted behind the store's back",
              (long long)sqlite3_column_int64(b.s, 0));
  sq_done(b.s);
  return ST_OK;
}

int st_audit(Store *st, const char *instance, StAudit *a) {
  memset(a, 0, sizeof *a);
  a->ok = true;
  StInstance *v = NULL;
  size_t n = 0;
  int rc;
  if (instance) {
    v = mem_calloc(sizeof *v);
    if (!v) return sq_oom(st);
    rc = st_get_instance(st, instance, v);
    if (rc != ST_OK) {
      mem_free(v, sizeof *v);
      return rc;
    }
    n = 1;
  } else if ((rc = st_list_instances(st, NULL, &v, &n)) != ST_OK) {
    return rc;
  }
  for (size_t i = 0; rc == ST_OK && i < n; i++) {
    a->instances++;
    rc = audit_instance(st, v[i].id, a);
  }
  if (instance) {
    st_instance_free(v);
    mem_free(v, sizeof *v);
  } else {
    st_instances_free(v, n);
  }
  if (rc == ST_OK) rc = audit_decisions(st, a);
  return rc;
}
