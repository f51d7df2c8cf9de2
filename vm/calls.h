/* vm/calls.h — work the dispatch loop hands off (calls.c). */
#ifndef HITL_CALLS_H
#define HITL_CALLS_H

#include "vm.h"

bool vm_start(VM *vm);                       /* false: failed (outcome set) */
void vm_complete(VM *vm, Value result);
void vm_fail_memory(VM *vm);                 /* after an out-of-memory unwind */
void vm_fail_value(VM *vm, Value e);         /* FAIL: sets vm->error */
bool vm_catch(VM *vm);                       /* true: resumed at a handler; false: failed */
void vm_push_handler(VM *vm, const uint8_t *target);
void vm_log(VM *vm, Value v);
void vm_step_begin(VM *vm, Value title);
void vm_step_end(VM *vm);
void vm_checkpoint(VM *vm, uint16_t site);   /* opens the item, status suspended */
/* 1: done (its values popped, the result pushed); 0: raised; 2: suspended in
 * doubt before the call (the values stay; vm_resume decides) */
int vm_call_action(VM *vm, uint16_t site);
void vm_alert_event(VM *vm, const char *message);
/* the `action` event of a call an approve route held and a person rejected,
 * from the held item's payload (args, risk, rule, because) */
void vm_held_call_event(VM *vm, int32_t site, Value payload, Value err);
/* a flagged routed call's undo u, given the call's arguments map and its
 * result; not routed (a person decided it).  false: raised */
bool vm_call_undo(VM *vm, const BcAction *u, Value args, Value result);
/* the body is gone (frames, stack, pending item): it ended */
void vm_drop_body(VM *vm);
/* fail the instance at once with err, whatever it was doing */
void vm_fail_instance(VM *vm, Value err);   /* an `alert` event {message} */
/* "%Y-%m-%dT%H:%M:%SZ" of t */
void vm_iso_time(int64_t t, char out[32]);

#endif
