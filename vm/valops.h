/* vm/valops.h — value helpers shared by vm/value.c, vm/json.c and the
 * built-in functions (stdlib/), beyond the public API of vm/value.h.
 * The formats and the decisions behind them are in docs/values.md. */
#ifndef HITL_VALOPS_H
#define HITL_VALOPS_H

#include <stdbool.h>

#include "value.h"

/* Nesting limit of the text forms: json_decode refuses deeper input, and
 * str / json_encode refuse deeper (or self-containing) values. */
#define VAL_MAX_DEPTH 1000
/* Nesting limit of val_eq: deeper structures compare unequal. */
#define VAL_EQ_MAX_DEPTH 10000

/* Compare two numbers (int or float) exactly, without rounding an int64 to a
 * double: -1, 0 or 1.  NaN is ordered after every other number and equal to
 * itself, so the order is total (sort, min and max use it); val_eq does not
 * (NaN is equal to nothing). */
int num_cmp(Value a, Value b);
static inline bool val_is_num(Value v) { return v.t == V_INT || v.t == V_FLOAT; }

/* The text forms with errors reported instead of handled:
 *   VAL_OK, VAL_EDEEP (nested more than VAL_MAX_DEPTH, e.g. a list that
 *   contains itself), VAL_ENONFINITE (strict only: nan or inf, which JSON
 *   cannot write; non-strict writes them as null).
 * The public val_str / val_json are non-strict and raise `memory` (vm_oom) on
 * VAL_EDEEP; the built-ins use these to raise a catchable `type` error. */
enum { VAL_OK, VAL_EDEEP, VAL_ENONFINITE };
int val_str_checked(StrBuf *b, Value v);
int val_json_checked(StrBuf *b, Value v, bool canonical, bool strict);

#endif
