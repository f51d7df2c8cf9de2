/* compiler/explain.c — static gating analysis (explain.h, docs/explain.md).
 *
 * An abstract value (AV) is what is known of a value before the program
 * runs: the set of types it may have, its value when that is known (nil,
 * bool, int, float, string), the length of a list literal, and whether
 * computing it may raise (no, maybe, surely).  Rule conditions and blast
 * expressions are evaluated over AVs; `and`/`or` short-circuit as in the VM,
 * so a part that is never reached neither decides nor raises. */
#include "explain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- abstract values ----------------------------------------------------- */

typedef enum Raise { RZ_NO, RZ_MAYBE, RZ_YES } Raise;

typedef struct AV {
  TypeSet t;            /* the types it may have; one bit when known */
  bool known;           /* u holds the value (nil, bool, int, float, string) */
  bool len_known;       /* a list of u.n elements (not their values) */
  bool args;            /* the risk context's `args` map */
  Raise raise;
  union {
    bool b;
    int64_t i;
    double f;
    struct { const char *s; size_t len; } s;
    uint32_t n;
  } u;
} AV;

static AV unknown(TypeSet t) { return (AV){.t = t ? t : TY_ANY}; }
static AV raises(void) { return (AV){.t = TY_ANY, .raise = RZ_YES}; }
static AV k_nil(void) { return (AV){.t = TY_NIL, .known = true}; }
static AV k_bool(bool b) { return (AV){.t = TY_BOOL, .known = true, .u.b = b}; }
static AV k_int(int64_t i) { return (AV){.t = TY_INT, .known = true, .u.i = i}; }
static AV k_float(double f) { return (AV){.t = TY_FLOAT, .known = true, .u.f = f}; }
static AV k_str(const char *s, size_t len) {
  AV v = {.t = TY_STRING, .known = true};
  v.u.s.s = s;
  v.u.s.len = len;
  return v;
}

static Raise rmax(Raise a, Raise b) { return a > b ? a : b; }
/* a part that may not be evaluated at all raises at most maybe */
static Raise rweak(Raise r) { return r == RZ_YES ? RZ_MAYBE : r; }

static AV with_raise(AV v, Raise r) {
  v.raise = rmax(v.raise, r);
  return v;
}

/* t holds only types of `ok` */
static bool only(TypeSet t, TypeSet ok) { return (t & ~ok) == 0; }

static double num(const AV *v) { return v->t == TY_INT ? (double)v->u.i : v->u.f; }

/* ---- the evaluator ------------------------------------------------------- */

typedef enum EvMode { EV_BODY, EV_BLAST, EV_RULE } EvMode;

typedef struct Ev {
  EvMode mode;
  Arena *a;
  const Decl *action;
  const AV *argv;       /* per parameter, as the VM passes them (after widening) */
  uint32_t nargs;
  AV blast, confidence;
  bool approved, reviewed;
} Ev;

static AV eval(Ev *ev, const Expr *e);

/* args.NAME / args["NAME"]: the argument, or nil for a name that is not a
 * parameter (a missing key reads as nil) */
static AV arg_named(Ev *ev, const char *name, size_t len) {
  const ParamList *ps = &ev->action->u.action.params;
  for (uint32_t i = 0; i < ps->n && i < ev->nargs; i++)
    if (strlen(ps->v[i].name) == len && memcmp(ps->v[i].name, name, len) == 0) {
      AV v = ev->argv[i];
      v.raise = RZ_NO;
      return v;
    }
  return k_nil();
}

static AV risk_value(Ev *ev) {
  if (!ev->blast.known || !ev->confidence.known) return unknown(TY_FLOAT);
  /* the formula of vm/route.c, operation for operation */
  int64_t blast = ev->blast.u.i;
  double confidence = ev->confidence.u.f;
  double b = blast > 1 ? log10((double)blast) / 4.0 : 0.0;
  if (b > 1) b = 1;
  const Decl *a = ev->action;
  double risk = ((a->u.action.irreversible ? 1.0 : 0.0) + b +
                 (a->u.action.compliance ? 1.0 : 0.0) + (1.0 - confidence)) / 4.0;
  return k_float(risk);
}

static AV context_name(Ev *ev, const char *n) {
  const Decl *a = ev->action;
  if (!strcmp(n, "action")) return k_str(a->name, strlen(a->name));
  if (!strcmp(n, "args")) {
    AV v = unknown(TY_MAP);
    v.args = true;
    return v;
  }
  if (!strcmp(n, "irreversible")) return k_bool(a->u.action.irreversible);
  if (!strcmp(n, "blast")) return ev->blast;
  if (!strcmp(n, "compliance"))
    return a->u.action.compliance ? k_str(a->u.action.compliance, strlen(a->u.action.compliance))
                                  : k_nil();
  if (!strcmp(n, "confidence")) return ev->confidence;
  if (!strcmp(n, "threshold")) return unknown(TY_FLOAT);   /* calibration may change it */
  if (!strcmp(n, "risk")) return risk_value(ev);
  if (!strcmp(n, "queue")) return unknown(TY_INT);
  if (!strcmp(n, "approved")) return k_bool(ev->approved);
  if (!strcmp(n, "reviewed")) return k_bool(ev->reviewed);
  return unknown(TY_ANY);
}

static AV name_value(Ev *ev, const Expr *e) {
  switch (e->u.name.ref) {
  case REF_CONTEXT:
    if (ev->mode == EV_RULE) return context_name(ev, e->u.name.name);
    break;
  case REF_LOCAL:
    if (ev->mode == EV_BLAST && e->u.name.slot >= 0 && (uint32_t)e->u.name.slot < ev->nargs) {
      AV v = ev->argv[e->u.name.slot];
      v.raise = RZ_NO;
      return v;
    }
    break;
  default:
    break;   /* inputs and params (overridable) are not known */
  }
  return unknown(e->type);
}

static bool same_value(const AV *a, const AV *b) {
  if ((a->t & TY_NUM) && (b->t & TY_NUM)) {
    if (a->t == TY_INT && b->t == TY_INT) return a->u.i == b->u.i;
    return num(a) == num(b);
  }
  if (a->t != b->t) return false;
  switch (a->t) {
  case TY_NIL: return true;
  case TY_BOOL: return a->u.b == b->u.b;
  case TY_STRING: return a->u.s.len == b->u.s.len && !memcmp(a->u.s.s, b->u.s.s, a->u.s.len);
  default: return false;
  }
}

/* values of these two type sets can never be equal */
static bool never_equal(TypeSet a, TypeSet b) {
  if ((a & TY_NUM) && (b & TY_NUM)) return false;
  return (a & b) == 0;
}

static int cmp_str(const AV *a, const AV *b) {
  size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
  int c = memcmp(a->u.s.s, b->u.s.s, n);
  if (c) return c;
  return a->u.s.len < b->u.s.len ? -1 : a->u.s.len > b->u.s.len;
}

static bool has_sub(const AV *hay, const AV *needle) {
  if (needle->u.s.len == 0) return true;
  for (size_t i = 0; i + needle->u.s.len <= hay->u.s.len; i++)
    if (!memcmp(hay->u.s.s + i, needle->u.s.s, needle->u.s.len)) return true;
  return false;
}

/* A type check: valid when both operands' types are in one of the pairs
 * (ok_a[k], ok_b[k]).  Surely raises when no pair is possible at all. */
static Raise pair_check(TypeSet a, TypeSet b, const TypeSet *ok_a, const TypeSet *ok_b, int n) {
  bool all = false, some = false;
  for (int k = 0; k < n; k++) {
    if (only(a, ok_a[k]) && only(b, ok_b[k])) all = true;
    if ((a & ok_a[k]) && (b & ok_b[k])) some = true;
  }
  return all ? RZ_NO : some ? RZ_MAYBE : RZ_YES;
}

/* (number, number) or (string, string); arithmetic but + takes the first only */
static const TypeSet NUMS[] = {TY_NUM, TY_STRING}, NUMS_B[] = {TY_NUM, TY_STRING};

static AV arith(Ev *ev, const Expr *e, AV a, AV b) {
  Op op = e->u.op.op;
  Raise r = op == OP_ADD ? pair_check(a.t, b.t, NUMS, NUMS_B, 2)
                         : pair_check(a.t, b.t, NUMS, NUMS_B, 1);
  if (r == RZ_YES) return raises();
  TypeSet rt = e->type;
  if (!(a.known && b.known)) {
    bool ints = (a.t & TY_INT) && (b.t & TY_INT);
    if (op == OP_DIV || op == OP_IDIV || op == OP_MOD) {
      bool zero = b.known && (b.t == TY_INT ? b.u.i == 0 : b.u.f == 0.0);
      if (zero) return raises();                       /* division by zero */
      if (!b.known) r = rmax(r, RZ_MAYBE);             /* it may be zero */
      else if (op == OP_IDIV && b.t == TY_INT && b.u.i == -1 && (a.t & TY_INT))
        r = rmax(r, RZ_MAYBE);                         /* INT64_MIN // -1 */
    } else if (ints) {
      r = rmax(r, RZ_MAYBE);   /* 64-bit overflow is an error, and the values are not known */
    }
    return with_raise(unknown(rt), r);
  }
  if (a.t == TY_STRING) {   /* only + takes strings */
    char *s = arena_alloc(ev->a, a.u.s.len + b.u.s.len + 1);
    memcpy(s, a.u.s.s, a.u.s.len);
    memcpy(s + a.u.s.len, b.u.s.s, b.u.s.len);
    return k_str(s, a.u.s.len + b.u.s.len);
  }
  if (a.t == TY_INT && b.t == TY_INT) {
    int64_t x = a.u.i, y = b.u.i, z;
    switch (op) {
    case OP_ADD: if (__builtin_add_overflow(x, y, &z)) return raises(); return k_int(z);
    case OP_SUB: if (__builtin_sub_overflow(x, y, &z)) return raises(); return k_int(z);
    case OP_MUL: if (__builtin_mul_overflow(x, y, &z)) return raises(); return k_int(z);
    case OP_DIV: if (y == 0) return raises(); return k_float((double)x / (double)y);
    case OP_IDIV: case OP_MOD: {
      if (y == 0 || (op == OP_IDIV && x == INT64_MIN && y == -1)) return raises();
      if (op == OP_MOD && y == -1) return k_int(0);
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        q -= 1;
        m += y;
      }
      return k_int(op == OP_IDIV ? q : m);
    }
    default: return unknown(rt);
    }
  }
  double x = num(&a), y = num(&b);
  switch (op) {
  case OP_ADD: return k_float(x + y);
  case OP_SUB: return k_float(x - y);
  case OP_MUL: return k_float(x * y);
  case OP_DIV: if (y == 0.0) return raises(); return k_float(x / y);
  default:
    if (y == 0.0) return raises();
    return unknown(TY_FLOAT);   /* floor division of floats: not folded */
  }
}

static AV compare(const Expr *e, AV a, AV b) {
  Op op = e->u.op.op;
  if (op == OP_EQ || op == OP_NE) {
    bool eq;
    if (a.known && b.known) eq = same_value(&a, &b);
    else if (never_equal(a.t, b.t)) eq = false;
    else return unknown(TY_BOOL);
    return k_bool(op == OP_EQ ? eq : !eq);
  }
  Raise r = pair_check(a.t, b.t, NUMS, NUMS_B, 2);
  if (r == RZ_YES) return raises();
  if (!(a.known && b.known)) return with_raise(unknown(TY_BOOL), r);
  int c;
  if (a.t == TY_STRING) {
    c = cmp_str(&a, &b);
  } else if (a.t == TY_INT && b.t == TY_INT) {
    c = a.u.i < b.u.i ? -1 : a.u.i > b.u.i;
  } else {
    double x = num(&a), y = num(&b);
    if (isnan(x) || isnan(y)) return k_bool(false);
    /* an int beside a float: exact unless the int is beyond 2^53 */
    if ((a.t == TY_INT && (a.u.i > (1LL << 53) || a.u.i < -(1LL << 53))) ||
        (b.t == TY_INT && (b.u.i > (1LL << 53) || b.u.i < -(1LL << 53))))
      return unknown(TY_BOOL);
    c = x < y ? -1 : x > y;
  }
  switch (op) {
  case OP_LT: return k_bool(c < 0);
  case OP_LE: return k_bool(c <= 0);
  case OP_GT: return k_bool(c > 0);
  default: return k_bool(c >= 0);
  }
}

static AV in_op(AV a, AV b) {
  const TypeSet coll = TY_STRING | TY_LIST | TY_MAP;
  if (!(b.t & coll)) return raises();
  Raise r = only(b.t, coll) ? RZ_NO : RZ_MAYBE;
  if ((b.t & TY_STRING) && !only(a.t, TY_STRING)) r = RZ_MAYBE;
  if (b.t == TY_STRING && !(a.t & TY_STRING)) return raises();
  if (a.known && b.known && a.t == TY_STRING && b.t == TY_STRING) return k_bool(has_sub(&b, &a));
  return with_raise(unknown(TY_BOOL), r);
}

static AV logic(Ev *ev, const Expr *e) {
  bool is_and = e->u.op.op == OP_AND;
  AV a = eval(ev, e->u.op.a);
  if (a.raise == RZ_YES) return a;
  Raise r = a.raise;
  if (!(a.t & TY_BOOL)) return raises();
  if (!only(a.t, TY_BOOL)) r = rmax(r, RZ_MAYBE);
  /* `false and …` and `true or …` stop here */
  if (a.known && a.t == TY_BOOL && a.u.b != is_and) return with_raise(k_bool(a.u.b), r);
  AV b = eval(ev, e->u.op.b);
  bool a_sure = a.known && a.t == TY_BOOL;   /* then a is the value that goes on */
  Raise rb = b.raise;
  if (rb != RZ_YES) {
    if (!(b.t & TY_BOOL)) rb = RZ_YES;
    else if (!only(b.t, TY_BOOL)) rb = rmax(rb, RZ_MAYBE);
  }
  if (!a_sure) rb = rweak(rb);
  r = rmax(r, rb);
  if (r == RZ_YES) return raises();
  bool b_sure = b.known && b.t == TY_BOOL;
  if (a_sure) return with_raise(b_sure ? k_bool(b.u.b) : unknown(TY_BOOL), r);
  /* a unknown: `x and false` is false, `x or true` is true, whatever x */
  if (b_sure && b.u.b != is_and) return with_raise(k_bool(b.u.b), r);
  return with_raise(unknown(TY_BOOL), r);
}

static AV unary(Ev *ev, const Expr *e) {
  AV a = eval(ev, e->u.op.a);
  if (a.raise == RZ_YES) return a;
  if (e->u.op.op == OP_NOT) {
    if (!(a.t & TY_BOOL)) return raises();
    Raise r = rmax(a.raise, only(a.t, TY_BOOL) ? RZ_NO : RZ_MAYBE);
    if (a.known) return with_raise(k_bool(!a.u.b), r);
    return with_raise(unknown(TY_BOOL), r);
  }
  if (!(a.t & TY_NUM)) return raises();
  Raise r = rmax(a.raise, only(a.t, TY_NUM) ? RZ_NO : RZ_MAYBE);
  if (a.known && a.t == TY_INT) return a.u.i == INT64_MIN ? raises() : with_raise(k_int(-a.u.i), r);
  if (a.known) return with_raise(k_float(-a.u.f), r);
  if (a.t & TY_INT) r = rmax(r, RZ_MAYBE);   /* -INT64_MIN overflows */
  return with_raise(unknown(a.t & TY_NUM), r);
}

static AV binary(Ev *ev, const Expr *e) {
  Op op = e->u.op.op;
  if (op == OP_AND || op == OP_OR) return logic(ev, e);
  AV a = eval(ev, e->u.op.a);
  if (a.raise == RZ_YES) return a;
  AV b = eval(ev, e->u.op.b);
  if (b.raise == RZ_YES) return b;
  Raise r = rmax(a.raise, b.raise);
  AV v;
  switch (op) {
  case OP_EQ: case OP_NE: case OP_LT: case OP_LE: case OP_GT: case OP_GE:
    v = compare(e, a, b);
    break;
  case OP_IN:
    if (b.args && a.known && a.t == TY_STRING) {
      /* a parameter is always a key of args (even when its value is nil) */
      const ParamList *ps = &ev->action->u.action.params;
      bool is_param = false;
      for (uint32_t i = 0; i < ps->n; i++)
        if (strlen(ps->v[i].name) == a.u.s.len && !memcmp(ps->v[i].name, a.u.s.s, a.u.s.len))
          is_param = true;
      v = k_bool(is_param);
    } else {
      v = in_op(a, b);
    }
    break;
  default:
    v = arith(ev, e, a, b);
    break;
  }
  return with_raise(v, r);
}

static size_t utf8_chars(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

/* built-ins that cannot raise when their arguments have the declared types */
static bool total_builtin(const char *n) {
  static const char *const total[] = {
    "len", "str", "type", "keys", "values", "has", "contains", "upper", "lower", "trim",
    "starts_with", "ends_with", "replace", "find", "now",
  };
  for (size_t i = 0; i < sizeof total / sizeof total[0]; i++)
    if (!strcmp(total[i], n)) return true;
  return false;
}

static AV call(Ev *ev, const Expr *e) {
  const ExprList *args = &e->u.call.args;
  Raise r = RZ_NO;
  AV first = unknown(TY_ANY);
  for (uint32_t i = 0; i < args->n; i++) {
    AV v = eval(ev, args->v[i]);
    if (v.raise == RZ_YES) return v;
    r = rmax(r, v.raise);
    if (i == 0) first = v;
  }
  if (e->u.call.ref != REF_BUILTIN) return with_raise(unknown(e->type), RZ_MAYBE);
  const char *n = e->u.call.name;
  if (!strcmp(n, "len") && args->n == 1) {
    const TypeSet coll = TY_STRING | TY_LIST | TY_MAP;
    if (!(first.t & coll)) return raises();
    if (!only(first.t, coll)) r = rmax(r, RZ_MAYBE);
    if (first.len_known) return with_raise(k_int(first.u.n), r);
    if (first.known && first.t == TY_STRING)
      return with_raise(k_int((int64_t)utf8_chars(first.u.s.s, first.u.s.len)), r);
    return with_raise(unknown(TY_INT), r);
  }
  if (!total_builtin(n)) r = rmax(r, RZ_MAYBE);
  /* a total built-in raises only on an argument of the wrong type; the
   * checker has seen the declared ones, so `any` is what is left */
  for (uint32_t i = 0; i < args->n; i++)
    if (args->v[i]->type == TY_ANY && strcmp(n, "str") && strcmp(n, "type")) r = rmax(r, RZ_MAYBE);
  return with_raise(unknown(e->type), r);
}

static AV eval(Ev *ev, const Expr *e) {
  switch (e->kind) {
  case E_NIL: return k_nil();
  case E_BOOL: return k_bool(e->u.b);
  case E_INT: return k_int(e->u.i);
  case E_FLOAT: return k_float(e->u.f);
  case E_STRING: return k_str(e->u.str.s, e->u.str.len);
  case E_INTERP: {
    Raise r = RZ_NO;
    for (uint32_t i = 0; i < e->u.list.n; i++) {
      AV v = eval(ev, e->u.list.v[i]);
      if (v.raise == RZ_YES) return v;
      r = rmax(r, v.raise);
    }
    return with_raise(unknown(TY_STRING), r);
  }
  case E_NAME: return name_value(ev, e);
  case E_LIST: {
    Raise r = RZ_NO;
    for (uint32_t i = 0; i < e->u.list.n; i++) {
      AV v = eval(ev, e->u.list.v[i]);
      if (v.raise == RZ_YES) return v;
      r = rmax(r, v.raise);
    }
    AV l = unknown(TY_LIST);
    l.len_known = true;
    l.u.n = e->u.list.n;
    return with_raise(l, r);
  }
  case E_MAP: {
    Raise r = RZ_NO;
    for (uint32_t i = 0; i < e->u.map.keys.n; i++) {
      AV k = eval(ev, e->u.map.keys.v[i]), v = eval(ev, e->u.map.vals.v[i]);
      if (k.raise == RZ_YES) return k;
      if (v.raise == RZ_YES) return v;
      r = rmax(r, rmax(k.raise, v.raise));
    }
    return with_raise(unknown(TY_MAP), r);
  }
  case E_UNARY: return unary(ev, e);
  case E_BINARY: return binary(ev, e);
  case E_INDEX: {
    AV a = eval(ev, e->u.index.a);
    if (a.raise == RZ_YES) return a;
    AV b = eval(ev, e->u.index.b);
    if (b.raise == RZ_YES) return b;
    Raise r = rmax(a.raise, b.raise);
    if (a.args && b.known && b.t == TY_STRING) return with_raise(arg_named(ev, b.u.s.s, b.u.s.len), r);
    if (!(a.t & (TY_STRING | TY_LIST | TY_MAP))) return raises();
    /* a list or string index may be out of range; a map needs a string key */
    if (!(a.t == TY_MAP && only(b.t, TY_STRING))) r = rmax(r, RZ_MAYBE);
    return with_raise(unknown(e->type), r);
  }
  case E_FIELD: {
    AV a = eval(ev, e->u.field.a);
    if (a.raise == RZ_YES) return a;
    if (a.args) return with_raise(arg_named(ev, e->u.field.name, strlen(e->u.field.name)), a.raise);
    if (!(a.t & TY_MAP)) return raises();
    return with_raise(unknown(TY_ANY), rmax(a.raise, only(a.t, TY_MAP) ? RZ_NO : RZ_MAYBE));
  }
  case E_CALL: return call(ev, e);
  case E_CHECKPOINT: return with_raise(unknown(TY_MAP), RZ_MAYBE);
  }
  return with_raise(unknown(TY_ANY), RZ_MAYBE);
}

/* ---- one call site ------------------------------------------------------- */

typedef struct Ex {
  Ast *ast;
  Diags *d;
  const Decl *rules;            /* NULL when there is no rules block */
  ExReport *report;             /* NULL when only warning */
  ExOutcome *out; uint32_t nout;
  const Rule **rule_of;         /* per outcome: the rule whose route it is (EXW_RULE) */
  AV *argv;                     /* room for the most parameters an action has */
} Ex;

static const char *duration_text(Arena *a, int64_t s) {
  if (s > 0 && s % 86400 == 0) return arena_printf(a, "%lldd", (long long)(s / 86400));
  if (s > 0 && s % 3600 == 0) return arena_printf(a, "%lldh", (long long)(s / 3600));
  if (s > 0 && s % 60 == 0) return arena_printf(a, "%lldm", (long long)(s / 60));
  return arena_printf(a, "%llds", (long long)s);
}

static const char *route_text(Arena *a, const Route *r) {
  switch (r->kind) {
  case R_AUTO:
    return "auto";
  case R_APPROVE: {
    const char *s = "approve";
    if (r->by) s = arena_printf(a, "%s by %s", s, r->by);
    if (r->quorum > 1) s = arena_printf(a, "%s quorum %lld", s, (long long)r->quorum);
    if (r->timeout.present)
      s = arena_printf(a, "%s timeout %s -> %s", s, duration_text(a, r->timeout.seconds),
                       r->timeout.verdict == VK_APPROVE ? "approve" : "reject");
    return s;
  }
  case R_REVIEW: {
    const char *s = "review";
    if (r->within_span.line) s = arena_printf(a, "%s within %s", s, duration_text(a, r->within));
    if (r->by) s = arena_printf(a, "%s by %s", s, r->by);
    return s;
  }
  case R_DENY:
    return "deny";
  }
  return "?";
}

/* x->out has room for every outcome (analyze sizes it: two per rule, the
 * blast's and the default), so a walk allocates nothing; the route's text
 * is made only for the report. */
static void add(Ex *x, ExWhy why, const Rule *rule, RouteKind kind) {
  x->out[x->nout++] = (ExOutcome){why, rule ? rule->span.line : 0, kind,
                                  kind == R_AUTO ? "auto" : "approve"};
  x->rule_of[x->nout - 1] = why == EXW_RULE ? rule : NULL;
}

/* the argument as the VM hands it to blast and the rules: checked against
 * the parameter's type, an int widened for a float parameter */
static AV argument(Ev *body, const Expr *e, TypeSet want) {
  AV v = eval(body, e);
  v.raise = RZ_NO;   /* an argument that raises means no call, so no route */
  v.args = false;
  if (!want) want = TY_ANY;
  TypeSet t = v.t & want;
  if ((v.t & TY_INT) && (want & TY_FLOAT) && !(want & TY_INT)) {
    t |= TY_FLOAT;
    if (v.known && v.t == TY_INT) return k_float((double)v.u.i);
  }
  if (!t) return unknown(want);
  if (t != v.t) {
    if (v.len_known && t == TY_LIST) return v;
    return unknown(t);
  }
  return v;
}

static void site(Ex *x, const Expr *call, bool approved, bool reviewed) {
  const Decl *a = x->ast->decls.v[call->u.call.index];
  Arena *ar = &x->ast->arena;
  bool irr = a->u.action.irreversible;
  if (!x->report && !irr) return;   /* only irreversible calls can be warned about */

  const ParamList *ps = &a->u.action.params;
  uint32_t n = call->u.call.args.n < ps->n ? call->u.call.args.n : ps->n;
  Ev body = {.mode = EV_BODY, .a = ar, .action = a};
  for (uint32_t i = 0; i < n; i++) x->argv[i] = argument(&body, call->u.call.args.v[i], ps->v[i].type);

  Ev ev = {.mode = EV_BLAST, .a = ar, .action = a, .argv = x->argv, .nargs = n,
           .approved = approved, .reviewed = reviewed};
  x->nout = 0;
  bool stop = false;
  /* blast: 1 by default; a blast that raises (or is not an int) fails closed */
  ev.blast = k_int(1);
  if (a->u.action.blast) {
    AV b = eval(&ev, a->u.action.blast);
    Raise r = b.raise;
    if (r != RZ_YES && !(b.t & TY_INT)) r = RZ_YES;
    if (r != RZ_YES && !only(b.t, TY_INT)) r = rmax(r, RZ_MAYBE);
    if (r != RZ_NO) add(x, r == RZ_YES ? EXW_BLAST_RAISES : EXW_BLAST_MAY_RAISE, NULL, R_APPROVE);
    if (r == RZ_YES) stop = true;
    ev.blast = r == RZ_NO && b.known ? k_int(b.u.i) : unknown(TY_INT);
  }
  /* confidence: 0.0 when not given */
  Expr *conf = ast_call_confidence(call);
  ev.confidence = k_float(0.0);
  if (conf) {
    AV c = eval(&body, conf);
    ev.confidence = c.known && c.t == TY_INT ? k_float((double)c.u.i)
                  : c.known && c.t == TY_FLOAT ? c : unknown(TY_FLOAT);
  }

  ev.mode = EV_RULE;
  const Decl *rules = x->rules;
  for (uint32_t i = 0; !stop && rules && i < rules->u.rules.n; i++) {
    const Rule *rule = &rules->u.rules.v[i];
    AV c = rule->cond ? eval(&ev, rule->cond) : k_bool(true);
    Raise r = c.raise;
    /* the condition must give a bool (RETURN checks it) */
    if (r != RZ_YES && !(c.t & TY_BOOL)) r = RZ_YES;
    if (r != RZ_YES && !only(c.t, TY_BOOL)) r = rmax(r, RZ_MAYBE);
    if (r != RZ_NO) add(x, r == RZ_YES ? EXW_RAISES : EXW_MAY_RAISE, rule, R_APPROVE);
    if (r == RZ_YES) {
      stop = true;
      break;
    }
    bool sure = c.known && c.t == TY_BOOL;
    if (sure && !c.u.b) continue;
    add(x, EXW_RULE, rule, rule->route.kind);
    if (sure) stop = true;
  }
  if (!stop) add(x, EXW_NO_MATCH, NULL, irr ? R_APPROVE : R_AUTO);

  bool can_auto = false;
  for (uint32_t i = 0; i < x->nout; i++) can_auto |= x->out[i].route == R_AUTO;

  if (x->d && irr && can_auto && !approved) {
    diag_warning(x->d, call->span, "irreversible action '%s' can run unattended (routed auto) here",
                 a->name);
    char lines[160];
    size_t used = 0;
    uint32_t nrules = 0, first = 0;
    lines[0] = 0;
    for (uint32_t i = 0; i < x->nout; i++) {
      if (x->out[i].route != R_AUTO || x->out[i].why != EXW_RULE) continue;
      if (!nrules) first = i;
      nrules++;
      if (used < sizeof lines - 16)
        used += (size_t)snprintf(lines + used, sizeof lines - used, "%s%u", used ? ", " : "",
                                 x->out[i].line);
    }
    const Rule *only_rule = x->rule_of[first];
    const char *what = nrules == 1 ? arena_printf(ar, "the rule at line %u ('%s')",
                                                  only_rule->span.line,
                                                  only_rule->text ? only_rule->text : "")
                                   : arena_printf(ar, "the rules at lines %s", lines);
    diag_hint(x->d, "%s can route it auto; call it inside a checkpoint's approve block, or route "
                    "it to a person with an earlier rule", what);
  }

  if (!x->report) return;
  ExReport *rep = x->report;
  ExSite *s = &rep->v[rep->n++];
  *s = (ExSite){
    .span = call->span, .action = a, .irreversible = irr, .compliance = a->u.action.compliance,
    .blast_known = ev.blast.known, .blast = ev.blast.known ? ev.blast.u.i : 0,
    .conf_given = conf != NULL, .conf_known = ev.confidence.known,
    .confidence = ev.confidence.known ? ev.confidence.u.f : 0.0,
    .in_approve = approved, .in_review = reviewed, .can_auto = can_auto,
  };
  s->out = arena_alloc(ar, (x->nout ? x->nout : 1) * sizeof *s->out);
  memcpy(s->out, x->out, x->nout * sizeof *s->out);
  for (uint32_t i = 0; i < x->nout; i++)
    if (x->rule_of[i]) s->out[i].text = route_text(ar, &x->rule_of[i]->route);
  s->nout = x->nout;
}

/* ---- finding the call sites ---------------------------------------------- */

typedef struct Walk {
  Ex *x;
  uint32_t approve, review;     /* lexical nesting */
  uint32_t capsites;
} Walk;

static void w_stmts(Walk *w, const StmtList *l);

static void w_expr(Walk *w, const Expr *e) {
  if (!e) return;
  switch (e->kind) {
  case E_INTERP: case E_LIST:
    for (uint32_t i = 0; i < e->u.list.n; i++) w_expr(w, e->u.list.v[i]);
    return;
  case E_MAP:
    for (uint32_t i = 0; i < e->u.map.keys.n; i++) {
      w_expr(w, e->u.map.keys.v[i]);
      w_expr(w, e->u.map.vals.v[i]);
    }
    return;
  case E_UNARY: w_expr(w, e->u.op.a); return;
  case E_BINARY: w_expr(w, e->u.op.a); w_expr(w, e->u.op.b); return;
  case E_INDEX: w_expr(w, e->u.index.a); w_expr(w, e->u.index.b); return;
  case E_FIELD: w_expr(w, e->u.field.a); return;
  case E_CALL:
    for (uint32_t i = 0; i < e->u.call.args.n; i++) w_expr(w, e->u.call.args.v[i]);
    w_expr(w, ast_call_confidence(e));
    w_expr(w, ast_call_because(e));
    if (e->u.call.ref == REF_ACTION) {
      ExReport *r = w->x->report;
      if (r && r->n == w->capsites) {
        uint32_t nc = w->capsites ? w->capsites * 2 : 16;
        r->v = arena_grow(&w->x->ast->arena, r->v, sizeof *r->v, r->n, nc);
        w->capsites = nc;
      }
      site(w->x, e, w->approve > 0, w->review > 0);
    }
    return;
  case E_CHECKPOINT: {
    const Checkpoint *cp = e->u.cp;
    w_expr(w, cp->title);
    for (uint32_t i = 0; i < cp->nshow; i++) w_expr(w, cp->show[i].value);
    return;
  }
  default:
    return;
  }
}

static void w_stmt(Walk *w, const Stmt *s) {
  switch (s->kind) {
  case S_LET: w_expr(w, s->u.let.value); return;
  case S_ASSIGN: w_expr(w, s->u.assign.target); w_expr(w, s->u.assign.value); return;
  case S_IF:
    w_expr(w, s->u.if_.cond);
    w_stmts(w, &s->u.if_.body);
    if (s->u.if_.els) w_stmt(w, s->u.if_.els);
    return;
  case S_WHILE: w_expr(w, s->u.while_.cond); w_stmts(w, &s->u.while_.body); return;
  case S_FOR: w_expr(w, s->u.for_.iter); w_stmts(w, &s->u.for_.body); return;
  case S_BREAK: case S_CONTINUE: return;
  case S_RETURN: case S_FAIL: case S_LOG: case S_EXPR: w_expr(w, s->u.ret.value); return;
  case S_TRY: w_stmts(w, &s->u.try_.body); w_stmts(w, &s->u.try_.handler); return;
  case S_STEP: w_expr(w, s->u.step.title); w_stmts(w, &s->u.step.body); return;
  case S_CHECKPOINT: {
    const Checkpoint *cp = s->u.checkpoint.cp;
    w_expr(w, cp->title);
    for (uint32_t i = 0; i < cp->nshow; i++) w_expr(w, cp->show[i].value);
    w->approve++;
    w_stmts(w, &s->u.checkpoint.approve);
    w->approve--;
    w_stmts(w, &s->u.checkpoint.reject);
    return;
  }
  case S_REVIEW:
    w_expr(w, s->u.review.title);
    w->review++;
    w_stmts(w, &s->u.review.body);
    w->review--;
    w_stmts(w, &s->u.review.flag);   /* runs later, at the reviewer's verdict */
    return;
  case S_BLOCK: w_stmts(w, &s->u.block); return;
  }
}

static void w_stmts(Walk *w, const StmtList *l) {
  for (uint32_t i = 0; i < l->n; i++) w_stmt(w, l->v[i]);
}

static int by_position(const void *pa, const void *pb) {
  const ExSite *a = pa, *b = pb;
  if (a->span.line != b->span.line) return a->span.line < b->span.line ? -1 : 1;
  return a->span.col < b->span.col ? -1 : a->span.col > b->span.col;
}

static ExReport *analyze(Ast *ast, Diags *d, bool keep) {
  Ex x = {.ast = ast, .d = d};
  bool any_irreversible = false;
  for (uint32_t i = 0; i < ast->decls.n; i++) {
    const Decl *decl = ast->decls.v[i];
    if (decl->kind == D_RULES && !x.rules) x.rules = decl;
    if (decl->kind == D_ACTION && decl->u.action.irreversible) any_irreversible = true;
  }
  if (!keep && !any_irreversible) return NULL;
  uint32_t nrules = x.rules ? x.rules->u.rules.n : 0, maxparams = 1;
  for (uint32_t i = 0; i < ast->decls.n; i++) {
    const Decl *decl = ast->decls.v[i];
    if (decl->kind == D_ACTION && decl->u.action.params.n > maxparams)
      maxparams = decl->u.action.params.n;
  }
  x.out = arena_alloc(&ast->arena, (2 * (size_t)nrules + 2) * sizeof *x.out);
  x.rule_of = arena_alloc(&ast->arena, (2 * (size_t)nrules + 2) * sizeof *x.rule_of);
  x.argv = arena_alloc(&ast->arena, maxparams * sizeof *x.argv);
  if (keep) x.report = arena_alloc(&ast->arena, sizeof *x.report);
  Walk w = {.x = &x};
  /* a fn the checker found no action call (or wait) in has no call site */
  for (uint32_t i = 0; i < ast->decls.n; i++)
    if (ast->decls.v[i]->kind == D_FN && (!ast->waits || ast->waits[i]))
      w_stmts(&w, &ast->decls.v[i]->u.fn.body);
  w_stmts(&w, &ast->body);
  if (x.report && x.report->n > 1)
    qsort(x.report->v, x.report->n, sizeof *x.report->v, by_position);
  return x.report;
}

ExReport *ex_analyze(Ast *ast, Diags *d) { return analyze(ast, d, true); }

void ex_warn(Ast *ast, Diags *d) { analyze(ast, d, false); }

/* ---- output -------------------------------------------------------------- */

/* the shortest text that reads back as the same double */
static void fmt_double(char *buf, size_t n, double v) {
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, n, "%.*g", p, v);
    if (strtod(buf, NULL) == v) break;
  }
  if (!strpbrk(buf, ".eEn")) {   /* keep it a float: 1 -> 1.0 */
    size_t l = strlen(buf);
    if (l + 3 <= n) memcpy(buf + l, ".0", 3);
  }
}

static const char *why_text(char *buf, size_t n, const ExOutcome *o) {
  switch (o->why) {
  case EXW_RULE: snprintf(buf, n, "%u", o->line); break;
  case EXW_MAY_RAISE: snprintf(buf, n, "%u may raise", o->line); break;
  case EXW_RAISES: snprintf(buf, n, "%u raises", o->line); break;
  case EXW_BLAST_MAY_RAISE: snprintf(buf, n, "blast may raise"); break;
  case EXW_BLAST_RAISES: snprintf(buf, n, "blast raises"); break;
  case EXW_NO_MATCH: snprintf(buf, n, "no match"); break;
  }
  return buf;
}

/* A growable line of text: the table is measured before it is printed. */
typedef struct Cell { char *s; size_t len, cap; } Cell;

static void cell_add(Cell *c, const char *s) {
  size_t n = strlen(s);
  if (c->len + n + 1 > c->cap) {
    size_t nc = (c->len + n + 1) * 2;
    char *p = realloc(c->s, nc);
    if (!p) return;   /* the cell stays short; the table is still printed */
    c->s = p;
    c->cap = nc;
  }
  memcpy(c->s + c->len, s, n + 1);
  c->len += n;
}

/* the routes, each once, in the order the walk meets them */
static void routes_into(Cell *c, const ExSite *s) {
  bool firsts = true;
  for (uint32_t i = 0; i < s->nout; i++) {
    bool seen = false;
    for (uint32_t j = 0; j < i; j++) seen |= !strcmp(s->out[j].text, s->out[i].text);
    if (seen) continue;
    if (!firsts) cell_add(c, ", ");
    firsts = false;
    cell_add(c, s->out[i].text);
  }
}

enum { NCOL = 9 };

static size_t text_width(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

void ex_print_table(const ExReport *r, FILE *out) {
  static const char *const head[NCOL] = {
    "line:col", "action", "irreversible", "blast", "compliance", "confidence", "in approve",
    "routes", "rules",
  };
  uint32_t n = r ? r->n : 0;
  Cell *cells = calloc((size_t)(n + 1) * NCOL, sizeof *cells);
  if (!cells) return;
  size_t width[NCOL] = {0};
  for (int k = 0; k < NCOL; k++) cell_add(&cells[k], head[k]);
  for (uint32_t i = 0; i < n; i++) {
    const ExSite *s = &r->v[i];
    Cell *row = &cells[(size_t)(i + 1) * NCOL];
    char buf[64];
    snprintf(buf, sizeof buf, "%u:%u", s->span.line, s->span.col);
    cell_add(&row[0], buf);
    cell_add(&row[1], s->action->name);
    cell_add(&row[2], s->irreversible ? "yes" : "no");
    if (s->blast_known) snprintf(buf, sizeof buf, "%lld", (long long)s->blast);
    cell_add(&row[3], s->blast_known ? buf : "?");
    cell_add(&row[4], s->compliance ? s->compliance : "-");
    if (!s->conf_given) {
      cell_add(&row[5], "none (0.0)");
    } else if (s->conf_known) {
      fmt_double(buf, sizeof buf, s->confidence);
      cell_add(&row[5], buf);
    } else {
      cell_add(&row[5], "?");
    }
    cell_add(&row[6], s->in_approve ? "yes" : s->in_review ? "no (review)" : "no");
    routes_into(&row[7], s);
    for (uint32_t j = 0; j < s->nout; j++) {
      if (j) cell_add(&row[8], ", ");
      cell_add(&row[8], why_text(buf, sizeof buf, &s->out[j]));
    }
  }
  for (uint32_t i = 0; i <= n; i++)
    for (int k = 0; k < NCOL; k++) {
      Cell *c = &cells[(size_t)i * NCOL + k];
      if (!c->s) cell_add(c, "");
      size_t w = c->s ? text_width(c->s) : 0;
      if (w > width[k]) width[k] = w;
    }
  for (uint32_t i = 0; i <= n; i++) {
    for (int k = 0; k < NCOL; k++) {
      Cell *c = &cells[(size_t)i * NCOL + k];
      const char *s = c->s ? c->s : "";
      if (k == NCOL - 1) {
        fprintf(out, "%s\n", s);
      } else {
        fputs(s, out);
        for (size_t p = text_width(s); p < width[k] + 2; p++) fputc(' ', out);
      }
    }
  }
  for (size_t i = 0; i < (size_t)(n + 1) * NCOL; i++) free(cells[i].s);
  free(cells);
}

static void json_str(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c == '\n') fputs("\\n", out);
    else if (c == '\t') fputs("\\t", out);
    else if (c == '\r') fputs("\\r", out);
    else if (c < 0x20) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

static const char *route_kind_name(RouteKind k) {
  switch (k) {
  case R_AUTO: return "auto";
  case R_APPROVE: return "approve";
  case R_REVIEW: return "review";
  case R_DENY: return "deny";
  }
  return "?";
}

static const char *why_name(ExWhy w) {
  switch (w) {
  case EXW_RULE: return "rule";
  case EXW_MAY_RAISE: return "rule may raise";
  case EXW_RAISES: return "rule raises";
  case EXW_BLAST_MAY_RAISE: return "blast may raise";
  case EXW_BLAST_RAISES: return "blast raises";
  case EXW_NO_MATCH: return "no match";
  }
  return "?";
}

void ex_print_json(const ExReport *r, FILE *out) {
  uint32_t n = r ? r->n : 0;
  fputs("[", out);
  for (uint32_t i = 0; i < n; i++) {
    const ExSite *s = &r->v[i];
    char buf[64];
    fprintf(out, "%s\n  {\"line\": %u, \"col\": %u, \"action\": ", i ? "," : "", s->span.line,
            s->span.col);
    json_str(out, s->action->name);
    fprintf(out, ", \"irreversible\": %s, \"blast\": ", s->irreversible ? "true" : "false");
    if (s->blast_known) fprintf(out, "%lld", (long long)s->blast);
    else fputs("null", out);
    fputs(", \"compliance\": ", out);
    if (s->compliance) json_str(out, s->compliance);
    else fputs("null", out);
    fputs(", \"confidence\": ", out);
    if (s->conf_known) {
      fmt_double(buf, sizeof buf, s->confidence);
      fputs(buf, out);
    } else {
      fputs("null", out);
    }
    fprintf(out, ", \"in_approve\": %s, \"in_review\": %s, \"routes\": [",
            s->in_approve ? "true" : "false", s->in_review ? "true" : "false");
    uint32_t k = 0;
    for (uint32_t j = 0; j < s->nout; j++) {
      bool seen = false;
      for (uint32_t p = 0; p < j; p++) seen |= !strcmp(s->out[p].text, s->out[j].text);
      if (seen) continue;
      if (k++) fputs(", ", out);
      json_str(out, s->out[j].text);
    }
    fputs("], \"rules\": [", out);
    for (uint32_t j = 0; j < s->nout; j++) {
      const ExOutcome *o = &s->out[j];
      fprintf(out, "%s{\"line\": ", j ? ", " : "");
      if (o->line) fprintf(out, "%u", o->line);
      else fputs("null", out);
      fprintf(out, ", \"why\": \"%s\", \"route\": \"%s\", \"text\": ", why_name(o->why),
              route_kind_name(o->route));
      json_str(out, o->text);
      fputs("}", out);
    }
    fputs("]}", out);
  }
  fputs(n ? "\n]\n" : "]\n", out);
}
