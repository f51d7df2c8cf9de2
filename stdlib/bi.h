/* stdlib/bi.h — the built-in functions' C names and the helpers they share
 * (internal to stdlib/).  bi_NAME implements the row NAME of HITL_BUILTINS;
 * builtins.c builds bi_table from the same list. */
#ifndef HITL_BI_H
#define HITL_BI_H

#include "stdlib/stdlib.h"
#include "vm/valops.h"

#define BI_DECL(name, min, max, res, a, b, c) bool bi_##name(VM *vm, Value *args, int nargs, Value *out);
HITL_BUILTINS(BI_DECL)
#undef BI_DECL

/* a type error naming the function, the argument's position and types:
 * "upper(): argument 1 must be a string, found int"; returns false */
bool bi_type_error(VM *vm, const char *fn, int arg, const char *want, Value found);

/* check args[i]'s type (raising bi_type_error when it is not t) */
bool bi_want(VM *vm, const char *fn, Value *args, int i, ValType t);

/* how many bytes of s to quote in a message: at most 64, cut at a
 * character boundary, for "%.*s" */
static inline int bi_shown(const Str *s) {
  size_t n = s->len > 64 ? 64 : s->len;
  if (n < s->len)
    while (n && ((unsigned char)s->s[n] & 0xC0) == 0x80) n--;
  return (int)n;
}

/* a string result from bytes / from a finished buffer */
void bi_str_out(VM *vm, Value *out, const char *s, size_t len);

#endif
