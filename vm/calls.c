/* vm/calls.c — what the dispatch loop hands off: starting, completing and
 * failing an instance, catching errors, steps and logs, action calls through
 * their bindings, and opening a checkpoint.  Everything here runs with the
 * frame state saved (vm->sp, frame pc), so it may allocate and collect. */
#include "calls.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "ops.h"
#include "route.h"
#include "vm_internal.h"

static void free_cb(void *p) { mem_free(p, 0); }

static Str *cstr(VM *vm, const char *s) { return str_cstr(vm, s); }

void vm_map_put(VM *vm, Map *m, const char *key, Value v) {
  vm_push_root(vm, v);
  Str *k = cstr(vm, key);
  vm_push_root(vm, v_obj(&k->h));
  map_set(vm, m, k, v);
  vm_pop_root(vm, 2);
}

Value vm_text(VM *vm, const char *s) { return s ? v_obj(&cstr(vm, s)->h) : v_nil(); }

Str *vm_call_title(VM *vm, const char *prefix, const char *action, Value args) {
  StrBuf b;
  strbuf_init(vm, &b);
  strbuf_printf(&b, "%s%s(", prefix, action);
  Map *am = AS_MAP(args);
  for (uint32_t i = 0; i < am->n; i++) {
    if (i) strbuf_add(&b, ", ", 2);
    val_json(&b, am->e[i].val, false);
  }
  strbuf_addc(&b, ')');
  return strbuf_done(&b);
}

/* an event whose fields are {key: json} */
static void event_with(VM *vm, const char *kind, const char *key, const char *json) {
  if (!vm->ev_fn) return;
  size_t n = strlen(json) + strlen(key) + 8;
  char *ev = mem_alloc(n);
  if (!ev) vm_oom(vm, "out of memory");
  snprintf(ev, n, "{\"%s\":%s}", key, json);
  vm->ev_fn(vm->ev_user, kind, ev);
  mem_free(ev, n);
}


static void checkpoint_event(VM *vm) { event_with(vm, "checkpoint", "payload", vm->pending_json); }

/* ---- the outcome ----------------------------------------------------------- */

static void set_error_outcome(VM *vm, Value err) {
  vm->error = err;
  Value *k = err.t == V_MAP ? map_get_cstr(AS_MAP(err), "kind", 4) : NULL;
  snprintf(vm->error_kind, sizeof vm->error_kind, "%s", k && k->t == V_STR ? AS_STR(*k)->s : "failed");
  mem_free(vm->error_json, 0);
  vm->error_json = vm_value_to_json(vm, err);
  vm->status = VM_FAILED;
  vm->finished = true;
  event_with(vm, "failed", "error", vm->error_json);
}

void vm_fail_memory(VM *vm) {
  char msg[256];
  /* no heap allocation here: the heap may be what ran out */
  snprintf(msg, sizeof msg, "{\"kind\":\"memory\",\"message\":\"%s\",\"line\":%u}", vm->oom_what, vm_current_line(vm));
  mem_free(vm->error_json, 0);
  vm->error_json = mem_alloc(strlen(msg) + 1);
  if (vm->error_json) memcpy(vm->error_json, msg, strlen(msg) + 1);
  snprintf(vm->error_kind, sizeof vm->error_kind, "memory");
  vm->error = v_nil();
  vm->status = VM_FAILED;
  vm->finished = true;
  vm->sp = 0;
  vm->nroots = 0;
  if (vm->ev_fn) {
    char ev[300];
    snprintf(ev, sizeof ev, "{\"error\":%s}", msg);
    vm->ev_fn(vm->ev_user, "failed", ev);
  }
}

void vm_complete(VM *vm, Value r) {
  vm->result = r;
  mem_free(vm->result_json, 0);
  vm->result_json = vm_value_to_json(vm, r);
  vm->status = VM_COMPLETED;
  vm->finished = true;
  event_with(vm, "completed", "result", vm->result_json);
}

bool vm_start(VM *vm) {
  const Module *m = vm->m;
  char err[256];
  if (!vm->inputs_set && !vm_set_input_json(vm, "{}", err, sizeof err)) {
    vm->error = vm_make_error(vm, "type", err, strlen(err), 0);
    set_error_outcome(vm, vm->error);
    return false;
  }
  vm->started = true;
  /* started: input and params */
  Map *ev = map_new(vm, 2);
  Value evv = v_obj(&ev->h);
  vm_push_root(vm, evv);
  /* each map goes into the rooted event before the next allocation */
  Map *in = map_new(vm, m->nglobals);
  vm_map_put(vm, ev, "input", v_obj(&in->h));
  Map *pa = map_new(vm, 4);
  vm_map_put(vm, ev, "params", v_obj(&pa->h));
  for (uint32_t i = 0; i < m->nglobals; i++) {
    Str *k = cstr(vm, m->globals[i].name);
    vm_push_root(vm, v_obj(&k->h));
    map_set(vm, m->globals[i].kind == G_INPUT ? in : pa, k, vm->globals[i]);
    vm_pop_root(vm, 1);
  }
  vm_event_value(vm, "started", evv);
  vm_pop_root(vm, 1);

  /* the body's frame */
  const BcFunc *body = &m->funcs[0];
  vm->nframes = 0;
  vm_grow_stack(vm, (size_t)body->nlocals + body->max_stack + 1);
  if (!vm->capframes) {
    vm->frames = mem_alloc(16 * sizeof(Frame));
    if (!vm->frames) vm_oom(vm, "out of memory");
    vm->capframes = 16;
  }
  Frame *f = &vm->frames[vm->nframes++];
  f->fn = body;
  f->pc = body->code;
  f->base = 0;
  f->fn_index = 0;
  for (size_t i = 0; i < body->nlocals; i++) vm->stack[i] = v_nil();
  vm->sp = body->nlocals;
  return true;
}

/* ---- errors ---------------------------------------------------------------- */

static bool is_error_map(Value v) {
  if (v.t != V_MAP) return false;
  Map *m = AS_MAP(v);
  Value *k = map_get_cstr(m, "kind", 4), *msg = map_get_cstr(m, "message", 7);
  return k && k->t == V_STR && msg && msg->t == V_STR && map_get_cstr(m, "line", 4);
}

void vm_fail_value(VM *vm, Value e) {
  if (is_error_map(e)) {
    vm->error = e;    /* re-raised unchanged */
    return;
  }
  StrBuf b;
  strbuf_init(vm, &b);
  val_str(&b, e);
  Str *s = strbuf_done(&b);
  vm_push_root(vm, v_obj(&s->h));
  vm->error = vm_make_error(vm, "failed", s->s, s->len, vm_current_line(vm));
  vm_pop_root(vm, 1);
}

void vm_push_handler(VM *vm, const uint8_t *target) {
  if (vm->nhandlers == vm->caphandlers) {
    size_t cap = vm->caphandlers ? vm->caphandlers * 2 : 8;
    Handler *h = mem_realloc(vm->handlers, vm->caphandlers * sizeof *h, cap * sizeof *h);
    if (!h) vm_oom(vm, "out of memory");
    vm->handlers = h;
    vm->caphandlers = (uint32_t)cap;
  }
  vm->handlers[vm->nhandlers++] = (Handler){vm->nframes - 1, target, vm->sp, vm->nsteps};
}

bool vm_catch(VM *vm) {
  Value err = vm->error;
  Value *k = err.t == V_MAP ? map_get_cstr(AS_MAP(err), "kind", 4) : NULL;
  bool resource = k && k->t == V_STR && vm_is_resource_kind(AS_STR(*k)->s);
  if (!resource && vm->nhandlers > vm->handler_floor) {
    Handler h = vm->handlers[--vm->nhandlers];
    vm_push_root(vm, err);
    if (vm->nactive) vm_review_leave_handler(vm, vm->nhandlers);
    while (vm->nsteps > h.nsteps) vm_step_end(vm);
    vm_pop_root(vm, 1);
    vm->nframes = h.frame + 1;
    while (vm->nhandlers && vm->handlers[vm->nhandlers - 1].frame > h.frame) vm->nhandlers--;
    vm->frames[h.frame].pc = h.target;
    vm->sp = h.sp;
    vm->stack[vm->sp++] = err;
    vm->error = v_nil();
    return true;
  }
  if (vm->nested) return false;   /* a nested run: its invoker decides */
  vm_push_root(vm, err);
  vm_review_leave_frames(vm, 0);   /* the blocks it leaves open their items */
  vm_pop_root(vm, 1);
  set_error_outcome(vm, err);
  return false;
}

/* ---- steps and logs -------------------------------------------------------- */

static Str *str_of(VM *vm, Value v) {
  if (v.t == V_STR) return AS_STR(v);
  StrBuf b;
  strbuf_init(vm, &b);
  val_str(&b, v);
  return strbuf_done(&b);
}

void vm_log(VM *vm, Value v) {
  if (!vm->ev_fn) return;
  Str *s = str_of(vm, v);
  vm_push_root(vm, v_obj(&s->h));
  Map *ev = map_new(vm, 1);
  Value evv = v_obj(&ev->h);
  vm_push_root(vm, evv);
  vm_map_put(vm, ev, "message", v_obj(&s->h));
  vm_event_value(vm, "log", evv);
  vm_pop_root(vm, 2);
}

static void step_event(VM *vm, Value name, const char *phase) {
  if (!vm->ev_fn) return;
  Map *ev = map_new(vm, 2);
  Value evv = v_obj(&ev->h);
  vm_push_root(vm, evv);
  vm_map_put(vm, ev, "name", name);
  vm_map_put(vm, ev, "phase", vm_text(vm, phase));
  vm_event_value(vm, "step", evv);
  vm_pop_root(vm, 1);
}

void vm_step_begin(VM *vm, Value title) {
  Str *s = str_of(vm, title);
  Value name = v_obj(&s->h);
  vm_push_root(vm, name);
  if (vm->nsteps == vm->capsteps) {
    size_t cap = vm->capsteps ? vm->capsteps * 2 : 8;
    StepRec *st = mem_realloc(vm->steps, vm->capsteps * sizeof *st, cap * sizeof *st);
    if (!st) vm_oom(vm, "out of memory");
    vm->steps = st;
    vm->capsteps = (uint32_t)cap;
  }
  vm->steps[vm->nsteps++] = (StepRec){name, vm->nframes - 1};
  vm_pop_root(vm, 1);
  step_event(vm, name, "start");
}

void vm_step_end(VM *vm) {
  if (!vm->nsteps) return;
  Value name = vm->steps[vm->nsteps - 1].name;
  vm_push_root(vm, name);
  vm->nsteps--;
  step_event(vm, name, "end");
  vm_pop_root(vm, 1);
}

/* ---- checkpoints ----------------------------------------------------------- */

void vm_iso_time(int64_t t, char out[32]) {
  struct tm tm;
  time_t tt = (time_t)t;
  gmtime_r(&tt, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void vm_checkpoint(VM *vm, uint16_t site) {
  const BcCheckpoint *c = &vm->m->checkpoints[site];
  Value *vals = vm->stack + vm->sp - (1 + c->nshow);
  Map *p = map_new(vm, 8);
  Value pv = v_obj(&p->h);
  vm_push_root(vm, pv);
  vm_map_put(vm, p, "title", v_obj(&str_of(vm, vals[0])->h));
  vm_map_put(vm, p, "step", vm->nsteps ? vm->steps[vm->nsteps - 1].name : v_nil());
  Map *show = map_new(vm, c->nshow);
  vm_map_put(vm, p, "show", v_obj(&show->h));
  for (uint16_t i = 0; i < c->nshow; i++) {
    Str *k = cstr(vm, c->show_labels[i]);
    vm_push_root(vm, v_obj(&k->h));
    map_set(vm, show, k, vals[1 + i]);
    vm_pop_root(vm, 1);
  }
  List *ed = list_new(vm, c->nedits);
  vm_map_put(vm, p, "editable", v_obj(&ed->h));
  for (uint16_t i = 0; i < c->nedits; i++) {
    Value name = vm_text(vm, c->edits[i].name);   /* list_push roots it while growing */
    list_push(vm, ed, name);
  }
  vm_map_put(vm, p, "by", vm_text(vm, c->by));
  vm_map_put(vm, p, "quorum", v_int(c->quorum ? c->quorum : 1));
  if (c->timeout >= 0) {
    char iso[32];
    vm_iso_time((int64_t)time(NULL) + c->timeout, iso);
    vm_map_put(vm, p, "deadline", vm_text(vm, iso));
  } else {
    vm_map_put(vm, p, "deadline", v_nil());
  }
  vm->sp -= 1u + c->nshow;
  vm->pending = pv;
  vm->pending_site = site;
  mem_free(vm->pending_json, 0);
  vm->pending_json = vm_value_to_json(vm, pv);
  vm_pop_root(vm, 1);
  vm->status = VM_SUSPENDED;
  checkpoint_event(vm);
}

/* ---- actions --------------------------------------------------------------- */

static void action_event(VM *vm, const BcAction *a, Value args, Value conf, Value because, const char *route,
                         int64_t rule_line, int64_t queue, const char *key, Value outcome) {
  if (!vm->ev_fn) return;
  Map *ev = map_new(vm, 8);
  Value evv = v_obj(&ev->h);
  vm_push_root(vm, evv);
  vm_map_put(vm, ev, "name", vm_text(vm, a->name));
  vm_map_put(vm, ev, "args", args);
  vm_map_put(vm, ev, "route", vm_text(vm, route));
  vm_map_put(vm, ev, "rule", rule_line >= 0 ? v_int(rule_line) : v_nil());
  vm_map_put(vm, ev, "queue", v_int(queue));
  vm_map_put(vm, ev, "confidence", conf);
  if (because.t != V_NIL) vm_map_put(vm, ev, "because", because);
  vm_map_put(vm, ev, key, outcome);
  vm_event_value(vm, "action", evv);
  vm_pop_root(vm, 1);
}


void vm_alert_event(VM *vm, const char *message) {
  if (!vm->ev_fn) return;
  Map *ev = map_new(vm, 1);
  Value evv = v_obj(&ev->h);
  vm_push_root(vm, evv);
  vm_map_put(vm, ev, "message", vm_text(vm, message));
  vm_event_value(vm, "alert", evv);
  vm_pop_root(vm, 1);
}

void vm_held_call_event(VM *vm, int32_t site, Value payload, Value err) {
  if (!vm->ev_fn || site < 0 || payload.t != V_MAP) return;
  const BcAction *a = &vm->m->actions[vm->m->calls[site].action];
  Map *p = AS_MAP(payload);
  Value *args = map_get_cstr(p, "args", 4), *because = map_get_cstr(p, "because", 7);
  Value *risk = map_get_cstr(p, "risk", 4), *rule = map_get_cstr(p, "rule", 4);
  Value *conf = risk && risk->t == V_MAP ? map_get_cstr(AS_MAP(*risk), "confidence", 10) : NULL;
  Value *queue = risk && risk->t == V_MAP ? map_get_cstr(AS_MAP(*risk), "queue", 5) : NULL;
  Value *line = rule && rule->t == V_MAP ? map_get_cstr(AS_MAP(*rule), "line", 4) : NULL;
  Value *msg = err.t == V_MAP ? map_get_cstr(AS_MAP(err), "message", 7) : NULL;
  vm_push_root(vm, err);
  action_event(vm, a, args ? *args : v_nil(), conf ? *conf : v_nil(), because ? *because : v_nil(), "approve",
               line && line->t == V_INT ? line->u.i : -1, queue && queue->t == V_INT ? queue->u.i : 0, "error",
               msg ? *msg : v_nil());
  vm_pop_root(vm, 1);
}

/* Suspend before call site `site` with an in-doubt approval item. */
static void in_doubt(VM *vm, uint16_t site, Value args, const char *extra_json) {
  const BcCallSite *cs = &vm->m->calls[site];
  const BcAction *a = &vm->m->actions[cs->action];
  Map *p = map_new(vm, 10);
  Value pv = v_obj(&p->h);
  vm_push_root(vm, pv);
  vm_map_put(vm, p, "title", v_obj(&vm_call_title(vm, "In doubt: ", a->name, args)->h));
  vm_map_put(vm, p, "step", vm->nsteps ? vm->steps[vm->nsteps - 1].name : v_nil());
  vm_map_put(vm, p, "kind", vm_text(vm, "in_doubt"));
  vm_map_put(vm, p, "action", vm_text(vm, a->name));
  vm_map_put(vm, p, "args", args);
  List *ed = list_new(vm, 1);
  vm_map_put(vm, p, "editable", v_obj(&ed->h));
  Value rname = vm_text(vm, "result");
  list_push(vm, ed, rname);
  vm_map_put(vm, p, "by", v_nil());
  vm_map_put(vm, p, "quorum", v_int(1));
  vm_map_put(vm, p, "deadline", v_nil());
  vm_map_put(vm, p, "reason", vm_text(vm, "the action was started before a crash and never reported back: "
                                 "approve calls it again, modify with result=VALUE records that it "
                                 "happened, reject makes the call fail"));
  if (extra_json) {
    Value extra;
    char jerr[64];
    if (json_to_value(vm, extra_json, strlen(extra_json), &extra, jerr, sizeof jerr) && extra.t == V_MAP) {
      vm_push_root(vm, extra);
      Map *em = AS_MAP(extra);
      for (uint32_t i = 0; i < em->n; i++) map_set(vm, p, em->e[i].key, em->e[i].val);
      vm_pop_root(vm, 1);
    }
  }
  vm->pending = pv;
  vm->pending_site = -1;
  vm->pending_call = site;
  vm->pending_call_routed = false;
  mem_free(vm->pending_json, 0);
  vm->pending_json = vm_value_to_json(vm, pv);
  vm_pop_root(vm, 1);
  vm->status = VM_SUSPENDED;
  checkpoint_event(vm);
}

void vm_current_call(VM *vm, VmCallInfo *out) { *out = vm->cur_call; }
uint64_t vm_calls_made(VM *vm) { return vm->ncalls; }

/* Call a's binding with its arguments map amv (rooted by the caller): 1 with
 * *result (type-checked; the action event logged), 0 raised (a failure's
 * event logged), 2 in doubt (*doubt: the binding's extra payload, or NULL). */
static int call_binding(VM *vm, const BcAction *a, Value amv, Value conf, Value because, const char *route,
                        int64_t rule_line, int64_t queue, Value *result, char **doubt) {
  char buf[64];
  if (!vm->act_fn) return (int)vm_raise(vm, "action", "no binding for action '%s'", a->name);
  char *args_json = vm_value_to_json(vm, amv);
  vm_cleanup_push(vm, free_cb, args_json);
  char *res = NULL;
  vm->cur_call = (VmCallInfo){vm->ncalls, a->name, a->irreversible, vm->retry_call};
  vm->retry_call = false;
  int rc = vm->act_fn(vm->act_user, a->name, args_json, &res);
  vm_cleanup_pop(vm, true);
  if (rc == VM_ACTION_IN_DOUBT) {
    *doubt = res;
    return 2;
  }
  vm_cleanup_push(vm, free_cb, res);
  vm->ncalls++;
  if (rc != 0) {
    vm_raise(vm, "action", "action '%s' failed: %s", a->name, res ? res : "(no message)");
    vm_cleanup_pop(vm, true);
    Value *msg = map_get_cstr(AS_MAP(vm->error), "message", 7);
    Value err = vm->error;
    vm_push_root(vm, err);
    action_event(vm, a, amv, conf, because, route, rule_line, queue, "error", msg ? *msg : v_nil());
    vm_pop_root(vm, 1);
    vm->error = err;
    return 0;
  }
  char jerr[160];
  if (!res || !json_to_value(vm, res, strlen(res), result, jerr, sizeof jerr)) {
    vm_cleanup_pop(vm, true);
    return (int)vm_raise(vm, "action", "action '%s' returned invalid JSON: %s", a->name, res ? jerr : "nothing");
  }
  vm_cleanup_pop(vm, true);
  if (!op_fit(result, a->result_type))
    return (int)vm_raise(vm, "action", "action '%s' must return %s, found %s", a->name,
                         op_typeset_text(a->result_type, buf, sizeof buf), val_type_name(*result));
  if (strcmp(route, "undo") == 0) {
    vm_push_root(vm, *result);
    action_event(vm, a, amv, conf, because, route, rule_line, queue, "result", *result);
    vm_pop_root(vm, 1);
  }
  return 1;
}

int vm_call_action(VM *vm, uint16_t site) {
  const BcCallSite *cs = &vm->m->calls[site];
  const BcAction *a = &vm->m->actions[cs->action];
  size_t nvals = (size_t)cs->nargs + cs->has_confidence + cs->has_because;
  Value *args = vm->stack + vm->sp - nvals;
  char buf[64];

  for (uint8_t i = 0; i < cs->nargs; i++) {
    if (!op_fit(&args[i], a->params[i].type))
      return (int)vm_raise(vm, "type", "argument '%s' of action '%s' must be %s, found %s", a->params[i].name, a->name,
                      op_typeset_text(a->params[i].type, buf, sizeof buf), val_type_name(args[i]));
  }
  Value conf = v_nil(), because = v_nil();
  if (cs->has_confidence) {
    Value c = args[cs->nargs];
    double d = c.t == V_INT ? (double)c.u.i : c.t == V_FLOAT ? c.u.f : -1;
    if ((c.t != V_INT && c.t != V_FLOAT) || !(d >= 0.0 && d <= 1.0))
      return (int)vm_raise(vm, "type", "confidence must be a number in [0, 1], found %s", val_type_name(c));
    conf = v_float(d);
  }
  if (cs->has_because) because = args[cs->nargs + cs->has_confidence];

  /* the arguments as a map {param: value} */
  Map *am = map_new(vm, cs->nargs);
  Value amv = v_obj(&am->h);
  vm_push_root(vm, amv);
  for (uint8_t i = 0; i < cs->nargs; i++) {
    Str *k = cstr(vm, a->params[i].name);
    vm_push_root(vm, v_obj(&k->h));
    map_set(vm, am, k, args[i]);
    vm_pop_root(vm, 1);
  }
  /* routing (§6): auto runs, deny raises, approve suspends before the call */
  const char *route = "approve";
  int64_t rule_line = -1, queue = 0;
  const BcRoute *review_route = NULL;   /* routed to review: the item opens after the call */
  if (vm->route_granted) {
    vm->route_granted = false;   /* a person approved this very call */
    rule_line = vm->granted_rule;
    queue = vm->granted_queue;
  } else {
    Route rt;
    vm_route(vm, site, args, amv, conf, &rt);
    vm_push_root(vm, rt.risk);
    args = vm->stack + vm->sp - nvals;          /* nested runs may have moved the stack */
    queue = rt.queue;
    const BcRule *rule = rt.rule >= 0 ? &vm->m->rules[rt.rule] : NULL;
    rule_line = rule ? (int64_t)rule->line : -1;
    if (rt.kind == BR_DENY) {
      vm_pop_root(vm, 1);
      if (rule && rule->route.message) vm_raise(vm, "denied", "%s", rule->route.message);
      else vm_raise(vm, "denied", "the call of '%s' was denied by the rule at line %u", a->name, rule ? rule->line : 0);
      Value err = vm->error;
      vm_push_root(vm, err);
      Value *msg = map_get_cstr(AS_MAP(err), "message", 7);
      action_event(vm, a, amv, conf, because, "deny", rule_line, queue, "error", msg ? *msg : v_nil());
      vm_pop_root(vm, 2);
      vm->error = err;
      return 0;
    }
    if (rt.kind == BR_APPROVE && vm->flagging) {
      /* in a flag block or undo: the reviewer who flagged asked for the
       * correction, so the approval is theirs (docs/language-notes.md) */
      vm_pop_root(vm, 1);
      goto call;
    }
    if (rt.kind == BR_APPROVE) {
      Value pv = vm_route_payload(vm, site, &rt, amv, conf, because);
      vm->pending = pv;
      vm->pending_site = -1;
      vm->pending_call = site;
      vm->pending_call_routed = true;
      mem_free(vm->pending_json, 0);
      vm->pending_json = vm_value_to_json(vm, pv);
      vm->status = VM_SUSPENDED;
      checkpoint_event(vm);
      vm_pop_root(vm, 2);
      return 2;
    }
    if (rt.kind == BR_REVIEW) {
      static const BcRoute fail_closed_review = {BR_REVIEW, NULL, 0, -1, 0, NULL, -1, NULL};
      review_route = rule ? &rule->route : &fail_closed_review;
    }
    route = rt.kind == BR_REVIEW ? "review" : "auto";
    vm_pop_root(vm, 1);
  }
call: {
  Value result;
  char *doubt = NULL;
  int rc = call_binding(vm, a, amv, conf, because, route, rule_line, queue, &result, &doubt);
  if (rc == 2 && vm->nested) {
    /* a flag block cannot wait for a person: the correction fails, loudly */
    mem_free(doubt, 0);
    vm_pop_root(vm, 1);
    return (int)vm_raise(vm, "action", "the call of '%s' is in doubt: it was started before a crash and never "
                         "reported back; a person must check it", a->name);
  }
  if (rc == 2) {
    /* started before a crash, never finished: a person decides (vm_resume) */
    vm_cleanup_push(vm, free_cb, doubt);
    in_doubt(vm, site, amv, doubt);
    vm_cleanup_pop(vm, true);
    vm_pop_root(vm, 1);
    return 2;
  }
  if (rc == 0) {
    vm_pop_root(vm, 1);
    return 0;
  }
  vm_push_root(vm, result);
  action_event(vm, a, amv, conf, because, route, rule_line, queue, "result", result);
  if (vm->nactive) vm_review_record(vm, a, amv, result);
  if (review_route) vm_review_routed(vm, site, review_route, amv, result);
  vm_pop_root(vm, 2);
  vm->sp -= nvals;
  vm->stack[vm->sp++] = result;
  return 1;
}
}

void vm_drop_body(VM *vm) {
  vm->nframes = vm->nhandlers = vm->nsteps = vm->nactive = 0;
  vm->nested = 0;
  vm->pure = false;
  vm->floor = vm->handler_floor = 0;
  vm->sp = 0;
  vm->pending = v_nil();
  vm->pending_site = vm->pending_call = -1;
  vm->pending_call_routed = false;
  mem_free(vm->pending_json, 0);
  vm->pending_json = NULL;
  vm->finished = true;
}

void vm_fail_instance(VM *vm, Value err) {
  vm_push_root(vm, err);
  vm_drop_body(vm);
  vm_pop_root(vm, 1);
  set_error_outcome(vm, err);
}

bool vm_call_undo(VM *vm, const BcAction *u, Value args, Value result) {
  Map *am = AS_MAP(args);
  if (u->nparams != am->n + 1)
    return vm_raise(vm, "type", "undo '%s' takes %u arguments, not %u and the result", u->name, u->nparams, am->n);
  Map *um = map_new(vm, u->nparams);
  Value umv = v_obj(&um->h);
  vm_push_root(vm, umv);
  char buf[64];
  for (uint32_t i = 0; i <= am->n; i++) {
    Value x = i < am->n ? am->e[i].val : result;
    if (!op_fit(&x, u->params[i].type)) {
      vm_pop_root(vm, 1);
      return vm_raise(vm, "type", "argument '%s' of undo '%s' must be %s, found %s", u->params[i].name, u->name,
                      op_typeset_text(u->params[i].type, buf, sizeof buf), val_type_name(x));
    }
    vm_map_put(vm, um, u->params[i].name, x);
  }
  Value out;
  char *doubt = NULL;
  int rc = call_binding(vm, u, umv, v_nil(), v_nil(), "undo", -1, 0, &out, &doubt);
  mem_free(doubt, 0);
  if (rc == 2) rc = vm_raise(vm, "action", "undo '%s' is in doubt: it was started before a crash", u->name);
  vm_pop_root(vm, 1);
  return rc == 1;
}
