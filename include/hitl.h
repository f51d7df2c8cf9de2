/* hitl.h — embed hitl in a program: compile or load a playbook, bind its
 * actions to your functions, run instances, stop at checkpoints, snapshot a
 * suspended instance and resume it later, in this process or another.
 *
 *   hitl_program *p; hitl_error *e;
 *   if (hitl_compile(src, strlen(src), "refund.hitl", NULL, &p, &e) != 0) {
 *     fprintf(stderr, "%s\n", hitl_error_message(e)); hitl_error_free(e); ...
 *   }
 *   hitl_instance *in = hitl_instance_new(p, NULL);
 *   hitl_bind(in, "issue_refund", my_refund, my_state);
 *   switch (hitl_start(in, "{\"order_id\": \"A-1\", \"amount\": 120.5}", &e)) {
 *   case HITL_COMPLETED: puts(hitl_result_json(in)); break;
 *   case HITL_SUSPENDED: puts(hitl_pending_json(in));        // show it to a person
 *                        hitl_resume(in, "{\"kind\": \"approve\"}", &e); ...
 *   case HITL_FAILED:    ... hitl_error_kind(e), hitl_error_message(e) ...
 *   ...
 *   }
 *   hitl_instance_free(in); hitl_program_free(p);
 *
 * Every name here begins with hitl_ (HITL_ for macros); nothing else is
 * exported by libhitl.so.  JSON text is UTF-8, NUL-terminated.
 *
 * Memory: every pointer a function returns says who owns it.  Objects the
 * library makes (programs, instances, errors) are freed by their _free
 * function; byte buffers handed to the caller are freed with hitl_free;
 * `const char *` results belong to the object they came from and stay valid
 * until that object next runs (hitl_start, hitl_resume) or is freed.
 *
 * Threads: the library keeps no global mutable state.  A program is
 * immutable once made and may be shared by any number of threads and
 * instances at once (free it after the last of its instances).  Distinct
 * instances may run on distinct threads at the same time.  One instance must
 * not be used from two threads at once (serialise the calls yourself); it
 * may move between threads.  Action callbacks run on the thread that called
 * hitl_start or hitl_resume, inside that call.  Errors are plain values,
 * safe to pass between threads.
 *
 * Failures: a function that can fail takes `hitl_error **error`; on failure
 * it sets *error to a new error (kind, message, line) that the caller frees
 * with hitl_error_free, and on success sets it to NULL.  error may be NULL
 * when the caller does not want the details.  Kinds are the playbook's own
 * (LANGUAGE.md §2: "type", "arith", "index", "action", "rejected", "denied",
 * "failed", and the resource kinds "memory", "fuel", "depth") plus the API's:
 * "compile" (diagnostics as text), "load" (bad bytecode), "snapshot" (a
 * refused snapshot), "input" (input or param refused), "verdict" (a verdict
 * refused), "usage" (a call out of order, an unknown name), "store" (the
 * store cannot be opened, read or written) and "memory" (out of memory in
 * the library itself).
 *
 * The store (hitl_store_*, below) is what `hitlvm` works on: durable
 * instances that suspend in one process and are resumed by another (this
 * library or hitlvm), the reviewers' desk, the action journal, recovery
 * after a crash.  See docs/embedding.md, "The store". */
#ifndef HITL_H
#define HITL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libhitl.so is built with hidden visibility: only what this header
 * declares is exported (and include/hitl.map keeps it to hitl_*). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define HITL_VERSION_MAJOR 0
#define HITL_VERSION_MINOR 2
#define HITL_VERSION_PATCH 0
#define HITL_VERSION_STRING "0.2.0"

typedef struct hitl_program hitl_program;     /* a compiled playbook: immutable, shareable */
typedef struct hitl_instance hitl_instance;   /* one run of a program */
typedef struct hitl_error hitl_error;         /* kind, message, line */

typedef enum hitl_status {
  HITL_ERROR = -1,      /* the call was refused and nothing ran (*error says why); the
                           instance is as it was before the call */
  HITL_COMPLETED = 0,   /* the playbook returned: hitl_result_json */
  HITL_SUSPENDED = 1,   /* waiting for a verdict: hitl_pending_json, then hitl_resume */
  HITL_FAILED = 2,      /* an uncaught error ended the playbook: *error */
  HITL_REVIEWING = 3,   /* completed (hitl_result_json), with review items still open
                           (hitl_reviews_json, hitl_review; LANGUAGE.md §7) */
} hitl_status;

/* Run-time limits (TOOLS.md §5); 0 in a field means the default. */
typedef struct hitl_limits {
  uint64_t fuel;          /* loop iterations + calls per run segment (hitlvm --fuel) */
  size_t heap_bytes;      /* live heap of one instance */
  uint32_t max_depth;     /* call depth */
  size_t max_string;      /* bytes in one string */
  uint32_t max_list;      /* elements in one list or map */
} hitl_limits;

/* An action binding.  args_json is a JSON object {parameter: value}.  On
 * success return 0 and set *result_json to the result as JSON text; on
 * failure return non-zero and set *result_json to a message (or leave it
 * NULL): the call then raises an error of kind "action" carrying it.
 * *result_json must be allocated with hitl_alloc (or hitl_strdup; they are
 * malloc, so malloc'd text is fine too); the library frees it.  The result
 * is checked against the action's declared type. */
typedef int (*hitl_action_fn)(void *user, const char *action, const char *args_json,
                              char **result_json);

/* An event of the instance's log (LANGUAGE.md §8): its kind ("step",
 * "action", "log", "checkpoint", ...) and its fields as a JSON object.  Both
 * texts are valid during the call only. */
typedef void (*hitl_event_fn)(void *user, const char *kind, const char *fields_json);

/* ---- the library --------------------------------------------------------- */

/* The library's version, "MAJOR.MINOR.PATCH" (static text). */
const char *hitl_version(void);

/* The allocator of texts passed to the library (an action's *result_json)
 * and of buffers it hands out (hitl_snapshot): malloc and free.
 * hitl_alloc returns NULL when out of memory; hitl_strdup(NULL) is NULL. */
void *hitl_alloc(size_t size);
char *hitl_strdup(const char *s);
void hitl_free(void *p);

/* ---- programs ------------------------------------------------------------ */

/* Compile playbook source (len bytes) in memory.  name is the file name
 * diagnostics show ("playbook.hitl" when NULL).  base_dir (may be NULL) is
 * the playbook's folder: `from "lib.so"` actions look there first.  On
 * success returns 0 and *program (free with hitl_program_free); on errors
 * returns -1, *program NULL, and *error of kind "compile" whose message is
 * every diagnostic as hitlc prints them (FILE:LINE:COL: error: ..., the
 * source line, a caret) and whose line is the first error's line.
 * Safe from any number of threads at once. */
int hitl_compile(const char *source, size_t len, const char *name, const char *base_dir,
                 hitl_program **program, hitl_error **error);

/* Load bytecode (the bytes of a .hbc file or of hitl_program_bytes), verified
 * before anything runs (TOOLS.md §4).  base_dir as for hitl_compile.  0 and
 * *program, or -1 and an error of kind "load". */
int hitl_load(const uint8_t *bytes, size_t len, const char *base_dir, hitl_program **program,
              hitl_error **error);

/* The program as .hbc bytes (*len set); owned by the program. */
const uint8_t *hitl_program_bytes(const hitl_program *program, size_t *len);
/* Lowercase hex SHA-256 of those bytes: the program's identity, which its
 * snapshots name (owned by the program). */
const char *hitl_program_hash(const hitl_program *program);
/* The playbook's NAME (owned by the program). */
const char *hitl_program_name(const hitl_program *program);
/* Free a program and everything it owns.  Its instances must be freed first.
 * NULL is ignored. */
void hitl_program_free(hitl_program *program);

/* ---- instances ----------------------------------------------------------- */

/* A new instance of program, not yet started, with limits (NULL = defaults)
 * and no bindings but the program's `from` actions.  NULL when out of
 * memory.  Free with hitl_instance_free (NULL is ignored). */
hitl_instance *hitl_instance_new(const hitl_program *program, const hitl_limits *limits);
void hitl_instance_free(hitl_instance *instance);

/* Bind one action (by its declared name) to a callback; fn NULL removes the
 * binding.  A binding wins over everything else, a `from` declaration
 * included.  Returns 0, or -1 when the program declares no such action.
 * Each action call goes to, in this order: its hitl_bind callback, its mock
 * (hitl_bind_mocks), its `from` library function (through libffi), the
 * hitl_bind_default callback; with none of these the call fails with kind
 * "action", "no binding for action 'NAME'". */
int hitl_bind(hitl_instance *instance, const char *action, hitl_action_fn fn, void *user);
/* A callback for every action that has nothing else bound (fn NULL removes
 * it); it receives the action's name. */
void hitl_bind_default(hitl_instance *instance, hitl_action_fn fn, void *user);
/* Mocks as `hitlvm run --mock FILE` takes them (docs/hitlvm.md): a JSON
 * object from action name to a VALUE, {"results": [...]} or {"error": "..."}.
 * Replaces earlier mocks.  0, or -1 and an error of kind "input". */
int hitl_bind_mocks(hitl_instance *instance, const char *mocks_json, hitl_error **error);

/* Receive the instance's events (fn NULL: none). */
void hitl_on_event(hitl_instance *instance, hitl_event_fn fn, void *user);

/* Override a param before hitl_start (hitlvm --param NAME=VALUE): a string
 * param takes value as text, any other type a JSON literal of that type.
 * 0, or -1 and an error of kind "input" (unknown name, bad value) or
 * "usage" (already started). */
int hitl_set_param(hitl_instance *instance, const char *name, const char *value,
                   hitl_error **error);

/* Start the instance with its input (a JSON object checked against the
 * playbook's input block; NULL means "{}") and run it until it completes,
 * fails or suspends.  HITL_ERROR (kind "input" or "usage": started before)
 * when refused.  HITL_FAILED sets *error to the playbook's error. */
hitl_status hitl_start(hitl_instance *instance, const char *input_json, hitl_error **error);

/* Give the pending item a verdict and run on until the next stop.  The
 * verdict is a JSON object {"kind": "approve"|"modify"|"reject",
 * "reviewers": [names], "reason": text, "edits": {name: value}, "at": time},
 * only "kind" required (LANGUAGE.md §7; edits only with modify, and only the
 * item's editable names).  A refused verdict (kind "verdict") or an instance
 * that is not suspended ("usage") returns HITL_ERROR and changes nothing. */
hitl_status hitl_resume(hitl_instance *instance, const char *verdict_json, hitl_error **error);

/* Where the instance stands: HITL_ERROR before hitl_start, else the status
 * its last run ended with. */
hitl_status hitl_instance_status(const hitl_instance *instance);

/* After HITL_COMPLETED: the result as JSON, else "null". */
const char *hitl_result_json(const hitl_instance *instance);
/* After HITL_SUSPENDED: the open item's payload as a JSON object (title,
 * step, kind, show, editable, by, quorum, ...; LANGUAGE.md §7), else "null". */
const char *hitl_pending_json(const hitl_instance *instance);
/* After HITL_FAILED: the error as JSON {"kind", "message", "line"}, else "null". */
const char *hitl_error_json(const hitl_instance *instance);

/* The open item's digest (LANGUAGE.md §7): lowercase hex SHA-256 of the
 * canonical JSON of {"instance": instance_id, "item": item, "payload": ...},
 * written to hex (65 bytes with the NUL).  0, or -1 when nothing is pending
 * (or out of memory). */
int hitl_pending_digest(const hitl_instance *instance, const char *instance_id, int64_t item,
                        char hex[65]);

/* The whole state of a suspended instance (or of one whose review items are
 * open: hitl_review works on its restored copy) as bytes: *bytes (free with
 * hitl_free) and *len.  Bindings, mocks and event callbacks are not part of
 * it: the restoring process binds its own.  0, or -1 and an error ("usage"
 * when the instance is not suspended). */
int hitl_snapshot(const hitl_instance *instance, uint8_t **bytes, size_t *len, hitl_error **error);
/* A new instance of program in the state of a snapshot (from this process
 * or another) with limits (NULL = defaults), suspended or with reviews open
 * (hitl_instance_status says which); bind its actions, then hitl_resume or
 * hitl_review.  0 and *instance, or -1 and an error of kind "snapshot" when
 * the bytes are corrupt, truncated, of another program (its hash differs)
 * or of another format version. */
int hitl_restore(const hitl_program *program, const uint8_t *bytes, size_t len,
                 const hitl_limits *limits, hitl_instance **instance, hitl_error **error);

/* ---- reviews (LANGUAGE.md §7) -------------------------------------------- */

/* The instance's open review items (review blocks that ended, calls routed
 * to `review`) as a JSON list [{"item": N, "payload": {title, step, calls,
 * by, deadline}}]; the instance names them 1, 2, ... (names survive
 * snapshots).  Owned by the instance, valid until the next call on it; NULL
 * when out of memory.  Review items open while the body runs on: any
 * status but HITL_ERROR may have some. */
const char *hitl_reviews_json(hitl_instance *instance);

/* A review item's verdict, {"kind": "pass"|"flag", "reason": text,
 * "reviewers": [names]}: pass closes it; flag closes it and runs now the
 * review block's flag block (with the variables as they were at the block's
 * end) or, for a routed call, the action's undo, whatever the body is doing.
 * Returns the instance's status after it: HITL_SUSPENDED while the body
 * still waits, HITL_REVIEWING or HITL_COMPLETED once it has ended,
 * HITL_FAILED when the flag block or undo failed (*error; that fails the
 * instance).  HITL_ERROR (kind "usage": no such open item; "verdict": not
 * pass or flag) changes nothing. */
hitl_status hitl_review(hitl_instance *instance, int64_t item, const char *verdict_json, hitl_error **error);

/* ---- the store (TOOLS.md §2-3) --------------------------------------------- */

/* A store is the SQLite file `hitlvm` keeps (docs/store.md): programs by
 * their hash, instances with their snapshots, items and verdicts, event
 * logs, the action journal, the reviewer registry.  Here a program does with
 * it what hitlvm does: start durable instances, list and show what waits for
 * a person, give verdicts as a named reviewer, expire, read the logs.  The
 * same store may be used at the same time by hitlvm and by other handles,
 * in this process or others: every change is one transaction; of two
 * deciders racing for one item exactly one wins; an instance started here can
 * be resumed by hitlvm and the other way round.
 *
 *   hitl_store *s; char *out; hitl_error *e;
 *   hitl_store_open("refunds.db", &s, &e);
 *   hitl_store_bind(s, "issue_refund", my_refund, my_state);
 *   if (hitl_store_run(s, prog, "{\"order_id\": \"A-1\"}", NULL, "agent", &out, &e) == HITL_EXIT_SUSPENDED)
 *     ... out: {"instance": ..., "status": "suspended", "pending": [{"id": 7, ...}]} ...
 *   hitl_free(out);
 *   // later, in any process that opened the store and bound its actions:
 *   hitl_store_resume(s, 7, "approve", NULL, NULL, NULL, "alice", &out, &e);
 *
 * Return values.  hitl_store_run and hitl_store_resume return the exit
 * class `hitlvm run` / `resume` exits with; every other function that can
 * fail returns HITL_EXIT_COMPLETED or HITL_EXIT_REFUSED (hitl_store_open:
 * 0 or -1). */
#define HITL_EXIT_COMPLETED 0   /* done (a run: the playbook completed, or is reviewing) */
#define HITL_EXIT_FAILED 1      /* the playbook failed: *error is its error (kind, message, line) */
#define HITL_EXIT_REFUSED 2     /* refused, the store unchanged: *error says why */
#define HITL_EXIT_SUSPENDED 3   /* waiting for a verdict: the outcome's "pending" has the item */
/*
 * Refusals are errors of kind "input" (an input, param or mock refused),
 * "verdict" (a verdict refused: not one the item takes, the item not open,
 * a digest that differs, the instance's starter deciding, someone outside
 * the item's group, a second vote, edits the VM refuses, a signed group),
 * "usage" (an unknown item or instance, a missing argument), "store" (the
 * store cannot be opened, read or written; an instance whose stop could not
 * be stored stays running and is recovered later) or "memory".
 *
 * JSON results are the shapes of `hitlvm … --json` (TOOLS.md §2), compact:
 * an outcome {"instance", "status", "result"?, "error"?: {"kind",
 * "message", "line"}, "pending": [ITEM...]} (status "reviewing" when the
 * body ended with review items open; "pending" lists every open item of the
 * instance, approvals and reviews), ITEM {"id", "instance",
 * "kind", "title", "payload", "digest", "by", "quorum", "editable",
 * "created", "deadline"}, times as ISO 8601 UTC text.
 *
 * Memory: every `char **` result is a new NUL-terminated text the caller
 * frees with hitl_free; it is NULL when the call is refused (and may be NULL
 * after a run when memory ran out storing nothing more).  Strings passed in
 * are copied or used during the call only.
 *
 * Bindings.  An instance's actions are answered by the first of: the
 * callback bound to that action's name on the handle (hitl_store_bind), the
 * mocks kept with the instance (hitl_store_bind_mocks when it started, or
 * hitlvm run --mock), its `from` function through libffi, the handle's
 * default callback (hitl_store_bind_default); else the call fails with kind
 * "action", "no binding for action 'NAME'".  Bindings are the handle's, not
 * the instance's: the process that resumes an instance binds the actions it
 * calls from then on (as hitl_restore needs its bindings again).  Every
 * call goes through the store's action journal: before an irreversible
 * action is called its intent is committed, after it its outcome; a call
 * found with an intent and no outcome (the process died during it) is never
 * made again unasked but becomes an approval item ("in doubt").
 *
 * Who acts: `as` names the person or agent (NULL: the operating-system
 * user, as hitlvm without --as).  The starter of an instance may not decide
 * its items.
 *
 * Recovery: a call that looks at instances (resume, outcome, pending, show,
 * instances, log, expire) first takes over the instances of its view left
 * `running` by a process of this host that no longer exists, and runs them on
 * with this handle's bindings (the journal replays the calls already made):
 * bind before looking.
 *
 * Threads: a handle is one connection to the store; use it from one thread
 * at a time (it may move between threads).  Distinct handles may be used on
 * distinct threads at once, on one store or several.  Callbacks run on the
 * calling thread, inside the call.
 *
 * Not here, on purpose (they stay `hitlvm` commands over the same store):
 * stats, calibrate and export (reports for the operator and data for
 * analysis, read-only, and printed by hitlvm in the shapes TOOLS.md fixes),
 * audit verify (an independent check of the store is best run by someone
 * other than the agent that writes it), keygen and resume --sign (a
 * reviewer's secret key belongs with the reviewer, not in an agent's
 * process: a verdict on an item of a signed group is refused here), and the
 * registry's list / remove / group (administration). */

typedef struct hitl_store hitl_store;      /* an open store and the host's bindings */

/* A note from the store's work that does not stop it: a warning (a mock
 * naming an action the playbook does not declare, an action's outcome that
 * could not be journaled) or what recovery did.  Valid during the call. */
typedef void (*hitl_note_fn)(void *user, const char *message);

/* Open the store at path (created with its schema when missing; its folder
 * must exist).  path NULL: $HITL_STORE when set and not empty, else
 * ./.hitl/store.db (./.hitl created, mode 0700), as hitlvm.  0 and *store
 * (close with hitl_store_close), or -1 and an error of kind "store". */
int hitl_store_open(const char *path, hitl_store **store, hitl_error **error);
/* Close the store and forget the bindings; NULL is ignored. */
void hitl_store_close(hitl_store *store);

/* Bind an action, by name, for every instance this handle runs (fn NULL
 * removes the binding).  The callback's contract is hitl_action_fn's.  0,
 * or -1 (no store, no name, out of memory). */
int hitl_store_bind(hitl_store *store, const char *action, hitl_action_fn fn, void *user);
/* The callback for every action nothing else answers (fn NULL: none). */
void hitl_store_bind_default(hitl_store *store, hitl_action_fn fn, void *user);
/* Mocks (the hitlvm --mock format) for the instances hitl_store_run starts
 * from now on; they are kept with each instance, so its resumes (here or in
 * hitlvm) use them too, their counters as left.  NULL: none.  0, or -1 and
 * an error of kind "input". */
int hitl_store_bind_mocks(hitl_store *store, const char *mocks_json, hitl_error **error);
/* Limits of every run segment from now on (NULL: the defaults); fuel is
 * hitlvm's --fuel. */
void hitl_store_set_limits(hitl_store *store, const hitl_limits *limits);
/* Receive the events of the run segments this handle runs, as they are
 * logged (fn NULL: none). */
void hitl_store_on_event(hitl_store *store, hitl_event_fn fn, void *user);
/* Receive the notes (fn NULL: none). */
void hitl_store_on_note(hitl_store *store, hitl_note_fn fn, void *user);

/* hitlvm run: start an instance of program as `as` with its input (a JSON
 * object; NULL means "{}") and params (a JSON object {name: value}, NULL
 * for none; a string value is taken as hitlvm --param takes VALUE, any
 * other as its JSON text), stored with the program, and run it until it
 * completes, fails or suspends.  Returns the exit class; *outcome_json is
 * the outcome (not on HITL_EXIT_REFUSED, when nothing was stored). */
int hitl_store_run(hitl_store *store, const hitl_program *program, const char *input_json,
                   const char *params_json, const char *as, char **outcome_json, hitl_error **error);

/* hitlvm resume: give item a verdict as `as`, with an optional reason: on
 * an approval item "approve", "modify" (with edits_json, a JSON object of
 * the item's editable names) or "reject"; on a review item "pass" or "flag"
 * (a flag runs the review's flag block, or the call's undo, now).  digest
 * (optional, the item's as show gave it) refuses the verdict unless the
 * item is exactly what was seen.  The verdict is checked in full before
 * anything is written; then the item is claimed and the instance runs on
 * with this handle's bindings.  On an item with a quorum above 1 a vote
 * short of it returns HITL_EXIT_SUSPENDED, the item still pending.  Returns
 * the exit class (the instance's state after it: an instance still
 * reviewing is 0) and *outcome_json as for hitl_store_run. */
int hitl_store_resume(hitl_store *store, int64_t item, const char *verdict, const char *reason,
                      const char *edits_json, const char *digest, const char *as, char **outcome_json,
                      hitl_error **error);

/* Where an instance stands now: the outcome object of run / resume
 * (recovering it first if its process died).  "usage" for an unknown one. */
int hitl_store_outcome(hitl_store *store, const char *instance, char **outcome_json, hitl_error **error);

/* hitlvm pending: the open items as a JSON list of ITEMs; group (may be
 * NULL) keeps those whose `by` is group; as (may be NULL) keeps those `as`
 * may decide (not of an instance `as` started, of `as`'s groups, not yet
 * voted on by `as`). */
int hitl_store_pending(hitl_store *store, const char *group, const char *as, char **items_json,
                       hitl_error **error);
/* hitlvm show: one item, open or not, as ITEM plus "votes" ([{"reviewer",
 * "verdict", "at"}]), "approvals" and "status". */
int hitl_store_show(hitl_store *store, int64_t item, char **item_json, hitl_error **error);
/* hitlvm instances: a JSON list of {"id", "playbook", "status", "starter",
 * "created", "updated"}; status NULL for all, else running, suspended,
 * reviewing, completed or failed (anything else: "usage"). */
int hitl_store_instances(hitl_store *store, const char *status, char **instances_json, hitl_error **error);
/* hitlvm log: the instance's events as a JSON list of {"seq", "at", "kind",
 * ...the event's fields}. */
int hitl_store_log(hitl_store *store, const char *instance, char **events_json, hitl_error **error);
/* hitlvm expire: every open item whose deadline is at or before now (Unix
 * seconds; negative: the clock) and that has a timeout verdict gets it in
 * the name of "timeout", and its instance runs on.  *expired_json lists them,
 * [{"item", "instance", "verdict", "status"}].  HITL_EXIT_REFUSED when the
 * items cannot be read, or when some item could not be expired (*error says
 * why; *expired_json still lists the others). */
int hitl_store_expire(hitl_store *store, int64_t now, char **expired_json, hitl_error **error);

/* hitlvm reviewers add: the reviewer `name` (created, or kept) in each of
 * the ngroups groups, whose members decide the items a playbook gives `by`
 * them.  Names are printable, without spaces, at most 128 bytes, not
 * "timeout" ("input" otherwise). */
int hitl_store_reviewers_add(hitl_store *store, const char *name, const char *const *groups, size_t ngroups,
                             hitl_error **error);

/* ---- errors -------------------------------------------------------------- */

/* The error's kind (see above), message and source line (0 when none).  The
 * texts belong to the error. */
const char *hitl_error_kind(const hitl_error *error);
const char *hitl_error_message(const hitl_error *error);
int64_t hitl_error_line(const hitl_error *error);
void hitl_error_free(hitl_error *error);   /* NULL is ignored */

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
