/* vm/pending.c — the open item's timeout (vm/pending.h).
 *
 * The payload (LANGUAGE.md §7) carries the deadline as text but not the
 * verdict a timeout gives; the bytecode has it, at the checkpoint site or,
 * for a call held by a rule's `approve` route, on that rule's route. */
#include <string.h>

#include "pending.h"
#include "vm_internal.h"

static const Value *field(Value map, const char *key) {
  if (map.t != V_MAP) return NULL;
  return map_get_cstr(AS_MAP(map), key, strlen(key));
}

bool vm_pending_timeout(VM *vm, VmTimeout *out) {
  *out = (VmTimeout){-1, 0, NULL};
  if (vm->status != VM_SUSPENDED || vm->pending.t != V_MAP) return false;
  const Value *kind = field(vm->pending, "kind");
  if (kind && kind->t == V_STR && strcmp(AS_STR(*kind)->s, "in_doubt") == 0) return true;
  const Value *rule = field(vm->pending, "rule");
  if (rule) {
    /* a call held for approval: the rule that matched, by its line */
    const Value *line = field(*rule, "line");
    if (!line || line->t != V_INT) return true;   /* fail closed: no timeout */
    for (uint32_t i = 0; i < vm->m->nrules; i++) {
      const BcRule *r = &vm->m->rules[i];
      if ((int64_t)r->line != line->u.i || r->route.kind != BR_APPROVE) continue;
      *out = (VmTimeout){r->route.timeout, r->route.timeout_verdict, r->route.timeout_reason};
      return true;
    }
    return true;
  }
  if (vm->pending_site >= 0 && (uint32_t)vm->pending_site < vm->m->ncheckpoints) {
    const BcCheckpoint *cp = &vm->m->checkpoints[vm->pending_site];
    *out = (VmTimeout){cp->timeout, cp->timeout_verdict, cp->timeout_reason};
  }
  return true;
}
