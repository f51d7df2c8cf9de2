/* stdlib/numbers.c — int, float, abs, round, floor, ceil, min, max, sum, now.
 *
 * Numbers are compared exactly (num_cmp: an int is never rounded to a double
 * to be compared), a result that does not fit an int is `arith`, and NaN is
 * ordered after every other number, as sort orders it. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stdlib/bi.h"

/* the doubles that truncate to an int64: [-2^63, 2^63) */
static bool fits_int(double d) { return d >= -9223372036854775808.0 && d < 9223372036854775808.0; }

static bool float_to_int(VM *vm, const char *fn, double d, Value *out) {
  if (!isfinite(d)) return vm_raise(vm, "arith", "%s(): %s has no int value", fn, isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
  if (!fits_int(d)) {
    char num[32];
    fmt_float(num, d);
    return vm_raise(vm, "arith", "%s(): %s is out of the int range", fn, num);
  }
  *out = v_int((int64_t)d);
  return true;
}

/* "-123", "+7", "0042": optional sign and decimal digits, nothing else */
static bool parse_int(VM *vm, const Str *s, Value *out) {
  size_t i = 0, n = s->len;
  bool neg = false;
  if (i < n && (s->s[i] == '+' || s->s[i] == '-')) neg = s->s[i++] == '-';
  int shown = bi_shown(s);
  if (i == n) return vm_raise(vm, "type", "int(): \"%.*s\" is not a decimal integer", shown, s->s);
  uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  bool over = false;
  for (; i < n; i++) {
    char c = s->s[i];
    if (c < '0' || c > '9') return vm_raise(vm, "type", "int(): \"%.*s\" is not a decimal integer", shown, s->s);
    unsigned d = (unsigned)(c - '0');
    if (!over && mag > (limit - d) / 10) over = true;
    if (!over) mag = mag * 10 + d;
  }
  if (over) return vm_raise(vm, "arith", "int(): \"%.*s\" is out of the int range", shown, s->s);
  *out = v_int(neg ? (int64_t)(0 - mag) : (int64_t)mag);
  return true;
}

bool bi_int(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  Value x = args[0];
  switch (x.t) {
    case V_INT: *out = x; return true;
    case V_FLOAT: return float_to_int(vm, "int", trunc(x.u.f), out);
    case V_STR: return parse_int(vm, AS_STR(x), out);
    default: return bi_type_error(vm, "int", 0, "an int, a float or a string", x);
  }
}

/* a plain decimal: [+-] (digits [. digits] | . digits) [(e|E) [+-] digits] */
static bool is_decimal(const char *s, size_t n) {
  size_t i = 0, d = 0;
  if (i < n && (s[i] == '+' || s[i] == '-')) i++;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) d++;
  if (i < n && s[i] == '.')
    for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) d++;
  if (!d) return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t e = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) e++;
    if (!e) return false;
  }
  return i == n;
}

bool bi_float(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  Value x = args[0];
  switch (x.t) {
    case V_FLOAT: *out = x; return true;
    case V_INT: *out = v_float((double)x.u.i); return true;
    case V_STR: break;
    default: return bi_type_error(vm, "float", 0, "an int, a float or a string", x);
  }
  const Str *s = AS_STR(x);
  int shown = bi_shown(s);
  if (!is_decimal(s->s, s->len))
    return vm_raise(vm, "type", "float(): \"%.*s\" is not a decimal number", shown, s->s);
  double d = strtod(s->s, NULL);          /* s->s is NUL-terminated after the digits */
  if (isinf(d)) return vm_raise(vm, "arith", "float(): \"%.*s\" is out of the float range", shown, s->s);
  *out = v_float(d);
  return true;
}

bool bi_abs(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  Value x = args[0];
  if (x.t == V_FLOAT) {
    *out = v_float(fabs(x.u.f));
    return true;
  }
  if (x.t != V_INT) return bi_type_error(vm, "abs", 0, "a number", x);
  if (x.u.i == INT64_MIN) return vm_raise(vm, "arith", "abs(): the result does not fit an int");
  *out = v_int(x.u.i < 0 ? -x.u.i : x.u.i);
  return true;
}

static bool rounding(VM *vm, const char *fn, double (*f)(double), Value *args, Value *out) {
  Value x = args[0];
  if (x.t == V_INT) {
    *out = x;
    return true;
  }
  if (x.t != V_FLOAT) return bi_type_error(vm, fn, 0, "a number", x);
  return float_to_int(vm, fn, f(x.u.f), out);
}

/* C's round() takes halves away from zero, as the language asks */
bool bi_round(VM *vm, Value *args, int nargs, Value *out) { (void)nargs; return rounding(vm, "round", round, args, out); }
bool bi_floor(VM *vm, Value *args, int nargs, Value *out) { (void)nargs; return rounding(vm, "floor", floor, args, out); }
bool bi_ceil(VM *vm, Value *args, int nargs, Value *out) { (void)nargs; return rounding(vm, "ceil", ceil, args, out); }

/* min and max: one list of numbers, or two or more numbers; the first of
 * equal winners is the result, as it is (an int stays an int) */
static bool extreme(VM *vm, const char *fn, int sign, Value *args, int nargs, Value *out) {
  Value *v = args;
  uint32_t n = (uint32_t)nargs;
  if (nargs == 1) {
    if (args[0].t != V_LIST) return bi_type_error(vm, fn, 0, "a list (or give two or more numbers)", args[0]);
    v = AS_LIST(args[0])->v;
    n = AS_LIST(args[0])->n;
    if (!n) return vm_raise(vm, "index", "%s(): the list is empty", fn);
  }
  for (uint32_t i = 0; i < n; i++) {
    if (!val_is_num(v[i])) {
      if (nargs == 1)
        return vm_raise(vm, "type", "%s(): element %u of the list is %s, not a number", fn, i, val_type_name(v[i]));
      return bi_type_error(vm, fn, (int)i, "a number", v[i]);
    }
  }
  Value best = v[0];
  for (uint32_t i = 1; i < n; i++)
    if (num_cmp(v[i], best) * sign > 0) best = v[i];
  *out = best;
  return true;
}

bool bi_min(VM *vm, Value *args, int nargs, Value *out) { return extreme(vm, "min", -1, args, nargs, out); }
bool bi_max(VM *vm, Value *args, int nargs, Value *out) { return extreme(vm, "max", 1, args, nargs, out); }

bool bi_sum(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "sum", args, 0, V_LIST)) return false;
  List *l = AS_LIST(args[0]);
  bool all_int = true;
  for (uint32_t i = 0; i < l->n; i++) {
    if (!val_is_num(l->v[i]))
      return vm_raise(vm, "type", "sum(): element %u of the list is %s, not a number", i, val_type_name(l->v[i]));
    if (l->v[i].t != V_INT) all_int = false;
  }
  if (all_int) {
    int64_t s = 0;
    for (uint32_t i = 0; i < l->n; i++)
      if (__builtin_add_overflow(s, l->v[i].u.i, &s))
        return vm_raise(vm, "arith", "sum(): integer overflow");
    *out = v_int(s);
    return true;
  }
  double s = 0;
  for (uint32_t i = 0; i < l->n; i++) s += l->v[i].t == V_INT ? (double)l->v[i].u.i : l->v[i].u.f;
  *out = v_float(s);
  return true;
}

bool bi_now(VM *vm, Value *args, int nargs, Value *out) {
  (void)args;
  (void)nargs;
  *out = v_float(vm_now(vm));
  return true;
}
