/* compiler/codegen_expr.c — expressions, conditions, calls and checkpoints.
 *
 * Every expression leaves exactly one value on the stack.  `and`/`or`
 * short-circuit through a DUP and a conditional jump; a condition that
 * feeds a branch (cg_cond_false) compiles comparisons to the fused
 * JUMP_IF_NOT_* instructions and `a and b` to two false jumps, so the
 * common loop test is one instruction. */
#include "codegen_int.h"

#include <stdio.h>

#include "../vm/mem.h"

static const Opcode binop[] = {
  [AST_OP_ADD] = OP_ADD, [AST_OP_SUB] = OP_SUB, [AST_OP_MUL] = OP_MUL,
  [AST_OP_DIV] = OP_DIV, [AST_OP_IDIV] = OP_IDIV, [AST_OP_MOD] = OP_MOD,
  [AST_OP_EQ] = OP_EQ,   [AST_OP_NE] = OP_NE,     [AST_OP_LT] = OP_LT,
  [AST_OP_LE] = OP_LE,   [AST_OP_GT] = OP_GT,     [AST_OP_GE] = OP_GE,
  [AST_OP_IN] = OP_IN,
};

/* the fused "jump unless" form of a comparison, or OP_NOP */
static Opcode jump_unless(Op op) {
  switch (op) {
  case AST_OP_LT: return OP_JUMP_IF_NOT_LT;
  case AST_OP_LE: return OP_JUMP_IF_NOT_LE;
  case AST_OP_GT: return OP_JUMP_IF_NOT_GT;
  case AST_OP_GE: return OP_JUMP_IF_NOT_GE;
  case AST_OP_EQ: return OP_JUMP_IF_NOT_EQ;
  case AST_OP_NE: return OP_JUMP_IF_NOT_NE;
  default: return OP_NOP;
  }
}

/* the form of a comparison with a small int constant on the right, or OP_NOP */
static Opcode jump_unless_k(Op op) {
  switch (op) {
  case AST_OP_LT: return OP_JUMP_IF_NOT_LT_K;
  case AST_OP_LE: return OP_JUMP_IF_NOT_LE_K;
  case AST_OP_GT: return OP_JUMP_IF_NOT_GT_K;
  case AST_OP_GE: return OP_JUMP_IF_NOT_GE_K;
  case AST_OP_EQ: return OP_JUMP_IF_NOT_EQ_K;
  case AST_OP_NE: return OP_JUMP_IF_NOT_NE_K;
  default: return OP_NOP;
  }
}

/* the "jump if" form of a comparison (a loop's test at its bottom), or OP_NOP */
static Opcode jump_if(Op op) {
  switch (op) {
  case AST_OP_LT: return OP_JUMP_IF_LT;
  case AST_OP_LE: return OP_JUMP_IF_LE;
  case AST_OP_GT: return OP_JUMP_IF_GT;
  case AST_OP_GE: return OP_JUMP_IF_GE;
  case AST_OP_EQ: return OP_JUMP_IF_EQ;
  case AST_OP_NE: return OP_JUMP_IF_NE;
  default: return OP_NOP;
  }
}

static Opcode jump_if_k(Op op) {
  switch (op) {
  case AST_OP_LT: return OP_JUMP_IF_LT_K;
  case AST_OP_LE: return OP_JUMP_IF_LE_K;
  case AST_OP_GT: return OP_JUMP_IF_GT_K;
  case AST_OP_GE: return OP_JUMP_IF_GE_K;
  case AST_OP_EQ: return OP_JUMP_IF_EQ_K;
  case AST_OP_NE: return OP_JUMP_IF_NE_K;
  default: return OP_NOP;
  }
}

/* the two-locals forms of a comparison (jump if / jump unless), or OP_NOP */
static Opcode jump_ll(Op op, bool sense) {
  switch (op) {
  case AST_OP_LT: return sense ? OP_JUMP_IF_LT_LL : OP_JUMP_IF_NOT_LT_LL;
  case AST_OP_LE: return sense ? OP_JUMP_IF_LE_LL : OP_JUMP_IF_NOT_LE_LL;
  case AST_OP_GT: return sense ? OP_JUMP_IF_GT_LL : OP_JUMP_IF_NOT_GT_LL;
  case AST_OP_GE: return sense ? OP_JUMP_IF_GE_LL : OP_JUMP_IF_NOT_GE_LL;
  default: return OP_NOP;
  }
}

/* the local-and-constant form of an OP_*_K instruction */
static Opcode arith_lk(Opcode k) {
  switch (k) {
  case OP_ADD_K: return OP_ADD_LK;
  case OP_SUB_K: return OP_SUB_LK;
  case OP_MUL_K: return OP_MUL_LK;
  case OP_MOD_K: return OP_MOD_LK;
  case OP_IDIV_K: return OP_IDIV_LK;
  default: return OP_NOP;
  }
}

static bool small_int(const Expr *e) { return e->kind == E_INT && e->u.i >= -128 && e->u.i <= 127; }
static bool local_name(const Expr *e) { return e->kind == E_NAME && e->u.name.ref == REF_LOCAL; }

/* a OP k with k a small int literal: the one-operand form, or OP_NOP.
 * MOD_K and IDIV_K take k > 0 only (k <= 0 keeps the general error path). */
static Opcode arith_k(Op op, int64_t k) {
  switch (op) {
  case AST_OP_ADD: return OP_ADD_K;
  case AST_OP_SUB: return OP_SUB_K;
  case AST_OP_MUL: return OP_MUL_K;
  case AST_OP_MOD: return k > 0 ? OP_MOD_K : OP_NOP;
  case AST_OP_IDIV: return k > 0 ? OP_IDIV_K : OP_NOP;
  default: return OP_NOP;
  }
}

/* push a then b: two locals are one GET_LOCAL2 */
static void operands(Cg *g, const Expr *a, const Expr *b) {
  if (local_name(a) && local_name(b)) {
    cg_line(g, a->span.line);
    cg_emit(g, OP_GET_LOCAL2, a->u.name.slot, b->u.name.slot, 0, 0);
    return;
  }
  cg_expr(g, a);
  cg_expr(g, b);
}

static void internal(Cg *g, Span at, const char *what) {
  g->failed = true;
  diag_error(g->d, at, "internal error in the code generator: %s", what);
}

static void name_expr(Cg *g, const Expr *e) {
  int k;
  switch (e->u.name.ref) {
  case REF_LOCAL:
    cg_op1(g, OP_GET_LOCAL, e->u.name.slot);
    return;
  case REF_INPUT:
    cg_op1(g, OP_GET_GLOBAL, e->u.name.index);
    return;
  case REF_PARAM:
    cg_op1(g, OP_GET_GLOBAL, g->decl_to[e->u.name.index]);
    return;
  case REF_CONTEXT:
    k = cg_rule_param(e->u.name.name);
    if (g->f.rule && k >= 0) {
      cg_op1(g, OP_GET_LOCAL, k);
      return;
    }
    break;
  default:
    break;
  }
  internal(g, e->span, "a name that was not resolved");
  cg_op(g, OP_NIL);
}

static void action_call(Cg *g, const Expr *e) {
  uint32_t n = e->u.call.args.n;
  const Expr *conf = ast_call_confidence(e), *because = ast_call_because(e);
  if (conf) cg_expr(g, conf);
  if (because) cg_expr(g, because);
  cg_line(g, e->span.line);
  if (g->ncalls >= BC_MAX_SITES) {
    if (g->ncalls == BC_MAX_SITES) cg_limit(g, "action calls", BC_MAX_SITES);
    g->ncalls = BC_MAX_SITES + 1;   /* report once; nothing is built */
    return;
  }
  if (!cg_grow(g, (void **)&g->calls, &g->capcalls, g->ncalls, sizeof *g->calls)) return;
  uint32_t site = g->ncalls++;
  g->calls[site] = (BcCallSite){
    .action = (uint16_t)g->decl_to[e->u.call.index],
    .nargs = (uint8_t)n,
    .has_confidence = conf != NULL,
    .has_because = because != NULL,
    .in_approve = g->f.in_approve > 0,
    .in_review = g->f.in_review > 0,
    .line = e->span.line,
    .col = e->span.col,
  };
  cg_emit(g, OP_CALL_ACTION, site, 0, 0, (int)n + (conf != NULL) + (because != NULL));
}

static void call_expr(Cg *g, const Expr *e) {
  uint32_t n = e->u.call.args.n;
  for (uint32_t i = 0; i < n; i++) cg_expr(g, e->u.call.args.v[i]);
  g->f.at = e->span;
  if (n > BC_MAX_PARAMS) {
    cg_limit(g, "arguments in one call", BC_MAX_PARAMS);
    return;
  }
  switch (e->u.call.ref) {
  case REF_FN:
    cg_line(g, e->span.line);
    cg_emit(g, OP_CALL, g->decl_to[e->u.call.index], n, 0, (int)n);
    return;
  case REF_BUILTIN:
    cg_line(g, e->span.line);
    cg_emit(g, OP_CALL_BUILTIN, e->u.call.index, n, 0, (int)n);
    return;
  case REF_ACTION:
    action_call(g, e);
    return;
  default:
    internal(g, e->span, "a call that was not resolved");
    cg_op(g, OP_NIL);
    return;
  }
}

static void interp_expr(Cg *g, const Expr *e) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < e->u.list.n; i++) {
    const Expr *p = e->u.list.v[i];
    if (p->kind == E_STRING && p->u.str.len == 0) continue;
    cg_expr(g, p);
    n++;
  }
  cg_line(g, e->span.line);
  if (n == 0) {
    cg_op1(g, OP_CONST, cg_const_str(g, "", 0));
    return;
  }
  if (n > 0xFFFF) {
    g->f.at = e->span;
    cg_limit(g, "pieces in one string", 0xFFFF);
  }
  cg_emit(g, OP_INTERP, n, 0, 0, (int)n);
}

/* a and b: a; DUP; JUMP_IF_FALSE L; POP; b; [TEST_BOOL]; L:   (or: JUMP_IF_TRUE) */
static void logic_expr(Cg *g, const Expr *e) {
  cg_expr(g, e->u.op.a);
  cg_line(g, e->span.line);
  cg_op(g, OP_DUP);
  uint32_t j = cg_jump(g, e->u.op.op == AST_OP_AND ? OP_JUMP_IF_FALSE : OP_JUMP_IF_TRUE);
  cg_op(g, OP_POP);
  cg_expr(g, e->u.op.b);
  if (e->u.op.b->type != TY_BOOL) {
    cg_line(g, e->span.line);
    cg_op(g, OP_TEST_BOOL);
  }
  cg_patch(g, j);
}

void cg_expr(Cg *g, const Expr *e) {
  switch (e->kind) {
  case E_NIL: cg_line(g, e->span.line); cg_op(g, OP_NIL); return;
  case E_BOOL: cg_line(g, e->span.line); cg_op(g, e->u.b ? OP_TRUE : OP_FALSE); return;
  case E_INT: cg_line(g, e->span.line); cg_push_int(g, e->u.i); return;
  case E_FLOAT:
    cg_line(g, e->span.line);
    cg_op1(g, OP_CONST, cg_const_float(g, e->u.f));
    return;
  case E_STRING:
    cg_line(g, e->span.line);
    cg_op1(g, OP_CONST, cg_const_str(g, e->u.str.s, e->u.str.len));
    return;
  case E_INTERP: interp_expr(g, e); return;
  case E_NAME: cg_line(g, e->span.line); name_expr(g, e); return;
  case E_LIST: {
    uint32_t n = e->u.list.n;
    for (uint32_t i = 0; i < n; i++) cg_expr(g, e->u.list.v[i]);
    g->f.at = e->span;
    if (n > 0xFFFF) cg_limit(g, "elements in one list literal", 0xFFFF);
    cg_line(g, e->span.line);
    cg_emit(g, OP_LIST, n, 0, 0, (int)n);
    return;
  }
  case E_MAP: {
    uint32_t n = e->u.map.keys.n;
    for (uint32_t i = 0; i < n; i++) {
      cg_expr(g, e->u.map.keys.v[i]);
      cg_expr(g, e->u.map.vals.v[i]);
    }
    g->f.at = e->span;
    if (n > 0xFFFF) cg_limit(g, "entries in one map literal", 0xFFFF);
    cg_line(g, e->span.line);
    cg_emit(g, OP_MAP, n, 0, 0, 2 * (int)n);
    return;
  }
  case E_UNARY:
    cg_expr(g, e->u.op.a);
    cg_line(g, e->span.line);
    cg_op(g, e->u.op.op == AST_OP_NOT ? OP_NOT : OP_NEG);
    return;
  case E_BINARY:
    if (e->u.op.op == AST_OP_AND || e->u.op.op == AST_OP_OR) {
      logic_expr(g, e);
      return;
    }
    if (small_int(e->u.op.b)) {
      Opcode k = arith_k(e->u.op.op, e->u.op.b->u.i);
      if (k != OP_NOP && local_name(e->u.op.a)) {
        cg_line(g, e->span.line);
        cg_emit(g, arith_lk(k), e->u.op.a->u.name.slot, e->u.op.b->u.i, 0, 0);
        return;
      }
      if (k != OP_NOP) {
        cg_expr(g, e->u.op.a);
        cg_line(g, e->span.line);
        cg_op1(g, k, e->u.op.b->u.i);
        return;
      }
    }
    operands(g, e->u.op.a, e->u.op.b);
    cg_line(g, e->span.line);
    cg_op(g, binop[e->u.op.op]);
    return;
  case E_INDEX:
    cg_expr(g, e->u.index.a);
    cg_expr(g, e->u.index.b);
    cg_line(g, e->span.line);
    cg_op(g, OP_INDEX);
    return;
  case E_FIELD:
    cg_expr(g, e->u.field.a);
    cg_line(g, e->span.line);
    cg_op1(g, OP_FIELD, cg_const_cstr(g, e->u.field.name));
    return;
  case E_CALL: call_expr(g, e); return;
  case E_CHECKPOINT: cg_checkpoint(g, e->u.cp, false); return;
  }
}

/* ---- conditions ---------------------------------------------------------- */

static void pend(Cg *g, uint32_t at) {
  CgFn *f = &g->f;
  if (cg_grow(g, (void **)&f->pend, &f->cappend, f->npend, sizeof *f->pend))
    f->pend[f->npend++] = at;
}

static void cond_false(Cg *g, const Expr *c) {
  if (c->kind == E_BINARY) {
    Op op = c->u.op.op;
    if (op == AST_OP_AND) {
      cond_false(g, c->u.op.a);
      cond_false(g, c->u.op.b);
      return;
    }
    Opcode j = jump_unless(op);
    if (j != OP_NOP && small_int(c->u.op.b)) {
      cg_expr(g, c->u.op.a);
      cg_line(g, c->span.line);
      pend(g, cg_emit(g, jump_unless_k(op), c->u.op.b->u.i, 0, 0, 0));
      return;
    }
    if (jump_ll(op, false) != OP_NOP && local_name(c->u.op.a) && local_name(c->u.op.b)) {
      cg_line(g, c->span.line);
      pend(g, cg_emit(g, jump_ll(op, false), c->u.op.a->u.name.slot, c->u.op.b->u.name.slot, 0, 0));
      return;
    }
    if (j != OP_NOP) {
      operands(g, c->u.op.a, c->u.op.b);
      cg_line(g, c->span.line);
      pend(g, cg_jump(g, j));
      return;
    }
  }
  if (c->kind == E_UNARY && c->u.op.op == AST_OP_NOT) {
    cg_expr(g, c->u.op.a);
    cg_line(g, c->span.line);
    pend(g, cg_jump(g, OP_JUMP_IF_TRUE));
    return;
  }
  cg_expr(g, c);
  cg_line(g, c->span.line);
  pend(g, cg_jump(g, OP_JUMP_IF_FALSE));
}

/* Jump to target (behind us) when c is true: a loop's test at its bottom.
 * `a and b` jumps out past the test when a is false (those jumps are
 * pending like cg_cond_false's, patched by cg_patch_false). */
static void cond_true_back(Cg *g, const Expr *c, uint32_t target) {
  if (c->kind == E_BINARY) {
    Op op = c->u.op.op;
    if (op == AST_OP_AND) {
      cond_false(g, c->u.op.a);
      cond_true_back(g, c->u.op.b, target);
      return;
    }
    Opcode j = jump_if(op);
    if (j != OP_NOP && small_int(c->u.op.b)) {
      cg_expr(g, c->u.op.a);
      cg_line(g, c->span.line);
      cg_patch_to(g, cg_emit(g, jump_if_k(op), c->u.op.b->u.i, 0, 0, 0), target);
      return;
    }
    if (jump_ll(op, true) != OP_NOP && local_name(c->u.op.a) && local_name(c->u.op.b)) {
      cg_line(g, c->span.line);
      cg_patch_to(g, cg_emit(g, jump_ll(op, true), c->u.op.a->u.name.slot, c->u.op.b->u.name.slot, 0, 0),
                  target);
      return;
    }
    if (j != OP_NOP) {
      operands(g, c->u.op.a, c->u.op.b);
      cg_line(g, c->span.line);
      cg_jump_back(g, j, target);
      return;
    }
  }
  if (c->kind == E_UNARY && c->u.op.op == AST_OP_NOT) {
    cg_expr(g, c->u.op.a);
    cg_line(g, c->span.line);
    cg_jump_back(g, OP_JUMP_IF_FALSE, target);
    return;
  }
  cg_expr(g, c);
  cg_line(g, c->span.line);
  cg_jump_back(g, OP_JUMP_IF_TRUE, target);
}

uint32_t cg_cond_true_back(Cg *g, const Expr *cond, uint32_t target) {
  uint32_t mark = g->f.npend;
  cond_true_back(g, cond, target);
  return mark;
}

uint32_t cg_cond_false(Cg *g, const Expr *cond) {
  uint32_t mark = g->f.npend;
  cond_false(g, cond);
  return mark;
}

void cg_patch_false(Cg *g, uint32_t mark) {
  CgFn *f = &g->f;
  for (uint32_t i = mark; i < f->npend; i++) cg_patch(g, f->pend[i]);
  if (mark < f->npend) f->npend = mark;
}

/* ---- values stored into typed variables ---------------------------------- */

void cg_value_for(Cg *g, const Expr *e, TypeSet want, const char *what, const char *name) {
  if (!want) want = TY_ANY;
  bool widens = (want & TY_FLOAT) && !(want & TY_INT);
  if (widens && e->kind == E_INT) {   /* the literal becomes a float constant */
    cg_line(g, e->span.line);
    cg_op1(g, OP_CONST, cg_const_float(g, (double)e->u.i));
    return;
  }
  cg_expr(g, e);
  TypeSet have = e->type ? e->type : TY_ANY;
  if (!(have & ~want) && !(widens && (have & TY_INT))) return;
  size_t n = strlen(what) + strlen(name);   /* what has a %s: room for the NUL */
  char *text = mem_alloc(n);
  if (!text) {
    cg_oom(g);
    return;
  }
  snprintf(text, n, what, name);
  cg_emit(g, OP_CHECK_TYPE, want, cg_const_cstr(g, text), 0, 0);
  mem_free(text, n);
}

/* ---- checkpoints ---------------------------------------------------------- */

void cg_checkpoint(Cg *g, const Checkpoint *cp, bool raise_on_reject) {
  if (cp->title)
    cg_expr(g, cp->title);
  else
    cg_op(g, OP_NIL);
  for (uint32_t i = 0; i < cp->nshow; i++) cg_expr(g, cp->show[i].value);
  cg_line(g, cp->span.line);
  g->f.at = cp->span;
  if (cp->nshow > 0xFFFF) cg_limit(g, "show items", 0xFFFF);
  if (cp->edit.n > 0xFFFF) cg_limit(g, "edit names", 0xFFFF);
  if (g->ncps >= BC_MAX_SITES) {
    if (g->ncps == BC_MAX_SITES) cg_limit(g, "checkpoints", BC_MAX_SITES);
    g->ncps = BC_MAX_SITES + 1;   /* report once; nothing is built */
  }
  if (g->failed) {
    cg_emit(g, OP_CHECKPOINT, 0, 0, 0, 1 + (int)cp->nshow);   /* keep the depth right */
    return;
  }
  if (!cg_grow(g, (void **)&g->cps, &g->capcps, g->ncps, sizeof *g->cps)) return;
  BcCheckpoint *c = &g->cps[g->ncps];
  *c = (BcCheckpoint){
    .line = cp->span.line,
    .nshow = (uint16_t)cp->nshow,
    .nedits = (uint16_t)cp->edit.n,
    .by = cg_str(g, cp->by),
    .quorum = cp->quorum > 0 ? (uint32_t)(cp->quorum > UINT32_MAX ? UINT32_MAX : cp->quorum) : 0,
    .timeout = cp->timeout.present ? cp->timeout.seconds : -1,
    .timeout_verdict = cp->timeout.verdict == VK_REJECT,
    .timeout_reason = cg_str(g, cp->timeout.reason),
    .raise_on_reject = raise_on_reject,
  };
  if (cp->nshow) {
    const char **labels = bc_alloc(g->m, cp->nshow * sizeof *labels);
    if (!labels) {
      cg_oom(g);
      return;
    }
    for (uint32_t i = 0; i < cp->nshow; i++)
      labels[i] = cg_str(g, cp->show[i].label ? cp->show[i].label : "");
    c->show_labels = labels;
  }
  if (cp->edit.n) {
    BcEditTarget *ed = bc_alloc(g->m, cp->edit.n * sizeof *ed);
    if (!ed) {
      cg_oom(g);
      return;
    }
    for (uint32_t i = 0; i < cp->edit.n; i++) {
      const EditTarget *to = &cp->edit_to[i];
      ed[i].name = cg_str(g, cp->edit.v[i]);
      ed[i].global = to->ref == REF_INPUT;
      ed[i].index = (uint16_t)to->index;
    }
    c->edits = ed;
  }
  cg_emit(g, OP_CHECKPOINT, g->ncps++, 0, 0, 1 + (int)cp->nshow);
}
