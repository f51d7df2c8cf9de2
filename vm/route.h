/* vm/route.h — routing before an action call (route.c). */
#ifndef HITL_ROUTE_H
#define HITL_ROUTE_H

#include "vm.h"

typedef struct Route {
  int kind;          /* BcRouteKind */
  int32_t rule;      /* index of the rule that decided, -1 = none (fail closed or no rules) */
  char why[320];     /* "fail closed: …" when rule is -1 and kind is approve */
  int64_t queue;     /* the host's queue length the rules saw */
  Value risk;        /* map {irreversible, blast, compliance, confidence, threshold, risk, queue},
                        nil when the route is auto (nothing shows it) */
} Route;

/* Decide the route of call site `site` (argv: its arguments on the stack,
 * args: them as a map {param: value}, conf: float or nil).  Always true;
 * out->risk (a map unless the route is auto) must be rooted by the caller
 * before it allocates. */
bool vm_route(VM *vm, uint16_t site, const Value *argv, Value args, Value conf, Route *out);
/* The payload of the implicit checkpoint of an `approve` route (§6). */
Value vm_route_payload(VM *vm, uint16_t site, const Route *r, Value args, Value conf, Value because);

#endif
