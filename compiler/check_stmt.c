/* compiler/check_stmt.c — statements: scopes and slots, assignments, loops,
 * returns, checkpoints and reviews.
 *
 * Locals live on one stack.  A frame (the body, a fn, a blast) starts at
 * `frame`, a block at `block`; a local's slot is its depth in the frame, so
 * a slot is reused once its block has ended, and the high-water mark is the
 * number of slots the frame needs.  A `step` does not open a block. */
#include <string.h>

#include "check.h"

/* ---- scopes -------------------------------------------------------------- */

uint32_t ck_open(Ck *c) {
  uint32_t saved = c->block;
  c->block = c->nloc;
  return saved;
}

void ck_close(Ck *c, uint32_t saved) {
  c->nloc = c->block;
  c->block = saved;
}

int ck_declare(Ck *c, const char *name, Span span, TypeSet type) {
  for (uint32_t i = c->block; i < c->nloc; i++) {
    if (ck_same_name(c->loc[i].name, name)) {
      diag_error(c->d, span, "'%s' is already declared", name);
      diag_hint(c->d, "first declared at line %u; to change it, assign: %s = ...",
                c->loc[i].span.line, name);
      break;
    }
  }
  if (c->nloc == c->caploc) {
    uint32_t nc = c->caploc ? c->caploc * 2 : 32;
    c->loc = arena_grow(c->a, c->loc, sizeof *c->loc, c->nloc, nc);
    c->caploc = nc;
  }
  if (c->mode == CK_BODY || c->mode == CK_FN) {
    if (c->nseen == c->capseen) {
      uint32_t nc = c->capseen ? c->capseen * 2 : 32;
      c->seen = arena_grow(c->a, c->seen, sizeof *c->seen, c->nseen, nc);
      c->capseen = nc;
    }
    c->seen[c->nseen++] = name;
  }
  int slot = (int)(c->nloc - c->frame);
  c->loc[c->nloc++] = (Local){name, span, type ? type : TY_ANY, slot};
  if ((uint32_t)slot + 1 > c->maxslots) c->maxslots = (uint32_t)slot + 1;
  return slot;
}

Local *ck_local(Ck *c, const char *name) {
  for (uint32_t i = c->nloc; i > c->frame; i--)
    if (ck_same_name(c->loc[i - 1].name, name)) return &c->loc[i - 1];
  return NULL;
}

bool ck_seen_local(Ck *c, const char *name) {
  for (uint32_t i = 0; i < c->nseen; i++)
    if (ck_same_name(c->seen[i], name)) return true;
  return false;
}

void ck_begin_frame(Ck *c, CkMode mode, Decl *decl, int decl_index) {
  c->mode = mode;
  c->decl = decl;
  c->decl_index = decl_index;
  c->frame = c->block = c->nloc = 0;
  c->maxslots = 0;
  c->loops = 0;
  c->barrier = NULL;
  c->in_flag = 0;
}

uint32_t ck_end_frame(Ck *c) {
  c->nloc = c->block = c->frame = 0;
  return c->maxslots;
}

void ck_note_wait(Ck *c) {
  if (c->mode == CK_FN && c->decl_index >= 0) c->waits[c->decl_index] = true;
}

void ck_block(Ck *c, StmtList *l) {
  uint32_t saved = ck_open(c);
  ck_stmts(c, l);
  ck_close(c, saved);
}

/* ---- checkpoints and reviews --------------------------------------------- */

static void check_by(Ck *c, const char *by, Span span) {
  if (by && !*by) diag_error(c->d, span, "'by' must name a group, found an empty string");
}

void ck_checkpoint(Ck *c, Checkpoint *cp) {
  ck_note_wait(c);
  if (c->in_flag) {
    diag_error(c->d, cp->span, "a checkpoint cannot stand in a flag block");
    diag_hint(c->d, "a flag block runs as part of a reviewer's verdict and cannot wait for another person");
  }
  if (cp->title) ck_expr(c, cp->title);   /* any value: shown as str(title) */
  for (uint32_t i = 0; i < cp->nshow; i++) ck_expr(c, cp->show[i].value);

  cp->edit_to = cp->edit.n ? arena_alloc(c->a, cp->edit.n * sizeof *cp->edit_to) : NULL;
  for (uint32_t i = 0; i < cp->edit.n; i++) {
    const char *n = cp->edit.v[i];
    Span at = cp->edit.spans[i];
    EditTarget *to = &cp->edit_to[i];
    to->ref = REF_NONE;
    to->index = -1;
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(cp->edit.v[j], n) == 0) {
        diag_error(c->d, at, "'%s' is already listed in edit", n);
        break;
      }
    Local *l = ck_local(c, n);
    Global *g = l ? NULL : ck_global(c, n);
    if (l) {
      to->ref = REF_LOCAL;
      to->index = l->slot;
    } else if (g && g->kind == G_INPUT) {
      to->ref = REF_INPUT;
      to->index = g->index;
    } else if (g && g->kind == G_PARAM) {
      diag_error(c->d, at, "'%s' is not an input or variable (it is a param)", n);
      diag_hint(c->d, "params are fixed for the run; copy it first: let %s_ = %s", n, n);
    } else {
      diag_error(c->d, at, "'%s' is not an input or variable", n);
    }
  }
  check_by(c, cp->by, cp->by_span);
  if (cp->quorum_span.line && cp->quorum < 1)
    diag_error(c->d, cp->quorum_span, "quorum must be at least 1, found %lld",
               (long long)cp->quorum);
  if (cp->timeout.present && cp->timeout.seconds <= 0)
    diag_error(c->d, cp->timeout.span, "timeout must be greater than 0");
}

static void checkpoint_stmt(Ck *c, Stmt *s) {
  ck_checkpoint(c, s->u.checkpoint.cp);
  s->u.checkpoint.verdict_slot = s->u.checkpoint.why_slot = -1;
  if (s->u.checkpoint.has_approve) {
    uint32_t saved = ck_open(c);
    s->u.checkpoint.verdict_slot = ck_declare(c, "verdict", s->span, TY_MAP);
    ck_stmts(c, &s->u.checkpoint.approve);
    ck_close(c, saved);
  }
  if (s->u.checkpoint.has_reject) {
    uint32_t saved = ck_open(c);
    if (s->u.checkpoint.why)
      s->u.checkpoint.why_slot =
          ck_declare(c, s->u.checkpoint.why, s->u.checkpoint.why_span, TY_STRING);
    ck_stmts(c, &s->u.checkpoint.reject);
    ck_close(c, saved);
  }
}

static void review_stmt(Ck *c, Stmt *s) {
  ck_note_wait(c);
  if (s->u.review.title) ck_expr(c, s->u.review.title);
  if (s->u.review.within_span.line && s->u.review.within <= 0)
    diag_error(c->d, s->u.review.within_span, "'within' must be greater than 0");
  check_by(c, s->u.review.by, s->u.review.by_span);
  s->u.review.why_slot = -1;
  s->u.review.nlive = c->nloc - c->frame;

  /* break, continue and return may not leave either block */
  uint32_t loops = c->loops;
  const char *barrier = c->barrier;
  c->loops = 0;
  c->barrier = "review block";
  ck_block(c, &s->u.review.body);
  if (s->u.review.has_flag) {
    c->barrier = "flag block";
    uint32_t saved = ck_open(c);
    /* the flag block is its own function: the slots in scope here, then the
     * reason (named or not), then its own locals */
    s->u.review.why_slot = ck_declare(c, s->u.review.why ? s->u.review.why : "(why)",
                                      s->u.review.why ? s->u.review.why_span : s->span, TY_STRING);
    c->in_flag++;
    ck_stmts(c, &s->u.review.flag);
    c->in_flag--;
    ck_close(c, saved);
  }
  c->loops = loops;
  c->barrier = barrier;
}

/* ---- assignments --------------------------------------------------------- */

static void assign_name(Ck *c, Expr *target, TypeSet vt, Expr *value) {
  const char *n = target->u.name.name;
  target->u.name.slot = -1;
  target->u.name.ref = REF_NONE;
  target->u.name.index = -1;
  target->type = TY_ANY;
  if (ck_is_context_keyword(n)) {
    diag_error(c->d, target->span, "'%s' is only available in rule conditions", n);
    return;
  }
  Local *l = ck_local(c, n);
  if (l) {
    target->u.name.ref = REF_LOCAL;
    target->u.name.slot = l->slot;
    target->type = l->type;
    if (!ck_fits(vt, l->type)) {
      diag_error(c->d, value->span, "value assigned to '%s' must be %s, found %s", n,
                 ck_ty(c, l->type), ck_ty(c, vt));
      diag_hint(c->d, "'%s' was declared at line %u with type %s", n, l->span.line,
                ck_ty(c, l->type));
    }
    return;
  }
  Global *g = ck_global(c, n);
  if (g) {
    static const char *const what[] = {
      [G_INPUT] = "an input", [G_PARAM] = "a param", [G_FN] = "a function",
      [G_ACTION] = "an action",
    };
    diag_error(c->d, target->span, "'%s' is %s and cannot be assigned", n, what[g->kind]);
    if (g->kind == G_INPUT || g->kind == G_PARAM)
      diag_hint(c->d, "copy it first: let my_%s = %s", n, n);
  } else if (ck_builtin(n) >= 0) {
    diag_error(c->d, target->span, "'%s' is a built-in function and cannot be assigned", n);
  } else {
    diag_error(c->d, target->span, "undeclared name '%s'", n);
    diag_hint(c->d, "declare it first: let %s = ...", n);
  }
}

static void assign_stmt(Ck *c, Stmt *s) {
  Expr *target = s->u.assign.target, *value = s->u.assign.value;
  TypeSet vt = ck_expr(c, value);
  switch (target->kind) {
  case E_NAME:
    assign_name(c, target, vt, value);
    break;
  case E_INDEX:
    ck_expr(c, target);
    if ((target->u.index.a->type & (TY_STRING | TY_LIST | TY_MAP)) == TY_STRING)
      diag_error(c->d, target->span, "a character of a string cannot be assigned");
    break;
  case E_FIELD:
    ck_expr(c, target);
    break;
  default:
    ck_expr(c, target);
    diag_error(c->d, target->span,
               "this expression cannot be assigned: assign to a name, a field or an index");
    break;
  }
}

/* ---- statements ---------------------------------------------------------- */

static void let_stmt(Ck *c, Stmt *s) {
  TypeSet t = ck_expr(c, s->u.let.value);
  TypeSet vt;
  if (s->u.let.typed) {
    vt = s->u.let.type ? s->u.let.type : TY_ANY;
    if (!ck_fits(t, vt))
      diag_error(c->d, s->u.let.value->span, "value of '%s' must be %s, found %s",
                 s->u.let.name, ck_ty(c, vt), ck_ty(c, t));
  } else {
    vt = t == TY_NIL ? TY_ANY : t;
  }
  s->u.let.slot = ck_declare(c, s->u.let.name, s->u.let.name_span, vt);
}

static void for_stmt(Ck *c, Stmt *s) {
  Expr *iter = s->u.for_.iter;
  TypeSet t = ck_expr(c, iter);
  bool pairs = s->u.for_.val != NULL;
  if (pairs && !(t & TY_MAP)) {
    diag_error(c->d, iter->span, "value of 'for %s, %s in' must be map, found %s",
               s->u.for_.key, s->u.for_.val, ck_ty(c, t));
    if (t & TY_LIST) diag_hint(c->d, "a list takes one loop variable: for x in list");
  } else if (!pairs && !(t & TY_LIST)) {
    diag_error(c->d, iter->span, "value of 'for %s in' must be list, found %s", s->u.for_.key,
               ck_ty(c, t));
    if (t & TY_MAP) diag_hint(c->d, "a map takes two loop variables: for k, v in map");
    else if (t & TY_STRING) diag_hint(c->d, "to loop over characters: for i in range(len(s))");
  }
  uint32_t saved = ck_open(c);
  s->u.for_.key_slot =
      ck_declare(c, s->u.for_.key, s->u.for_.key_span, pairs ? TY_STRING : TY_ANY);
  s->u.for_.val_slot = pairs ? ck_declare(c, s->u.for_.val, s->u.for_.val_span, TY_ANY) : -1;
  c->loops++;
  ck_stmts(c, &s->u.for_.body);
  c->loops--;
  ck_close(c, saved);
}

static void jump_stmt(Ck *c, Stmt *s) {
  const char *kw = s->kind == S_BREAK ? "break" : "continue";
  if (c->loops) return;
  if (c->barrier)
    diag_error(c->d, s->span, "'%s' outside a loop: it cannot leave a %s", kw, c->barrier);
  else
    diag_error(c->d, s->span, "'%s' outside a loop", kw);
}

static void return_stmt(Ck *c, Stmt *s) {
  Expr *v = s->u.ret.value;
  TypeSet t = v ? ck_expr(c, v) : TY_NIL;
  if (c->barrier) {
    diag_error(c->d, s->span, "'return' is not allowed in a %s", c->barrier);
    diag_hint(c->d, "a %s runs apart from the code around it and cannot end it",
              c->barrier);
    return;
  }
  if (c->mode != CK_FN) return;   /* the body's return ends the playbook with any value */
  Decl *fn = c->decl;
  if (fn->u.fn.has_result) {
    TypeSet want = fn->u.fn.result ? fn->u.fn.result : TY_ANY;
    if (!v) {
      diag_error(c->d, s->span, "missing return value: '%s' must return %s", fn->name,
                 ck_ty(c, want));
    } else if (!ck_fits(t, want)) {
      diag_error(c->d, v->span, "return value of '%s' must be %s, found %s", fn->name,
                 ck_ty(c, want), ck_ty(c, t));
    }
  } else if (v && !(t & TY_NIL)) {
    diag_error(c->d, v->span, "return value of '%s' must be nil, found %s", fn->name,
               ck_ty(c, t));
    diag_hint(c->d, "declare its result type: fn %s(...) -> %s", fn->name, ck_ty(c, t));
  }
}

static void stmt(Ck *c, Stmt *s) {
  switch (s->kind) {
  case S_LET: let_stmt(c, s); break;
  case S_ASSIGN: assign_stmt(c, s); break;
  case S_IF:
    ck_cond(c, s->u.if_.cond, "condition of 'if'");
    ck_block(c, &s->u.if_.body);
    if (s->u.if_.els) stmt(c, s->u.if_.els);
    break;
  case S_WHILE:
    ck_cond(c, s->u.while_.cond, "condition of 'while'");
    c->loops++;
    ck_block(c, &s->u.while_.body);
    c->loops--;
    break;
  case S_FOR: for_stmt(c, s); break;
  case S_BREAK: case S_CONTINUE: jump_stmt(c, s); break;
  case S_RETURN: return_stmt(c, s); break;
  case S_FAIL: case S_LOG:
    ck_expr(c, s->u.ret.value);
    break;
  case S_EXPR:
    ck_expr(c, s->u.ret.value);
    if (s->u.ret.value->kind != E_CALL) {
      diag_error(c->d, s->u.ret.value->span, "expression statement must be a call");
      diag_hint(c->d, "to keep a value, name it: let x = ...");
    }
    break;
  case S_TRY: {
    ck_block(c, &s->u.try_.body);
    uint32_t saved = ck_open(c);
    s->u.try_.slot = ck_declare(c, s->u.try_.name, s->u.try_.name_span, TY_MAP);
    ck_stmts(c, &s->u.try_.handler);
    ck_close(c, saved);
    break;
  }
  case S_STEP:
    if (s->u.step.title) ck_expr(c, s->u.step.title);
    ck_stmts(c, &s->u.step.body);   /* a step is not a scope */
    break;
  case S_CHECKPOINT: checkpoint_stmt(c, s); break;
  case S_REVIEW: review_stmt(c, s); break;
  case S_BLOCK: ck_block(c, &s->u.block); break;
  }
}

void ck_stmts(Ck *c, StmtList *l) {
  for (uint32_t i = 0; i < l->n; i++) stmt(c, l->v[i]);
}
