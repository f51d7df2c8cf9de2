/* vm/store.h — the durable store behind one small interface (TOOLS.md §3).
 *
 * SQLite is the embedded backend (vm/store_sqlite.c); a PostgreSQL backend
 * for many hitlvm workers comes later behind the same st_* functions, so no
 * SQL and no sqlite3 call appears anywhere else.  The store knows nothing of
 * the VM: snapshots, payloads and events are bytes and JSON text to it.
 *
 * Transactions: every state change is one transaction.  A caller groups the
 * writes of one change between st_begin and st_commit (st_rollback on any
 * failure); a single write outside st_begin is its own transaction.
 * st_begin takes the write lock at once (BEGIN IMMEDIATE), waiting up to the
 * busy timeout, so two processes never interleave their changes.
 *
 * Errors: every function returns ST_OK or an error code; st_errmsg says what
 * went wrong.  A failed function leaves the database as it was.
 * Memory: strings and blobs handed out are mem_alloc'd; free records with
 * the matching st_*_free. */
#ifndef HITL_STORE_H
#define HITL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Store Store;

enum {
  ST_OK = 0,
  ST_ERR,          /* I/O, corruption, out of memory: see st_errmsg */
  ST_NOTFOUND,     /* no such row */
  ST_CONFLICT,     /* the row is not in the state the change expects (e.g. an item already decided) */
  ST_BUSY,         /* the lock could not be had within the busy timeout */
};

/* Open (creating the file, and the schema or its migrations, if needed).
 * WAL journal, synchronous=FULL by default (HITL_STORE_SYNC=NORMAL relaxes
 * it; see docs/store.md), busy timeout 10 s.  The directory must exist. */
int st_open(const char *path, Store **out, char *err, size_t n);
void st_close(Store *st);
const char *st_errmsg(Store *st);
int st_schema_version(Store *st);

int st_begin(Store *st);
int st_commit(Store *st);
int st_rollback(Store *st);

/* ---- programs (by the SHA-256 of their .hbc bytes) ------------------------ */

int st_put_program(Store *st, const uint8_t hash[32], const char *playbook, const uint8_t *bytes, size_t len);
int st_get_program(Store *st, const uint8_t hash[32], uint8_t **bytes, size_t *len);

/* ---- instances -------------------------------------------------------------- */

typedef struct StInstance {
  char *id;                /* 16 lowercase hex */
  uint8_t program[32];
  char *playbook;
  char *status;            /* running, suspended, reviewing, completed, failed */
  char *starter;
  char *input, *params;    /* JSON objects as given */
  char *mocks;             /* JSON mock object, or NULL */
  char *mock_state;        /* JSON, the mocks' call counters, or NULL */
  char *result, *error;    /* JSON, or NULL */
  char *owner;             /* "host:pid" of the process running it, or NULL */
  int64_t segment;         /* incremented at every resume */
  int64_t created, updated;   /* Unix seconds */
} StInstance;

void st_instance_free(StInstance *in);
int st_insert_instance(Store *st, const StInstance *in);
int st_get_instance(Store *st, const char *id, StInstance *out);
/* Update status, result, error, mock_state, segment, owner and updated (NULL
 * strings are stored as NULL). */
int st_update_instance(Store *st, const StInstance *in);
/* status NULL = every instance; ordered by created, then id */
int st_list_instances(Store *st, const char *status, StInstance **out, size_t *n);
void st_instances_free(StInstance *v, size_t n);

/* ---- snapshots (one per instance: the state at its last stop) -------------- */

int st_save_snapshot(Store *st, const char *instance, const uint8_t *bytes, size_t len);
int st_load_snapshot(Store *st, const char *instance, uint8_t **bytes, size_t *len);
int st_delete_snapshot(Store *st, const char *instance);

/* ---- items ------------------------------------------------------------------ */

typedef struct StItem {
  int64_t id;              /* assigned by st_insert_item, increasing over the whole store */
  char *instance;
  char *kind;              /* approval, review */
  char *title;
  char *payload;           /* JSON */
  char *digest;            /* lowercase hex SHA-256, or NULL until set */
  char *by;                /* group, or NULL */
  int64_t quorum;          /* >= 1 */
  char *editable;          /* JSON list of names */
  char *status;            /* open, decided, expired, cancelled */
  int64_t created;
  int64_t deadline;        /* Unix seconds, -1 = none */
  int timeout_verdict;     /* -1 none, 0 approve, 1 reject (applied by expire) */
  char *timeout_reason;
} StItem;

void st_item_free(StItem *it);
int st_insert_item(Store *st, StItem *it);              /* sets it->id */
int st_set_item_digest(Store *st, int64_t id, const char *digest);
int st_get_item(Store *st, int64_t id, StItem *out);
/* status NULL = any; group NULL = any; ordered by id */
int st_list_items(Store *st, const char *status, const char *group, StItem **out, size_t *n);
/* The open items of one instance, ordered by id (an index lookup: the cost
 * does not grow with the other instances' items). */
int st_list_open_items_of(Store *st, const char *instance, StItem **out, size_t *n);
void st_items_free(StItem *v, size_t n);
/* Move an open item to new_status; ST_CONFLICT if it is not open (exactly
 * one of several racing deciders gets ST_OK). */
int st_close_item(Store *st, int64_t id, const char *new_status);
int64_t st_count_open_items(Store *st);                 /* the `queue` of routing; -1 on error */

/* ---- verdicts --------------------------------------------------------------- */

typedef struct StVerdict {
  int64_t id;
  int64_t item;
  char *instance;
  char *verdict;           /* approve, modify, reject, pass, flag, or a timeout's */
  char *reviewer;
  char *reason;            /* or NULL */
  char *edits;             /* JSON object, or NULL */
  int64_t at;
  char *signature;         /* Ed25519 signature, 128 hex, or NULL (schema v3) */
} StVerdict;

void st_verdict_free(StVerdict *v);
/* sets v->id; a second verdict of one reviewer on one item is ST_CONFLICT
 * (a quorum vote is cast once) */
int st_insert_verdict(Store *st, StVerdict *v);
int st_list_verdicts(Store *st, int64_t item, StVerdict **out, size_t *n);
void st_verdicts_free(StVerdict *v, size_t n);

/* ---- the reviewer registry (hitlvm reviewers; schema v3) -------------------- */

typedef struct StReviewer {
  char *name;
  char *key;               /* Ed25519 public key as 64 lowercase hex, or NULL */
  char *groups;            /* JSON list of group names, sorted */
  int64_t created;
} StReviewer;

/* Create the reviewer (at: Unix seconds), or keep it; a non-NULL key
 * replaces the stored one. */
int st_add_reviewer(Store *st, const char *name, const char *key, int64_t at);
int st_add_membership(Store *st, const char *name, const char *group);   /* idempotent */
/* The reviewer and its memberships; ST_NOTFOUND if there is none. */
int st_remove_reviewer(Store *st, const char *name);
int st_remove_membership(Store *st, const char *name, const char *group); /* ST_NOTFOUND: not a member */
int st_is_member(Store *st, const char *name, const char *group);        /* ST_OK, or ST_NOTFOUND */
int st_get_reviewer(Store *st, const char *name, StReviewer *out);
int st_list_reviewers(Store *st, StReviewer **out, size_t *n);           /* ordered by name */
void st_reviewer_free(StReviewer *r);
void st_reviewers_free(StReviewer *v, size_t n);
/* A signed group accepts only verdicts signed by a registered key. */
int st_set_group_signed(Store *st, const char *group, bool sign);
int st_group_signed(Store *st, const char *group, bool *sign);           /* false if never set */

/* ---- the event log (append-only, per instance) ------------------------------ */

typedef struct StEvent {
  int64_t seq;             /* 1, 2, ... per instance */
  int64_t at;
  char *kind;
  char *fields;            /* JSON object */
} StEvent;

/* seq is the instance's last + 1; the event's hash (schema v4) chains it to
 * the one before, and the instance's head moves on (docs/store.md). */
int st_append_event(Store *st, const char *instance, int64_t at, const char *kind, const char *fields);
int st_list_events(Store *st, const char *instance, StEvent **out, size_t *n);
void st_events_free(StEvent *v, size_t n);

/* ---- the tamper-evident log (schema v4; docs/store.md, docs/SECURITY.md) ---- */

/* The hashes, as 64 lowercase hex (out[65]); prev NULL for the first link.
 * False only when out of memory. */
bool st_event_hash(const char *prev, const char *instance, int64_t seq, int64_t at, const char *kind,
                   const char *fields, char out[65]);
bool st_verdict_hash(const char *prev, const StVerdict *v, char out[65]);

/* Check the chains of one instance (NULL = every instance) and the
 * store-wide decisions chain.  ST_OK with a->ok false names the first bad
 * link; ST_NOTFOUND for an unknown instance. */
typedef struct StAudit {
  bool ok;
  int64_t instances, events, decisions;   /* how many were checked */
  char instance[64];                      /* the first bad link's instance, or "" */
  int64_t seq;                            /* its event (or decision) number */
  char problem[256];
} StAudit;
int st_audit(Store *st, const char *instance, StAudit *a);

/* ---- the action journal (exactly once) -------------------------------------- */

/* One row per action call of an instance, by the call's index in the
 * instance's run (the VM counts calls; replay after a crash repeats them).
 * state: "intent" (recorded before an irreversible action is called),
 * "done" (the result), "failed" (the error message in result). */
typedef struct StCall {
  char *instance;
  int64_t idx;
  char *action;
  char *args;              /* JSON object */
  char *state;
  char *result;            /* JSON result, error message, or NULL */
  int64_t at;
} StCall;

void st_call_free(StCall *c);
int st_get_call(Store *st, const char *instance, int64_t idx, StCall *out);
int st_put_call(Store *st, const StCall *c);            /* insert or replace */
/* Drop the instance's finished rows (done, failed) with an index below
 * `below`: the calls a stored snapshot has behind it, which no replay can
 * reach again.  An intent or a retry stays whatever its index. */
int st_prune_calls(Store *st, const char *instance, int64_t below);

/* ---- calibrated thresholds (hitlvm calibrate --apply) ----------------------- */

/* One per playbook name and action: the threshold that takes precedence over
 * the playbook's thresholds block (LANGUAGE.md §6), with the target and the
 * number of decisions it was computed from. */
typedef struct StThreshold {
  char *playbook;
  char *action;
  double value;            /* in [0, 1] */
  double target;
  int64_t samples;
  int64_t at;              /* Unix seconds */
} StThreshold;

int st_put_threshold(Store *st, const StThreshold *t);  /* insert or replace */
/* playbook NULL = every playbook; ordered by playbook, then action */
int st_list_thresholds(Store *st, const char *playbook, StThreshold **out, size_t *n);
void st_thresholds_free(StThreshold *v, size_t n);

/* ---- decisions and action calls (hitlvm stats, calibrate, export) ----------- */

/* The walks hand each row to a callback (JSON fields are read with SQLite's
 * JSON functions, which need SQLite 3.38 or later); its strings are borrowed, valid
 * during the call only.  The callback must not use the store; returning
 * false stops the walk (ST_ERR, "stopped by the caller"). */

/* A routed call: an approval item opened by an `approve` route (its payload
 * has action, risk and rule), with its last verdict.  Ordered by item id. */
typedef struct StDecision {
  int64_t item;
  const char *instance, *playbook, *action;
  double confidence, threshold;   /* payload.risk's; -1 when missing */
  const char *payload;            /* JSON object */
  const char *status;             /* open, decided, expired, cancelled */
  const char *verdict, *reviewer, *reason, *edits;   /* NULL while undecided */
  int64_t created, at;            /* at: the verdict's time, -1 while undecided */
  const char *args, *risk, *rule, *because;   /* the payload's, as JSON text; NULL if missing */
} StDecision;
typedef bool (*StDecisionFn)(void *user, const StDecision *d);
int st_each_decision(Store *st, StDecisionFn fn, void *user);

/* Every `action` event of every instance (the calls that ran or were denied),
 * in the order they were logged. */
typedef struct StActionCall {
  const char *instance, *playbook, *action;
  const char *route;              /* auto, approve, review, deny */
  double confidence;              /* -1 when the call gave none */
  int64_t seq, at;
  const char *fields;             /* the event's JSON object */
  const char *args, *rule, *because;   /* its fields as JSON text; NULL if missing */
  bool failed;                    /* the call raised (the event has `error`) */
} StActionCall;
typedef bool (*StActionCallFn)(void *user, const StActionCall *c);
int st_each_action_call(Store *st, StActionCallFn fn, void *user);

#endif
