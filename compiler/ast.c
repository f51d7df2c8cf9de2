/* compiler/ast.c — constructors and small helpers for the syntax tree. */
#include "ast.h"

#include <stddef.h>
#include <string.h>

static const char *const op_text[] = {
  [OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*", [OP_DIV] = "/",
  [OP_IDIV] = "//", [OP_MOD] = "%", [OP_EQ] = "==", [OP_NE] = "!=",
  [OP_LT] = "<", [OP_LE] = "<=", [OP_GT] = ">", [OP_GE] = ">=",
  [OP_IN] = "in", [OP_AND] = "and", [OP_OR] = "or", [OP_NOT] = "not",
  [OP_NEG] = "-",
};

const char *ast_op_text(Op op) { return op_text[op]; }

/* bytes of a node of each kind: the header and its own union member */
#define EXPR_SIZE(m) (offsetof(Expr, u) + sizeof(((Expr *)0)->u.m))
static const uint8_t expr_size[] = {
  [E_NIL] = EXPR_SIZE(i),   /* nothing; the smallest member, so u is never out of bounds */
  [E_BOOL] = EXPR_SIZE(i), [E_INT] = EXPR_SIZE(i), [E_FLOAT] = EXPR_SIZE(f),
  [E_STRING] = EXPR_SIZE(str), [E_INTERP] = EXPR_SIZE(list), [E_NAME] = EXPR_SIZE(name),
  [E_LIST] = EXPR_SIZE(list), [E_MAP] = EXPR_SIZE(map), [E_UNARY] = EXPR_SIZE(op),
  [E_BINARY] = EXPR_SIZE(op), [E_INDEX] = EXPR_SIZE(index), [E_FIELD] = EXPR_SIZE(field),
  [E_CALL] = EXPR_SIZE(call), [E_CHECKPOINT] = EXPR_SIZE(cp),
};
_Static_assert(sizeof(Expr) <= UINT8_MAX, "expr_size holds bytes");
_Static_assert(sizeof expr_size == E_CHECKPOINT + 1, "a size for every ExprKind");

Expr *ast_expr(Arena *a, ExprKind kind, Span span) {
  Expr *e = arena_alloc(a, expr_size[kind]);
  e->kind = kind;
  e->span = span;
  e->depth = 1;
  e->type = TY_ANY;
  return e;
}

#define STMT_SIZE(m) (offsetof(Stmt, u) + sizeof(((Stmt *)0)->u.m))
static const uint8_t stmt_size[] = {
  [S_LET] = STMT_SIZE(let), [S_ASSIGN] = STMT_SIZE(assign), [S_IF] = STMT_SIZE(if_),
  [S_WHILE] = STMT_SIZE(while_), [S_FOR] = STMT_SIZE(for_),
  [S_BREAK] = STMT_SIZE(ret), [S_CONTINUE] = STMT_SIZE(ret),   /* nothing; the smallest */
  [S_RETURN] = STMT_SIZE(ret), [S_FAIL] = STMT_SIZE(ret), [S_TRY] = STMT_SIZE(try_),
  [S_STEP] = STMT_SIZE(step), [S_LOG] = STMT_SIZE(ret), [S_EXPR] = STMT_SIZE(ret),
  [S_CHECKPOINT] = STMT_SIZE(checkpoint), [S_REVIEW] = STMT_SIZE(review),
  [S_BLOCK] = STMT_SIZE(block),
};
_Static_assert(sizeof(Stmt) <= UINT8_MAX, "stmt_size holds bytes");
_Static_assert(sizeof stmt_size == S_BLOCK + 1, "a size for every StmtKind");

Stmt *ast_stmt(Arena *a, StmtKind kind, Span span) {
  Stmt *s = arena_alloc(a, stmt_size[kind]);
  s->kind = kind;
  s->span = span;
  return s;
}

Decl *ast_decl(Arena *a, DeclKind kind, Span span) {
  Decl *d = arena_alloc(a, sizeof *d);
  d->kind = kind;
  d->span = span;
  return d;
}

Checkpoint *ast_checkpoint(Arena *a, Span span) {
  Checkpoint *c = arena_alloc(a, sizeof *c);
  c->span = span;
  return c;
}

/* Grow a (v, n, cap) vector in the arena by one slot. */
#define PUSH(a, l, x)                                                      \
  do {                                                                     \
    if ((l)->n == (l)->cap) {                                              \
      uint32_t nc = (l)->cap ? (l)->cap * 2 : 4;                           \
      (l)->v = arena_grow((a), (l)->v, sizeof *(l)->v, (l)->n, nc);        \
      (l)->cap = nc;                                                       \
    }                                                                      \
    (l)->v[(l)->n++] = (x);                                                \
  } while (0)

void ast_push_expr(Arena *a, ExprList *l, Expr *e) { PUSH(a, l, e); }
void ast_push_stmt(Arena *a, StmtList *l, Stmt *s) { PUSH(a, l, s); }
void ast_push_param(Arena *a, ParamList *l, Param p) { PUSH(a, l, p); }
void ast_push_decl(Ast *ast, Decl *d) { PUSH(&ast->arena, &ast->decls, d); }

void ast_push_name(Arena *a, NameList *l, const char *name, Span span) {
  if (l->n == l->cap) {
    uint32_t nc = l->cap ? l->cap * 2 : 4;
    l->v = arena_grow(a, l->v, sizeof *l->v, l->n, nc);
    l->spans = arena_grow(a, l->spans, sizeof *l->spans, l->n, nc);
    l->cap = nc;
  }
  l->v[l->n] = name;
  l->spans[l->n] = span;
  l->n++;
}

static const struct { const char *name; TypeSet t; } type_names[] = {
  {"nil", TY_NIL}, {"bool", TY_BOOL}, {"int", TY_INT}, {"float", TY_FLOAT},
  {"string", TY_STRING}, {"list", TY_LIST}, {"map", TY_MAP}, {"any", TY_ANY},
};

TypeSet ast_type_from_name(const char *name) {
  for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
    if (strcmp(type_names[i].name, name) == 0) return type_names[i].t;
  return 0;
}

const char *ast_type_text(Arena *a, TypeSet t) {
  if (t == TY_ANY) return "any";
  for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
    if (type_names[i].t == t) return type_names[i].name;
  /* a union: "int or float" */
  char *out = NULL;
  for (size_t i = 0; i < 7; i++) {
    if (!(t & type_names[i].t)) continue;
    out = out ? arena_printf(a, "%s or %s", out, type_names[i].name)
              : arena_strdup(a, type_names[i].name);
  }
  return out ? out : "nothing";
}
