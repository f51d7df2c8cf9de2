/* vm/rt.h — runtime: instances over a store.  What `hitlvm` does with a
 * store, as library code (TOOLS.md §2–3, docs/hitlvm.md): start an instance
 * and run it with every action call journaled, store each stop in one
 * transaction, decide items (claim + verdict + run on), expire them, recover
 * instances whose process died, and read the desk (pending, show, instances,
 * log) as data.  Internal: its two users are the hitlvm command line
 * (vm/hitlvm*.c) and the store API of include/hitl.h (vm/hitl_store.c).
 *
 *   rt_run.c      starting an instance; the run segment (the VM, the action
 *                 journal, the events, storing the stop)
 *   rt_desk.c     who may decide, the verdict's checks, deciding, expire,
 *                 the desk's reads
 *   rt_recover.c  instances whose process died
 *   rt_json.c     times, a string builder, the JSON shapes of TOOLS.md §2
 *
 * Nothing here prints or exits.  A function that can be refused returns an
 * exit class (RT_*, the classes of hitlvm's exit status) and, on RT_USAGE,
 * leaves a message and a kind in the context (rt_fail); warnings and notes
 * that do not stop anything (a mock naming an unknown action, an instance
 * recovered) go to the context's note callback as they happen.  No SQL here:
 * the store is reached through st_* (vm/store.h) only. */
#ifndef HITL_RT_H
#define HITL_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytecode.h"
#include "mock.h"
#include "store.h"
#include "vm.h"

/* The exit classes of run and resume (TOOLS.md §2). */
enum { RT_COMPLETED = 0, RT_FAILED = 1, RT_USAGE = 2, RT_SUSPENDED = 3 };

/* A host's binding of one action (the embedding API's hitl_store_bind). */
typedef struct RtBinding {
  char *action;
  VmActionFn fn;                      /* any non-zero return is a failed call */
  void *user;
} RtBinding;

/* How messages name the command line's options, where a message mentions
 * one: NULL fields give the library's wording. */
typedef struct RtWords {
  const char *param;                  /* "--param"; library: "param" */
  const char *set_one;                /* "--set NAME=JSON"; library: "edit" */
  const char *set;                    /* "--set"; library: "edits" */
  const char *status;                 /* "--status"; library: "status" */
} RtWords;

/* One caller's context: the open store, who acts, where we run, the host's
 * bindings and callbacks.  The caller owns every pointer in it. */
typedef struct RtCtx {
  Store *st;
  const char *store_path;             /* for messages */
  const char *user;                   /* who acts */
  const char *owner;                  /* "host:pid" of this process */
  const char *host;                   /* this host (owners elsewhere are never judged dead) */
  VmLimits limits;                    /* of every VM made (fuel per run segment, ...) */
  const RtBinding *binds;             /* the host's bindings by action name (may be none) */
  size_t nbinds;
  VmActionFn dflt;                    /* the host's binding of every other action, or NULL */
  void *dflt_user;
  RtWords words;
  /* warnings and notes ("warning: ...", "recovered instance ..."), as they happen */
  void (*note)(void *user, const char *message);
  void *note_user;
  /* the events of a run segment that is not quiet, as they happen */
  void (*echo)(void *user, const char *kind, const char *fields_json);
  void *echo_user;
  /* the last refusal: message (mem_alloc'd) and kind ("input", "verdict",
   * "usage", "store", "memory"); see rt_fail */
  char *err;
  const char *err_kind;
} RtCtx;

/* Set the refusal (replacing an earlier one) and return RT_USAGE. */
int rt_fail(RtCtx *c, const char *kind, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;
/* "store PATH: WHAT: the store's message", kind "store"; RT_USAGE. */
int rt_store_fail(RtCtx *c, const char *what);
/* Out of memory; RT_USAGE. */
int rt_oom(RtCtx *c);
/* Forget the refusal. */
void rt_clear(RtCtx *c);
/* A note to the note callback (nothing without one). */
void rt_note(RtCtx *c, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;
/* The refusal as a note, then forgotten (recovery and expire go on after one). */
void rt_fail_to_note(RtCtx *c);

/* ---- rt_json.c: text ------------------------------------------------------- */

/* A growing string (mem_alloc'd); after a failed allocation `oom` is set and
 * further appends do nothing. */
typedef struct RtBuf {
  char *s;
  size_t len, cap;
  bool oom;
} RtBuf;
void rt_buf_add(RtBuf *b, const char *text);
void rt_buf_addn(RtBuf *b, const char *text, size_t n);
void rt_buf_printf(RtBuf *b, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;
void rt_buf_quoted(RtBuf *b, const char *s);     /* a JSON string literal, or null for NULL */
/* The text (the caller frees it with mem_free(p, 0)), or NULL when out of
 * memory; the buffer is empty again either way. */
char *rt_buf_take(RtBuf *b);
void rt_buf_free(RtBuf *b);
/* A formatted string, mem_alloc'd (NULL when out of memory). */
char *rt_printf(const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 1, 2)))
#endif
  ;
char *rt_strdup(const char *s);                  /* mem_alloc'd; NULL when out of memory */

void rt_iso_time(int64_t t, char out[32]);       /* 2026-11-28T14:00:00Z */
bool rt_parse_time(const char *s, int64_t *out); /* Unix seconds or ISO 8601 UTC */
char *rt_json_quote(const char *s);              /* a JSON string literal; malloc'd; NULL if s is not UTF-8 */

/* The JSON shapes of TOOLS.md §2 `--json` (compact, as hitlvm prints them
 * without the line break). */
void rt_item_json(RtBuf *b, const StItem *it);                     /* ITEM */
/* show: ITEM plus "votes", "approvals", "status" */
void rt_show_json(RtBuf *b, const StItem *it, const StVerdict *v, size_t n);
/* run / resume: {"instance", "status", "result"?, "error"?, "pending": [ITEM...]} */
int rt_outcome_json(RtCtx *c, const char *instance, char **out);
/* instances: one {"id", "playbook", "status", "starter", "created", "updated"} */
void rt_instance_json(RtBuf *b, const StInstance *in);
/* log: one {"seq", "at", "kind", ...the event's fields} on one line */
void rt_event_json(RtBuf *b, const StEvent *e);
int rt_count_approvals(const StVerdict *v, size_t n);

/* ---- rt_run.c: starting an instance, the run segment ----------------------- */

/* An event of a segment, kept until its stop is stored. */
typedef struct RtEvent {
  char *kind, *fields;
  int64_t at;
} RtEvent;

/* One run segment of an instance: its VM, mocks and the events it logs, kept
 * in memory until the stop is stored in one transaction. */
typedef struct RtRun {
  RtCtx *c;
  char id[64];                        /* the instance */
  Module *m;
  bool own_m;                         /* m is freed with the run */
  bool cached_m;                      /* m is the process's cached copy (rt_run.c), released with the run */
  VM *vm;
  Mocks *mocks;
  struct Ffi *ffi;                    /* `from` actions through libffi */
  int64_t verdict_item;               /* the item whose verdict this segment applies, 0 = none */
  int64_t segment;                    /* the instance's segment count, as its stop records it */
  uint64_t calls_before;              /* the VM's action calls when the segment began */
  char *base_dir;                     /* the playbook's folder (run only), for `from` libraries */
  uint8_t hash[32];                   /* the program's */
  uint8_t *bytes;                     /* its .hbc bytes (run only, stored with the instance) */
  size_t len;
  char *input, *params, *params_logged;   /* run only: as stored and as `started` logs them */
  char *mocks_text;                   /* run only: the mocks as stored */
  RtEvent *ev;
  size_t nev, capev;
  bool lost;                          /* an event could not be kept (out of memory) */
  bool quiet;                         /* no echo */
} RtRun;

/* What `run` starts: everything is checked by rt_run_prepare before the store
 * is touched. */
typedef struct RtStart {
  const Module *m;                    /* borrowed: outlives the run */
  const char *base_dir;               /* the playbook's folder, or NULL */
  const char *input;                  /* a JSON object; NULL = "{}" */
  bool compact_input;                 /* store it without the blanks between tokens (a file's) */
  Mocks *mocks;                       /* or NULL; the run takes it over (also on failure) */
  const char *mocks_text;             /* its text, kept with the instance */
  const char *const *param_names;     /* params as hitlvm --param NAME=VALUE takes them */
  const char *const *param_values;
  size_t nparams;
} RtStart;

/* Mocks from their text (the `--mock` format); a name the program does not
 * declare is a note "warning: NAME_OF_TEXT: 'x' is not an action of playbook 'p'".
 * NULL when refused (kind "input"). */
Mocks *rt_mocks_parse(RtCtx *c, const char *name, const char *text, size_t len, const Module *m);

/* Check a start without touching the store: the program written and hashed,
 * the input and params set on a new VM.  RT_COMPLETED, or RT_USAGE (the run
 * is freed). */
int rt_run_prepare(RtCtx *c, const RtStart *s, RtRun *r);
/* Start the prepared instance (one transaction: the program, the instance,
 * its `started` event), then run its first segment: rt_segment_run's class. */
int rt_run_start(RtRun *r);

/* A suspended instance's VM from its snapshot, its mocks as they were left,
 * the journal and the event collector bound.  RT_COMPLETED or RT_USAGE. */
int rt_run_restore(RtCtx *c, const StInstance *in, RtRun *r, bool quiet);
/* The same, with an item already read (the one being decided): when the
 * snapshot's pending payload is that item's, it is not read again. */
int rt_run_restore_at(RtCtx *c, const StInstance *in, RtRun *r, bool quiet, const StItem *known);
/* A fresh start of an instance that never stopped (recovery; quiet). */
int rt_run_fresh(RtCtx *c, const StInstance *in, RtRun *r);
void rt_run_event(RtRun *r, const char *kind, const char *fields_json);
/* vm_run, then store the stop in one transaction (events, item, snapshot,
 * status): RT_COMPLETED, RT_SUSPENDED, RT_FAILED, or RT_USAGE when the stop
 * could not be stored (the instance stays running and is recovered later). */
int rt_segment_run(RtRun *r);
/* A review item's verdict on a restored VM (vm_review_verdict: pass, or
 * flag running the flag block or undo now), then the stop stored like
 * rt_segment_run's, the body's item (if it waits) left as it is: the class
 * of the state the instance is in after it. */
int rt_segment_review(RtRun *r, int64_t item, const char *verdict_json);
void rt_run_free(RtRun *r);

/* ---- rt_recover.c: instances whose process died ----------------------------- */

/* "host:pid" of a process on this host that no longer exists. */
bool rt_owner_is_dead(const RtCtx *c, const char *owner);
/* Take over the instance if it is running under a dead owner, and run it on
 * (notes say what happened).  True when it was taken over (its rows may
 * have changed). */
bool rt_recover_instance(RtCtx *c, const char *id);
void rt_recover_all(RtCtx *c);
/* An instance's items with that status (NULL = any), ordered by id. */
int rt_instance_items(RtCtx *c, const char *instance, const char *status, StItem **out, size_t *n);

/* ---- rt_desk.c: the reviewers' desk ------------------------------------------- */

/* Open the store at `given`, else $HITL_STORE (when set and not empty), else
 * ./.hitl/store.db (creating ./.hitl, mode 0700); *path is the one used
 * (given, the environment's or static text).  RT_COMPLETED and c->st, or
 * RT_USAGE (kind "store"). */
int rt_store_open(RtCtx *c, const char *given, Store **st, const char **path);

/* A reviewer's or group's name: printable, no spaces, at most 128 bytes,
 * not "timeout" (the name expire decides in). */
bool rt_good_name(const char *s);
/* Add NAME (created, or kept) to each group, with its public key (64
 * lowercase hex, or NULL to keep the one it has), in one transaction.
 * Names are checked (kind "input"). */
int rt_reviewers_add(RtCtx *c, const char *name, const char *const *groups, size_t ngroups, const char *key);

/* The item (its instance recovered first if it was orphaned).  `as_given`
 * names it in the message of an unknown item (NULL: the id). */
int rt_item_get(RtCtx *c, int64_t id, const char *as_given, StItem *it);
/* What keeps NAME from deciding the item (a message, mem_alloc'd), or NULL
 * if NAME may: the starter, not in the item's group, already voted. */
char *rt_may_not_decide(RtCtx *c, const StItem *it, const char *name);
/* resume's checks, in order, before anything is written: the item open and
 * an approval, the verdict one of its verdicts, edits with modify only, a
 * quorum's verdicts, the digest, the decider.  RT_COMPLETED or RT_USAGE
 * (kind "verdict"). */
int rt_check_verdict(RtCtx *c, const StItem *it, const char *verdict, bool has_edits, const char *digest,
                     const char *who);
/* Whether the item's group takes signed verdicts only. */
int rt_signature_required(RtCtx *c, const StItem *it, bool *required);

/* What a decision did. */
typedef struct RtDecided {
  char instance[64];
  bool vote;                          /* a vote short of the quorum: the instance stays suspended */
  int approvals;                      /* so far (a quorum item) */
  int64_t quorum;
} RtDecided;
/* Claim an open item with a verdict and run its instance on (resume,
 * expire).  A vote on a quorum item short of the quorum is recorded and
 * RT_SUSPENDED.  sig: the verdict's signature (128 hex) or NULL. */
int rt_decide(RtCtx *c, const StItem *it, const char *verdict, const char *reviewer, const char *reason,
              const char *edits, const char *sig, const char *item_status, int64_t at, bool quiet,
              RtDecided *out);
/* The verdict vm_resume is given for an item, from its verdict rows (the
 * last is the deciding one; an approval lists every approving reviewer).
 * malloc'd. */
char *rt_votes_verdict_json(const StVerdict *v, size_t n);

/* expire: every open item past its deadline with a timeout verdict gets it,
 * in the name of `timeout`; fn hears of each one decided.  A failed decision
 * is a note and makes the class RT_USAGE; the others go on. */
typedef void (*RtExpiredFn)(void *user, const StItem *it, const char *verdict, int status);
int rt_expire(RtCtx *c, int64_t now, RtExpiredFn fn, void *user);

/* The desk's reads, each after recovering what it shows. */
/* pending: the open items (group NULL = any; as non-NULL: those AS may decide) */
int rt_pending(RtCtx *c, const char *group, const char *as, StItem **out, size_t *n);
/* instances: status NULL = all, else one of running, suspended, reviewing,
 * completed, failed (anything else is refused) */
int rt_instances(RtCtx *c, const char *status, StInstance **out, size_t *n);
/* show: the item (as rt_item_get) and its votes so far */
int rt_show(RtCtx *c, int64_t id, const char *as_given, StItem *it, StVerdict **votes, size_t *n);
/* log: an instance's events */
int rt_log(RtCtx *c, const char *instance, StEvent **out, size_t *n);

#endif
