/* vm/verdict.c — a person's verdict reaches a suspended VM (LANGUAGE.md §7):
 * edits checked and assigned, the verdict map pushed where the checkpoint
 * left its value, a rejection raised when nothing handles it; and the
 * item's digest, the SHA-256 of its canonical JSON.
 *
 * vm_resume checks everything before it changes anything, so a refused
 * verdict leaves the VM exactly as it was (the CLI then leaves the store
 * alone too). */
#include <stdio.h>
#include <string.h>

#include "calls.h"
#include "mem.h"
#include "ops.h"
#include "sha256.h"
#include "vm_internal.h"

/* the value slot an edit target names, in the suspended frame or globals */
static Value *edit_slot(VM *vm, const BcEditTarget *t) {
  if (t->global) return t->index < vm->m->nglobals ? &vm->globals[t->index] : NULL;
  Frame *f = &vm->frames[vm->nframes - 1];
  if (t->index >= f->fn->nlocals) return NULL;
  return &vm->stack[f->base + t->index];
}

static const char *str_field(Map *m, const char *key) {
  Value *v = map_get_cstr(m, key, strlen(key));
  return v && v->t == V_STR ? AS_STR(*v)->s : NULL;
}

/* a `rejected` error carrying the reviewer's reason (nil without one) */
static Value rejected_error(VM *vm, const char *msg, uint32_t line, const char *reason) {
  Value e = vm_make_error(vm, "rejected", msg, strlen(msg), line);
  vm_push_root(vm, e);
  Str *rk = str_cstr(vm, "reason");
  vm_push_root(vm, v_obj(&rk->h));
  Value rv = reason ? v_obj(&str_cstr(vm, reason)->h) : v_nil();
  map_set(vm, AS_MAP(e), rk, rv);
  vm_pop_root(vm, 2);
  return e;
}

/* an int field of a map inside the payload (payload.outer.key), or dflt */
static int64_t payload_int(Value payload, const char *outer, const char *key, int64_t dflt) {
  if (payload.t != V_MAP) return dflt;
  Value *o = map_get_cstr(AS_MAP(payload), outer, strlen(outer));
  Value *v = o && o->t == V_MAP ? map_get_cstr(AS_MAP(*o), key, strlen(key)) : NULL;
  return v && v->t == V_INT ? v->u.i : dflt;
}

typedef struct Resume {
  const char *json;
  char *err;
  size_t n;
} Resume;

static bool refuse(Resume *r, const char *fmt, const char *a, const char *b) {
  snprintf(r->err, r->n, fmt, a ? a : "", b ? b : "");
  return false;
}

static Str *key_str(VM *vm, const char *k) { return str_cstr(vm, k); }

/* defaults for the fields the approve block may read */
static void fill(VM *vm, Map *v, const char *key, Value dflt) {
  if (map_get_cstr(v, key, strlen(key))) return;
  vm_push_root(vm, dflt);
  Str *k = key_str(vm, key);
  vm_push_root(vm, v_obj(&k->h));
  map_set(vm, v, k, dflt);
  vm_pop_root(vm, 2);
}

static bool resume(VM *vm, Resume *r) {
  Value verdict;
  char jerr[128];
  if (!json_to_value(vm, r->json, strlen(r->json), &verdict, jerr, sizeof jerr))
    return refuse(r, "the verdict is not valid JSON: %s%s", jerr, NULL);
  if (verdict.t != V_MAP) return refuse(r, "the verdict must be a JSON object%s%s", NULL, NULL);
  vm_push_root(vm, verdict);
  Map *vmap = AS_MAP(verdict);
  const char *kind = str_field(vmap, "kind");
  bool approve = kind && strcmp(kind, "approve") == 0, modify = kind && strcmp(kind, "modify") == 0,
       reject = kind && strcmp(kind, "reject") == 0;
  if (!approve && !modify && !reject) {
    vm_pop_root(vm, 1);
    return refuse(r, "unknown verdict '%s': approve, modify or reject%s", kind ? kind : "(none)", NULL);
  }
  Value *ev = map_get_cstr(vmap, "edits", 5);
  Map *edits = ev && ev->t == V_MAP ? AS_MAP(*ev) : NULL;
  if (ev && ev->t != V_MAP && ev->t != V_NIL) {
    vm_pop_root(vm, 1);
    return refuse(r, "edits must be a JSON object%s%s", NULL, NULL);
  }
  if (!modify && edits && edits->n) {
    vm_pop_root(vm, 1);
    return refuse(r, "only a modify verdict may change values (%s given)%s", kind, NULL);
  }
  if (modify && (!edits || !edits->n)) {
    vm_pop_root(vm, 1);
    return refuse(r, "a modify verdict needs at least one edit%s%s", NULL, NULL);
  }

  if (vm->pending_call >= 0 && vm->pending_call_routed) {
    /* an approve route: modify may change the action's editable arguments */
    const BcCallSite *cs = &vm->m->calls[vm->pending_call];
    const BcAction *a = &vm->m->actions[cs->action];
    size_t nvals = (size_t)cs->nargs + cs->has_confidence + cs->has_because;
    Value *argv = vm->stack + vm->sp - nvals;
    int idx[256];
    for (uint32_t i = 0; edits && i < edits->n; i++) {
      const Str *name = edits->e[i].key;
      int found = -1;
      for (uint16_t k = 0; k < a->nparams && found < 0; k++)
        if (strlen(a->params[k].name) == name->len && memcmp(a->params[k].name, name->s, name->len) == 0) found = k;
      if (found < 0 || (found < 64 && !(a->editable >> found & 1))) {
        vm_pop_root(vm, 1);
        return refuse(r, "'%s' is not an editable argument of '%s'", name->s, a->name);
      }
      Value nv = edits->e[i].val;
      if (!op_fit(&nv, a->params[found].type)) {
        char tb[64];
        vm_pop_root(vm, 1);
        return refuse(r, "'%s' must be %s", name->s, op_typeset_text(a->params[found].type, tb, sizeof tb));
      }
      if (i < 256) idx[i] = found;
    }
    Frame *f = &vm->frames[vm->nframes - 1];
    if (reject) {
      f->pc += 3;
      const char *reason = str_field(vmap, "reason");
      char msg[512];
      snprintf(msg, sizeof msg, "the call of '%s' was rejected%s%s", a->name, reason ? ": " : "", reason ? reason : "");
      vm->error = rejected_error(vm, msg, vm_line_at(f->fn, f->pc), reason);
      vm->held_site = vm->pending_call;
      vm->held_payload = vm->pending;
      vm->raise_on_run = true;
    } else {
      /* the call's action event names the rule that held it */
      vm->granted_rule = payload_int(vm->pending, "rule", "line", -1);
      vm->granted_queue = payload_int(vm->pending, "risk", "queue", 0);
      for (uint32_t i = 0; edits && i < edits->n && i < 256; i++) {
        Value nv = edits->e[i].val;
        op_fit(&nv, a->params[idx[i]].type);
        argv[idx[i]] = nv;
      }
      vm->route_granted = true;           /* CALL_ACTION runs again, past routing */
    }
  } else if (vm->pending_call >= 0) {
    /* an action call in doubt: the only editable name is `result` */
    const BcCallSite *cs = &vm->m->calls[vm->pending_call];
    const BcAction *a = &vm->m->actions[cs->action];
    Value result = v_nil();
    if (modify) {
      if (edits->n != 1 || edits->e[0].key->len != 6 || memcmp(edits->e[0].key->s, "result", 6) != 0) {
        vm_pop_root(vm, 1);
        return refuse(r, "an action in doubt can only be given its result (--set result=JSON)%s%s", NULL, NULL);
      }
      result = edits->e[0].val;
      if (!op_fit(&result, a->result_type)) {
        char tb[64];
        vm_pop_root(vm, 1);
        return refuse(r, "the result of '%s' must be %s", a->name, op_typeset_text(a->result_type, tb, sizeof tb));
      }
    }
    /* accepted: from here on the VM changes */
    Frame *f = &vm->frames[vm->nframes - 1];
    size_t nvals = (size_t)cs->nargs + cs->has_confidence + cs->has_because;
    if (approve) {
      vm->retry_call = true;              /* CALL_ACTION runs again, and calls */
    } else if (modify) {
      vm->sp -= nvals;                    /* the call happened: its result */
      vm->stack[vm->sp++] = result;
      f->pc += 3;
      vm->ncalls++;
    } else {
      f->pc += 3;                         /* raised after the call instruction */
      vm->ncalls++;
      const char *reason = str_field(vmap, "reason");
      char msg[512];
      snprintf(msg, sizeof msg, "the call of '%s' was rejected%s%s", a->name, reason ? ": " : "", reason ? reason : "");
      vm->error = rejected_error(vm, msg, vm_line_at(f->fn, f->pc), reason);
      vm->raise_on_run = true;
    }
  } else {
    const BcCheckpoint *c = &vm->m->checkpoints[vm->pending_site];
    /* every edit names an editable variable and fits its current value */
    for (uint32_t i = 0; edits && i < edits->n; i++) {
      const Str *name = edits->e[i].key;
      const BcEditTarget *t = NULL;
      for (uint16_t k = 0; k < c->nedits && !t; k++)
        if (strlen(c->edits[k].name) == name->len && memcmp(c->edits[k].name, name->s, name->len) == 0) t = &c->edits[k];
      if (!t) {
        vm_pop_root(vm, 1);
        return refuse(r, "'%s' is not editable at this checkpoint%s", name->s, NULL);
      }
      Value *slot = edit_slot(vm, t);
      if (!slot) {
        vm_pop_root(vm, 1);
        return refuse(r, "'%s' cannot be found in the suspended state%s", name->s, NULL);
      }
      Value nv = edits->e[i].val;
      if (slot->t != V_NIL && !op_fit(&nv, VT_BIT(slot->t))) {
        vm_pop_root(vm, 1);
        char what[160];
        snprintf(what, sizeof what, "'%s' is %s", name->s, val_type_name(*slot));
        return refuse(r, "%s: the new value is %s", what, val_type_name(edits->e[i].val));
      }
    }
    /* accepted: assign, then the verdict map goes where the checkpoint's value goes */
    for (uint32_t i = 0; edits && i < edits->n; i++) {
      const Str *name = edits->e[i].key;
      for (uint16_t k = 0; k < c->nedits; k++) {
        if (strlen(c->edits[k].name) != name->len || memcmp(c->edits[k].name, name->s, name->len) != 0) continue;
        Value *slot = edit_slot(vm, &c->edits[k]);
        Value nv = edits->e[i].val;
        if (slot->t != V_NIL) op_fit(&nv, VT_BIT(slot->t));
        edits->e[i].val = nv;
        *slot = nv;
      }
    }
    fill(vm, vmap, "reviewers", v_obj(&list_new(vm, 0)->h));
    fill(vm, vmap, "reason", v_nil());
    fill(vm, vmap, "edits", v_obj(&map_new(vm, 0)->h));
    fill(vm, vmap, "at", v_nil());
    if (reject && c->raise_on_reject) {
      const char *reason = str_field(vmap, "reason");
      Frame *f = &vm->frames[vm->nframes - 1];
      char msg[512];
      snprintf(msg, sizeof msg, "rejected%s%s", reason ? ": " : "", reason ? reason : "");
      vm->error = rejected_error(vm, msg, vm_line_at(f->fn, f->pc), reason);
      vm->raise_on_run = true;
    } else {
      vm->stack[vm->sp++] = verdict;
    }
  }
  vm_pop_root(vm, 1);
  vm->pending = v_nil();
  vm->pending_site = -1;
  vm->pending_call = -1;
  vm->pending_call_routed = false;
  mem_free(vm->pending_json, 0);
  vm->pending_json = NULL;
  vm->status = VM_COMPLETED;   /* not suspended: vm_run goes on */
  return true;
}

bool vm_resume(VM *vm, const char *verdict_json, char *err, size_t n) {
  if (vm->status != VM_SUSPENDED || (vm->pending_site < 0 && vm->pending_call < 0)) {
    snprintf(err, n, "the instance is not waiting for a verdict");
    return false;
  }
  jmp_buf jb, *saved = vm->oom;
  vm->oom = &jb;
  if (setjmp(jb)) {
    vm->oom = saved;
    snprintf(err, n, "%s", vm->oom_what);
    return false;
  }
  Resume r = {verdict_json ? verdict_json : "", err, n};
  /* the stack needs one more slot for the verdict */
  vm_grow_stack(vm, vm->sp + 2);
  bool ok = resume(vm, &r);
  vm->oom = saved;
  return ok;
}

bool vm_item_digest(VM *vm, const char *instance, int64_t item, char hex[65], char **canonical) {
  return vm_payload_digest(vm, instance, item, vm->pending, hex, canonical);
}

bool vm_payload_digest(VM *vm, const char *instance, int64_t item, Value payload, char hex[65], char **canonical) {
  if (payload.t != V_MAP) return false;
  jmp_buf jb, *saved = vm->oom;
  vm->oom = &jb;
  if (setjmp(jb)) {
    vm->oom = saved;
    return false;
  }
  /* {"instance": ..., "item": ..., "payload": ...} written canonically */
  Map *m = map_new(vm, 3);
  Value mv = v_obj(&m->h);
  vm_push_root(vm, mv);
  Str *k = str_cstr(vm, "instance");
  vm_push_root(vm, v_obj(&k->h));
  map_set(vm, m, k, v_obj(&str_cstr(vm, instance)->h));
  vm_pop_root(vm, 1);
  k = str_cstr(vm, "item");
  vm_push_root(vm, v_obj(&k->h));
  map_set(vm, m, k, v_int(item));
  vm_pop_root(vm, 1);
  k = str_cstr(vm, "payload");
  vm_push_root(vm, v_obj(&k->h));
  map_set(vm, m, k, payload);
  vm_pop_root(vm, 1);
  StrBuf b;
  strbuf_init(vm, &b);
  val_json(&b, mv, true);
  uint8_t sum[32];
  hitl_sha256(sum, b.p ? b.p : "", b.len);
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    hex[2 * i] = digits[sum[i] >> 4];
    hex[2 * i + 1] = digits[sum[i] & 15];
  }
  hex[64] = 0;
  if (canonical) {
    char *t = mem_alloc(b.len + 1);
    if (!t) {
      strbuf_free(&b);
      vm_oom(vm, "out of memory");
    }
    memcpy(t, b.p ? b.p : "", b.len);
    t[b.len] = 0;
    *canonical = t;
  }
  strbuf_free(&b);
  vm_pop_root(vm, 1);
  vm->oom = saved;
  return true;
}
