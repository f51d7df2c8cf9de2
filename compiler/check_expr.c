/* compiler/check_expr.c — static types of expressions, names and calls.
 *
 * Types are TypeSets: the set of run-time types a value may have.  An
 * operation is reported only when no member of its operands' sets could make
 * it valid, so `any` never causes an error here; the VM checks it at run
 * time.  Every expression gets its type, even after an error (then `any`, so
 * one mistake does not cascade). */
#include <string.h>

#include "check.h"
#include "stdlib/builtins.h"

typedef struct Builtin {
  const char *name;
  int min, max;         /* max -1 = any number */
  TypeSet result;
  TypeSet arg[3];       /* later arguments take arg[0]'s type */
} Builtin;

#define CK_BUILTIN_ROW(n, mi, ma, r, a1, a2, a3) {#n, mi, ma, r, {a1, a2, a3}},
static const Builtin builtins[] = { HITL_BUILTINS(CK_BUILTIN_ROW) };
#undef CK_BUILTIN_ROW

enum { NBUILTINS = sizeof builtins / sizeof builtins[0] };

#define CK_BUILTIN_ENUM(n, mi, ma, r, a1, a2, a3) BI_##n,
enum { HITL_BUILTINS(CK_BUILTIN_ENUM) };   /* BI_len, BI_str, ...: rows of builtins[] */
#undef CK_BUILTIN_ENUM

/* Every name is looked up here and in the risk context below, so the first
 * character is compared before the strcmp. */
int ck_builtin(const char *name) {
  for (int i = 0; i < NBUILTINS; i++)
    if (builtins[i].name[0] == name[0] && strcmp(builtins[i].name, name) == 0) return i;
  return -1;
}

/* The risk context of a rule (LANGUAGE.md §6). */
static const struct { const char *name; TypeSet type; bool keyword; } context[] = {
  {"action", TY_STRING, true},       {"args", TY_MAP, false},
  {"irreversible", TY_BOOL, true},   {"blast", TY_INT, true},
  {"compliance", TY_STRING | TY_NIL, true},
  {"confidence", TY_FLOAT, true},    {"threshold", TY_FLOAT, false},
  {"risk", TY_FLOAT, false},         {"queue", TY_INT, false},
  {"approved", TY_BOOL, false},      {"reviewed", TY_BOOL, false},
};

/* Every name of the body is looked up here (the context keywords are an
 * error outside rules): the candidates by first letter, as row + 1 (0: none),
 * so most names cost one table load. */
static int context_index(const char *name) {
  static const unsigned char cand[26][3] = {
    ['a' - 'a'] = {1, 2, 10}, ['b' - 'a'] = {4}, ['c' - 'a'] = {5, 6}, ['i' - 'a'] = {3},
    ['q' - 'a'] = {9},        ['r' - 'a'] = {8, 11}, ['t' - 'a'] = {7},
  };
  unsigned f = (unsigned)(unsigned char)name[0] - 'a';
  if (f >= 26) return -1;
  for (int k = 0; k < 3 && cand[f][k]; k++) {
    int i = cand[f][k] - 1;
    if (strcmp(context[i].name, name) == 0) return i;
  }
  return -1;
}

bool ck_is_context_keyword(const char *name) {
  int i = context_index(name);
  return i >= 0 && context[i].keyword;
}

bool ck_fits(TypeSet have, TypeSet want) {
  if (!have || !want) return true;
  if (want & TY_FLOAT) want |= TY_INT;
  return (have & want) != 0;
}

const char *ck_ty(Ck *c, TypeSet t) { return ast_type_text(c->a, t ? t : TY_ANY); }

static uint32_t hash_name(const char *s) {
  uint32_t h = 2166136261u;   /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

Global *ck_global(Ck *c, const char *name) {
  if (!c->ghcap) return NULL;
  for (uint32_t h = hash_name(name) & (c->ghcap - 1);; h = (h + 1) & (c->ghcap - 1)) {
    uint32_t i = c->gh[h];
    if (!i) return NULL;
    if (ck_same_name(c->g[i - 1].name, name)) return &c->g[i - 1];
  }
}

static void index_global(Ck *c, uint32_t i) {
  uint32_t h = hash_name(c->g[i].name) & (c->ghcap - 1);
  while (c->gh[h]) h = (h + 1) & (c->ghcap - 1);
  c->gh[h] = i + 1;
}

void ck_add_global(Ck *c, Global g) {
  if (c->ng == c->capg) {
    uint32_t nc = c->capg ? c->capg * 2 : 32;
    c->g = arena_grow(c->a, c->g, sizeof *c->g, c->ng, nc);
    c->capg = nc;
  }
  c->g[c->ng++] = g;
  if (c->ng * 2 > c->ghcap) {   /* keep the table at most half full */
    c->ghcap = c->ghcap ? c->ghcap * 2 : 64;
    c->gh = arena_alloc(c->a, c->ghcap * sizeof *c->gh);
    for (uint32_t i = 0; i < c->ng; i++) index_global(c, i);
  } else {
    index_global(c, c->ng - 1);
  }
}

void ck_cond(Ck *c, Expr *e, const char *what) {
  TypeSet t = ck_expr(c, e);
  if (!(t & TY_BOOL))
    diag_error(c->d, e->span, "%s must be bool, found %s", what, ck_ty(c, t));
}

bool ck_const(Ck *c, Expr *e, const char *what) {
  switch (e->kind) {
  case E_NIL: case E_BOOL: case E_INT: case E_FLOAT: case E_STRING:
    return true;
  case E_UNARY:
    if (e->u.op.op == OP_NEG && (e->u.op.a->kind == E_INT || e->u.op.a->kind == E_FLOAT))
      return true;
    break;
  case E_LIST:
    for (uint32_t i = 0; i < e->u.list.n; i++)
      if (!ck_const(c, e->u.list.v[i], what)) return false;
    return true;
  case E_MAP:
    for (uint32_t i = 0; i < e->u.map.keys.n; i++) {
      if (!ck_const(c, e->u.map.keys.v[i], what)) return false;
      if (!ck_const(c, e->u.map.vals.v[i], what)) return false;
    }
    return true;
  default:
    break;
  }
  diag_error(c->d, e->span, "%s must be a constant", what);
  diag_hint(c->d, "use literals, negated numbers, and lists or maps of them");
  return false;
}

/* ---- names --------------------------------------------------------------- */

static const char *global_kind_text(GlobalKind k) {
  switch (k) {
  case G_INPUT: return "an input";
  case G_PARAM: return "a param";
  case G_FN: return "a function";
  case G_ACTION: return "an action";
  }
  return "a name";
}

static TypeSet name_expr(Ck *c, Expr *e) {
  const char *n = e->u.name.name;
  e->u.name.slot = -1;
  e->u.name.ref = REF_NONE;
  e->u.name.index = -1;

  if (c->mode == CK_RULE) {
    int k = context_index(n);
    if (k >= 0) {
      e->u.name.ref = REF_CONTEXT;
      e->u.name.index = k;
      return context[k].type;
    }
  } else if (ck_is_context_keyword(n)) {
    diag_error(c->d, e->span, "'%s' is only available in rule conditions", n);
    return TY_ANY;
  }

  Local *l = ck_local(c, n);
  if (l) {
    e->u.name.ref = REF_LOCAL;
    e->u.name.slot = l->slot;
    return l->type;
  }
  Global *g = ck_global(c, n);
  if (c->mode == CK_BLAST) {
    if (g || ck_builtin(n) >= 0) {
      diag_error(c->d, e->span, "'%s' is not a parameter of '%s'", n, c->decl->name);
      diag_hint(c->d, "blast may use only the action's parameters and built-in functions");
    } else {
      diag_error(c->d, e->span, "undeclared name '%s'", n);
    }
    return TY_ANY;
  }
  if (g && (g->kind == G_INPUT || g->kind == G_PARAM)) {
    e->u.name.ref = g->kind == G_INPUT ? REF_INPUT : REF_PARAM;
    e->u.name.index = g->index;
    return g->type;
  }
  if (g || ck_builtin(n) >= 0) {
    diag_error(c->d, e->span, "'%s' is %s, not a value", n,
               g ? global_kind_text(g->kind) : "a built-in function");
    diag_hint(c->d, "call it: %s(...)", n);
    return TY_ANY;
  }
  if (c->mode == CK_RULE && ck_seen_local(c, n)) {
    diag_error(c->d, e->span, "'%s' is not available in a rule", n);
    diag_hint(c->d, "a rule sees the risk context (action, args, confidence, ...), inputs, "
                    "params and functions, not the body's variables");
  } else if (c->mode != CK_RULE && context_index(n) >= 0) {
    diag_error(c->d, e->span, "'%s' is only available in rule conditions", n);
  } else {
    diag_error(c->d, e->span, "undeclared name '%s'", n);
  }
  return TY_ANY;
}

/* ---- calls --------------------------------------------------------------- */

static bool arity_ok(Ck *c, Expr *e, int min, int max) {
  const char *f = e->u.call.name;
  uint32_t n = e->u.call.args.n;
  if ((int64_t)n >= min && (max < 0 || (int64_t)n <= max)) return true;
  if (min == max)
    diag_error(c->d, e->span, "'%s' takes %d argument(s), found %u", f, min, n);
  else if (max < 0)
    diag_error(c->d, e->span, "'%s' takes at least %d argument(s), found %u", f, min, n);
  else
    diag_error(c->d, e->span, "'%s' takes %d to %d argument(s), found %u", f, min, max, n);
  return false;
}

static void arg_fits(Ck *c, Expr *e, uint32_t i, TypeSet want) {
  Expr *arg = e->u.call.args.v[i];
  if (!ck_fits(arg->type, want))
    diag_error(c->d, arg->span, "argument %u of '%s' must be %s, found %s", i + 1,
               e->u.call.name, ck_ty(c, want), ck_ty(c, arg->type));
}

/* int if every operand may be an int, float if one may be a float */
static TypeSet arith_result(TypeSet a, TypeSet b) {
  TypeSet r = 0;
  if ((a & TY_INT) && (b & TY_INT)) r |= TY_INT;
  if (((a & TY_FLOAT) && (b & TY_NUM)) || ((b & TY_FLOAT) && (a & TY_NUM))) r |= TY_FLOAT;
  return r ? r : TY_NUM;
}

static TypeSet builtin_call(Ck *c, Expr *e, int bi) {
  const Builtin *b = &builtins[bi];
  ExprList *args = &e->u.call.args;
  e->u.call.ref = REF_BUILTIN;
  e->u.call.index = bi;
  arity_ok(c, e, b->min, b->max);
  bool minmax = bi == BI_min || bi == BI_max;
  if (minmax && args->n == 1) {
    arg_fits(c, e, 0, TY_LIST);
    return b->result;
  }
  if (minmax) {
    TypeSet r = 0;
    for (uint32_t i = 0; i < args->n; i++) {
      arg_fits(c, e, i, TY_NUM);
      TypeSet t = args->v[i]->type & TY_NUM;
      r = i == 0 ? (t ? t : TY_NUM) : arith_result(r, t ? t : TY_NUM);
    }
    return r ? r : b->result;
  }
  uint32_t n = args->n;
  if (b->max >= 0 && n > (uint32_t)b->max) n = (uint32_t)b->max;
  for (uint32_t i = 0; i < n; i++) {
    TypeSet want = b->arg[i < 3 ? i : 0];
    if (want) arg_fits(c, e, i, want);
  }
  if (bi == BI_abs && args->n == 1 && (args->v[0]->type & TY_NUM))
    return args->v[0]->type & TY_NUM;
  return b->result;
}

static TypeSet decl_call(Ck *c, Expr *e, Global *g) {
  Decl *d = g->decl;
  ParamList *ps = g->kind == G_FN ? &d->u.fn.params : &d->u.action.params;
  ExprList *args = &e->u.call.args;
  e->u.call.ref = g->kind == G_FN ? REF_FN : REF_ACTION;
  e->u.call.index = g->index;
  arity_ok(c, e, (int)ps->n, (int)ps->n);
  for (uint32_t i = 0; i < args->n && i < ps->n; i++) arg_fits(c, e, i, ps->v[i].type);

  if (c->mode == CK_BLAST) {
    diag_error(c->d, e->span, "blast of '%s' may call only built-in functions, not '%s'",
               c->decl->name, d->name);
  } else if (c->mode == CK_RULE && g->kind == G_ACTION) {
    diag_error(c->d, e->span, "action '%s' is not available in a rule", d->name);
    diag_hint(c->d, "rules decide how actions run; they cannot call them");
  } else if (c->mode == CK_RULE && c->waits[g->index]) {
    diag_error(c->d, e->span,
               "'%s' calls an action or waits for a person, so it is not available in a rule",
               d->name);
  } else if (c->mode == CK_FN && g->kind == G_ACTION) {
    ck_note_wait(c);
  } else if (c->mode == CK_FN) {
    if (c->ncalls == c->capcalls) {
      uint32_t nc = c->capcalls ? c->capcalls * 2 : 16;
      c->calls = arena_grow(c->a, c->calls, sizeof *c->calls, c->ncalls, nc);
      c->capcalls = nc;
    }
    c->calls[c->ncalls].from = c->decl_index;
    c->calls[c->ncalls].to = g->index;
    c->ncalls++;
  }

  if (g->kind == G_FN) return d->u.fn.has_result ? d->u.fn.result : TY_NIL;
  return d->u.action.has_result ? d->u.action.result : TY_ANY;
}

static TypeSet call_expr(Ck *c, Expr *e) {
  const char *n = e->u.call.name;
  ExprList *args = &e->u.call.args;
  e->u.call.ref = REF_NONE;
  e->u.call.index = -1;
  for (uint32_t i = 0; i < args->n; i++) ck_expr(c, args->v[i]);

  TypeSet t = TY_ANY;
  bool is_action = false;
  Local *l = ck_local(c, n);
  Global *g = l ? NULL : ck_global(c, n);
  int bi = l || g ? -1 : ck_builtin(n);
  if (l) {
    diag_error(c->d, e->span, "'%s' is not a function (it is a variable)", n);
  } else if (g && (g->kind == G_INPUT || g->kind == G_PARAM)) {
    diag_error(c->d, e->span, "'%s' is not a function (it is %s)", n, global_kind_text(g->kind));
  } else if (g) {
    t = decl_call(c, e, g);
    is_action = g->kind == G_ACTION;
  } else if (bi >= 0) {
    t = builtin_call(c, e, bi);
  } else {
    diag_error(c->d, e->span, "undeclared function '%s'", n);
  }

  Expr *conf = ast_call_confidence(e), *because = ast_call_because(e);
  if (conf) {
    TypeSet ct = ck_expr(c, conf);
    if (!is_action && (l || g || bi >= 0)) {
      diag_error(c->d, e->u.call.clauses->confidence_span,
                 "'with confidence' must follow an action call; '%s' is not an action", n);
    } else if (!ck_fits(ct, TY_FLOAT)) {
      diag_error(c->d, conf->span, "confidence must be float, found %s", ck_ty(c, ct));
    } else {
      /* a literal out of range is certainly wrong */
      bool neg = conf->kind == E_UNARY && conf->u.op.op == OP_NEG;
      Expr *lit = neg ? conf->u.op.a : conf;
      double v = lit->kind == E_FLOAT ? lit->u.f : lit->kind == E_INT ? (double)lit->u.i : 0.5;
      if (neg) v = -v;
      if (!(v >= 0.0 && v <= 1.0))
        diag_error(c->d, conf->span, "confidence must be between 0 and 1, found %g", v);
    }
  }
  if (because) {
    ck_expr(c, because);
    if (!is_action && (l || g || bi >= 0))
      diag_error(c->d, e->u.call.clauses->because_span,
                 "'because' must follow an action call; '%s' is not an action", n);
  }
  return t;
}

/* ---- operators ----------------------------------------------------------- */

static TypeSet op_error(Ck *c, Expr *e, TypeSet a, TypeSet b) {
  diag_error(c->d, e->span, "operator '%s' cannot take %s and %s", ast_op_text(e->u.op.op),
             ck_ty(c, a), ck_ty(c, b));
  if (e->u.op.op == OP_ADD && ((a & TY_STRING) || (b & TY_STRING)))
    diag_hint(c->d, "convert with str(...) or use interpolation: \"{x}\"");
  return TY_ANY;
}

static TypeSet unary_expr(Ck *c, Expr *e) {
  bool not = e->u.op.op == OP_NOT;
  TypeSet a = ck_expr(c, e->u.op.a);
  TypeSet want = not ? TY_BOOL : TY_NUM;
  if (!(a & want)) {
    diag_error(c->d, e->span, "operator '%s' cannot take %s", ast_op_text(e->u.op.op),
               ck_ty(c, a));
    diag_hint(c->d, "its operand must be %s", ck_ty(c, want));
    return not ? TY_BOOL : TY_ANY;
  }
  return not ? TY_BOOL : a & TY_NUM;
}

static TypeSet binary_expr(Ck *c, Expr *e) {
  Op op = e->u.op.op;
  TypeSet a = ck_expr(c, e->u.op.a), b = ck_expr(c, e->u.op.b);
  if (op == OP_AND || op == OP_OR) {
    if (!(a & TY_BOOL) || !(b & TY_BOOL)) {
      op_error(c, e, a, b);
      diag_hint(c->d, "both operands must be bool; compare first, e.g. n != 0");
    }
    return TY_BOOL;
  }
  bool nums = (a & TY_NUM) && (b & TY_NUM);
  bool strs = (a & TY_STRING) && (b & TY_STRING);
  switch (op) {
  case OP_ADD: {
    if (!nums && !strs) return op_error(c, e, a, b);
    TypeSet r = nums ? arith_result(a, b) : 0;
    return strs ? r | TY_STRING : r;
  }
  case OP_SUB: case OP_MUL: case OP_IDIV: case OP_MOD:
    if (!nums) return op_error(c, e, a, b);
    return arith_result(a, b);
  case OP_DIV:
    if (!nums) return op_error(c, e, a, b);
    return TY_FLOAT;
  case OP_LT: case OP_LE: case OP_GT: case OP_GE:
    if (!nums && !strs) op_error(c, e, a, b);
    return TY_BOOL;
  case OP_EQ: case OP_NE:
    return TY_BOOL;
  case OP_IN:
    if (!(b & (TY_STRING | TY_LIST | TY_MAP)) || (b == TY_STRING && !(a & TY_STRING)))
      op_error(c, e, a, b);
    return TY_BOOL;
  default:
    return TY_ANY;
  }
}

static TypeSet index_expr(Ck *c, Expr *e) {
  TypeSet a = ck_expr(c, e->u.index.a), i = ck_expr(c, e->u.index.b);
  TypeSet coll = a & (TY_STRING | TY_LIST | TY_MAP);
  if (!coll) {
    diag_error(c->d, e->span, "indexed value must be string or list or map, found %s",
               ck_ty(c, a));
    return TY_ANY;
  }
  TypeSet want = ((coll & (TY_STRING | TY_LIST)) ? TY_INT : 0) | ((coll & TY_MAP) ? TY_STRING : 0);
  if (!(i & want))
    diag_error(c->d, e->u.index.b->span, "index of %s must be %s, found %s", ck_ty(c, coll),
               ck_ty(c, want), ck_ty(c, i));
  return coll == TY_STRING ? TY_STRING : TY_ANY;
}

static TypeSet field_expr(Ck *c, Expr *e) {
  TypeSet a = ck_expr(c, e->u.field.a);
  if (!(a & TY_MAP))
    diag_error(c->d, e->u.field.name_span, "value before '.%s' must be map, found %s",
               e->u.field.name, ck_ty(c, a));
  return TY_ANY;
}

TypeSet ck_expr(Ck *c, Expr *e) {
  TypeSet t = TY_ANY;
  switch (e->kind) {
  case E_NIL: t = TY_NIL; break;
  case E_BOOL: t = TY_BOOL; break;
  case E_INT: t = TY_INT; break;
  case E_FLOAT: t = TY_FLOAT; break;
  case E_STRING: t = TY_STRING; break;
  case E_INTERP:
    for (uint32_t i = 0; i < e->u.list.n; i++) ck_expr(c, e->u.list.v[i]);
    t = TY_STRING;
    break;
  case E_NAME: t = name_expr(c, e); break;
  case E_LIST:
    for (uint32_t i = 0; i < e->u.list.n; i++) ck_expr(c, e->u.list.v[i]);
    t = TY_LIST;
    break;
  case E_MAP:
    for (uint32_t i = 0; i < e->u.map.keys.n; i++) {
      ck_expr(c, e->u.map.keys.v[i]);
      ck_expr(c, e->u.map.vals.v[i]);
    }
    t = TY_MAP;
    break;
  case E_UNARY: t = unary_expr(c, e); break;
  case E_BINARY: t = binary_expr(c, e); break;
  case E_INDEX: t = index_expr(c, e); break;
  case E_FIELD: t = field_expr(c, e); break;
  case E_CALL: t = call_expr(c, e); break;
  case E_CHECKPOINT:
    ck_checkpoint(c, e->u.cp);   /* yields the verdict map, whatever it is */
    t = TY_MAP;
    break;
  }
  e->type = t ? t : TY_ANY;
  return e->type;
}
