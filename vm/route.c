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

#include "bcinsn.h"
#include "mem.h"
#include "opcodes.h"
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

/* the action's name and compliance tag as values, made once per instance:
 * strings are immutable, so every routed call may share them */
static const Value *action_text(VM *vm, uint16_t action) {
  if (!vm->route_text) {
    size_t n = 2 * (size_t)vm->m->nactions;
    Value *t = mem_alloc(n * sizeof *t);
    if (!t) vm_oom(vm, "out of memory");
    for (size_t i = 0; i < n; i++) t[i] = v_nil();
    vm->route_text = t;   /* marked by the collector from here on */
  }
  Value *t = &vm->route_text[2 * (size_t)action];
  if (t[0].t == V_NIL) {
    const BcAction *a = &vm->m->actions[action];
    t[1] = vm_text(vm, a->compliance);
    t[0] = vm_text(vm, a->name);
  }
  return t;
}

/* ---- conditions fixed per call site ----------------------------------------
 *
 * Most rules test what a call site cannot change from one call to the next:
 * `when action == "wipe"`, `when irreversible`, `when approved`, `when
 * action in ["a", "b"]`.  A condition whose code reads only those
 * parameters (action, irreversible, compliance, approved, reviewed) and
 * constants, with instructions that have no effect but their result (no
 * calls, globals, fields, backward jumps: nothing that spends fuel, logs or
 * depends on anything else), gives the same value at every call from one
 * site, so it is run once per site and instance and its value kept.  A run
 * that raises is not kept: it runs again (and fails closed, with its alert)
 * on every call, as before. */

enum { MEMO_UNSEEN = 0, MEMO_DYNAMIC = 1, MEMO_FIXED = 2 };   /* per rule */
enum { MEMO_FALSE = 1, MEMO_TRUE = 2 };                      /* per site and rule, 0 = not yet */
enum { MEMO_MAX = 1u << 22 };                                /* bytes: no memo past it */

static bool fixed_param(int64_t n) { return n == 0 || n == 2 || n == 4 || n == 9 || n == 10; }

static bool fixed_per_site(const BcFunc *fn) {
  const uint8_t *code = fn->code;
  for (uint32_t pc = 0; pc < fn->code_len;) {
    uint8_t op = code[pc];
    uint32_t len = bc_insn_len(op);
    if (!len || len > fn->code_len - pc) return false;
    int64_t v[4], target;
    bc_decode(code + pc, v);
    switch (op) {
    case OP_NOP: case OP_CONST: case OP_SMALLINT: case OP_NIL: case OP_TRUE: case OP_FALSE:
    case OP_POP: case OP_DUP: case OP_EQ: case OP_NE: case OP_NOT: case OP_LT: case OP_LE:
    case OP_GT: case OP_GE: case OP_IN: case OP_TEST_BOOL: case OP_LIST: case OP_RETURN:
      break;
    case OP_GET_LOCAL:
      if (!fixed_param(v[0])) return false;
      break;
    case OP_GET_LOCAL2:
      if (!fixed_param(v[0]) || !fixed_param(v[1])) return false;
      break;
    case OP_JUMP: case OP_JUMP_IF_FALSE: case OP_JUMP_IF_TRUE:
    case OP_JUMP_IF_NOT_LT: case OP_JUMP_IF_NOT_LE: case OP_JUMP_IF_NOT_GT: case OP_JUMP_IF_NOT_GE:
    case OP_JUMP_IF_NOT_EQ: case OP_JUMP_IF_NOT_NE: case OP_JUMP_IF_LT: case OP_JUMP_IF_LE:
    case OP_JUMP_IF_GT: case OP_JUMP_IF_GE: case OP_JUMP_IF_EQ: case OP_JUMP_IF_NE:
    case OP_JUMP_IF_NOT_EQ_K: case OP_JUMP_IF_NOT_NE_K: case OP_JUMP_IF_NOT_LT_K: case OP_JUMP_IF_NOT_LE_K:
    case OP_JUMP_IF_NOT_GT_K: case OP_JUMP_IF_NOT_GE_K: case OP_JUMP_IF_EQ_K: case OP_JUMP_IF_NE_K:
    case OP_JUMP_IF_LT_K: case OP_JUMP_IF_LE_K: case OP_JUMP_IF_GT_K: case OP_JUMP_IF_GE_K:
      if (!bc_jump_target(code, pc, &target) || target <= (int64_t)pc) return false;   /* forward only: no fuel */
      break;
    default:
      return false;
    }
    pc += len;
  }
  return true;
}

/* the memo of call site `site`: nrules bytes, or NULL when there is none */
static uint8_t *site_memo(VM *vm, uint16_t site) {
  const Module *m = vm->m;
  size_t nr = m->nrules;
  if (!vm->route_memo) {
    if ((size_t)m->ncalls + 1 > MEMO_MAX / nr) return NULL;   /* huge: do without */
    size_t n = nr * ((size_t)m->ncalls + 1);
    uint8_t *p = mem_alloc(n);
    if (!p) vm_oom(vm, "out of memory");
    memset(p, 0, n);
    for (size_t i = 0; i < nr; i++) {
      int32_t fi = m->rules[i].cond_fn;
      p[i] = fi >= 0 && (uint32_t)fi < m->nfuncs && fixed_per_site(&m->funcs[fi]) ? MEMO_FIXED : MEMO_DYNAMIC;
    }
    vm->route_memo = p;
    vm->route_memo_len = n;
  }
  return vm->route_memo + nr * (1 + (size_t)site);
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
  out->queue = queue;
  out->risk = v_nil();
  bool matched = false;
  if (!closed && vm->m->nrules) {
    const Value *text = action_text(vm, cs->action);
    Value ctx[BC_RULE_NPARAMS];
    ctx[0] = text[0];
    ctx[1] = args;
    ctx[2] = v_bool(a->irreversible);
    ctx[3] = v_int(blast);
    ctx[4] = text[1];
    ctx[5] = v_float(confidence);
    ctx[6] = v_float(threshold);
    ctx[7] = v_float(risk);
    ctx[8] = v_int(queue);
    ctx[9] = v_bool(cs->in_approve);
    ctx[10] = v_bool(cs->in_review);
    uint8_t *memo = site_memo(vm, site);
    for (uint32_t i = 0; i < vm->m->nrules && !matched; i++) {
      const BcRule *r = &vm->m->rules[i];
      if (r->cond_fn >= 0) {
        /* a kept value, unless this call is at the depth limit (where running
         * the condition raises, and the call fails closed) */
        if (memo && memo[i] && vm->nframes < vm->lim.max_depth) {
          if (memo[i] == MEMO_TRUE) goto match;
          continue;
        }
        Value c;
        if (!vm_invoke(vm, (uint32_t)r->cond_fn, ctx, BC_RULE_NPARAMS, &c, true)) {
          snprintf(why, sizeof why, "fail closed: the rule at line %u raised: %s", r->line, error_message(vm));
          vm->error = v_nil();
          alert(vm, why, r->line);
          closed = true;
          break;
        }
        bool holds = c.t == V_BOOL && c.u.b;
        if (memo && vm->route_memo[i] == MEMO_FIXED) memo[i] = holds ? MEMO_TRUE : MEMO_FALSE;
        if (!holds) continue;
      }
    match:
      matched = true;
      out->kind = r->route.kind;
      out->rule = (int32_t)i;
    }
  }
  if (!matched && !closed && a->irreversible) {
    snprintf(why, sizeof why, "fail closed: no rule matched an irreversible action");
    closed = true;
  }
  if (closed) {
    out->kind = BR_APPROVE;
    out->rule = -1;
    snprintf(out->why, sizeof out->why, "%s", why);
  }
  /* the risk context as a map, also the payload's `risk`: only a route that
   * shows it to someone needs it (an `auto` call's event does not carry it) */
  if (out->kind != BR_AUTO) {
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
    vm_pop_root(vm, 1);
  }
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
