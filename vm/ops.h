/* vm/ops.h — operator semantics off the interpreter's fast path (ops.c). */
#ifndef HITL_OPS_H
#define HITL_OPS_H

#include <stdio.h>

#include "vm.h"

bool op_int_arith(VM *vm, int op, int64_t a, int64_t b, Value *out);
bool op_arith(VM *vm, int op, Value a, Value b, Value *out);   /* OP_ADD .. OP_MOD */
bool op_neg(VM *vm, Value a, Value *out);
bool op_compare(VM *vm, int op, Value a, Value b, bool *out);  /* OP_LT .. OP_GE */
int op_cmp_int_float(int64_t i, double f);                      /* -1 0 1, 2 = nan */
bool op_in(VM *vm, Value a, Value b, bool *out);
bool op_index(VM *vm, Value x, Value i, Value *out);
bool op_set_index(VM *vm, Value x, Value i, Value v);
bool op_field(VM *vm, Value x, Value key, Value *out);
bool op_set_field(VM *vm, Value x, Value key, Value v);
/* does *v fit TypeSet ts (widening an int to a float)?  No error raised.
 * Inline: every call and rule checks its arguments with it. */
static inline bool op_fit(Value *v, uint32_t ts) {
  if (ts & VT_BIT(v->t)) return true;
  if (v->t == V_INT && (ts & VT_BIT(V_FLOAT))) {
    *v = v_float((double)v->u.i);
    return true;
  }
  return false;
}
/* op_fit, or a type error "WHAT must be T, found U" */
bool op_check_type(VM *vm, Value *v, uint32_t ts, const char *what);
const char *op_typeset_text(uint32_t ts, char *buf, size_t n);

#endif
