/* stdlib/builtins.c — the table of built-in functions (one C function per
 * row of HITL_BUILTINS, in row order) and the helpers they share.  The
 * functions themselves are grouped by what they work on: strings.c,
 * numbers.c, collections.c.  Behaviour and edge cases: docs/values.md. */
#include <string.h>

#include "stdlib/bi.h"

const BuiltinFn bi_table[BI__COUNT] = {
#define BI_FN(name, min, max, res, a, b, c) bi_##name,
  HITL_BUILTINS(BI_FN)
#undef BI_FN
};

const char *const bi_names[BI__COUNT] = {
#define BI_NAME(name, min, max, res, a, b, c) #name,
  HITL_BUILTINS(BI_NAME)
#undef BI_NAME
};

bool bi_type_error(VM *vm, const char *fn, int arg, const char *want, Value found) {
  return vm_raise(vm, "type", "%s(): argument %d must be %s, found %s", fn, arg + 1, want,
                  val_type_name(found));
}

static const char *a_type(ValType t) {
  switch (t) {
    case V_NIL: return "nil";
    case V_BOOL: return "a bool";
    case V_INT: return "an int";
    case V_FLOAT: return "a float";
    case V_STR: return "a string";
    case V_LIST: return "a list";
    case V_MAP: return "a map";
  }
  return "?";
}

bool bi_want(VM *vm, const char *fn, Value *args, int i, ValType t) {
  if (args[i].t == t) return true;
  return bi_type_error(vm, fn, i, a_type(t), args[i]);
}

void bi_str_out(VM *vm, Value *out, const char *s, size_t len) {
  Str *r = str_new(vm, s, len);
  *out = v_obj(&r->h);
}
