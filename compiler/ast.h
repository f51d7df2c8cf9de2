/* compiler/ast.h — the syntax tree the parser builds and every later pass reads.
 *
 * All nodes, lists and strings live in one arena (compiler/arena.h) owned by
 * the Ast: nothing in the tree is freed on its own, so error recovery in the
 * parser cannot leak.  Every node carries the span (line and column, both
 * 1-based; columns count characters, not bytes) of the token that a
 * diagnostic about it should point at.
 *
 * Static types are bit sets of the run-time types (TY_*), so "int or float"
 * is TY_INT|TY_FLOAT and `any` is TY_ANY.  An empty set never appears in a
 * well-formed tree. */
#ifndef HITL_AST_H
#define HITL_AST_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "arena.h"

/* ---- source positions --------------------------------------------------- */

typedef struct Span {
  uint32_t line, col;   /* 1-based; col counts Unicode code points */
  uint32_t len;         /* length in characters for the ~~~ underline, 0 = 1 */
} Span;

/* ---- static types (bit sets) -------------------------------------------- */

enum {
  TY_NIL = 1u << 0,
  TY_BOOL = 1u << 1,
  TY_INT = 1u << 2,
  TY_FLOAT = 1u << 3,
  TY_STRING = 1u << 4,
  TY_LIST = 1u << 5,
  TY_MAP = 1u << 6,
  TY_ANY = (1u << 7) - 1,
  TY_NUM = TY_INT | TY_FLOAT,
};
typedef uint32_t TypeSet;

/* ---- expressions --------------------------------------------------------- */

typedef enum ExprKind {
  E_NIL, E_BOOL, E_INT, E_FLOAT,
  E_STRING,     /* plain string literal: str */
  E_INTERP,     /* interpolated string: parts[] alternate E_STRING pieces and expressions */
  E_NAME,       /* a name (also the risk-context keywords in rules) */
  E_LIST,       /* items[] */
  E_MAP,        /* keys[] (E_STRING or E_INTERP), items[] values */
  E_UNARY,      /* op (OP_NEG, OP_NOT), a */
  E_BINARY,     /* op, a, b (OP_AND / OP_OR short-circuit) */
  E_INDEX,      /* a[b] */
  E_FIELD,      /* a.name */
  E_CALL,       /* name(args) [with confidence conf] [because because]: clauses */
  E_CHECKPOINT, /* checkpoint expression: cp */
} ExprKind;

typedef enum Op {
  OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_IDIV, OP_MOD,
  OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN,
  OP_AND, OP_OR, OP_NOT, OP_NEG,
} Op;

const char *ast_op_text(Op op);   /* "+", "//", "and", ... */

/* What a name or call resolved to; filled in by the checker. */
typedef enum NameRef {
  REF_NONE,     /* not resolved (an error was reported) */
  REF_LOCAL,    /* a local of the enclosing frame: slot */
  REF_INPUT,    /* a field of the input block: index = field index */
  REF_PARAM,    /* a `param`: index = its position in Ast.decls */
  REF_CONTEXT,  /* a risk-context name in a rule condition (by name) */
  REF_FN,       /* a `fn`: index = its position in Ast.decls */
  REF_ACTION,   /* an `action`: index = its position in Ast.decls */
  REF_BUILTIN,  /* a built-in function: index = its row in HITL_BUILTINS */
} NameRef;

typedef struct Expr Expr;
typedef struct Stmt Stmt;
typedef struct Checkpoint Checkpoint;

typedef struct ExprList { Expr **v; uint32_t n, cap; } ExprList;

/* An action call's `with confidence` and `because` clauses.  Few calls have
 * them, so they live apart and an Expr stays 64 bytes instead of 96; read
 * them through ast_call_confidence / ast_call_because. */
typedef struct CallClauses {
  Expr *confidence, *because;                        /* NULL when absent */
  Span confidence_span, because_span;                /* the `with` and `because` keywords */
} CallClauses;

/* An Expr is allocated with room for its own union member only (ast_expr):
 * a name takes 40 bytes, an int 24, a call 56.  So no pass may change a
 * node's kind, copy a whole Expr, or read a union member other than its
 * kind's. */
struct Expr {
  ExprKind kind : 8;
  TypeSet type : 8;     /* filled in by the checker (TY_ANY fits in 7 bits) */
  uint32_t depth : 16;  /* nesting depth of this subtree (guards recursion; saturates) */
  Span span;            /* the operator for E_UNARY/E_BINARY, the name for E_CALL */
  union {
    bool b;
    int64_t i;
    double f;
    struct { const char *s; size_t len; } str;       /* E_STRING (may hold NULs) */
    struct {
      const char *name;
      int slot;                                      /* REF_LOCAL: frame slot, else -1 */
      NameRef ref; int index;                        /* set by the checker */
    } name;                                          /* E_NAME */
    ExprList list;                                   /* E_LIST, E_INTERP parts */
    struct { ExprList keys, vals; } map;             /* E_MAP */
    struct { Op op; Expr *a, *b; } op;               /* E_UNARY (b NULL), E_BINARY */
    struct { Expr *a, *b; } index;                   /* E_INDEX */
    struct { Expr *a; const char *name; Span name_span; } field;  /* E_FIELD */
    struct {
      const char *name;
      ExprList args;
      CallClauses *clauses;                          /* NULL when neither clause is given */
      NameRef ref; int index;                        /* REF_FN/ACTION/BUILTIN; set by the checker */
    } call;                                          /* E_CALL */
    Checkpoint *cp;                                  /* E_CHECKPOINT */
  } u;
};

/* E_CALL's clauses, NULL when absent */
static inline Expr *ast_call_confidence(const Expr *call) {
  return call->u.call.clauses ? call->u.call.clauses->confidence : NULL;
}
static inline Expr *ast_call_because(const Expr *call) {
  return call->u.call.clauses ? call->u.call.clauses->because : NULL;
}

/* ---- statements ---------------------------------------------------------- */

typedef struct StmtList { Stmt **v; uint32_t n, cap; } StmtList;
typedef struct NameList { const char **v; Span *spans; uint32_t n, cap; } NameList;

typedef struct ShowItem {
  const char *label;    /* source text for plain names and fields */
  Span span;
  Expr *value;
} ShowItem;

typedef enum VerdictKind { VK_APPROVE, VK_REJECT } VerdictKind;

typedef struct Timeout {
  bool present;
  int64_t seconds;      /* from the duration (or int) literal */
  VerdictKind verdict;
  const char *reason;   /* NULL if none */
  Span span;
} Timeout;

/* What a checkpoint's `edit` name resolved to: REF_LOCAL (index = slot) or
 * REF_INPUT (index = field index). */
typedef struct EditTarget { NameRef ref; int index; } EditTarget;

/* The part shared by the checkpoint statement and expression. */
struct Checkpoint {
  Span span;            /* the `checkpoint` keyword */
  Expr *title;
  ShowItem *show; uint32_t nshow, capshow;
  NameList edit;
  EditTarget *edit_to;  /* per edit name, set by the checker */
  const char *by;       /* NULL if none */
  Span by_span;
  int64_t quorum;       /* 0 when absent (means 1) */
  Span quorum_span;
  Timeout timeout;
};

typedef enum StmtKind {
  S_LET,        /* let name[: type] = value */
  S_ASSIGN,     /* target = value; target is E_NAME, E_FIELD or E_INDEX */
  S_IF,         /* if cond body [else els]; els is a block or a one-statement if */
  S_WHILE,      /* while cond body */
  S_FOR,        /* for key[, val] in iter body */
  S_BREAK, S_CONTINUE,
  S_RETURN,     /* return [value] */
  S_FAIL,       /* fail value */
  S_TRY,        /* try body catch name handler */
  S_STEP,       /* step title body */
  S_LOG,        /* log value */
  S_EXPR,       /* an expression statement (a call) */
  S_CHECKPOINT, /* checkpoint ... [approve {..}] [reject [(why)] {..}] */
  S_REVIEW,     /* review title [within d] [by g] body [flag [(why)] {..}] */
  S_BLOCK,      /* a braced block (else branches); body */
} StmtKind;

/* Like an Expr, a Stmt has room for its own kind's union member only
 * (ast_stmt): never change its kind or copy it whole. */
struct Stmt {
  StmtKind kind;
  Span span;            /* the statement's first token */
  union {
    struct { const char *name; Span name_span; TypeSet type; bool typed; Expr *value; int slot; } let;
    struct { Expr *target; Expr *value; } assign;
    struct { Expr *cond; StmtList body; Stmt *els; } if_;
    struct { Expr *cond; StmtList body; } while_;
    struct {
      const char *key, *val;          /* val NULL for `for x in list` */
      Span key_span, val_span;
      Expr *iter;
      StmtList body;
      int key_slot, val_slot;
    } for_;
    struct { Expr *value; } ret;      /* S_RETURN (value may be NULL), S_FAIL, S_LOG, S_EXPR */
    struct { StmtList body; const char *name; Span name_span; StmtList handler; int slot; } try_;
    struct { Expr *title; StmtList body; } step;
    struct {
      Checkpoint *cp;
      bool has_approve, has_reject;
      StmtList approve;
      const char *why; Span why_span;   /* NULL if `reject {` without a name */
      StmtList reject;
      int verdict_slot, why_slot;       /* set by the checker; why_slot -1 without a name */
    } checkpoint;
    struct {                          /* pointers first, then spans: no padding */
      Expr *title;
      int64_t within;                   /* seconds; -1 when absent (means 1d) */
      const char *by;
      const char *why;
      StmtList body;
      StmtList flag;
      Span within_span, by_span, why_span;
      int why_slot;                     /* set by the checker: the flag block's reason (a hidden
                                           slot without a name); -1 without a flag block */
      uint32_t nlive;                   /* set by the checker: the frame's slots in scope here,
                                           which the flag block sees as they were */
      bool has_flag;
    } review;
    StmtList block;                     /* S_BLOCK */
  } u;
};

/* ---- declarations -------------------------------------------------------- */

typedef struct Param {
  const char *name;
  Span span;
  TypeSet type;
  Expr *deflt;          /* input defaults; NULL when required */
} Param;

typedef struct ParamList { Param *v; uint32_t n, cap; } ParamList;

typedef enum RouteKind { R_AUTO, R_APPROVE, R_REVIEW, R_DENY } RouteKind;

typedef struct Route {
  RouteKind kind;
  Span span;
  const char *by; Span by_span;       /* approve, review */
  int64_t quorum; Span quorum_span;   /* approve; 0 = absent */
  Timeout timeout;                    /* approve */
  int64_t within; Span within_span;   /* review; -1 = absent */
  const char *message;                /* deny; NULL = absent */
} Route;

typedef struct Rule {
  Span span;            /* `when` or `otherwise` */
  Expr *cond;           /* NULL for otherwise */
  Route route;
  const char *text;     /* source text of the rule, runs of spaces collapsed */
} Rule;

typedef struct Threshold { const char *action; Span span; double value; Span value_span; } Threshold;

typedef enum DeclKind { D_INPUT, D_PARAM, D_ACTION, D_FN, D_THRESHOLDS, D_RULES } DeclKind;

typedef struct Decl {
  DeclKind kind;
  Span span;            /* the keyword */
  const char *name;     /* param, action, fn */
  Span name_span;
  union {
    ParamList input;                                    /* D_INPUT fields */
    struct { TypeSet type; Expr *value; } param;        /* D_PARAM */
    struct {
      ParamList params;
      TypeSet result; bool has_result; Span result_span;
      const char *lib, *symbol;                         /* `from` ... `symbol` ...; NULL if host-bound */
      Span lib_span;
      bool irreversible;
      Expr *blast;                                      /* NULL = 1 */
      const char *compliance; Span compliance_span;     /* NULL = none */
      bool has_edit; NameList edit;                     /* has_edit false = all params */
      const char *undo; Span undo_span;                 /* NULL = none */
      uint32_t nslots;                                  /* blast's frame: the parameters */
    } action;
    struct {
      ParamList params; TypeSet result; bool has_result; Span result_span; StmtList body;
      uint32_t nslots;                                  /* locals, parameters first; by the checker */
    } fn;
    struct { Threshold *v; uint32_t n, cap; } thresholds;
    struct { Rule *v; uint32_t n, cap; } rules;
  } u;
} Decl;

typedef struct Ast {
  Arena arena;
  const char *name;         /* playbook NAME */
  const char *description;
  Span name_span;
  struct { Decl **v; uint32_t n, cap; } decls;   /* in source order */
  StmtList body;                                 /* top-level statements, in order */
  uint32_t body_nslots;                          /* the body's frame size; by the checker */
  const bool *waits;        /* per decl: a fn that calls an action or waits, directly or through
                               another fn; by the checker (NULL before) */
} Ast;

/* ---- construction helpers (used by the parser) -------------------------- */

Expr *ast_expr(Arena *a, ExprKind kind, Span span);
Stmt *ast_stmt(Arena *a, StmtKind kind, Span span);
Decl *ast_decl(Arena *a, DeclKind kind, Span span);
Checkpoint *ast_checkpoint(Arena *a, Span span);

void ast_push_expr(Arena *a, ExprList *l, Expr *e);
void ast_push_stmt(Arena *a, StmtList *l, Stmt *s);
void ast_push_name(Arena *a, NameList *l, const char *name, Span span);
void ast_push_param(Arena *a, ParamList *l, Param p);
void ast_push_decl(Ast *ast, Decl *d);

/* type names: "int" -> TY_INT, ...; returns 0 for an unknown name */
TypeSet ast_type_from_name(const char *name);
/* "int", "int or float", "any"; the text lives in a static table or the arena */
const char *ast_type_text(Arena *a, TypeSet t);

#endif
