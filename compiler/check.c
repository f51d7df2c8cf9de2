/* compiler/check.c — the checker's entry point and the declarations.
 *
 * ck_check declares every top-level name first (inputs, params, fns and
 * actions share one namespace, so order does not matter and fns may
 * recurse), then checks inputs and params, actions, fns, the body, and
 * last the rules and thresholds.  It reports as many errors as it can in one run; the
 * tree is then ready for the code generator: every expression has its
 * static type, every name and call its resolution, every frame its size. */
#include <string.h>

#include "check.h"
#include "front.h"

static const char *global_kind_text(GlobalKind k) {
  static const char *const text[] = {
    [G_INPUT] = "an input", [G_PARAM] = "a param", [G_FN] = "a function",
    [G_ACTION] = "an action",
  };
  return text[k];
}

/* quiet: skip a name already taken without a word (fields of a second,
 * already reported input block) */
static void declare_global(Ck *c, const char *name, Span span, GlobalKind kind, TypeSet type,
                           Decl *d, int index, bool quiet) {
  Global *g = ck_global(c, name);
  if (g && quiet) return;
  if (ck_builtin(name) >= 0) {
    diag_error(c->d, span, "'%s' is already declared as a built-in function", name);
    diag_hint(c->d, "built-in function names cannot be redeclared; choose another name");
    return;
  }
  if (g) {
    diag_error(c->d, span, "'%s' is already declared", name);
    diag_hint(c->d, "first declared as %s at line %u; inputs, params, functions and actions "
                    "share one namespace", global_kind_text(g->kind), g->span.line);
    return;
  }
  ck_add_global(c, (Global){name, span, kind, type ? type : TY_ANY, d, index});
}

/* A second input, thresholds or rules block. */
static bool only_one(Ck *c, Decl **first, Decl *d, const char *what) {
  if (!*first) {
    *first = d;
    return true;
  }
  diag_error(c->d, d->span, "only one '%s' block is allowed", what);
  diag_hint(c->d, "the first one is at line %u; merge them", (*first)->span.line);
  return false;
}

static void declare_all(Ck *c) {
  Ast *ast = c->ast;
  Decl *input = NULL, *thresholds = NULL, *rules = NULL;
  for (uint32_t i = 0; i < ast->decls.n; i++) {
    Decl *d = ast->decls.v[i];
    switch (d->kind) {
    case D_INPUT: {
      bool first = only_one(c, &input, d, "input");
      for (uint32_t k = 0; k < d->u.input.n; k++) {
        Param *p = &d->u.input.v[k];
        declare_global(c, p->name, p->span, G_INPUT, p->type, d, first ? (int)k : -1, !first);
      }
      break;
    }
    case D_PARAM:
      declare_global(c, d->name, d->name_span, G_PARAM, d->u.param.type, d, (int)i, false);
      break;
    case D_ACTION:
      declare_global(c, d->name, d->name_span, G_ACTION, 0, d, (int)i, false);
      break;
    case D_FN:
      declare_global(c, d->name, d->name_span, G_FN, 0, d, (int)i, false);
      break;
    case D_THRESHOLDS:
      only_one(c, &thresholds, d, "thresholds");
      break;
    case D_RULES:
      only_one(c, &rules, d, "rules");
      break;
    }
  }
}

/* ---- inputs and params --------------------------------------------------- */

static void check_constant(Ck *c, Expr *e, TypeSet want, const char *what, const char *name) {
  const char *w = arena_printf(c->a, "%s of '%s'", what, name);
  if (!ck_const(c, e, w)) return;
  c->mode = CK_CONST;
  TypeSet t = ck_expr(c, e);
  if (!ck_fits(t, want))
    diag_error(c->d, e->span, "%s must be %s, found %s", w, ck_ty(c, want), ck_ty(c, t));
}

static void check_input(Ck *c, Decl *d) {
  for (uint32_t k = 0; k < d->u.input.n; k++) {
    Param *p = &d->u.input.v[k];
    if (p->deflt) check_constant(c, p->deflt, p->type ? p->type : TY_ANY, "default", p->name);
  }
}

static void check_param(Ck *c, Decl *d) {
  if (d->u.param.value)
    check_constant(c, d->u.param.value, d->u.param.type ? d->u.param.type : TY_ANY, "value",
                   d->name);
}

/* ---- actions ------------------------------------------------------------- */

static void check_undo(Ck *c, Decl *d) {
  const char *name = d->u.action.undo;
  Span at = d->u.action.undo_span;
  Global *g = ck_global(c, name);
  if (!g && ck_builtin(name) < 0) {
    diag_error(c->d, at, "undeclared function '%s': undo must name an action", name);
    return;
  }
  if (!g || g->kind != G_ACTION) {
    diag_error(c->d, at, "'%s' is not an action: undo must name an action", name);
    return;
  }
  if (g->decl == d) {
    diag_error(c->d, at, "'%s' cannot be its own undo", name);
    return;
  }
  ParamList *mine = &d->u.action.params, *theirs = &g->decl->u.action.params;
  if (theirs->n != mine->n + 1) {
    diag_error(c->d, at, "undo action '%s' takes %u argument(s), found %u", name, theirs->n,
               mine->n + 1);
    diag_hint(c->d, "an undo is called with the arguments of '%s' and then its result",
              d->name);
    return;
  }
  for (uint32_t i = 0; i < theirs->n; i++) {
    TypeSet have = i < mine->n ? mine->v[i].type
                 : d->u.action.has_result ? d->u.action.result : TY_ANY;
    if (!ck_fits(have, theirs->v[i].type))
      diag_error(c->d, at, "parameter %u of undo action '%s' must be %s, found %s", i + 1,
                 name, ck_ty(c, theirs->v[i].type), ck_ty(c, have));
  }
}

static void check_action(Ck *c, Decl *d, int index) {
  ParamList *ps = &d->u.action.params;
  ck_begin_frame(c, CK_BLAST, d, index);
  for (uint32_t i = 0; i < ps->n; i++) ck_declare(c, ps->v[i].name, ps->v[i].span, ps->v[i].type);
  if (d->u.action.blast) {
    TypeSet t = ck_expr(c, d->u.action.blast);
    if (!ck_fits(t, TY_INT))
      diag_error(c->d, d->u.action.blast->span, "blast of '%s' must be int, found %s", d->name,
                 ck_ty(c, t));
  }
  d->u.action.nslots = ck_end_frame(c);

  NameList *ed = &d->u.action.edit;
  for (uint32_t i = 0; i < ed->n; i++) {
    uint32_t k = 0;
    while (k < ps->n && strcmp(ps->v[k].name, ed->v[i]) != 0) k++;
    if (k == ps->n) {
      diag_error(c->d, ed->spans[i], "'%s' is not a parameter of '%s'", ed->v[i], d->name);
      continue;
    }
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(ed->v[j], ed->v[i]) == 0) {
        diag_error(c->d, ed->spans[i], "'%s' is already listed in edit", ed->v[i]);
        break;
      }
  }
  if (d->u.action.undo) check_undo(c, d);
}

/* ---- fns ----------------------------------------------------------------- */

static bool always_returns(const StmtList *l);

/* Whether control cannot reach the end of s: a simple, safe approximation
 * (loops and checkpoints never count). */
static bool stmt_returns(const Stmt *s) {
  switch (s->kind) {
  case S_RETURN: case S_FAIL:
    return true;
  case S_IF:
    return s->u.if_.els && always_returns(&s->u.if_.body) && stmt_returns(s->u.if_.els);
  case S_BLOCK:
    return always_returns(&s->u.block);
  case S_TRY:
    return always_returns(&s->u.try_.body) && always_returns(&s->u.try_.handler);
  case S_STEP:
    return always_returns(&s->u.step.body);
  default:
    return false;
  }
}

static bool always_returns(const StmtList *l) {
  for (uint32_t i = 0; i < l->n; i++)
    if (stmt_returns(l->v[i])) return true;
  return false;
}

static void check_fn(Ck *c, Decl *d, int index) {
  ParamList *ps = &d->u.fn.params;
  ck_begin_frame(c, CK_FN, d, index);
  for (uint32_t i = 0; i < ps->n; i++) ck_declare(c, ps->v[i].name, ps->v[i].span, ps->v[i].type);
  ck_stmts(c, &d->u.fn.body);   /* parameters and body share one block */
  d->u.fn.nslots = ck_end_frame(c);
  if (d->u.fn.has_result && !always_returns(&d->u.fn.body)) {
    diag_error(c->d, d->name_span, "'%s' may end without returning a value", d->name);
    diag_hint(c->d, "its result is %s: end every path with 'return' or 'fail'",
              ck_ty(c, d->u.fn.result));
  }
}

/* A fn that calls one that calls an action (or waits) does so too. */
static void propagate_waits(Ck *c) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (uint32_t i = 0; i < c->ncalls; i++)
      if (c->waits[c->calls[i].to] && !c->waits[c->calls[i].from]) {
        c->waits[c->calls[i].from] = true;
        changed = true;
      }
  }
}

/* ---- thresholds and rules ------------------------------------------------ */

static void check_thresholds(Ck *c, Decl *d) {
  for (uint32_t i = 0; i < d->u.thresholds.n; i++) {
    Threshold *t = &d->u.thresholds.v[i];
    if (strcmp(t->action, "default") != 0) {
      Global *g = ck_global(c, t->action);
      if (!g || g->kind != G_ACTION) {
        diag_error(c->d, t->span, "unknown action '%s' in thresholds", t->action);
        if (g) diag_hint(c->d, "'%s' is %s", t->action, global_kind_text(g->kind));
      }
    }
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(d->u.thresholds.v[j].action, t->action) == 0) {
        diag_error(c->d, t->span, "'%s' is already declared in thresholds", t->action);
        diag_hint(c->d, "first given at line %u", d->u.thresholds.v[j].span.line);
        break;
      }
    if (!(t->value >= 0.0 && t->value <= 1.0))
      diag_error(c->d, t->value_span, "threshold must be between 0 and 1, found %g", t->value);
  }
}

static void check_route(Ck *c, Route *r) {
  if (r->by && !*r->by)
    diag_error(c->d, r->by_span, "'by' must name a group, found an empty string");
  if (r->quorum_span.line && r->quorum < 1)
    diag_error(c->d, r->quorum_span, "quorum must be at least 1, found %lld",
               (long long)r->quorum);
  if (r->timeout.present && r->timeout.seconds <= 0)
    diag_error(c->d, r->timeout.span, "timeout must be greater than 0");
  if (r->within_span.line && r->within <= 0)
    diag_error(c->d, r->within_span, "'within' must be greater than 0");
}

static void check_rules(Ck *c, Decl *d) {
  for (uint32_t i = 0; i < d->u.rules.n; i++) {
    Rule *r = &d->u.rules.v[i];
    ck_begin_frame(c, CK_RULE, NULL, -1);
    if (r->cond) ck_cond(c, r->cond, "rule condition");
    ck_end_frame(c);
    check_route(c, &r->route);
  }
}

/* ---- entry --------------------------------------------------------------- */

bool ck_check(Ast *ast, Diags *d) {
  unsigned errors = d->errors;
  Ck ck = {.ast = ast, .d = d, .a = &ast->arena, .decl_index = -1};
  Ck *c = &ck;
  uint32_t n = ast->decls.n;
  c->waits = arena_alloc(c->a, (n ? n : 1) * sizeof *c->waits);

  declare_all(c);
  for (uint32_t i = 0; i < n; i++) {
    Decl *decl = ast->decls.v[i];
    if (decl->kind == D_INPUT) check_input(c, decl);
    else if (decl->kind == D_PARAM) check_param(c, decl);
    else if (decl->kind == D_ACTION) check_action(c, decl, (int)i);
  }
  for (uint32_t i = 0; i < n; i++)
    if (ast->decls.v[i]->kind == D_FN) check_fn(c, ast->decls.v[i], (int)i);
  propagate_waits(c);
  ast->waits = c->waits;

  ck_begin_frame(c, CK_BODY, NULL, -1);
  ck_stmts(c, &ast->body);
  ast->body_nslots = ck_end_frame(c);

  /* after the fns (which of them wait) and the body (its locals' names) */
  for (uint32_t i = 0; i < n; i++) {
    Decl *decl = ast->decls.v[i];
    if (decl->kind == D_RULES) check_rules(c, decl);
    else if (decl->kind == D_THRESHOLDS) check_thresholds(c, decl);
  }
  return d->errors == errors;
}
