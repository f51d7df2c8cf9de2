/* vm/route.c — routing before every action call (LANGUAGE.md §6).
 *
 * The call's risk context is built (blast evaluated on the arguments, the
 * effective threshold, risk by its formula, the host's queue length), the
 * rules are tried top to bottom (each condition is a compiled function run
 * nested with vm_invoke), and the first that holds decides the route.  It
 * fails closed: no matching rule for an irreversible action, or a rule (or a
 * blast expression) that raises, routes the call to `approve`, and a raise is
 * logged as an `alert`. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "route.h"
#include "vm_internal.h"


static double effective_threshold(VM *vm, uint16_t action) {
  if (vm->calibrated && !isnan(vm->calibrated[action])) return vm->calibrated[action];
  const Module *m = vm->m;
  for (uint32_t i = 0; i < m->nthresholds; i++)
    if (m->thresholds[i].action == (int32_t)action) return m->thresholds[i].value;
  for (uint32_t i = 0; i < m->nthresholds; i++)
    if (m->thresholds[i].action < 0) return m->thresholds[i].value;
  return 1.0;
}

static void alert(VM *vm, const char *message, uint32_t line) {
  if (!vm->ev_fn) return;
  Map *ev = map_new(vm, 2);
  Value evv = v_obj(&ev->h);
  vm_push_root(vm, evv);
  vm_map_put(vm, ev, "message", vm_text(vm, message));
  vm_map_put(vm, ev, "line", line ? v_int(line) : v_nil());
  vm_event_value(vm, "alert", evv);
  vm_pop_root(vm, 1);
}

/* the message of the error a nested run raised */
static const char *error_message(VM *vm) {
  if (vm->error.t != V_MAP) return "an error";
  Value *msg = map_get_cstr(AS_MAP(vm->error), "message", 7);
  return msg && msg->t == V_STR ? AS_STR(*msg)->s : "an error";
}

bool vm_route(VM *vm, uint16_t site, const Value *argv, Value args, Value conf, Route *out) {
  const BcCallSite *cs = &vm->m->calls[site];
  const BcAction *a = &vm->m->actions[cs->action];
  memset(out, 0, sizeof *out);
  out->kind = BR_AUTO;
  out->rule = -1;
  char why[300];
  why[0] = 0;

  /* blast */
  int64_t blast = 1;
  bool closed = false;
  if (a->blast_fn >= 0) {
    Value b;
    if (vm_invoke(vm, (uint32_t)a->blast_fn, argv, cs->nargs, &b, true) && b.t == V_INT) {
      blast = b.u.i;
    } else {
      snprintf(why, sizeof why, "fail closed: the blast of '%s' raised: %s", a->name, error_message(vm));
      alert(vm, why, a->line);
      closed = true;
    }
    vm->error = v_nil();
  }
  double confidence = conf.t == V_FLOAT ? conf.u.f : 0.0;
  double threshold = effective_threshold(vm, cs->action);
  double b = blast > 1 ? log10((double)blast) / 4.0 : 0.0;
  if (b > 1) b = 1;
  double risk = ((a->irreversible ? 1.0 : 0.0) + b + (a->compliance ? 1.0 : 0.0) + (1.0 - confidence)) / 4.0;
  int64_t queue = vm->queue_fn ? vm->queue_fn(vm->queue_user) : 0;

  /* the risk context, also the payload's `risk` and the action event's */
  Map *rm = map_new(vm, 8);
  out->risk = v_obj(&rm->h);
  vm_push_root(vm, out->risk);
  vm_map_put(vm, rm, "irreversible", v_bool(a->irreversible));
  vm_map_put(vm, rm, "blast", v_int(blast));
  vm_map_put(vm, rm, "compliance", vm_text(vm, a->compliance));
  vm_map_put(vm, rm, "confidence", v_float(confidence));
  vm_map_put(vm, rm, "threshold", v_float(threshold));
  vm_map_put(vm, rm, "risk", v_float(risk));
  vm_map_put(vm, rm, "queue", v_int(queue));

  if (!closed) {
    Value ctx[BC_RULE_NPARAMS];
    ctx[0] = vm_text(vm, a->name);
    vm_push_root(vm, ctx[0]);
    ctx[1] = args;
    ctx[2] = v_bool(a->irreversible);
    ctx[3] = v_int(blast);
    ctx[4] = vm_text(vm, a->compliance);
    vm_push_root(vm, ctx[4]);
    ctx[5] = v_float(confidence);
    ctx[6] = v_float(threshold);
    ctx[7] = v_float(risk);
    ctx[8] = v_int(queue);
    ctx[9] = v_bool(cs->in_approve);
    ctx[10] = v_bool(cs->in_review);
    bool matched = false;
    for (uint32_t i = 0; i < vm->m->nrules && !matched; i++) {
      const BcRule *r = &vm->m->rules[i];
      if (r->cond_fn >= 0) {
        Value c;
        if (!vm_invoke(vm, (uint32_t)r->cond_fn, ctx, BC_RULE_NPARAMS, &c, true)) {
          snprintf(why, sizeof why, "fail closed: the rule at line %u raised: %s", r->line, error_message(vm));
          vm->error = v_nil();
          alert(vm, why, r->line);
          closed = true;
          break;
        }
        if (c.t != V_BOOL || !c.u.b) continue;
      }
      matched = true;
      out->kind = r->route.kind;
      out->rule = (int32_t)i;
    }
    vm_pop_root(vm, 2);
    if (!matched && !closed && a->irreversible) {
      snprintf(why, sizeof why, "fail closed: no rule matched an irreversible action");
      closed = true;
    }
  }
  if (closed) {
    out->kind = BR_APPROVE;
    out->rule = -1;
    snprintf(out->why, sizeof out->why, "%s", why);
  }
  vm_pop_root(vm, 1);
  return true;
}

Value vm_route_payload(VM *vm, uint16_t site, const Route *r, Value args, Value conf, Value because) {
  const BcCallSite *cs = &vm->m->calls[site];
  const BcAction *a = &vm->m->actions[cs->action];
  const BcRule *rule = r->rule >= 0 ? &vm->m->rules[r->rule] : NULL;
  Map *p = map_new(vm, 14);
  Value pv = v_obj(&p->h);
  vm_push_root(vm, pv);
  vm_map_put(vm, p, "title", v_obj(&vm_call_title(vm, "", a->name, args)->h));
  vm_map_put(vm, p, "step", vm->nsteps ? vm->steps[vm->nsteps - 1].name : v_nil());
  vm_map_put(vm, p, "action", vm_text(vm, a->name));
  vm_map_put(vm, p, "args", args);
  vm_map_put(vm, p, "risk", r->risk);
  vm_map_put(vm, p, "confidence", conf);
  vm_map_put(vm, p, "because", because);
  Map *rm = map_new(vm, 2);
  vm_map_put(vm, p, "rule", v_obj(&rm->h));
  vm_map_put(vm, rm, "line", rule ? v_int(rule->line) : v_nil());
  vm_map_put(vm, rm, "text", vm_text(vm, rule ? rule->text : r->why));
  List *ed = list_new(vm, a->nparams);
  vm_map_put(vm, p, "editable", v_obj(&ed->h));
  for (uint16_t i = 0; i < a->nparams; i++) {
    if (i < 64 && !(a->editable >> i & 1)) continue;
    Value name = vm_text(vm, a->params[i].name);
    list_push(vm, ed, name);
  }
  const BcRoute *route = rule ? &rule->route : NULL;
  vm_map_put(vm, p, "by", vm_text(vm, route ? route->by : NULL));
  vm_map_put(vm, p, "quorum", v_int(route && route->quorum ? route->quorum : 1));
  if (route && route->timeout > 0) {
    char iso[32];
    time_t t = time(NULL) + (time_t)route->timeout;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    vm_map_put(vm, p, "deadline", vm_text(vm, iso));
  } else {
    vm_map_put(vm, p, "deadline", v_nil());
  }
  vm_pop_root(vm, 1);
  return pv;
}
