/* vm/review.c — post-action review (LANGUAGE.md §7): review blocks record
 * the action calls they make; at a block's end (or when an error leaves it)
 * the frame's variables are kept as they are and a review item opens, and
 * the instance runs on at once.  A call routed to `review` opens an item of
 * its own.  Later, a reviewer's `pass` closes the item and a `flag` runs the
 * block's flag block (a function of its own, given the kept variables and
 * the reason) or the routed call's `undo`, as a nested run whatever the body
 * is doing: suspended, or ended.
 *
 * The host stores the items: vm_new_reviews lists the ones opened since it
 * last named them, vm_review_assign gives each its item id (kept in
 * snapshots), and vm_review_verdict applies a verdict. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "calls.h"
#include "mem.h"
#include "ops.h"
#include "vm_internal.h"

/* ---- keeping values as they are -------------------------------------------- */

/* A deep copy of the lists and maps reachable from the values (strings are
 * immutable and shared); shared and cyclic structure is copied shared.  A
 * breadth-first walk with a pointer table, so depth costs no C stack. */
typedef struct Copier {
  VM *vm;
  Obj **from;              /* open addressing: original -> index */
  uint32_t *idx;
  size_t hcap;
  List *order;             /* the copies by index, rooted; originals in orig */
  Obj **orig;
  uint32_t n, cap;
} Copier;

static void copier_free(void *p) {
  Copier *c = p;
  mem_free(c->from, c->hcap * sizeof *c->from);
  mem_free(c->idx, c->hcap * sizeof *c->idx);
  mem_free(c->orig, c->cap * sizeof *c->orig);
  c->from = NULL;
  c->idx = NULL;
  c->orig = NULL;
}

static size_t ptr_slot(const Obj *o, size_t cap) { return ((uintptr_t)o >> 4) * 0x9E3779B97F4A7C15ull & (cap - 1); }

/* the copy of o (a list or map), made empty now and filled later */
static Value copy_of(Copier *c, Obj *o) {
  VM *vm = c->vm;
  if ((size_t)(c->n + 1) * 2 > c->hcap) {
    size_t nc = c->hcap ? c->hcap * 2 : 32;
    Obj **nf = mem_alloc(nc * sizeof *nf);
    uint32_t *ni = mem_alloc(nc * sizeof *ni);
    if (!nf || !ni) {
      mem_free(nf, nc * sizeof *nf);
      mem_free(ni, nc * sizeof *ni);
      vm_oom(vm, "out of memory");
    }
    memset(nf, 0, nc * sizeof *nf);
    for (size_t i = 0; i < c->hcap; i++) {
      if (!c->from[i]) continue;
      size_t h = ptr_slot(c->from[i], nc);
      while (nf[h]) h = (h + 1) & (nc - 1);
      nf[h] = c->from[i];
      ni[h] = c->idx[i];
    }
    mem_free(c->from, c->hcap * sizeof *c->from);
    mem_free(c->idx, c->hcap * sizeof *c->idx);
    c->from = nf;
    c->idx = ni;
    c->hcap = nc;
  }
  size_t h = ptr_slot(o, c->hcap);
  while (c->from[h]) {
    if (c->from[h] == o) return c->order->v[c->idx[h]];
    h = (h + 1) & (c->hcap - 1);
  }
  if (c->n == c->cap) {
    uint32_t nc = c->cap ? c->cap * 2 : 16;
    Obj **no = mem_realloc(c->orig, c->cap * sizeof *no, nc * sizeof *no);
    if (!no) vm_oom(vm, "out of memory");
    c->orig = no;
    c->cap = nc;
  }
  Value v = o->type == V_LIST ? v_obj(&list_new(vm, ((List *)o)->n)->h) : v_obj(&map_new(vm, ((Map *)o)->n)->h);
  list_push(vm, c->order, v);
  c->from[h] = o;
  c->idx[h] = c->n;
  c->orig[c->n++] = o;
  return v;
}

static Value copy_value(Copier *c, Value v) {
  return v.t == V_LIST || v.t == V_MAP ? copy_of(c, v.u.o) : v;
}

/* a list of copies of vals[0..n) */
static Value keep_values(VM *vm, const Value *base, uint32_t n) {
  Copier c = {.vm = vm};
  vm_cleanup_push(vm, copier_free, &c);
  c.order = list_new(vm, 8);
  vm_push_root(vm, v_obj(&c.order->h));
  List *out = list_new(vm, n);
  vm_push_root(vm, v_obj(&out->h));
  for (uint32_t i = 0; i < n; i++) {
    Value v = copy_value(&c, base[i]);
    list_push(vm, out, v);
  }
  for (uint32_t i = 0; i < c.n; i++) {   /* c.n grows as the walk meets more */
    Obj *o = c.orig[i];
    Value dst = c.order->v[i];
    if (o->type == V_LIST) {
      List *l = (List *)o;
      for (uint32_t k = 0; k < l->n; k++) {
        Value e = copy_value(&c, l->v[k]);
        list_push(vm, AS_LIST(dst), e);
      }
    } else {
      Map *m = (Map *)o;
      for (uint32_t k = 0; k < m->n; k++) {
        Value e = copy_value(&c, m->e[k].val);
        map_set(vm, AS_MAP(dst), m->e[k].key, e);
      }
    }
  }
  vm_pop_root(vm, 2);
  vm_cleanup_pop(vm, true);
  return v_obj(&out->h);
}

/* ---- opening items ----------------------------------------------------------- */

static void grow_open(VM *vm) {
  if (vm->nopen < vm->capopen) return;
  size_t cap = vm->capopen ? vm->capopen * 2 : 4;
  OpenReview *o = mem_realloc(vm->open, vm->capopen * sizeof *o, cap * sizeof *o);
  if (!o) vm_oom(vm, "out of memory");
  vm->open = o;
  vm->capopen = (uint32_t)cap;
}

/* the payload {title, step, calls, by, deadline}, then the record and the
 * review_opened event (the host adds the item and its digest) */
static void open_item(VM *vm, int32_t site, int32_t call, Value title, Value step, Value calls, const char *by,
                      int64_t within, Value kept) {
  vm_push_root(vm, kept);
  Map *p = map_new(vm, 5);
  Value pv = v_obj(&p->h);
  vm_push_root(vm, pv);
  vm_map_put(vm, p, "title", title);
  vm_map_put(vm, p, "step", step);
  vm_map_put(vm, p, "calls", calls);
  vm_map_put(vm, p, "by", vm_text(vm, by));
  char iso[32];
  int64_t opened = (int64_t)time(NULL);
  vm_iso_time(opened + (within > 0 ? within : 86400), iso);
  vm_map_put(vm, p, "deadline", vm_text(vm, iso));
  grow_open(vm);
  vm->open[vm->nopen++] = (OpenReview){0, site, call, pv, kept, opened};
  if (vm->ev_fn) {
    char *pj = vm_value_to_json(vm, pv);
    size_t n = strlen(pj) + 16;
    char *ev = mem_alloc(n);
    if (ev) snprintf(ev, n, "{\"payload\":%s}", pj);
    mem_free(pj, 0);
    if (!ev) vm_oom(vm, "out of memory");
    vm->ev_fn(vm->ev_user, "review_opened", ev);
    mem_free(ev, n);
  }
  vm_pop_root(vm, 2);
}

/* ---- review blocks ----------------------------------------------------------- */

void vm_review_begin(VM *vm, uint16_t site, Value title) {
  Str *t;
  if (title.t == V_STR) {
    t = AS_STR(title);
  } else {
    StrBuf b;
    strbuf_init(vm, &b);
    val_str(&b, title);
    t = strbuf_done(&b);
  }
  vm_push_root(vm, v_obj(&t->h));
  List *calls = list_new(vm, 4);
  vm_push_root(vm, v_obj(&calls->h));
  if (vm->nactive == vm->capactive) {
    size_t cap = vm->capactive ? vm->capactive * 2 : 4;
    ActiveReview *a = mem_realloc(vm->active, vm->capactive * sizeof *a, cap * sizeof *a);
    if (!a) vm_oom(vm, "out of memory");
    vm->active = a;
    vm->capactive = (uint32_t)cap;
  }
  vm->active[vm->nactive++] = (ActiveReview){site, vm->nframes - 1, vm->nhandlers, v_obj(&t->h),
                                             vm->nsteps ? vm->steps[vm->nsteps - 1].name : v_nil(),
                                             v_obj(&calls->h)};
  vm_pop_root(vm, 2);
}

/* the innermost running block ends: keep its frame's variables, open the item */
static void end_block(VM *vm) {
  ActiveReview a = vm->active[vm->nactive - 1];
  const BcReview *rv = &vm->m->reviews[a.site];
  const Frame *f = &vm->frames[a.frame];
  uint32_t nlive = rv->flag_fn >= 0 && rv->nlive <= f->fn->nlocals ? rv->nlive : 0;
  /* the record stays in active[] (and so rooted) until the item holds it */
  Value kept = keep_values(vm, vm->stack + f->base, nlive);
  open_item(vm, a.site, -1, a.title, a.step, a.calls, rv->by, rv->within, kept);
  vm->nactive--;
}

bool vm_review_end(VM *vm, uint16_t site) {
  if (!vm->nactive || vm->active[vm->nactive - 1].site != site ||
      vm->active[vm->nactive - 1].frame != vm->nframes - 1)
    return vm_raise(vm, "type", "review block %u ends where it did not begin", site);
  end_block(vm);
  return true;
}

void vm_review_leave_handler(VM *vm, uint32_t h) {
  while (vm->nactive && vm->active[vm->nactive - 1].nhandlers > h) end_block(vm);
}

void vm_review_leave_frames(VM *vm, uint32_t frame) {
  while (vm->nactive && vm->active[vm->nactive - 1].frame >= frame) {
    if (vm->active[vm->nactive - 1].frame >= vm->nframes) {
      vm->nactive--;   /* its frame is gone already: nothing to keep */
      continue;
    }
    end_block(vm);
  }
}

/* {action, args, result} */
static Value call_record(VM *vm, const char *action, Value args, Value result) {
  Map *c = map_new(vm, 3);
  Value cv = v_obj(&c->h);
  vm_push_root(vm, cv);
  vm_map_put(vm, c, "action", vm_text(vm, action));
  vm_map_put(vm, c, "args", args);
  vm_map_put(vm, c, "result", result);
  vm_pop_root(vm, 1);
  return cv;
}

void vm_review_record(VM *vm, const BcAction *a, Value args, Value result) {
  Value cv = call_record(vm, a->name, args, result);
  vm_push_root(vm, cv);
  for (uint32_t i = 0; i < vm->nactive; i++) list_push(vm, AS_LIST(vm->active[i].calls), cv);
  vm_pop_root(vm, 1);
}

void vm_review_routed(VM *vm, uint16_t call_site, const BcRoute *route, Value args, Value result) {
  const BcAction *a = &vm->m->actions[vm->m->calls[call_site].action];
  List *calls = list_new(vm, 1);
  vm_push_root(vm, v_obj(&calls->h));
  Value cv = call_record(vm, a->name, args, result);
  list_push(vm, calls, cv);
  /* kept: [args, result] for the undo (values as they were) */
  Value both[2] = {args, result};
  Value kept = keep_values(vm, both, 2);
  vm_push_root(vm, kept);
  Value title = v_obj(&vm_call_title(vm, "", a->name, args)->h);
  vm_push_root(vm, title);
  open_item(vm, -1, call_site, title, vm->nsteps ? vm->steps[vm->nsteps - 1].name : v_nil(), v_obj(&calls->h),
            route->by, route->within, kept);
  vm_pop_root(vm, 3);
}

/* ---- the host's side ---------------------------------------------------------- */

static uint32_t first_new(const VM *vm) {
  uint32_t i = vm->nopen;
  while (i > 0 && vm->open[i - 1].item == 0) i--;
  return i;
}

uint32_t vm_new_reviews(VM *vm) { return vm->nopen - first_new(vm); }

uint32_t vm_open_reviews(VM *vm) { return vm->nopen; }

static OpenReview *new_review(VM *vm, uint32_t k) {
  uint32_t i = first_new(vm) + k;
  return i < vm->nopen ? &vm->open[i] : NULL;
}

const char *vm_new_review_json(VM *vm, uint32_t k) {
  OpenReview *o = new_review(vm, k);
  if (!o) return NULL;
  jmp_buf jb, *saved = vm->oom;
  vm->oom = &jb;
  if (setjmp(jb)) {
    vm->oom = saved;
    return NULL;
  }
  char *j = vm_value_to_json(vm, o->payload);
  vm->oom = saved;
  mem_free(vm->review_json, 0);
  vm->review_json = j;
  return j;
}

int64_t vm_new_review_opened(VM *vm, uint32_t k) {
  OpenReview *o = new_review(vm, k);
  return o ? o->opened : -1;
}

bool vm_review_digest(VM *vm, uint32_t k, const char *instance, int64_t item, char hex[65]) {
  OpenReview *o = new_review(vm, k);
  return o && vm_payload_digest(vm, instance, item, o->payload, hex, NULL);
}

bool vm_review_assign(VM *vm, uint32_t k, int64_t item) {
  OpenReview *o = new_review(vm, k);
  if (!o || item <= 0 || k != 0) return false;   /* in order: the first new one each time */
  o->item = item;
  return true;
}

const char *vm_open_review_json(VM *vm, uint32_t k, int64_t *item) {
  if (k >= vm->nopen) return NULL;
  *item = vm->open[k].item;
  jmp_buf jb, *saved = vm->oom;
  vm->oom = &jb;
  if (setjmp(jb)) {
    vm->oom = saved;
    return NULL;
  }
  char *j = vm_value_to_json(vm, vm->open[k].payload);
  vm->oom = saved;
  mem_free(vm->review_json, 0);
  vm->review_json = j;
  return j;
}

bool vm_review_has(VM *vm, int64_t item) {
  for (uint32_t i = 0; i < vm->nopen; i++)
    if (vm->open[i].item == item) return true;
  return false;
}

/* The instance fails at once: an error in a flag block or an undo. */
static void fail_now(VM *vm, int64_t item, const char *what) {
  Value err = vm->error;
  vm_push_root(vm, err);
  Value *msg = err.t == V_MAP ? map_get_cstr(AS_MAP(err), "message", 7) : NULL;
  StrBuf b;
  strbuf_init(vm, &b);
  strbuf_printf(&b, "%s of review item %lld failed, so the correction did not happen: %s", what, (long long)item,
                msg && msg->t == V_STR ? AS_STR(*msg)->s : "(no message)");
  Str *s = strbuf_done(&b);
  vm_push_root(vm, v_obj(&s->h));
  vm_alert_event(vm, s->s);
  vm_pop_root(vm, 1);
  vm_fail_instance(vm, err);
  vm_pop_root(vm, 1);
}

/* flag: the review block's flag block, given its kept variables and the reason */
static bool run_flag_block(VM *vm, const OpenReview *o, Value why) {
  const BcReview *rv = &vm->m->reviews[o->site];
  if (rv->flag_fn < 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "review item %lld was flagged; its review block (line %u) has no flag block",
             (long long)o->item, rv->line);
    vm_alert_event(vm, msg);
    return true;
  }
  const BcFunc *fn = &vm->m->funcs[rv->flag_fn];
  List *kept = AS_LIST(o->kept);
  List *args = list_new(vm, fn->nparams);
  vm_push_root(vm, v_obj(&args->h));
  for (uint32_t i = 0; i + 1 < fn->nparams; i++) list_push(vm, args, i < kept->n ? kept->v[i] : v_nil());
  list_push(vm, args, why);
  Value out;
  vm->fuel = vm->lim.fuel;
  bool ok = vm_invoke(vm, (uint32_t)rv->flag_fn, args->v, (int)args->n, &out, false);
  vm_pop_root(vm, 1);
  return ok;
}

/* flag of a routed call: always an alert; the action's undo, if it has one */
static bool run_undo(VM *vm, const OpenReview *o, Value why) {
  const BcAction *a = &vm->m->actions[vm->m->calls[o->call].action];
  const BcAction *u = a->undo >= 0 ? &vm->m->actions[a->undo] : NULL;
  StrBuf b;
  strbuf_init(vm, &b);
  strbuf_printf(&b, "review item %lld: the call of '%s' was flagged (%s); %s%s%s", (long long)o->item, a->name,
                AS_STR(why)->len ? AS_STR(why)->s : "no reason given", u ? "calling its undo '" : "it has no undo",
                u ? u->name : "", u ? "'" : "");
  Str *s = strbuf_done(&b);
  vm_push_root(vm, v_obj(&s->h));
  vm_alert_event(vm, s->s);
  vm_pop_root(vm, 1);
  if (!u) return true;
  List *kept = AS_LIST(o->kept);
  return vm_call_undo(vm, u, kept->v[0], kept->v[1]);
}

int vm_review_verdict(VM *vm, int64_t item, const char *verdict_json, char *err, size_t n) {
  uint32_t i = 0;
  while (i < vm->nopen && vm->open[i].item != item) i++;
  if (i == vm->nopen) {
    snprintf(err, n, "the instance has no open review item %lld", (long long)item);
    return -1;
  }
  jmp_buf jb, *saved = vm->oom;
  vm->oom = &jb;
  if (setjmp(jb)) {
    vm->oom = NULL;
    vm_fail_memory(vm);
    vm_drop_body(vm);
    vm->oom = saved;
    return 0;
  }
  Value v;
  char jerr[160];
  if (!json_to_value(vm, verdict_json, strlen(verdict_json), &v, jerr, sizeof jerr) || v.t != V_MAP) {
    vm->oom = saved;
    snprintf(err, n, "the verdict is not a JSON object%s%s", v.t == V_MAP ? "" : ": ", v.t == V_MAP ? "" : jerr);
    return -1;
  }
  vm_push_root(vm, v);
  Value *kind = map_get_cstr(AS_MAP(v), "kind", 4), *reason = map_get_cstr(AS_MAP(v), "reason", 6);
  bool flag = kind && kind->t == V_STR && strcmp(AS_STR(*kind)->s, "flag") == 0;
  if (!kind || kind->t != V_STR || (!flag && strcmp(AS_STR(*kind)->s, "pass") != 0)) {
    vm_pop_root(vm, 1);
    vm->oom = saved;
    snprintf(err, n, "a review takes pass or flag");
    return -1;
  }
  /* the item closes whatever its flag block does */
  OpenReview o = vm->open[i];
  vm_push_root(vm, o.payload);
  vm_push_root(vm, o.kept);
  memmove(&vm->open[i], &vm->open[i + 1], (vm->nopen - i - 1) * sizeof *vm->open);
  vm->nopen--;
  int rc = 1;
  if (flag) {
    Value why = reason && reason->t == V_STR ? *reason : v_obj(&str_cstr(vm, "")->h);
    vm_push_root(vm, why);
    bool flagging = vm->flagging;
    vm->flagging = true;
    bool ok = o.site >= 0 ? run_flag_block(vm, &o, why) : run_undo(vm, &o, why);
    vm->flagging = flagging;
    if (!ok) {
      fail_now(vm, item, o.site >= 0 ? "the flag block" : "the undo");
      rc = 0;
    }
    vm_pop_root(vm, 1);
  }
  vm_pop_root(vm, 3);
  vm->oom = saved;
  return rc;
}
