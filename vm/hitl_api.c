/* vm/hitl_api.c — the public embedding API (include/hitl.h) over the
 * compiler and the VM.
 *
 * A program is a Module plus its .hbc bytes and their hash; an instance is
 * a VM whose one action binding (dispatch, below) routes each call to the
 * host's callback for that action, its mock, its `from` function through
 * libffi (vm/ffi.c) or the host's default callback, in that order, else
 * fails with kind `action`.  Everything the library hands out is allocated
 * with malloc (mem_alloc is malloc), so hitl_free is free.  The store API
 * (hitl_store_*) is vm/hitl_store.c; vm/hitl_internal.h is what they share. */
#include "../include/hitl.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../compiler/compile.h"
#include "bytecode.h"
#include "ffi_actions.h"
#include "hitl_internal.h"
#include "mem.h"
#include "mock.h"
#include "sha256.h"
#include "vm.h"

typedef struct Bind {
  hitl_action_fn fn;
  void *user;
} Bind;

struct hitl_instance {
  const hitl_program *p;
  VM *vm;
  Ffi *ffi;
  Bind *binds;              /* one per action */
  Bind dflt;
  Mocks *mocks;
  bool *mocked;             /* one per action: the mocks name it */
  hitl_status status;       /* HITL_ERROR until started */
  int64_t last_review;      /* review items are named 1, 2, ... by the instance */
  char *reviews_json;       /* hitl_reviews_json's text */
};

/* ---- errors -------------------------------------------------------------- */

/* handed out when there is no memory for the error itself; never freed */
static const hitl_error oom_error = {"memory", "out of memory", 0};

hitl_error *api_error_new(const char *kind, int64_t line, const char *msg) {
  size_t nk = strlen(kind) + 1, nm = strlen(msg) + 1;
  hitl_error *e = malloc(sizeof *e + nk + nm);
  if (!e) return (hitl_error *)&oom_error;
  char *k = (char *)(e + 1), *m = k + nk;
  memcpy(k, kind, nk);
  memcpy(m, msg, nm);
  e->kind = k;
  e->message = m;
  e->line = line;
  return e;
}

void api_set_error(hitl_error **out, const char *kind, int64_t line, const char *fmt, ...) {
  if (!out) return;
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (buf) vsnprintf(buf, (size_t)n + 1, fmt, again);
  va_end(again);
  va_end(ap);
  *out = buf ? api_error_new(kind, line, buf) : (hitl_error *)&oom_error;
  free(buf);
}

void api_no_error(hitl_error **out) {
  if (out) *out = NULL;
}

const char *hitl_error_kind(const hitl_error *e) { return e ? e->kind : ""; }
const char *hitl_error_message(const hitl_error *e) { return e ? e->message : ""; }
int64_t hitl_error_line(const hitl_error *e) { return e ? e->line : 0; }

void hitl_error_free(hitl_error *e) {
  if (e && e != &oom_error) free(e);
}

/* ---- the library --------------------------------------------------------- */

const char *hitl_version(void) { return HITL_VERSION_STRING; }

void *hitl_alloc(size_t size) { return malloc(size ? size : 1); }
void hitl_free(void *p) { free(p); }

char *hitl_strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *t = malloc(n);
  if (t) memcpy(t, s, n);
  return t;
}

/* ---- programs ------------------------------------------------------------ */

static void hex_of(const uint8_t h[32], char out[65]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = digits[h[i] >> 4];
    out[2 * i + 1] = digits[h[i] & 15];
  }
  out[64] = 0;
}

/* the module's bytes (as a store would keep them), hash and base folder */
static int program_finish(Module *m, const char *base_dir, hitl_program **out, hitl_error **error) {
  hitl_program *p = mem_calloc(sizeof *p);
  if (!p) goto oom;
  p->m = m;
  if (!bc_write(m, &p->bytes, &p->len)) goto oom;
  hitl_sha256(p->hash, p->bytes, p->len);
  hex_of(p->hash, p->hex);
  if (base_dir && base_dir[0] && !(p->base_dir = hitl_strdup(base_dir))) goto oom;
  *out = p;
  api_no_error(error);
  return 0;
oom:
  if (p) p->m = NULL;
  hitl_program_free(p);
  bc_free(m);
  api_set_error(error, "memory", 0, "out of memory");
  return -1;
}

/* every diagnostic as hitlc prints them (without colour) */
static char *diag_text(Diags *d) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f) return NULL;
  diag_print(d, f, false);
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

int hitl_compile(const char *source, size_t len, const char *name, const char *base_dir,
                 hitl_program **program, hitl_error **error) {
  *program = NULL;
  if (!source) {
    api_set_error(error, "usage", 0, "hitl_compile: no source");
    return -1;
  }
  if (!name) name = "playbook.hitl";
  /* the front end reads a NUL-terminated copy */
  char *src = mem_alloc(len + 1);
  if (!src) {
    api_set_error(error, "memory", 0, "out of memory");
    return -1;
  }
  memcpy(src, source, len);
  src[len] = 0;
  Diags d;
  Module *m = cp_compile(name, src, len, &d);
  if (!m) {
    char *text = diag_text(&d);
    int64_t line = 0;
    for (unsigned i = 0; i < d.n; i++)
      if (d.v[i].sev == SEV_ERROR) {
        line = d.v[i].span.line;
        break;
      }
    if (!text || !text[0])
      api_set_error(error, d.errors ? "compile" : "memory", line, "%s", d.errors ? "the playbook does not compile" : "out of memory");
    else if (error)
      *error = api_error_new("compile", line, text);
    free(text);
    diag_free(&d);
    mem_free(src, len + 1);
    return -1;
  }
  diag_free(&d);
  mem_free(src, len + 1);
  return program_finish(m, base_dir, program, error);
}

int hitl_load(const uint8_t *bytes, size_t len, const char *base_dir, hitl_program **program,
              hitl_error **error) {
  *program = NULL;
  if (!bytes) {
    api_set_error(error, "usage", 0, "hitl_load: no bytes");
    return -1;
  }
  char err[256];
  Module *m = bc_read(bytes, len, err, sizeof err);
  if (!m) {
    api_set_error(error, "load", 0, "%s", err);
    return -1;
  }
  return program_finish(m, base_dir, program, error);
}

const uint8_t *hitl_program_bytes(const hitl_program *p, size_t *len) {
  if (len) *len = p->len;
  return p->bytes;
}

const char *hitl_program_hash(const hitl_program *p) { return p->hex; }
const char *hitl_program_name(const hitl_program *p) { return p->m->playbook ? p->m->playbook : ""; }

void hitl_program_free(hitl_program *p) {
  if (!p) return;
  if (p->m) bc_free(p->m);
  mem_free(p->bytes, p->len);
  free(p->base_dir);
  mem_free(p, sizeof *p);
}

/* ---- the one action binding ---------------------------------------------- */

static int host_call(const Bind *b, const char *action, const char *args, char **res) {
  /* any non-zero is a failure (2 would mean "in doubt" to the VM) */
  return b->fn(b->user, action, args, res) ? 1 : 0;
}

static int no_binding(const char *action, char **res) {
  const char *fmt = "no binding for action '%s'";
  size_t n = strlen(fmt) + strlen(action);
  if ((*res = mem_alloc(n))) snprintf(*res, n, fmt, action);
  return 1;
}

static int dispatch(void *user, const char *action, const char *args, char **res) {
  hitl_instance *in = user;
  const Module *m = in->p->m;
  *res = NULL;
  int32_t i = ffi_action_index(m, action);
  if (i >= 0) {
    if (in->binds[i].fn) return host_call(&in->binds[i], action, args, res);
    if (in->mocked && in->mocked[i]) return mock_call(in->mocks, action, args, res);
    if (m->actions[i].lib) return ffi_call_action(in->ffi, (uint32_t)i, args, res);
  }
  if (in->dflt.fn) return host_call(&in->dflt, action, args, res);
  return no_binding(action, res);
}

/* ---- instances ----------------------------------------------------------- */

static VmLimits vm_limits(const hitl_limits *l) {
  VmLimits v = {0, 0, 0, 0, 0};
  if (l) {
    v.fuel = l->fuel;
    v.heap_bytes = l->heap_bytes;
    v.max_depth = l->max_depth;
    v.max_string = l->max_string;
    v.max_list = l->max_list;
  }
  return v;
}

/* an instance around a VM (which it owns from here on, also on failure) */
static hitl_instance *instance_wrap(const hitl_program *p, VM *vm) {
  if (!vm) return NULL;
  hitl_instance *in = mem_calloc(sizeof *in);
  if (!in) {
    vm_free(vm);
    return NULL;
  }
  in->p = p;
  in->vm = vm;
  in->status = HITL_ERROR;
  uint32_t n = p->m->nactions;
  if (!(in->ffi = ffi_new(p->m, p->base_dir, NULL, NULL)) || (n && !(in->binds = mem_calloc(sizeof *in->binds * n)))) {
    hitl_instance_free(in);
    return NULL;
  }
  vm_bind_actions(vm, dispatch, in);
  return in;
}

hitl_instance *hitl_instance_new(const hitl_program *p, const hitl_limits *limits) {
  if (!p) return NULL;
  VmLimits lim = vm_limits(limits);
  return instance_wrap(p, vm_new(p->m, &lim));
}

void hitl_instance_free(hitl_instance *in) {
  if (!in) return;
  vm_free(in->vm);
  ffi_free(in->ffi);
  mock_free(in->mocks);
  mem_free(in->mocked, 0);
  mem_free(in->binds, 0);
  mem_free(in->reviews_json, 0);
  mem_free(in, sizeof *in);
}

int hitl_bind(hitl_instance *in, const char *action, hitl_action_fn fn, void *user) {
  if (!in || !action) return -1;
  int32_t i = ffi_action_index(in->p->m, action);
  if (i < 0) return -1;
  in->binds[i] = (Bind){fn, fn ? user : NULL};
  return 0;
}

void hitl_bind_default(hitl_instance *in, hitl_action_fn fn, void *user) {
  in->dflt = (Bind){fn, fn ? user : NULL};
}

int hitl_bind_mocks(hitl_instance *in, const char *mocks_json, hitl_error **error) {
  if (!mocks_json) {
    api_set_error(error, "usage", 0, "hitl_bind_mocks: no mocks");
    return -1;
  }
  char err[256];
  Mocks *mk = mock_parse("mocks", mocks_json, strlen(mocks_json), err, sizeof err);
  if (!mk) {
    api_set_error(error, "input", 0, "%s", err);
    return -1;
  }
  uint32_t n = in->p->m->nactions;
  bool *mocked = mem_calloc(sizeof *mocked * (n ? n : 1));
  if (!mocked) {
    mock_free(mk);
    api_set_error(error, "memory", 0, "out of memory");
    return -1;
  }
  for (size_t k = 0; k < mock_count(mk); k++) {
    int32_t i = ffi_action_index(in->p->m, mock_name(mk, k));
    if (i >= 0) mocked[i] = true;
  }
  mock_free(in->mocks);
  mem_free(in->mocked, 0);
  in->mocks = mk;
  in->mocked = mocked;
  api_no_error(error);
  return 0;
}

void hitl_on_event(hitl_instance *in, hitl_event_fn fn, void *user) { vm_set_events(in->vm, fn, user); }

int hitl_set_param(hitl_instance *in, const char *name, const char *value, hitl_error **error) {
  if (in->status != HITL_ERROR) {
    api_set_error(error, "usage", 0, "params are set before hitl_start");
    return -1;
  }
  char err[256];
  if (!name || !value || !vm_set_param(in->vm, name, value, err, sizeof err)) {
    api_set_error(error, "input", 0, "%s", name && value ? err : "hitl_set_param: no name or value");
    return -1;
  }
  api_no_error(error);
  return 0;
}

/* the playbook's error from the VM's {"kind","message","line"} */
static void vm_error(hitl_instance *in, hitl_error **error) {
  if (!error) return;
  json_t *j = json_loads(vm_error_json(in->vm), 0, NULL);
  const char *kind = json_string_value(json_object_get(j, "kind"));
  const char *msg = json_string_value(json_object_get(j, "message"));
  json_t *line = json_object_get(j, "line");
  *error = api_error_new(kind ? kind : "failed", json_is_integer(line) ? (int64_t)json_integer_value(line) : 0,
                     msg ? msg : "the playbook failed");
  json_decref(j);
}

/* The status after a stop: reviews opened on the way are named (1, 2, ...),
 * and a body that completed with reviews open is reviewing. */
static hitl_status settle(hitl_instance *in, VmStatus vs, hitl_error **error) {
  while (vm_new_reviews(in->vm) && vm_review_assign(in->vm, 0, in->last_review + 1)) in->last_review++;
  switch (vs) {
  case VM_COMPLETED: in->status = vm_open_reviews(in->vm) ? HITL_REVIEWING : HITL_COMPLETED; break;
  case VM_SUSPENDED: in->status = HITL_SUSPENDED; break;
  default: in->status = HITL_FAILED; break;
  }
  if (in->status == HITL_FAILED)
    vm_error(in, error);
  else
    api_no_error(error);
  return in->status;
}

static hitl_status run(hitl_instance *in, hitl_error **error) { return settle(in, vm_run(in->vm), error); }

hitl_status hitl_start(hitl_instance *in, const char *input_json, hitl_error **error) {
  if (!in) {
    api_set_error(error, "usage", 0, "hitl_start: no instance");
    return HITL_ERROR;
  }
  if (in->status != HITL_ERROR) {
    api_set_error(error, "usage", 0, "the instance has already started");
    return HITL_ERROR;
  }
  char err[256];
  if (!vm_set_input_json(in->vm, input_json ? input_json : "{}", err, sizeof err)) {
    api_set_error(error, "input", 0, "%s", err);
    return HITL_ERROR;
  }
  return run(in, error);
}

hitl_status hitl_resume(hitl_instance *in, const char *verdict_json, hitl_error **error) {
  if (!in || in->status != HITL_SUSPENDED) {
    api_set_error(error, "usage", 0, "the instance is not waiting for a verdict");
    return HITL_ERROR;
  }
  char err[256];
  if (!verdict_json || !vm_resume(in->vm, verdict_json, err, sizeof err)) {
    api_set_error(error, "verdict", 0, "%s", verdict_json ? err : "no verdict");
    return HITL_ERROR;
  }
  return run(in, error);
}

hitl_status hitl_instance_status(const hitl_instance *in) { return in->status; }

const char *hitl_result_json(const hitl_instance *in) {
  return in->status == HITL_COMPLETED || in->status == HITL_REVIEWING ? vm_result_json(in->vm) : "null";
}

const char *hitl_reviews_json(hitl_instance *in) {
  if (!in || in->status == HITL_ERROR) return "[]";
  size_t cap = 3, at = 0;
  uint32_t n = vm_open_reviews(in->vm);
  for (uint32_t k = 0; k < n; k++) {
    int64_t item;
    const char *p = vm_open_review_json(in->vm, k, &item);
    if (!p) return NULL;
    cap += strlen(p) + 48;
  }
  char *j = mem_alloc(cap);
  if (!j) return NULL;
  at = (size_t)snprintf(j, cap, "[");
  for (uint32_t k = 0; k < n; k++) {
    int64_t item;
    const char *p = vm_open_review_json(in->vm, k, &item);
    if (!p) {
      mem_free(j, cap);
      return NULL;
    }
    at += (size_t)snprintf(j + at, cap - at, "%s{\"item\":%lld,\"payload\":%s}", k ? "," : "", (long long)item, p);
  }
  snprintf(j + at, cap - at, "]");
  mem_free(in->reviews_json, 0);
  in->reviews_json = j;
  return j;
}

hitl_status hitl_review(hitl_instance *in, int64_t item, const char *verdict_json, hitl_error **error) {
  if (!in || in->status == HITL_ERROR || !vm_review_has(in->vm, item)) {
    api_set_error(error, "usage", 0, "the instance has no open review item %lld", (long long)item);
    return HITL_ERROR;
  }
  char err[256];
  int rc = verdict_json ? vm_review_verdict(in->vm, item, verdict_json, err, sizeof err) : -1;
  if (rc < 0) {
    api_set_error(error, "verdict", 0, "%s", verdict_json ? err : "no verdict");
    return HITL_ERROR;
  }
  return settle(in, vm_status(in->vm), error);
}

const char *hitl_pending_json(const hitl_instance *in) {
  return in->status == HITL_SUSPENDED ? vm_pending_json(in->vm) : "null";
}

const char *hitl_error_json(const hitl_instance *in) {
  return in->status == HITL_FAILED ? vm_error_json(in->vm) : "null";
}

int hitl_pending_digest(const hitl_instance *in, const char *instance_id, int64_t item, char hex[65]) {
  if (in->status != HITL_SUSPENDED || !instance_id) return -1;
  return vm_item_digest(in->vm, instance_id, item, hex, NULL) ? 0 : -1;
}

int hitl_snapshot(const hitl_instance *in, uint8_t **bytes, size_t *len, hitl_error **error) {
  *bytes = NULL;
  *len = 0;
  if (in->status != HITL_SUSPENDED && !(in->status != HITL_ERROR && vm_open_reviews(in->vm))) {
    api_set_error(error, "usage", 0, "only a suspended instance, or one with reviews open, can be snapshotted");
    return -1;
  }
  if (!vm_snapshot(in->vm, in->p->hash, bytes, len)) {
    api_set_error(error, "memory", 0, "out of memory");
    return -1;
  }
  api_no_error(error);
  return 0;
}

int hitl_restore(const hitl_program *p, const uint8_t *bytes, size_t len, const hitl_limits *limits,
                 hitl_instance **instance, hitl_error **error) {
  *instance = NULL;
  if (!p || !bytes) {
    api_set_error(error, "usage", 0, "hitl_restore: no program or no bytes");
    return -1;
  }
  VmLimits lim = vm_limits(limits);
  char err[256];
  VM *vm = vm_restore(p->m, p->hash, bytes, len, &lim, err, sizeof err);
  if (!vm) {
    api_set_error(error, "snapshot", 0, "%s", err);
    return -1;
  }
  hitl_instance *in = instance_wrap(p, vm);
  if (!in) {
    api_set_error(error, "memory", 0, "out of memory");
    return -1;
  }
  /* named reviews keep their names; new ones are named after the last */
  for (uint32_t k = 0; k < vm_open_reviews(vm); k++) {
    int64_t item = 0;
    vm_open_review_json(vm, k, &item);
    if (item > in->last_review) in->last_review = item;
  }
  settle(in, vm_status(vm), NULL);
  *instance = in;
  api_no_error(error);
  return 0;
}
