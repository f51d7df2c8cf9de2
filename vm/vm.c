/* vm/vm.c — the VM's public face: creating and freeing a VM, inputs and
 * params, raising errors, events, and the JSON views of the outcome.
 * The dispatch loop is in interp.c, the heap in gc.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "vm_internal.h"

/* ---- memory of the VM itself (not the GC heap) -------------------------- */

/* Grow an array the VM owns (stack, frames, ...); vm_oom on failure. */
static void *vm_grow(VM *vm, void *p, size_t elem, size_t *cap, size_t want) {
  size_t nc = *cap ? *cap : 16;
  while (nc < want) {
    if (nc > SIZE_MAX / 2 / elem) vm_oom(vm, "out of memory");
    nc *= 2;
  }
  if (nc == *cap) return p;
  void *q = mem_realloc(p, *cap * elem, nc * elem);
  if (!q) vm_oom(vm, "out of memory");
  *cap = nc;
  return q;
}

void vm_grow_stack(VM *vm, size_t need) {
  if (need <= vm->stack_cap) return;
  size_t old = vm->stack_cap;
  vm->stack = vm_grow(vm, vm->stack, sizeof(Value), &vm->stack_cap, need);
  for (size_t i = old; i < vm->stack_cap; i++) vm->stack[i] = v_nil();
}

void vm_push_root(VM *vm, Value v) {
  if (vm->nroots == vm->caproots)
    vm->roots = vm_grow(vm, vm->roots, sizeof(Value), &vm->caproots, vm->nroots + 1);
  vm->roots[vm->nroots++] = v;
}

void vm_pop_root(VM *vm, int n) { vm->nroots -= (size_t)n; }

void vm_cleanup_push(VM *vm, void (*fn)(void *), void *p) {
  if (vm->ncleanups == vm->capcleanups) {
    size_t cap = vm->capcleanups;
    Cleanup *c = vm_grow(vm, vm->cleanups, sizeof(Cleanup), &cap, vm->ncleanups + 1);
    vm->cleanups = c;
    vm->capcleanups = cap;
  }
  vm->cleanups[vm->ncleanups++] = (Cleanup){fn, p};
}

void vm_cleanup_pop(VM *vm, bool run) {
  Cleanup c = vm->cleanups[--vm->ncleanups];
  if (run) c.fn(c.p);
}

_Noreturn void vm_oom(VM *vm, const char *what) {
  snprintf(vm->oom_what, sizeof vm->oom_what, "%s", what);
  while (vm->ncleanups) vm_cleanup_pop(vm, true);
  vm->nroots = 0;
  if (vm->oom) longjmp(*vm->oom, 1);
  fprintf(stderr, "hitl: %s outside the VM's control\n", what);
  abort();
}

size_t vm_max_string(const VM *vm) { return vm->lim.max_string; }
uint32_t vm_max_list(const VM *vm) { return vm->lim.max_list; }

/* ---- creation ------------------------------------------------------------ */

VM *vm_new(const Module *m, const VmLimits *lim) {
  VM *vm = mem_alloc(sizeof *vm);
  if (!vm) return NULL;
  memset(vm, 0, sizeof *vm);
  vm->m = m;
  if (lim) vm->lim = *lim;
  if (!vm->lim.fuel) vm->lim.fuel = VM_DEFAULT_FUEL;
  if (!vm->lim.heap_bytes) vm->lim.heap_bytes = VM_DEFAULT_HEAP;
  if (!vm->lim.max_depth) vm->lim.max_depth = VM_DEFAULT_DEPTH;
  if (!vm->lim.max_string) vm->lim.max_string = VM_DEFAULT_STRING;
  if (!vm->lim.max_list) vm->lim.max_list = VM_DEFAULT_LIST;
  vm->next_gc = 1 << 20;
  vm->pending_site = -1;
  vm->pending_call = -1;
  vm->held_site = -1;
  const char *stress = getenv("HITL_GC_STRESS");
  vm->stress = stress && stress[0] == '1';

  jmp_buf jb;
  vm->oom = &jb;
  if (setjmp(jb)) {
    vm->oom = NULL;
    vm_free(vm);
    return NULL;
  }
  if (m) {
    vm->consts = mem_alloc((m->nconsts ? m->nconsts : 1) * sizeof(Value));
    vm->globals = mem_alloc((m->nglobals ? m->nglobals : 1) * sizeof(Value));
    if (!vm->consts || !vm->globals) vm_oom(vm, "out of memory");
    for (uint32_t i = 0; i < m->nconsts; i++) vm->consts[i] = v_nil();
    for (uint32_t i = 0; i < m->nglobals; i++) vm->globals[i] = v_nil();
    for (uint32_t i = 0; i < m->nconsts; i++) {
      const BcConst *k = &m->consts[i];
      if (k->kind == K_INT) vm->consts[i] = v_int(k->i);
      else if (k->kind == K_FLOAT) vm->consts[i] = v_float(k->f);
      else vm->consts[i] = v_obj(&str_new(vm, k->s, k->len)->h);
    }
  }
  vm->oom = NULL;
  return vm;
}

void vm_free(VM *vm) {
  if (!vm) return;
  while (vm->ncleanups) vm_cleanup_pop(vm, true);
  gc_free_all(vm);
  size_t nconsts = vm->m ? vm->m->nconsts : 0, nglobals = vm->m ? vm->m->nglobals : 0;
  mem_free(vm->consts, (nconsts ? nconsts : 1) * sizeof(Value));
  mem_free(vm->globals, (nglobals ? nglobals : 1) * sizeof(Value));
  mem_free(vm->stack, vm->stack_cap * sizeof(Value));
  mem_free(vm->frames, vm->capframes * sizeof(Frame));
  mem_free(vm->handlers, vm->caphandlers * sizeof(Handler));
  mem_free(vm->steps, vm->capsteps * sizeof(StepRec));
  mem_free(vm->active, vm->capactive * sizeof(ActiveReview));
  mem_free(vm->open, vm->capopen * sizeof(OpenReview));
  mem_free(vm->review_json, 0);
  mem_free(vm->roots, vm->caproots * sizeof(Value));
  mem_free(vm->cleanups, vm->capcleanups * sizeof(Cleanup));
  mem_free(vm->calibrated, vm->m ? vm->m->nactions * sizeof(double) : 0);
  mem_free(vm->route_text, vm->m ? 2 * (size_t)vm->m->nactions * sizeof(Value) : 0);
  mem_free(vm->route_memo, vm->route_memo_len);
  mem_free(vm->result_json, 0);
  mem_free(vm->error_json, 0);
  mem_free(vm->pending_json, 0);
  mem_free(vm, sizeof *vm);
}

bool vm_set_calibrated_threshold(VM *vm, const char *action, double value) {
  if (!vm->m) return false;
  for (uint32_t i = 0; i < vm->m->nactions; i++) {
    if (strcmp(vm->m->actions[i].name, action) != 0) continue;
    if (!vm->calibrated) {
      vm->calibrated = mem_alloc(vm->m->nactions * sizeof(double));
      if (!vm->calibrated) return false;
      for (uint32_t k = 0; k < vm->m->nactions; k++) vm->calibrated[k] = NAN;
    }
    vm->calibrated[i] = value;
    return true;
  }
  return false;
}

void vm_set_queue_fn(VM *vm, int64_t (*fn)(void *user), void *user) {
  vm->queue_fn = fn;
  vm->queue_user = user;
}

void vm_bind_actions(VM *vm, VmActionFn fn, void *user) {
  vm->act_fn = fn;
  vm->act_user = user;
}

void vm_set_events(VM *vm, VmEventFn fn, void *user) {
  vm->ev_fn = fn;
  vm->ev_user = user;
}

/* ---- lines and errors ---------------------------------------------------- */

uint32_t vm_line_at(const BcFunc *fn, const uint8_t *pc) {
  if (!fn || !fn->nlines) return 0;
  /* pc points past the instruction being run: find the last entry <= pc-1 */
  uint32_t off = (uint32_t)(pc - fn->code);
  if (off) off--;
  uint32_t lo = 0, hi = fn->nlines;
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (fn->lines[mid].pc <= off) lo = mid;
    else hi = mid;
  }
  return fn->lines[lo].line;
}

uint32_t vm_current_line(VM *vm) {
  if (!vm->nframes) return 0;
  Frame *f = &vm->frames[vm->nframes - 1];
  return vm_line_at(f->fn, f->pc);
}

bool vm_is_resource_kind(const char *kind) {
  return strcmp(kind, "fuel") == 0 || strcmp(kind, "memory") == 0 || strcmp(kind, "depth") == 0;
}

bool vm_error_is(Value err, const char *kind) {
  if (err.t != V_MAP) return false;
  Value *k = map_get_cstr(AS_MAP(err), "kind", 4);
  return k && k->t == V_STR && strcmp(AS_STR(*k)->s, kind) == 0;
}

Value vm_make_error(VM *vm, const char *kind, const char *msg, size_t len, uint32_t line) {
  Map *m = map_new(vm, 4);
  Value mv = v_obj(&m->h);
  vm_push_root(vm, mv);
  Str *ks = str_cstr(vm, "kind");
  vm_push_root(vm, v_obj(&ks->h));
  map_set(vm, m, ks, v_obj(&str_cstr(vm, kind)->h));
  vm_pop_root(vm, 1);
  Str *ms = str_cstr(vm, "message");
  vm_push_root(vm, v_obj(&ms->h));
  map_set(vm, m, ms, v_obj(&str_new(vm, msg, len)->h));
  vm_pop_root(vm, 1);
  Str *ls = str_cstr(vm, "line");
  vm_push_root(vm, v_obj(&ls->h));
  map_set(vm, m, ls, line ? v_int(line) : v_nil());
  vm_pop_root(vm, 2);
  return mv;
}

static void vm_free_text(void *p) { mem_free(p, 0); }

bool vm_raise(VM *vm, const char *kind, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  char *msg = small;
  if ((size_t)n >= sizeof small) {
    /* the cleanup first: registering it can itself run out of memory */
    vm_cleanup_push(vm, vm_free_text, NULL);
    msg = mem_alloc((size_t)n + 1);
    if (!msg) vm_oom(vm, "out of memory");
    vm->cleanups[vm->ncleanups - 1].p = msg;
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  vm->error = vm_make_error(vm, kind, msg, (size_t)n, vm_current_line(vm));
  if (msg != small) vm_cleanup_pop(vm, true);
  return false;
}

/* ---- events and JSON ----------------------------------------------------- */

char *vm_value_to_json(VM *vm, Value v) {
  StrBuf b;
  strbuf_init(vm, &b);
  val_json(&b, v, false);
  char *out = mem_alloc(b.len + 1);
  if (!out) {
    strbuf_free(&b);
    vm_oom(vm, "out of memory");
  }
  memcpy(out, b.p ? b.p : "", b.len);
  out[b.len] = 0;
  strbuf_free(&b);
  return out;
}

void vm_event(VM *vm, const char *kind, const char *fields_json) {
  if (vm->ev_fn) vm->ev_fn(vm->ev_user, kind, fields_json);
}

void vm_event_value(VM *vm, const char *kind, Value fields) {
  if (!vm->ev_fn) return;
  char *j = vm_value_to_json(vm, fields);
  vm->ev_fn(vm->ev_user, kind, j);
  mem_free(j, 0);
}

double vm_now(VM *vm) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  if (vm->ev_fn) {
    char buf[64], num[32];
    fmt_float(num, t);
    snprintf(buf, sizeof buf, "{\"now\":%s}", num);
    vm->ev_fn(vm->ev_user, "log", buf);
  }
  return t;
}

const char *vm_result_json(VM *vm) { return vm->result_json ? vm->result_json : "null"; }
const char *vm_error_json(VM *vm) { return vm->error_json ? vm->error_json : "null"; }
const char *vm_error_kind(VM *vm) { return vm->error_kind; }
const char *vm_pending_json(VM *vm) { return vm->pending_json ? vm->pending_json : "null"; }

/* ---- inputs and params --------------------------------------------------- */

static const char *type_name_of(uint32_t ts, char *buf, size_t n) {
  static const char *const names[] = {"nil", "bool", "int", "float", "string", "list", "map"};
  if ((ts & 0x7F) == 0x7F) return "any";
  buf[0] = 0;
  size_t used = 0;
  for (int i = 0; i < 7; i++) {
    if (!(ts & (1u << i))) continue;
    int w = snprintf(buf + used, n - used, "%s%s", used ? " or " : "", names[i]);
    if (w < 0 || (size_t)w >= n - used) break;
    used += (size_t)w;
  }
  return buf;
}

/* Does v fit TypeSet ts?  An int fits a float slot and is widened. */
static bool fit_type(Value *v, uint32_t ts) {
  if (ts & VT_BIT(v->t)) return true;
  if (v->t == V_INT && (ts & VT_BIT(V_FLOAT))) {
    *v = v_float((double)v->u.i);
    return true;
  }
  return false;
}

/* Run f(vm, arg) with an out-of-memory handler; false (with err) on OOM. */
typedef bool (*GuardedFn)(VM *vm, void *arg, char *err, size_t n);
static bool guarded(VM *vm, GuardedFn f, void *arg, char *err, size_t n) {
  jmp_buf jb, *saved = vm->oom;
  vm->oom = &jb;
  if (setjmp(jb)) {
    vm->oom = saved;
    snprintf(err, n, "%s", vm->oom_what);
    return false;
  }
  bool ok = f(vm, arg, err, n);
  vm->oom = saved;
  return ok;
}

static bool set_defaults(VM *vm, char *err, size_t n) {
  const Module *m = vm->m;
  if (vm->defaults_set) return true;
  vm->defaults_set = true;
  for (uint32_t i = 0; i < m->nglobals; i++) {
    const BcGlobal *g = &m->globals[i];
    if (!g->deflt) continue;
    Value v;
    char jerr[128];
    if (!json_to_value(vm, g->deflt, strlen(g->deflt), &v, jerr, sizeof jerr)) {
      snprintf(err, n, "bad default for '%s': %s", g->name, jerr);
      return false;
    }
    fit_type(&v, g->type);
    vm->globals[i] = v;
  }
  return true;
}

struct InputArg { const char *json; };

static bool set_input(VM *vm, void *arg, char *err, size_t n) {
  const Module *m = vm->m;
  const char *json = ((struct InputArg *)arg)->json;
  if (!set_defaults(vm, err, n)) return false;
  Value in;
  char jerr[160];
  if (!json_to_value(vm, json, strlen(json), &in, jerr, sizeof jerr)) {
    snprintf(err, n, "input is not valid JSON: %s", jerr);
    return false;
  }
  if (in.t != V_MAP) {
    snprintf(err, n, "input must be a JSON object, found %s", val_type_name(in));
    return false;
  }
  vm_push_root(vm, in);
  Map *im = AS_MAP(in);
  /* unknown names */
  for (uint32_t k = 0; k < im->n; k++) {
    const Str *key = im->e[k].key;
    bool known = false;
    for (uint32_t i = 0; i < m->nglobals && !known; i++)
      known = m->globals[i].kind == G_INPUT && strlen(m->globals[i].name) == key->len &&
              memcmp(m->globals[i].name, key->s, key->len) == 0;
    if (!known) {
      snprintf(err, n, "unknown input '%.*s'", (int)(key->len > 64 ? 64 : key->len), key->s);
      vm_pop_root(vm, 1);
      return false;
    }
  }
  for (uint32_t i = 0; i < m->nglobals; i++) {
    const BcGlobal *g = &m->globals[i];
    if (g->kind != G_INPUT) continue;
    Value *v = map_get_cstr(im, g->name, strlen(g->name));
    if (!v) {
      if (!g->deflt) {
        snprintf(err, n, "missing required input '%s'", g->name);
        vm_pop_root(vm, 1);
        return false;
      }
      continue;
    }
    Value x = *v;
    if (!fit_type(&x, g->type)) {
      char tb[64];
      snprintf(err, n, "input '%s' must be %s, found %s", g->name, type_name_of(g->type, tb, sizeof tb),
               val_type_name(x));
      vm_pop_root(vm, 1);
      return false;
    }
    vm->globals[i] = x;
  }
  vm_pop_root(vm, 1);
  vm->inputs_set = true;
  return true;
}

bool vm_set_input_json(VM *vm, const char *json, char *err, size_t n) {
  if (!vm->m) {
    snprintf(err, n, "no program");
    return false;
  }
  if (vm->started) {
    snprintf(err, n, "the instance has already started");
    return false;
  }
  struct InputArg a = {json ? json : "{}"};
  return guarded(vm, set_input, &a, err, n);
}

struct ParamArg { const char *name, *value; };

static bool set_param(VM *vm, void *arg, char *err, size_t n) {
  struct ParamArg *pa = arg;
  const Module *m = vm->m;
  if (!set_defaults(vm, err, n)) return false;
  for (uint32_t i = 0; i < m->nglobals; i++) {
    const BcGlobal *g = &m->globals[i];
    if (g->kind != G_PARAM || strcmp(g->name, pa->name) != 0) continue;
    Value v;
    if (g->type == VT_BIT(V_STR)) {
      v = v_obj(&str_cstr(vm, pa->value)->h);
    } else {
      char jerr[128];
      if (!json_to_value(vm, pa->value, strlen(pa->value), &v, jerr, sizeof jerr)) {
        snprintf(err, n, "param '%s': '%s' is not a JSON value: %s", g->name, pa->value, jerr);
        return false;
      }
    }
    if (!fit_type(&v, g->type)) {
      char tb[64];
      snprintf(err, n, "param '%s' must be %s, found %s", g->name, type_name_of(g->type, tb, sizeof tb),
               val_type_name(v));
      return false;
    }
    vm->globals[i] = v;
    return true;
  }
  snprintf(err, n, "unknown param '%s'", pa->name);
  return false;
}

bool vm_set_param(VM *vm, const char *name, const char *value, char *err, size_t n) {
  if (!vm->m || vm->started) {
    snprintf(err, n, vm->m ? "the instance has already started" : "no program");
    return false;
  }
  struct ParamArg a = {name, value};
  return guarded(vm, set_param, &a, err, n);
}

/* ---- running ------------------------------------------------------------- */

VmStatus vm_status(const VM *vm) { return vm->status; }

VmStatus vm_run(VM *vm) {
  if (!vm->m || vm->finished) return vm->status;
  return vm_execute(vm);
}
