/* vm/vm.h — the interpreter's interface: one VM runs one instance of a
 * Module.
 *
 *   VM *vm = vm_new(module, &limits);
 *   vm_bind_actions(vm, my_action_fn, user);
 *   vm_set_events(vm, my_event_fn, user);
 *   if (!vm_set_input_json(vm, "{\"order_id\": \"A-1\"}", err, sizeof err)) ...
 *   switch (vm_run(vm)) { case VM_COMPLETED: vm_result_json(vm) ... }
 *   vm_free(vm);
 *
 * Errors inside the playbook are values (LANGUAGE.md §2): a map {kind,
 * message, line}.  C functions of the VM report them with vm_raise and return
 * false; nothing here prints or exits.  Memory and the size limits are
 * enforced with the uncatchable `memory` kind, the instruction budget with
 * `fuel`, the call depth with `depth`. */
#ifndef HITL_VM_H
#define HITL_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytecode.h"
#include "value.h"

typedef struct VmLimits {
  uint64_t fuel;           /* loop iterations + calls per run segment; 0 = default */
  size_t heap_bytes;       /* live heap; 0 = default */
  uint32_t max_depth;      /* call depth; 0 = default */
  size_t max_string;       /* bytes in one string; 0 = default */
  uint32_t max_list;       /* elements in one list or map; 0 = default */
} VmLimits;

#define VM_DEFAULT_FUEL 1000000000ull
#define VM_DEFAULT_HEAP (512u * 1024 * 1024)
#define VM_DEFAULT_DEPTH 1000
#define VM_DEFAULT_STRING (64u * 1024 * 1024)
#define VM_DEFAULT_LIST (16u * 1024 * 1024)

typedef enum VmStatus {
  VM_COMPLETED,            /* the body returned (or ran off its end: result nil) */
  VM_SUSPENDED,            /* waiting at a checkpoint: see vm_pending_json */
  VM_FAILED,               /* an uncaught error: see vm_error_json */
} VmStatus;

/* An action binding.  args_json is a JSON object {param: value}; on success
 * return 0 and set *result_json to a mem_alloc'd JSON text (the VM frees it
 * with mem_free(p, 0)); on failure return non-zero and set *result_json to a
 * mem_alloc'd message (or NULL).  The VM checks the result's type. */
typedef int (*VmActionFn)(void *user, const char *action, const char *args_json, char **result_json);

/* An event for the instance log (LANGUAGE.md §8): kind and a JSON object
 * with the event's fields (without seq and at, which the log adds). */
typedef void (*VmEventFn)(void *user, const char *kind, const char *fields_json);

VM *vm_new(const Module *m, const VmLimits *lim);     /* NULL on out of memory */
void vm_free(VM *vm);

void vm_bind_actions(VM *vm, VmActionFn fn, void *user);   /* every action */
void vm_set_events(VM *vm, VmEventFn fn, void *user);

/* The run's input (a JSON object) checked against the input block: a missing
 * required name, a wrong type or an unknown name is refused with a message.
 * Must be called once before the first vm_run (with "{}" when none). */
bool vm_set_input_json(VM *vm, const char *json, char *err, size_t n);
/* --param NAME=VALUE: a string param takes VALUE as text, any other type a
 * JSON literal of that type (an int widens for a float param). */
bool vm_set_param(VM *vm, const char *name, const char *value, char *err, size_t n);

/* Run until the playbook completes, fails or suspends. */
VmStatus vm_run(VM *vm);

/* Where the instance is: completed (also with reviews open), suspended or
 * failed (not meaningful before the first vm_run). */
VmStatus vm_status(const VM *vm);
/* After VM_COMPLETED: the result as JSON (owned by the VM). */
const char *vm_result_json(VM *vm);
/* After VM_FAILED: {"kind","message","line"} as JSON (owned by the VM). */
const char *vm_error_json(VM *vm);
const char *vm_error_kind(VM *vm);
/* After VM_SUSPENDED: the open item's payload as JSON (owned by the VM). */
const char *vm_pending_json(VM *vm);

/* ---- suspension, verdicts and snapshots (issue 5) ------------------------- */

/* Resume a suspended VM with a verdict, then vm_run goes on.  The verdict is
 * a JSON object {"kind": "approve"|"modify"|"reject", "reviewers": [names],
 * "reason": text|null, "edits": {name: value}, "at": "ISO time"}; it becomes
 * the `verdict` map the approve block sees.  Edits (modify only) must name
 * the item's editable names, and each value must have the type of the
 * variable's current value (an int widens to a float; a nil variable takes
 * any value).  On refusal: false, a message in err, and the VM unchanged.
 * A rejection of a checkpoint without a reject block raises `rejected`
 * (carrying the reason) when vm_run goes on. */
bool vm_resume(VM *vm, const char *verdict_json, char *err, size_t n);

/* The open item's digest (LANGUAGE.md §7): lowercase hex SHA-256 of the
 * canonical JSON of {"instance": INSTANCE, "item": ITEM, "payload": PAYLOAD}.
 * If canonical is not NULL it receives that text (mem_alloc'd).  false when
 * nothing is pending. */
bool vm_item_digest(VM *vm, const char *instance, int64_t item, char hex[65], char **canonical);

/* The whole state of a suspended VM as bytes (mem_alloc'd; free with
 * mem_free(p, len)): stack, frames, handlers, steps, globals, the heap
 * objects reachable from them, and the pending item.  The snapshot names the
 * program's hash and is checked (magic, version, checksum, every index)
 * when restored. */
bool vm_snapshot(VM *vm, const uint8_t program_hash[32], uint8_t **out, size_t *len);
/* (A VM whose body has ended snapshots too while it has review items open:
 * its outcome and its reviews.) */
/* A VM for module m (whose .hbc hashes to program_hash) in the state of the
 * snapshot; NULL with a message in err when the snapshot is corrupt, of
 * another program or of another format version. */
VM *vm_restore(const Module *m, const uint8_t program_hash[32], const uint8_t *data, size_t len,
               const VmLimits *lim, char *err, size_t n);
/* A host that keeps the pending payload itself (the store's item row holds
 * exactly vm_pending_json's text) names that item: from then on, until the
 * VM stops somewhere else, vm_snapshot refers to the item instead of
 * carrying the payload (with a check of its text), and the snapshot is
 * restored with vm_restore_pending and that text.  Without it a snapshot is
 * whole in itself.  (A payload whose JSON would not read back exactly, e.g.
 * a non-finite float, is always carried.) */
void vm_set_pending_item(VM *vm, int64_t item);
/* The item a snapshot's pending payload refers to: 0 when the snapshot
 * carries it (or waits on none), -1 when it is not a snapshot. */
int64_t vm_snapshot_pending_item(const uint8_t *data, size_t len);
/* vm_restore, with the referred item's payload text (NULL for a snapshot
 * that carries its own; one that refers to an item is refused without it,
 * or with a text other than the one it was taken with). */
VM *vm_restore_pending(const Module *m, const uint8_t program_hash[32], const uint8_t *data, size_t len,
                       const char *pending_json, const VmLimits *lim, char *err, size_t n);

/* Action calls are numbered from 0 in the order the instance makes them (the
 * count survives snapshots), so a journal can replay them after a crash.
 * During an action binding's callback: the call's index and whether the
 * action is irreversible. */
typedef struct VmCallInfo {
  uint64_t index;
  const char *action;
  bool irreversible;
  bool retry;              /* a person approved calling it again after it was in doubt */
} VmCallInfo;
void vm_current_call(VM *vm, VmCallInfo *out);
/* The action calls made so far (the index the next call gets). */
uint64_t vm_calls_made(VM *vm);

/* A binding may return VM_ACTION_IN_DOUBT (with *result_json a mem_alloc'd
 * JSON object of extra payload fields, or NULL) when the journal shows the
 * call was started but never finished: the VM then suspends before the call
 * with an approval item whose payload is {title, step, kind: "in_doubt",
 * action, args, editable: ["result"], ...}.  Its verdict: approve = call the
 * action now (the binding is told through VmCallInfo.retry), modify with
 * edits {"result": VALUE} = the call happened and returned VALUE, reject =
 * the call raises `rejected`. */
#define VM_ACTION_IN_DOUBT 2

/* ---- routing (LANGUAGE.md §6) --------------------------------------------- */

/* The calibrated threshold of an action (hitlvm calibrate --apply), which
 * takes precedence over the thresholds block; false if no such action. */
bool vm_set_calibrated_threshold(VM *vm, const char *action, double value);
/* Where rules read `queue` (the open approval items): called once per routed
 * call; without it queue is 0. */
void vm_set_queue_fn(VM *vm, int64_t (*fn)(void *user), void *user);

/* ---- post-action review (LANGUAGE.md §7; vm/review.c) ---------------------- */

/* Review blocks and calls routed to `review` open review items as the body
 * runs on.  The host stores each at the segment's stop: vm_new_reviews says
 * how many opened since it last named them, vm_new_review_json(vm, k) gives
 * the k-th's payload {title, step, calls, by, deadline} (owned by the VM,
 * valid until the next call), vm_review_digest its digest as the host's item
 * `item` of `instance`, and vm_review_assign(vm, 0, item) names the first of
 * them (call it once per new review, in order).  Names are kept in
 * snapshots. */
uint32_t vm_new_reviews(VM *vm);
const char *vm_new_review_json(VM *vm, uint32_t k);
bool vm_review_digest(VM *vm, uint32_t k, const char *instance, int64_t item, char hex[65]);
/* When the k-th new review opened (Unix seconds: its window starts then and
 * its deadline is that plus `within`), or -1. */
int64_t vm_new_review_opened(VM *vm, uint32_t k);
bool vm_review_assign(VM *vm, uint32_t k, int64_t item);
/* Review items still open (named or not); whether item is one of them. */
uint32_t vm_open_reviews(VM *vm);
bool vm_review_has(VM *vm, int64_t item);
/* The k-th open review's payload (owned by the VM, valid until the next
 * call) and its item (0 while unnamed); NULL when k is out of range. */
const char *vm_open_review_json(VM *vm, uint32_t k, int64_t *item);
/* A review item's verdict, {"kind": "pass"|"flag", "reason": text|null, ...}:
 * pass closes it; flag closes it and runs, now, the review block's flag
 * block with the variables as they were at the block's end (or, for a
 * routed call, logs an alert and calls the action's undo), whatever the
 * body is doing.  1: done, the VM's status as it was; 0: the flag block or
 * undo failed, which fails the instance at once (status VM_FAILED, an alert
 * logged); -1: refused (no such open item, not pass or flag), message in
 * err and nothing changed.  Works on a VM whose body has ended, restored
 * from the snapshot taken while its reviews were open. */
int vm_review_verdict(VM *vm, int64_t item, const char *verdict_json, char *err, size_t n);

/* ---- for the VM's own C code (stdlib, value.c) -------------------------- */

/* Raise a catchable error of `kind` ("type", "arith", "index", "action",
 * "rejected", "denied", "failed") at the current line; always returns false. */
bool vm_raise(VM *vm, const char *kind, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;
/* Out of memory or a size limit: raise the uncatchable `memory` error and
 * unwind to vm_run (does not return). */
_Noreturn void vm_oom(VM *vm, const char *what);

/* C resources held across code that may vm_oom (a jansson tree, a buffer):
 * push a cleanup, pop it when done (run = call fn now).  An out-of-memory
 * unwind runs every pending cleanup.  LIFO. */
void vm_cleanup_push(VM *vm, void (*fn)(void *), void *p);
void vm_cleanup_pop(VM *vm, bool run);

/* Keep a value reachable while C code allocates (LIFO). */
void vm_push_root(VM *vm, Value v);
void vm_pop_root(VM *vm, int n);

/* Heap: a new object (zeroed after its header) and the arrays objects own.
 * Both count against the heap limit, may collect first, and never return
 * NULL (vm_oom instead). */
Obj *gc_new(VM *vm, size_t size, uint8_t type);
void *gc_realloc(VM *vm, void *p, size_t old_size, size_t new_size);
void gc_free_array(VM *vm, void *p, size_t size);

/* Limits as the VM enforces them (value.c checks sizes against these). */
size_t vm_max_string(const VM *vm);
uint32_t vm_max_list(const VM *vm);

/* now(): the clock as a float, logged as an event (LANGUAGE.md §8). */
double vm_now(VM *vm);

/* A host-side GC stress switch for tests: collect at every allocation.
 * Also on when the environment has HITL_GC_STRESS=1. */
void vm_gc_stress(VM *vm, bool on);

#endif
