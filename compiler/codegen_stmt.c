/* compiler/codegen_stmt.c — statements: variables, branches, loops, try,
 * steps and checkpoints.
 *
 * A statement leaves the operand stack as it found it (empty), so every
 * label is reached at depth 0 and a try's handler at depth 1 (the error).
 * Loops, trys and steps are kept on a scope stack: `break`/`continue` close
 * the trys and steps they leave (END_TRY, STEP_END) before jumping; a
 * `return` needs nothing, the VM closes what its frame opened. */
#include "codegen_int.h"

static void stmt(Cg *g, const Stmt *s);

static void push_scope(Cg *g, CgScopeKind kind, uint32_t cont_pc) {
  CgFn *f = &g->f;
  if (!cg_grow(g, (void **)&f->scopes, &f->capscopes, f->nscopes, sizeof *f->scopes)) return;
  f->scopes[f->nscopes++] = (CgScope){kind, cont_pc, f->nbreaks, f->nconts, false};
}

/* the innermost loop's continues land here (a loop with its test at the bottom) */
static void patch_conts(Cg *g) {
  CgFn *f = &g->f;
  if (!f->nscopes) return;   /* only after out of memory */
  CgScope *sc = &f->scopes[f->nscopes - 1];
  for (uint32_t i = sc->first_cont; i < f->nconts; i++) cg_patch(g, f->conts[i]);
  f->nconts = sc->first_cont;
}

static void pop_scope(Cg *g) {
  CgFn *f = &g->f;
  if (!f->nscopes) return;   /* only after out of memory */
  CgScope *sc = &f->scopes[--f->nscopes];
  if (sc->kind != CG_LOOP) return;
  for (uint32_t i = sc->first_break; i < f->nbreaks; i++) cg_patch(g, f->breaks[i]);
  f->nbreaks = sc->first_break;
}

static void block(Cg *g, const StmtList *l) {
  for (uint32_t i = 0; i < l->n; i++) stmt(g, l->v[i]);
}

void cg_stmts(Cg *g, const StmtList *l) { block(g, l); }

/* ---- whether the code of a list ends in RETURN or FAIL ------------------ */

/* The checker's rule (a fn must not fall off its end) looks at any statement;
 * here only the last one counts, so that statements after a `return` (never
 * run) still end with a RETURN and no code runs off the end of a function. */
static bool stmt_ends(const Stmt *s) {
  switch (s->kind) {
  case S_RETURN: case S_FAIL:
    return true;
  case S_IF:
    return s->u.if_.els && cg_ends(&s->u.if_.body) && stmt_ends(s->u.if_.els);
  case S_BLOCK:
    return cg_ends(&s->u.block);
  case S_TRY:
    return cg_ends(&s->u.try_.body) && cg_ends(&s->u.try_.handler);
  case S_STEP:
    return cg_ends(&s->u.step.body);
  default:
    return false;
  }
}

bool cg_ends(const StmtList *l) { return l->n > 0 && stmt_ends(l->v[l->n - 1]); }

/* ---- assignments ---------------------------------------------------------- */

/* x = x + k, x = x - k with x an int local and k a small int: INC_LOCAL */
static bool inc_local(Cg *g, const Expr *target, const Expr *v) {
  if (target->type != TY_INT || v->kind != E_BINARY) return false;
  if (v->u.op.op != AST_OP_ADD && v->u.op.op != AST_OP_SUB) return false;
  const Expr *a = v->u.op.a, *b = v->u.op.b;
  if (a->kind != E_NAME || a->u.name.ref != REF_LOCAL || a->u.name.slot != target->u.name.slot)
    return false;
  if (b->kind != E_INT) return false;
  int64_t k = b->u.i;
  if (v->u.op.op == AST_OP_SUB) {
    if (k < -127 || k > 128) return false;
    k = -k;
  }
  if (k < -128 || k > 127) return false;
  cg_line(g, v->span.line);
  cg_emit(g, OP_INC_LOCAL, target->u.name.slot, k, 0, 0);
  return true;
}

/* e reads and writes no local but by its own value: no checkpoint (which can
 * edit a local, and suspends) and no action call in it */
static bool plain_expr(const Expr *e) {
  switch (e->kind) {
  case E_NIL: case E_BOOL: case E_INT: case E_FLOAT: case E_STRING: case E_NAME:
    return true;
  case E_INTERP: case E_LIST:
    for (uint32_t i = 0; i < e->u.list.n; i++)
      if (!plain_expr(e->u.list.v[i])) return false;
    return true;
  case E_MAP:
    for (uint32_t i = 0; i < e->u.map.keys.n; i++)
      if (!plain_expr(e->u.map.keys.v[i]) || !plain_expr(e->u.map.vals.v[i])) return false;
    return true;
  case E_UNARY: return plain_expr(e->u.op.a);
  case E_BINARY: return plain_expr(e->u.op.a) && plain_expr(e->u.op.b);
  case E_INDEX: return plain_expr(e->u.index.a) && plain_expr(e->u.index.b);
  case E_FIELD: return plain_expr(e->u.field.a);
  case E_CALL:
    if (e->u.call.ref != REF_FN && e->u.call.ref != REF_BUILTIN) return false;
    for (uint32_t i = 0; i < e->u.call.args.n; i++)
      if (!plain_expr(e->u.call.args.v[i])) return false;
    return true;
  case E_CHECKPOINT:
    return false;
  }
  return false;
}

/* x = x + e, x = x - e with x a local: e; ADD_LOCAL x (SUB_LOCAL).  Only when
 * it is the same program: the sum needs no CHECK_TYPE to be stored in x, and
 * e cannot change x (reading x after e instead of before). */
static bool arith_local(Cg *g, const Expr *target, const Expr *v) {
  if (v->kind != E_BINARY || (v->u.op.op != AST_OP_ADD && v->u.op.op != AST_OP_SUB)) return false;
  const Expr *a = v->u.op.a, *b = v->u.op.b;
  if (a->kind != E_NAME || a->u.name.ref != REF_LOCAL || a->u.name.slot != target->u.name.slot)
    return false;
  TypeSet want = target->type ? target->type : TY_ANY, have = v->type ? v->type : TY_ANY;
  bool widens = (want & TY_FLOAT) && !(want & TY_INT);
  if ((have & ~want) || (widens && (have & TY_INT))) return false;   /* cg_value_for would check */
  if (!plain_expr(b)) return false;
  cg_expr(g, b);
  cg_line(g, v->span.line);
  cg_op1(g, v->u.op.op == AST_OP_ADD ? OP_ADD_LOCAL : OP_SUB_LOCAL, target->u.name.slot);
  return true;
}

static void assign(Cg *g, const Stmt *s) {
  const Expr *t = s->u.assign.target, *v = s->u.assign.value;
  switch (t->kind) {
  case E_NAME:
    if (t->u.name.ref != REF_LOCAL) break;
    if (inc_local(g, t, v) || arith_local(g, t, v)) return;
    cg_value_for(g, v, t->type, "value assigned to '%s'", t->u.name.name);
    cg_line(g, s->span.line);
    cg_op1(g, OP_SET_LOCAL, t->u.name.slot);
    return;
  case E_FIELD:
    cg_expr(g, t->u.field.a);
    cg_expr(g, v);
    cg_line(g, t->span.line);
    cg_op1(g, OP_SET_FIELD, cg_const_cstr(g, t->u.field.name));
    return;
  case E_INDEX:
    cg_expr(g, t->u.index.a);
    cg_expr(g, t->u.index.b);
    cg_expr(g, v);
    cg_line(g, t->span.line);
    cg_op(g, OP_SET_INDEX);
    return;
  default:
    break;
  }
  g->failed = true;
  diag_error(g->d, t->span, "internal error in the code generator: an assignment target that "
             "was not resolved");
}

static void let(Cg *g, const Stmt *s) {
  const Expr *v = s->u.let.value;
  if (s->u.let.typed)
    cg_value_for(g, v, s->u.let.type, "value of '%s'", s->u.let.name);
  else
    cg_expr(g, v);   /* the variable has the value's own type */
  cg_line(g, s->span.line);
  cg_op1(g, OP_SET_LOCAL, s->u.let.slot);
}

/* ---- control flow --------------------------------------------------------- */

static void if_stmt(Cg *g, const Stmt *s) {
  uint32_t f = cg_cond_false(g, s->u.if_.cond);
  block(g, &s->u.if_.body);
  if (!s->u.if_.els) {
    cg_patch_false(g, f);
    return;
  }
  bool ends = cg_ends(&s->u.if_.body);
  uint32_t end = ends ? 0 : cg_jump(g, OP_JUMP);
  cg_patch_false(g, f);
  stmt(g, s->u.if_.els);
  if (!ends) cg_patch(g, end);
}

/* The test is at the bottom, so an iteration runs one jump fewer:
 *   JUMP test; top: body; test: cond, jump back to top when true; end:
 * The backward conditional jump spends fuel like JUMP does. */
static void while_stmt(Cg *g, const Stmt *s) {
  uint32_t entry = cg_jump(g, OP_JUMP);
  uint32_t top = cg_here(g);
  push_scope(g, CG_LOOP, top);
  if (g->f.nscopes) g->f.scopes[g->f.nscopes - 1].cont_fwd = true;
  block(g, &s->u.while_.body);
  cg_patch(g, entry);
  patch_conts(g);
  cg_line(g, s->span.line);
  uint32_t f = cg_cond_true_back(g, s->u.while_.cond, top);
  cg_patch_false(g, f);
  pop_scope(g);
}

/* the collection and the position live in two hidden locals */
static void for_stmt(Cg *g, const Stmt *s) {
  cg_expr(g, s->u.for_.iter);
  cg_line(g, s->span.line);
  uint32_t b = cg_hide(g, 2);
  cg_op1(g, OP_SET_LOCAL, b);
  cg_op1(g, OP_SMALLINT, 0);
  cg_op1(g, OP_SET_LOCAL, b + 1);
  uint32_t top = cg_here(g);
  uint32_t done = s->u.for_.val
      ? cg_emit(g, OP_FOR_MAP, b, s->u.for_.key_slot, s->u.for_.val_slot, 0)
      : cg_emit(g, OP_FOR_LIST, b, s->u.for_.key_slot, 0, 0);
  push_scope(g, CG_LOOP, top);
  block(g, &s->u.for_.body);
  cg_line(g, s->span.line);
  cg_jump_back(g, OP_JUMP, top);
  cg_patch(g, done);
  pop_scope(g);
  cg_unhide(g, 2);
}

static void break_continue(Cg *g, const Stmt *s) {
  CgFn *f = &g->f;
  uint32_t i = f->nscopes;
  while (i > 0 && f->scopes[i - 1].kind != CG_LOOP) {
    cg_op(g, f->scopes[i - 1].kind == CG_TRY ? OP_END_TRY : OP_STEP_END);
    i--;
  }
  if (i == 0) {   /* the checker allows no break outside a loop */
    g->failed = true;
    diag_error(g->d, s->span, "internal error in the code generator: '%s' outside a loop",
               s->kind == S_BREAK ? "break" : "continue");
    return;
  }
  if (s->kind == S_CONTINUE && f->scopes[i - 1].cont_fwd) {
    uint32_t at = cg_jump(g, OP_JUMP);
    if (cg_grow(g, (void **)&f->conts, &f->capconts, f->nconts, sizeof *f->conts))
      f->conts[f->nconts++] = at;
    return;
  }
  if (s->kind == S_CONTINUE) {
    cg_jump_back(g, OP_JUMP, f->scopes[i - 1].cont_pc);
    return;
  }
  uint32_t at = cg_jump(g, OP_JUMP);
  if (cg_grow(g, (void **)&f->breaks, &f->capbreaks, f->nbreaks, sizeof *f->breaks))
    f->breaks[f->nbreaks++] = at;
}

static void try_stmt(Cg *g, const Stmt *s) {
  int depth = g->f.depth;
  uint32_t handler = cg_jump(g, OP_TRY);
  push_scope(g, CG_TRY, 0);
  block(g, &s->u.try_.body);
  pop_scope(g);
  bool ends = cg_ends(&s->u.try_.body);   /* then nothing follows the handler */
  uint32_t end = 0;
  if (!ends) {
    cg_line(g, s->span.line);
    cg_op(g, OP_END_TRY);
    end = cg_jump(g, OP_JUMP);
  }
  cg_patch(g, handler);
  cg_set_depth(g, depth + 1);   /* the error map */
  cg_line(g, s->u.try_.name_span.line);
  cg_op1(g, OP_SET_LOCAL, s->u.try_.slot);
  block(g, &s->u.try_.handler);
  if (!ends) cg_patch(g, end);
}

static void step_stmt(Cg *g, const Stmt *s) {
  if (s->u.step.title)
    cg_expr(g, s->u.step.title);
  else
    cg_op(g, OP_NIL);
  cg_line(g, s->span.line);
  cg_op(g, OP_STEP_BEGIN);
  push_scope(g, CG_STEP, 0);
  block(g, &s->u.step.body);
  pop_scope(g);
  if (!cg_ends(&s->u.step.body)) cg_op(g, OP_STEP_END);
}

/* The verdict goes to the approve block's `verdict` (or a hidden local);
 * with a reject block: if verdict.kind == "reject", why = verdict.reason and
 * the reject block runs, else the approve block.  Without one the VM raises
 * `rejected` itself (raise_on_reject). */
static void checkpoint_stmt(Cg *g, const Stmt *s) {
  bool has_approve = s->u.checkpoint.has_approve, has_reject = s->u.checkpoint.has_reject;
  cg_checkpoint(g, s->u.checkpoint.cp, !has_reject);
  if (!has_approve && !has_reject) {
    cg_op(g, OP_POP);
    return;
  }
  bool hide = !has_approve || s->u.checkpoint.verdict_slot < 0;
  uint32_t v = hide ? cg_hide(g, 1) : (uint32_t)s->u.checkpoint.verdict_slot;
  cg_op1(g, OP_SET_LOCAL, v);
  uint32_t to_approve = 0;
  if (has_reject) {
    cg_op1(g, OP_GET_LOCAL, v);
    cg_op1(g, OP_FIELD, cg_const_cstr(g, "kind"));
    cg_op1(g, OP_CONST, cg_const_cstr(g, "reject"));
    to_approve = cg_jump(g, OP_JUMP_IF_NOT_EQ);
    if (s->u.checkpoint.why_slot >= 0) {
      cg_op1(g, OP_GET_LOCAL, v);
      cg_op1(g, OP_FIELD, cg_const_cstr(g, "reason"));
      cg_op1(g, OP_SET_LOCAL, s->u.checkpoint.why_slot);
    }
    block(g, &s->u.checkpoint.reject);
  }
  if (has_approve) {
    uint32_t end = 0;
    bool skip = has_reject && !cg_ends(&s->u.checkpoint.reject);
    if (skip) end = cg_jump(g, OP_JUMP);
    if (has_reject) cg_patch(g, to_approve);
    g->f.in_approve++;
    block(g, &s->u.checkpoint.approve);
    g->f.in_approve--;
    if (skip) cg_patch(g, end);
  } else {
    cg_patch(g, to_approve);
  }
  if (hide) cg_unhide(g, 1);
}

/* title, REVIEW_BEGIN, the body, REVIEW_END: the VM records the body's
 * action calls and, at the end, keeps the frame's locals for the flag block
 * (a function of its own, run at a reviewer's `flag`) and opens the item. */
static void review_stmt(Cg *g, const Stmt *s) {
  cg_expr(g, s->u.review.title);
  cg_line(g, s->span.line);
  g->f.at = s->span;
  uint32_t site = cg_review_site(g, s);
  cg_op1(g, OP_REVIEW_BEGIN, site);
  g->f.in_review++;
  cg_stmts(g, &s->u.review.body);
  g->f.in_review--;
  cg_line(g, s->span.line);
  cg_op1(g, OP_REVIEW_END, site);
}

static void stmt(Cg *g, const Stmt *s) {
  cg_line(g, s->span.line);
  g->f.at = s->span;
  switch (s->kind) {
  case S_LET: let(g, s); return;
  case S_ASSIGN: assign(g, s); return;
  case S_IF: if_stmt(g, s); return;
  case S_WHILE: while_stmt(g, s); return;
  case S_FOR: for_stmt(g, s); return;
  case S_BREAK: case S_CONTINUE: break_continue(g, s); return;
  case S_RETURN:
    if (s->u.ret.value)
      cg_expr(g, s->u.ret.value);
    else
      cg_op(g, OP_NIL);
    cg_line(g, s->span.line);
    cg_op(g, OP_RETURN);
    return;
  case S_FAIL:
    cg_expr(g, s->u.ret.value);
    cg_line(g, s->span.line);
    cg_op(g, OP_FAIL);
    return;
  case S_LOG:
    cg_expr(g, s->u.ret.value);
    cg_line(g, s->span.line);
    cg_op(g, OP_LOG);
    return;
  case S_EXPR:
    cg_expr(g, s->u.ret.value);
    cg_op(g, OP_POP);
    return;
  case S_TRY: try_stmt(g, s); return;
  case S_STEP: step_stmt(g, s); return;
  case S_CHECKPOINT: checkpoint_stmt(g, s); return;
  case S_REVIEW: review_stmt(g, s); return;
  case S_BLOCK: block(g, &s->u.block); return;
  }
}
