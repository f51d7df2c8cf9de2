/* vm/ffi.c — `from` actions: the library opened with dlopen, the symbol
 * found with dlsym, the call made through libffi with the C types the
 * action's declared types map to (vm/ffi_actions.h, LANGUAGE.md §5). */
#include "ffi_actions.h"

#include <dlfcn.h>
#include <ffi.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"

/* the C form of a declared type */
typedef enum CKind { CK_NONE, CK_INT, CK_FLOAT, CK_BOOL, CK_STR, CK_JSON, CK_VOID } CKind;

/* TypeSet bits (compiler/ast.h TY_*) */
enum { T_NIL = 1u << 0, T_BOOL = 1u << 1, T_INT = 1u << 2, T_FLOAT = 1u << 3, T_STR = 1u << 4,
       T_LIST = 1u << 5, T_MAP = 1u << 6, T_ANY = (1u << 7) - 1 };

typedef struct FfiAct {
  bool ready;
  void *lib;                 /* dlopen handle */
  void (*fn)(void);
  ffi_cif cif;
  ffi_type **atypes;         /* one per parameter */
  uint8_t *kinds;            /* CKind per parameter */
  uint8_t rkind;             /* CKind of the result */
} FfiAct;

struct Ffi {
  const Module *m;
  char *base_dir;
  VmActionFn next;
  void *next_user;
  FfiAct *acts;              /* one per action of m */
};

Ffi *ffi_new(const Module *m, const char *base_dir, VmActionFn next, void *next_user) {
  Ffi *f = mem_calloc(sizeof *f);
  if (!f) return NULL;
  f->m = m;
  f->next = next;
  f->next_user = next_user;
  if (base_dir && base_dir[0]) {
    size_t n = strlen(base_dir) + 1;
    if (!(f->base_dir = mem_alloc(n))) goto oom;
    memcpy(f->base_dir, base_dir, n);
  }
  if (m->nactions && !(f->acts = mem_calloc(sizeof *f->acts * m->nactions))) goto oom;
  return f;
oom:
  ffi_free(f);
  return NULL;
}

static void act_clear(FfiAct *a, uint16_t nparams) {
  if (a->lib) dlclose(a->lib);
  mem_free(a->atypes, sizeof *a->atypes * nparams);
  mem_free(a->kinds, nparams);
  memset(a, 0, sizeof *a);
}

void ffi_free(Ffi *f) {
  if (!f) return;
  for (uint32_t i = 0; f->acts && i < f->m->nactions; i++) act_clear(&f->acts[i], f->m->actions[i].nparams);
  mem_free(f->acts, 0);
  mem_free(f->base_dir, 0);
  mem_free(f, sizeof *f);
}

int32_t ffi_action_index(const Module *m, const char *action) {
  for (uint32_t i = 0; i < m->nactions; i++)
    if (m->actions[i].name == action) return (int32_t)i;
  for (uint32_t i = 0; i < m->nactions; i++)
    if (strcmp(m->actions[i].name, action) == 0) return (int32_t)i;
  return -1;
}

/* a mem_alloc'd message in *out; returns 1 (a failed call) */
static int fail(char **out, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;
static int fail(char **out, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  size_t n = strlen(buf) + 1;
  if ((*out = mem_alloc(n))) memcpy(*out, buf, n);
  return 1;
}

static char *copy_text(const char *s, size_t n) {
  char *t = mem_alloc(n + 1);
  if (t) {
    memcpy(t, s, n);
    t[n] = 0;
  }
  return t;
}

static CKind kind_of(uint32_t ts, bool result) {
  switch (ts) {
  case T_INT: return CK_INT;
  case T_FLOAT: return CK_FLOAT;
  case T_BOOL: return CK_BOOL;
  case T_STR: return CK_STR;
  case T_LIST: case T_MAP: case T_LIST | T_MAP: return CK_JSON;
  case T_ANY: case T_NIL: return result ? CK_VOID : CK_NONE;   /* no declared result: void */
  default: return CK_NONE;
  }
}

static ffi_type *ctype_of(CKind k) {
  switch (k) {
  case CK_INT: return &ffi_type_sint64;
  case CK_FLOAT: return &ffi_type_double;
  case CK_BOOL: return &ffi_type_sint;
  case CK_STR: case CK_JSON: return &ffi_type_pointer;
  default: return &ffi_type_void;
  }
}

/* open the library: as given with a slash, else the playbook's folder first */
static void *open_lib(const Ffi *f, const char *lib, char *err, size_t n) {
  if (!strchr(lib, '/') && f->base_dir) {
    size_t len = strlen(f->base_dir) + 1 + strlen(lib) + 1;
    char *path = mem_alloc(len);
    if (!path) {
      snprintf(err, n, "out of memory");
      return NULL;
    }
    snprintf(path, len, "%s/%s", f->base_dir, lib);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    mem_free(path, len);
    if (h) return h;
  }
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(err, n, "cannot open library '%s'%s%s", lib, e ? ": " : "", e ? e : "");
  }
  return h;
}

/* first call of a `from` action: library, symbol, C types, call interface */
static int resolve(Ffi *f, uint32_t ai, char **out) {
  const BcAction *a = &f->m->actions[ai];
  FfiAct *x = &f->acts[ai];
  for (uint16_t i = 0; i < a->nparams; i++)
    if (kind_of(a->params[i].type, false) == CK_NONE)
      return fail(out, "parameter '%s' of '%s' has no C type (int, float, bool, string, list or map)",
                  a->params[i].name, a->name);
  CKind rk = kind_of(a->result_type, true);
  if (rk == CK_NONE)
    return fail(out, "the result of '%s' has no C type (int, float, bool, string, list or map)", a->name);

  char err[400];
  void *lib = open_lib(f, a->lib, err, sizeof err);
  if (!lib) return fail(out, "%s", err);
  dlerror();
  void *sym = dlsym(lib, a->symbol);
  if (!sym) {
    dlclose(lib);
    return fail(out, "library '%s' has no symbol '%s'", a->lib, a->symbol);
  }
  x->lib = lib;
  /* an object pointer to a function pointer: POSIX guarantees it works */
  memcpy(&x->fn, &sym, sizeof x->fn);
  x->rkind = (uint8_t)rk;
  if (a->nparams) {
    x->atypes = mem_alloc(sizeof *x->atypes * a->nparams);
    x->kinds = mem_alloc(a->nparams);
    if (!x->atypes || !x->kinds) {
      act_clear(x, a->nparams);
      return fail(out, "out of memory");
    }
  }
  for (uint16_t i = 0; i < a->nparams; i++) {
    x->kinds[i] = (uint8_t)kind_of(a->params[i].type, false);
    x->atypes[i] = ctype_of((CKind)x->kinds[i]);
  }
  if (ffi_prep_cif(&x->cif, FFI_DEFAULT_ABI, a->nparams, ctype_of(rk), x->atypes) != FFI_OK) {
    act_clear(x, a->nparams);
    return fail(out, "libffi cannot prepare a call to '%s'", a->symbol);
  }
  x->ready = true;
  return 0;
}

typedef union CVal {
  int64_t i;
  double d;
  int b;
  const char *s;
} CVal;

typedef union CRet {
  ffi_arg a;
  ffi_sarg sa;
  int64_t i;
  double d;
  void *p;
} CRet;

/* the C result as mem_alloc'd JSON text */
static int result_json(const BcAction *a, CKind k, const CRet *r, char **out) {
  char buf[64];
  switch (k) {
  case CK_INT:
    snprintf(buf, sizeof buf, "%" PRId64, r->i);
    break;
  case CK_FLOAT:
    if (!isfinite(r->d)) return fail(out, "'%s' returned %g, which is not a number JSON can hold", a->symbol, r->d);
    snprintf(buf, sizeof buf, "%.17g", r->d);
    if (!strpbrk(buf, ".eE")) strcat(buf, ".0");
    break;
  case CK_BOOL:
    strcpy(buf, (int)r->sa ? "true" : "false");
    break;
  case CK_VOID:
    strcpy(buf, "null");
    break;
  case CK_STR: {
    if (!r->p) {
      strcpy(buf, "null");
      break;
    }
    json_t *s = json_string(r->p);
    if (!s) return fail(out, "'%s' returned a string that is not valid UTF-8", a->symbol);
    char *t = json_dumps(s, JSON_ENCODE_ANY);
    json_decref(s);
    if (!t) return fail(out, "out of memory");
    *out = copy_text(t, strlen(t));
    free(t);
    return *out ? 0 : fail(out, "out of memory");
  }
  case CK_JSON:
    if (!r->p) {
      strcpy(buf, "null");
      break;
    }
    *out = copy_text(r->p, strlen(r->p));
    return *out ? 0 : fail(out, "out of memory");
  default:
    return fail(out, "internal error: result kind");
  }
  *out = copy_text(buf, strlen(buf));
  return *out ? 0 : fail(out, "out of memory");
}

int ffi_call_action(Ffi *f, uint32_t ai, const char *args_json, char **result_json_out) {
  *result_json_out = NULL;
  if (ai >= f->m->nactions || !f->m->actions[ai].lib)
    return fail(result_json_out, "internal error: not a `from` action");
  const BcAction *a = &f->m->actions[ai];
  FfiAct *x = &f->acts[ai];
  if (!x->ready && resolve(f, ai, result_json_out)) return 1;

  enum { SMALL = 8 };
  CVal small_vals[SMALL];
  void *small_ptrs[SMALL];
  char *small_texts[SMALL];
  CVal *vals = small_vals;
  void **ptrs = small_ptrs;
  char **texts = small_texts;   /* json_dumps'd list/map arguments, freed after the call */
  int rc = 1;
  json_t *args = NULL;
  if (a->nparams > SMALL) {
    vals = mem_alloc(sizeof *vals * a->nparams);
    ptrs = mem_alloc(sizeof *ptrs * a->nparams);
    texts = mem_calloc(sizeof *texts * a->nparams);
    if (!vals || !ptrs || !texts) {
      fail(result_json_out, "out of memory");
      goto done;
    }
  } else {
    memset(small_texts, 0, sizeof small_texts);
  }
  if (a->nparams) {
    json_error_t je;
    args = json_loads(args_json, 0, &je);
    if (!json_is_object(args)) {
      fail(result_json_out, "the arguments are not a JSON object: %s", je.text);
      goto done;
    }
  }
  for (uint16_t i = 0; i < a->nparams; i++) {
    const char *pn = a->params[i].name;
    json_t *v = json_object_get(args, pn);
    bool ok = false;
    switch ((CKind)x->kinds[i]) {
    case CK_INT:
      if ((ok = json_is_integer(v))) vals[i].i = (int64_t)json_integer_value(v);
      break;
    case CK_FLOAT:
      if ((ok = json_is_number(v))) vals[i].d = json_number_value(v);
      break;
    case CK_BOOL:
      if ((ok = json_is_boolean(v))) vals[i].b = json_is_true(v) ? 1 : 0;
      break;
    case CK_STR:
      if ((ok = json_is_string(v))) {
        vals[i].s = json_string_value(v);
        if (strlen(vals[i].s) != json_string_length(v)) {
          fail(result_json_out, "argument '%s' of '%s' holds a NUL byte, which a C string cannot", pn, a->name);
          goto done;
        }
      }
      break;
    case CK_JSON:
      if ((ok = v != NULL)) {
        texts[i] = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        if (!texts[i]) {
          fail(result_json_out, "out of memory");
          goto done;
        }
        vals[i].s = texts[i];
      }
      break;
    default:
      break;
    }
    if (!ok) {
      fail(result_json_out, "argument '%s' of '%s' does not fit its C type", pn, a->name);
      goto done;
    }
    ptrs[i] = &vals[i];
  }
  CRet r;
  memset(&r, 0, sizeof r);
  ffi_call(&x->cif, x->fn, &r, ptrs);
  rc = result_json(a, (CKind)x->rkind, &r, result_json_out);
done:
  json_decref(args);
  if (texts)
    for (uint16_t i = 0; i < a->nparams; i++) free(texts[i]);
  if (vals != small_vals) {
    mem_free(vals, 0);
    mem_free(ptrs, 0);
    mem_free(texts, 0);
  }
  return rc;
}

int ffi_dispatch(void *user, const char *action, const char *args_json, char **result_json_out) {
  Ffi *f = user;
  int32_t i = ffi_action_index(f->m, action);
  if (i >= 0 && f->m->actions[i].lib) return ffi_call_action(f, (uint32_t)i, args_json, result_json_out);
  if (f->next) return f->next(f->next_user, action, args_json, result_json_out);
  *result_json_out = NULL;
  return fail(result_json_out, "no binding for action '%s'", action);
}
