/* vm/pending.h — what the store needs to know about a suspended VM's open
 * item that its payload does not say: the timeout verdict `hitlvm expire`
 * gives once the deadline has passed (LANGUAGE.md §6–7). */
#ifndef HITL_PENDING_H
#define HITL_PENDING_H

#include <stdbool.h>
#include <stdint.h>

#include "vm.h"

typedef struct VmTimeout {
  int64_t seconds;         /* after the item opened; -1 = waits for ever */
  int verdict;             /* 0 approve, 1 reject (when seconds >= 0) */
  const char *reason;      /* the timeout's reason, or NULL (owned by the module) */
} VmTimeout;

/* After VM_SUSPENDED: the open item's timeout, from its checkpoint (or the
 * approve route of the rule that held the call).  false when nothing is
 * pending.  An in-doubt item (VM_ACTION_IN_DOUBT) never times out. */
bool vm_pending_timeout(VM *vm, VmTimeout *out);

#endif
