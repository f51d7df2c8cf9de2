/* vm/vm_internal.h — the VM's state, shared by vm.c (API, errors, inputs),
 * gc.c (heap and collector) and interp.c (the dispatch loop).  Nothing
 * outside vm/ includes this. */
#ifndef HITL_VM_INTERNAL_H
#define HITL_VM_INTERNAL_H

#include <setjmp.h>

#include "vm.h"

typedef struct Frame {
  const BcFunc *fn;
  const uint8_t *pc;        /* next instruction (saved when the frame is not running) */
  size_t base;              /* index of locals[0] in vm->stack */
  uint32_t fn_index;
} Frame;

typedef struct Handler {
  uint32_t frame;           /* index of the frame that installed it */
  const uint8_t *target;    /* where the handler code starts */
  size_t sp;                /* stack height to restore (index into vm->stack) */
  uint32_t nsteps;          /* step depth to restore */
} Handler;

typedef struct Cleanup { void (*fn)(void *); void *p; } Cleanup;

typedef struct StepRec { Value name; uint32_t frame; } StepRec;

/* a review block running (review.c): the calls it makes are recorded */
typedef struct ActiveReview {
  uint16_t site;
  uint32_t frame;           /* the frame running it */
  uint32_t nhandlers;       /* handlers when it began: a catch of one below leaves the block */
  Value title, step, calls; /* str; the step's name or nil; list of {action, args, result} */
} ActiveReview;

/* a review item open for this instance */
typedef struct OpenReview {
  int64_t item;             /* the host's item id; 0 until vm_review_assign names it */
  int32_t site;             /* review site, or -1: one call routed to review */
  int32_t call;             /* routed: the call site (its action's undo); else -1 */
  Value payload;            /* {title, step, calls, by, deadline} */
  Value kept;               /* site: list of the frame's first nlive locals as they were at the
                               block's end; routed: list [args map, result] */
  int64_t opened;           /* Unix seconds when it opened (its window starts); not in snapshots */
} OpenReview;

struct VM {
  const Module *m;
  VmLimits lim;

  /* heap */
  Obj *objects;
  size_t bytes, next_gc;
  bool stress;
  Obj **gray;
  size_t ngray, capgray;

  /* roots kept by C code */
  Value *roots;
  size_t nroots, caproots;
  Cleanup *cleanups;
  size_t ncleanups, capcleanups;

  /* program data as values */
  Value *consts;            /* K_STR constants are Str objects */
  Value *globals;

  /* execution */
  Value *stack;
  size_t stack_cap, sp;     /* sp: index of the first free slot */
  Frame *frames;
  uint32_t nframes, capframes;
  Handler *handlers;
  uint32_t nhandlers, caphandlers;
  StepRec *steps;
  uint32_t nsteps, capsteps;
  uint64_t fuel;

  /* outcome */
  VmStatus status;
  bool started, finished, inputs_set, defaults_set;
  Value error;              /* the raised error map (valid while raising / after failing) */
  Value result;             /* after completion */
  Value pending;            /* the open item's payload while suspended */
  int32_t pending_site;     /* checkpoint site, -1 = none */
  int32_t pending_call;     /* call site suspended before its call, -1 = none */
  bool pending_call_routed; /* ... by an approve route (else: in doubt) */
  int64_t pending_item;     /* the host's item holding pending_json (vm_set_pending_item), 0 = none */
  bool route_granted;       /* a person approved the routed call: run it without routing again */
  int64_t granted_rule, granted_queue;   /* ... the rule line (-1: fail closed) and queue it was routed with */
  int32_t held_site;        /* a rejected routed call: its site, -1 = none (its event is logged when vm_run raises) */
  Value held_payload;       /* ... and the payload it was held with */
  double *calibrated;       /* per action: calibrated threshold, NaN = none */
  Value *route_text;        /* per action: its name and compliance tag (or nil) as values,
                               made when a call is first routed (route.c), 2 * nactions */
  uint8_t *route_memo;      /* route.c: per rule whether its condition is fixed per call site,
                               then per call site and rule the value it gave; route_memo_len bytes */
  size_t route_memo_len;
  int64_t (*queue_fn)(void *user);
  void *queue_user;
  bool raise_on_run;        /* vm_run raises vm->error first (a rejection) */

  /* reviews (review.c) */
  ActiveReview *active;
  uint32_t nactive, capactive;
  OpenReview *open;
  uint32_t nopen, capopen;
  char *review_json;        /* vm_new_review_json's text */
  bool flagging;            /* a flag block or undo runs: approve routes count as granted */

  /* nested runs (rules, blast, flag blocks): vm_invoke */
  uint32_t nested;          /* how many nested runs are active, 0 = none */
  bool pure;                /* the innermost is a rule or blast: no actions */
  uint32_t floor;           /* frame index of the nested call (valid while nested) */
  uint32_t handler_floor;   /* handlers below this belong to the outer run */
  Value nested_result;

  /* action calls */
  uint64_t ncalls;          /* calls made so far by this instance (survives snapshots) */
  VmCallInfo cur_call;      /* the call a binding is answering */
  bool retry_call;          /* the in-doubt call was approved: call it again */
  char *result_json, *error_json, *pending_json;
  char error_kind[16];

  /* out-of-memory unwinding */
  jmp_buf *oom;
  char oom_what[64];

  /* host */
  VmActionFn act_fn;
  void *act_user;
  VmEventFn ev_fn;
  void *ev_user;
};

/* gc.c */
void gc_collect(VM *vm);
void gc_free_all(VM *vm);

/* vm.c */
uint32_t vm_line_at(const BcFunc *fn, const uint8_t *pc);
uint32_t vm_current_line(VM *vm);
void vm_event(VM *vm, const char *kind, const char *fields_json);
/* an event whose fields are one value (a map) */
void vm_event_value(VM *vm, const char *kind, Value fields);
char *vm_value_to_json(VM *vm, Value v);        /* mem_alloc'd */
bool vm_is_resource_kind(const char *kind);
bool vm_error_is(Value err, const char *kind);
Value vm_make_error(VM *vm, const char *kind, const char *msg, size_t len, uint32_t line);
void vm_grow_stack(VM *vm, size_t need);

/* calls.c: small builders for payloads and events */
void vm_map_put(VM *vm, Map *m, const char *key, Value v);   /* m rooted by the caller */
Value vm_text(VM *vm, const char *s);                        /* nil for NULL */
/* "PREFIX action(arg, …)" with each argument as json_encode writes it (§6) */
Str *vm_call_title(VM *vm, const char *prefix, const char *action, Value args);

/* interp.c */
VmStatus vm_execute(VM *vm);
/* Run function fi with args to its return, nested inside the running
 * instance (a rule's condition, a blast expression): true with *out, or
 * false with vm->error raised (handlers of the outer run do not see it). */
bool vm_invoke(VM *vm, uint32_t fi, const Value *args, int n, Value *out, bool pure);

/* verdict.c: the digest of an item with this payload */
bool vm_payload_digest(VM *vm, const char *instance, int64_t item, Value payload, char hex[65], char **canonical);

/* review.c */
void vm_review_begin(VM *vm, uint16_t site, Value title);
bool vm_review_end(VM *vm, uint16_t site);                 /* false: raised */
/* a call that ran: {action, args, result} in every review block running */
void vm_review_record(VM *vm, const BcAction *a, Value args, Value result);
/* a call routed to review ran: open its item */
void vm_review_routed(VM *vm, uint16_t call_site, const BcRoute *route, Value args, Value result);
/* the review blocks an error leaves end there, their items opening with the
 * calls made so far: those begun above handler index h (a catch), or in
 * frames at or above `frame` (a failure) */
void vm_review_leave_handler(VM *vm, uint32_t h);
void vm_review_leave_frames(VM *vm, uint32_t frame);

#endif
