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
 * refused), "usage" (a call out of order, an unknown name) and "memory"
 * (out of memory in the library itself).
 *
 * Not here yet: the store (TOOLS.md §3: opening a store and doing what
 * `hitlvm` does with it — durable instances, pending items, verdicts by
 * reviewers, event logs).  Until it is, the host keeps snapshots itself;
 * see docs/embedding.md. */
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
#define HITL_VERSION_MINOR 1
#define HITL_VERSION_PATCH 0
#define HITL_VERSION_STRING "0.1.0"

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
