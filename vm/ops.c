/* vm/ops.c — the semantics of the operators (LANGUAGE.md §2), off the
 * interpreter's fast path: mixed int/float arithmetic with exact comparison,
 * floor division and modulo, string joining, `in`, indexing and fields, and
 * run-time type checks.  Each returns false after vm_raise on an error. */
#include "ops.h"

#include <math.h>
#include <string.h>

#include "opcodes.h"

static const char *op_sym(int op) {
  switch (op) {
    case OP_ADD: return "+";
    case OP_SUB: return "-";
    case OP_MUL: return "*";
    case OP_DIV: return "/";
    case OP_IDIV: return "//";
    case OP_MOD: return "%";
    case OP_LT: return "<";
    case OP_LE: return "<=";
    case OP_GT: return ">";
    case OP_GE: return ">=";
    default: return "?";
  }
}

static bool is_num(Value v) { return v.t == V_INT || v.t == V_FLOAT; }
static double num(Value v) { return v.t == V_INT ? (double)v.u.i : v.u.f; }

bool op_int_arith(VM *vm, int op, int64_t a, int64_t b, Value *out) {
  int64_t r;
  switch (op) {
    case OP_ADD:
      if (__builtin_add_overflow(a, b, &r)) return vm_raise(vm, "arith", "integer overflow in %lld + %lld", (long long)a, (long long)b);
      break;
    case OP_SUB:
      if (__builtin_sub_overflow(a, b, &r)) return vm_raise(vm, "arith", "integer overflow in %lld - %lld", (long long)a, (long long)b);
      break;
    case OP_MUL:
      if (__builtin_mul_overflow(a, b, &r)) return vm_raise(vm, "arith", "integer overflow in %lld * %lld", (long long)a, (long long)b);
      break;
    case OP_DIV:
      if (b == 0) return vm_raise(vm, "arith", "division by zero");
      *out = v_float((double)a / (double)b);
      return true;
    case OP_IDIV:
      if (b == 0) return vm_raise(vm, "arith", "division by zero");
      if (a == INT64_MIN && b == -1) return vm_raise(vm, "arith", "integer overflow in %lld // -1", (long long)a);
      r = a / b;
      if (a % b != 0 && ((a < 0) != (b < 0))) r--;
      break;
    case OP_MOD:
      if (b == 0) return vm_raise(vm, "arith", "division by zero");
      if (b == -1) { r = 0; break; }
      r = a % b;
      if (r != 0 && ((r < 0) != (b < 0))) r += b;
      break;
    default:
      return vm_raise(vm, "type", "bad arithmetic operator");
  }
  *out = v_int(r);
  return true;
}

static bool float_arith(VM *vm, int op, double a, double b, Value *out) {
  double r;
  switch (op) {
    case OP_ADD: r = a + b; break;
    case OP_SUB: r = a - b; break;
    case OP_MUL: r = a * b; break;
    case OP_DIV:
      if (b == 0) return vm_raise(vm, "arith", "division by zero");
      r = a / b;
      break;
    case OP_IDIV:
      if (b == 0) return vm_raise(vm, "arith", "division by zero");
      r = floor(a / b);
      break;
    case OP_MOD:
      if (b == 0) return vm_raise(vm, "arith", "division by zero");
      r = fmod(a, b);
      if (r != 0 && ((r < 0) != (b < 0))) r += b;
      break;
    default:
      return vm_raise(vm, "type", "bad arithmetic operator");
  }
  *out = v_float(r);
  return true;
}

bool op_arith(VM *vm, int op, Value a, Value b, Value *out) {
  if (a.t == V_INT && b.t == V_INT) return op_int_arith(vm, op, a.u.i, b.u.i, out);
  if (is_num(a) && is_num(b)) return float_arith(vm, op, num(a), num(b), out);
  if (op == OP_ADD && a.t == V_STR && b.t == V_STR) {
    *out = v_obj(&str_concat(vm, AS_STR(a), AS_STR(b))->h);
    return true;
  }
  return vm_raise(vm, "type", "operator '%s' cannot take %s and %s", op_sym(op), val_type_name(a), val_type_name(b));
}

bool op_neg(VM *vm, Value a, Value *out) {
  if (a.t == V_INT) {
    if (a.u.i == INT64_MIN) return vm_raise(vm, "arith", "integer overflow in -(%lld)", (long long)a.u.i);
    *out = v_int(-a.u.i);
    return true;
  }
  if (a.t == V_FLOAT) {
    *out = v_float(-a.u.f);
    return true;
  }
  return vm_raise(vm, "type", "operator '-' cannot take %s", val_type_name(a));
}

/* -1, 0, 1; 2 when unordered (nan) — exact for every int64 and double */
int op_cmp_int_float(int64_t i, double f) {
  if (isnan(f)) return 2;
  if (f >= 9223372036854775808.0) return -1;
  if (f < -9223372036854775808.0) return 1;
  double fl = floor(f);
  int64_t fi = (int64_t)fl;
  if (i < fi) return -1;
  if (i > fi) return 1;
  return fl < f ? -1 : 0;
}

static int cmp_values(Value a, Value b) {
  if (a.t == V_INT && b.t == V_INT) return (a.u.i > b.u.i) - (a.u.i < b.u.i);
  if (a.t == V_INT) return op_cmp_int_float(a.u.i, b.u.f);
  if (b.t == V_INT) {
    int c = op_cmp_int_float(b.u.i, a.u.f);
    return c == 2 ? 2 : -c;
  }
  if (isnan(a.u.f) || isnan(b.u.f)) return 2;
  return (a.u.f > b.u.f) - (a.u.f < b.u.f);
}

bool op_compare(VM *vm, int op, Value a, Value b, bool *out) {
  int c;
  if (is_num(a) && is_num(b)) {
    c = cmp_values(a, b);
  } else if (a.t == V_STR && b.t == V_STR) {
    const Str *x = AS_STR(a), *y = AS_STR(b);
    size_t n = x->len < y->len ? x->len : y->len;
    int m = memcmp(x->s, y->s, n);
    c = m ? (m > 0) - (m < 0) : (x->len > y->len) - (x->len < y->len);
  } else {
    return vm_raise(vm, "type", "operator '%s' cannot compare %s and %s", op_sym(op), val_type_name(a), val_type_name(b));
  }
  if (c == 2) {
    *out = false;
    return true;
  }
  switch (op) {
    case OP_LT: *out = c < 0; break;
    case OP_LE: *out = c <= 0; break;
    case OP_GT: *out = c > 0; break;
    default: *out = c >= 0; break;
  }
  return true;
}

bool op_in(VM *vm, Value a, Value b, bool *out) {
  if (b.t == V_LIST) {
    List *l = AS_LIST(b);
    for (uint32_t i = 0; i < l->n; i++) {
      if (val_eq(a, l->v[i])) {
        *out = true;
        return true;
      }
    }
    *out = false;
    return true;
  }
  if (b.t == V_MAP) {
    if (a.t != V_STR) return vm_raise(vm, "type", "a map's keys are strings, not %s", val_type_name(a));
    *out = map_get(AS_MAP(b), AS_STR(a)) != NULL;
    return true;
  }
  if (b.t == V_STR) {
    if (a.t != V_STR) return vm_raise(vm, "type", "'in' a string needs a string, found %s", val_type_name(a));
    const Str *x = AS_STR(a), *y = AS_STR(b);
    if (x->len == 0) {
      *out = true;
      return true;
    }
    *out = false;
    for (size_t i = 0; i + x->len <= y->len; i++) {
      if (memcmp(y->s + i, x->s, x->len) == 0) {
        *out = true;
        break;
      }
    }
    return true;
  }
  return vm_raise(vm, "type", "'in' needs a list, a map or a string, found %s", val_type_name(b));
}

bool op_index(VM *vm, Value x, Value i, Value *out) {
  if (x.t == V_LIST) {
    if (i.t != V_INT) return vm_raise(vm, "type", "a list index must be int, found %s", val_type_name(i));
    List *l = AS_LIST(x);
    if (i.u.i < 0 || (uint64_t)i.u.i >= l->n)
      return vm_raise(vm, "index", "index %lld out of range for a list of %u", (long long)i.u.i, l->n);
    *out = l->v[i.u.i];
    return true;
  }
  if (x.t == V_MAP) {
    if (i.t != V_STR) return vm_raise(vm, "type", "a map key must be string, found %s", val_type_name(i));
    Value *v = map_get(AS_MAP(x), AS_STR(i));
    *out = v ? *v : v_nil();
    return true;
  }
  if (x.t == V_STR) {
    if (i.t != V_INT) return vm_raise(vm, "type", "a string index must be int, found %s", val_type_name(i));
    const Str *s = AS_STR(x);
    size_t nch = str_chars(s);
    if (i.u.i < 0 || (uint64_t)i.u.i >= nch)
      return vm_raise(vm, "index", "index %lld out of range for a string of %zu characters", (long long)i.u.i, nch);
    size_t a = str_char_offset(s, (size_t)i.u.i), b = str_char_offset(s, (size_t)i.u.i + 1);
    *out = v_obj(&str_new(vm, s->s + a, b - a)->h);
    return true;
  }
  return vm_raise(vm, "type", "cannot index %s", val_type_name(x));
}

bool op_set_index(VM *vm, Value x, Value i, Value v) {
  if (x.t == V_LIST) {
    if (i.t != V_INT) return vm_raise(vm, "type", "a list index must be int, found %s", val_type_name(i));
    List *l = AS_LIST(x);
    if (i.u.i < 0 || (uint64_t)i.u.i >= l->n)
      return vm_raise(vm, "index", "index %lld out of range for a list of %u", (long long)i.u.i, l->n);
    l->v[i.u.i] = v;
    return true;
  }
  if (x.t == V_MAP) {
    if (i.t != V_STR) return vm_raise(vm, "type", "a map key must be string, found %s", val_type_name(i));
    map_set(vm, AS_MAP(x), AS_STR(i), v);
    return true;
  }
  return vm_raise(vm, "type", "cannot assign into %s", val_type_name(x));
}

bool op_field(VM *vm, Value x, Value key, Value *out) {
  if (x.t != V_MAP) return vm_raise(vm, "type", "cannot read field '%s' of %s", AS_STR(key)->s, val_type_name(x));
  Value *v = map_get(AS_MAP(x), AS_STR(key));
  *out = v ? *v : v_nil();
  return true;
}

bool op_set_field(VM *vm, Value x, Value key, Value v) {
  if (x.t != V_MAP) return vm_raise(vm, "type", "cannot set field '%s' of %s", AS_STR(key)->s, val_type_name(x));
  map_set(vm, AS_MAP(x), AS_STR(key), v);
  return true;
}

const char *op_typeset_text(uint32_t ts, char *buf, size_t n) {
  static const char *const names[] = {"nil", "bool", "int", "float", "string", "list", "map"};
  if ((ts & 0x7F) == 0x7F) return "any";
  size_t used = 0;
  buf[0] = 0;
  for (int i = 0; i < 7; i++) {
    if (!(ts & (1u << i))) continue;
    int w = snprintf(buf + used, n - used, "%s%s", used ? " or " : "", names[i]);
    if (w < 0 || (size_t)w >= n - used) break;
    used += (size_t)w;
  }
  return buf;
}

bool op_check_type(VM *vm, Value *v, uint32_t ts, const char *what) {
  if (op_fit(v, ts)) return true;
  char buf[64];
  return vm_raise(vm, "type", "%s must be %s, found %s", what, op_typeset_text(ts, buf, sizeof buf), val_type_name(*v));
}
