/* stdlib/collections.c — len, type, keys, values, has, contains, append,
 * pop, range and sort.
 *
 * sort is a stable bottom-up merge sort over a comparison that is total by
 * construction (the element types are checked first, NaN sorts last), so no
 * input can make it misbehave. */
#include <string.h>

#include "stdlib/bi.h"
#include "vm/mem.h"
#include "vm/ops.h"

bool bi_len(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  Value x = args[0];
  switch (x.t) {
    case V_STR: *out = v_int((int64_t)str_chars(AS_STR(x))); return true;
    case V_LIST: *out = v_int(AS_LIST(x)->n); return true;
    case V_MAP: *out = v_int(AS_MAP(x)->n); return true;
    default: return bi_type_error(vm, "len", 0, "a string, a list or a map", x);
  }
}

bool bi_type(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  const char *name = val_type_name(args[0]);
  bi_str_out(vm, out, name, strlen(name));
  return true;
}

static bool map_items(VM *vm, const char *fn, Value *args, Value *out, bool keys) {
  if (!bi_want(vm, fn, args, 0, V_MAP)) return false;
  Map *m = AS_MAP(args[0]);
  List *l = list_new(vm, m->n);
  for (uint32_t i = 0; i < m->n; i++) l->v[i] = keys ? v_obj(&m->e[i].key->h) : m->e[i].val;
  l->n = m->n;
  *out = v_obj(&l->h);
  return true;
}

bool bi_keys(VM *vm, Value *args, int nargs, Value *out) { (void)nargs; return map_items(vm, "keys", args, out, true); }
bool bi_values(VM *vm, Value *args, int nargs, Value *out) { (void)nargs; return map_items(vm, "values", args, out, false); }

bool bi_has(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "has", args, 0, V_MAP) || !bi_want(vm, "has", args, 1, V_STR)) return false;
  *out = v_bool(map_get(AS_MAP(args[0]), AS_STR(args[1])) != NULL);
  return true;
}

/* contains(c, x) is `x in c`: one implementation, the interpreter's */
bool bi_contains(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  bool r;
  if (!op_in(vm, args[1], args[0], &r)) return false;
  *out = v_bool(r);
  return true;
}

bool bi_append(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "append", args, 0, V_LIST)) return false;
  list_push(vm, AS_LIST(args[0]), args[1]);
  *out = v_nil();
  return true;
}

bool bi_pop(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "pop", args, 0, V_LIST)) return false;
  List *l = AS_LIST(args[0]);
  if (!l->n) return vm_raise(vm, "index", "pop(): the list is empty");
  *out = l->v[--l->n];
  return true;
}

bool bi_range(VM *vm, Value *args, int nargs, Value *out) {
  for (int i = 0; i < nargs; i++)
    if (!bi_want(vm, "range", args, i, V_INT)) return false;
  int64_t a = nargs == 2 ? args[0].u.i : 0, b = nargs == 2 ? args[1].u.i : args[0].u.i;
  uint64_t n = b > a ? (uint64_t)b - (uint64_t)a : 0;
  if (n > vm_max_list(vm)) vm_oom(vm, "list too long");
  List *l = list_new(vm, (uint32_t)n);
  for (uint32_t i = 0; i < n; i++) l->v[i] = v_int((int64_t)((uint64_t)a + i));
  l->n = (uint32_t)n;
  *out = v_obj(&l->h);
  return true;
}

/* ---- sort ------------------------------------------------------------------ */

static int str_order(const Str *a, const Str *b) {
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->s, b->s, n);
  if (c) return c;
  return a->len < b->len ? -1 : a->len > b->len;
}

static int order(Value a, Value b, bool strings) {
  return strings ? str_order(AS_STR(a), AS_STR(b)) : num_cmp(a, b);
}

/* merge sort of v[0..n) using tmp[0..n); stable: equal elements keep their order */
static void merge_sort(Value *v, Value *tmp, uint32_t n, bool strings) {
  Value *src = v, *dst = tmp;
  for (uint64_t width = 1; width < n; width *= 2) {
    for (uint64_t lo = 0; lo < n; lo += 2 * width) {
      uint64_t mid = lo + width < n ? lo + width : n;
      uint64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      uint64_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) dst[k++] = order(src[j], src[i], strings) < 0 ? src[j++] : src[i++];
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    Value *t = src;
    src = dst;
    dst = t;
  }
  if (src != v) memcpy(v, src, (size_t)n * sizeof(Value));
}

bool bi_sort(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "sort", args, 0, V_LIST)) return false;
  List *src = AS_LIST(args[0]);
  uint32_t n = src->n;
  bool strings = n && src->v[0].t == V_STR;
  for (uint32_t i = 0; i < n; i++) {
    Value x = src->v[i];
    if (strings ? x.t != V_STR : !val_is_num(x))
      return vm_raise(vm, "type", "sort(): the list must hold only numbers or only strings; element %u is %s%s",
                      i, val_type_name(x), i ? (strings ? " among strings" : " among numbers") : "");
  }
  List *l = list_new(vm, n);
  if (n) memcpy(l->v, src->v, (size_t)n * sizeof(Value));
  l->n = n;
  if (n > 1) {
    vm_push_root(vm, v_obj(&l->h));
    Value *tmp = mem_alloc((size_t)n * sizeof(Value));
    if (!tmp) vm_oom(vm, "out of memory");
    merge_sort(l->v, tmp, n, strings);      /* allocates nothing */
    mem_free(tmp, (size_t)n * sizeof(Value));
    vm_pop_root(vm, 1);
  }
  *out = v_obj(&l->h);
  return true;
}
