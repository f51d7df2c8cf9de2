/* compiler/check.h — what the checker's files share (internal to check*.c).
 *
 * The checker walks the tree once per frame (the body, each fn, each
 * action's blast, each rule), resolving names, giving every expression its
 * static type and every local a slot.  check.c drives it and checks the
 * declarations; check_expr.c types expressions and calls; check_stmt.c
 * walks statements, scopes and checkpoints. */
#ifndef HITL_CHECK_H
#define HITL_CHECK_H

#include <string.h>

#include "ast.h"
#include "diag.h"

/* a name declared at the top level: they share one namespace */
typedef enum GlobalKind { G_INPUT, G_PARAM, G_FN, G_ACTION } GlobalKind;

typedef struct Global {
  const char *name;
  Span span;
  GlobalKind kind;
  TypeSet type;         /* input and param types */
  Decl *decl;
  int index;            /* input: field index; others: position in Ast.decls */
} Global;

typedef struct Local {
  const char *name;
  Span span;
  TypeSet type;
  int slot;
} Local;

/* what the names of the frame being checked may refer to */
typedef enum CkMode {
  CK_BODY,              /* the playbook body: locals, inputs, params, calls */
  CK_FN,                /* a fn body: the same, but its own locals only */
  CK_RULE,              /* a rule condition: risk context, inputs, params, fns */
  CK_BLAST,             /* an action's blast: its parameters and built-ins */
  CK_CONST,             /* input defaults and param values: no names at all */
} CkMode;

typedef struct Ck {
  Ast *ast;
  Diags *d;
  Arena *a;             /* the tree's arena: type texts, edit targets, scopes */

  Global *g; uint32_t ng, capg;
  uint32_t *gh, ghcap;  /* open-addressing index of g by name: i + 1, 0 = empty */

  Local *loc; uint32_t nloc, caploc;
  uint32_t frame;       /* first local of the current frame */
  uint32_t block;       /* first local of the innermost block */
  uint32_t maxslots;    /* high-water mark of the current frame */

  CkMode mode;
  Decl *decl;           /* the fn (CK_FN) or action (CK_BLAST) being checked */
  int decl_index;       /* its position in Ast.decls */
  uint32_t loops;       /* loops enclosing the statement, within the frame */
  const char *barrier;  /* "review block" or "flag block" that break/return may not leave */
  uint32_t in_flag;     /* flag blocks enclosing the statement: they cannot wait for a person */

  /* fns that call actions or wait for people cannot be called from rules */
  bool *waits;                            /* per decl index */
  struct { int from, to; } *calls; uint32_t ncalls, capcalls;  /* fn -> fn edges */

  /* every local declared in the body and fns, to tell a rule that uses one
   * that it cannot (rather than that it is undeclared) */
  const char **seen; uint32_t nseen, capseen;
} Ck;

/* Names from the scanner are interned (one copy per spelling), so equal
 * names are usually the same pointer; names the compiler itself supplies
 * ("verdict", the risk-context keywords) are not, hence the strcmp. */
static inline bool ck_same_name(const char *a, const char *b) {
  return a == b || (a[0] == b[0] && strcmp(a, b) == 0);
}

/* check_expr.c */
TypeSet ck_expr(Ck *c, Expr *e);
/* Whether a value of type `have` may stand where `want` is expected
 * (int widens to float; false only when the mismatch is certain). */
bool ck_fits(TypeSet have, TypeSet want);
const char *ck_ty(Ck *c, TypeSet t);
Global *ck_global(Ck *c, const char *name);
void ck_add_global(Ck *c, Global g);          /* the name must not be there yet */
int ck_builtin(const char *name);            /* row in HITL_BUILTINS or -1 */
bool ck_is_context_keyword(const char *name);
/* Check that e is a constant (literals, negated numbers, lists and maps of
 * constants); report the first offending part as "WHAT must be a constant". */
bool ck_const(Ck *c, Expr *e, const char *what);
/* e must be a bool: "WHAT must be bool, found T" */
void ck_cond(Ck *c, Expr *e, const char *what);

/* check_stmt.c */
void ck_stmts(Ck *c, StmtList *l);            /* in the current block */
void ck_block(Ck *c, StmtList *l);            /* in a new block */
uint32_t ck_open(Ck *c);                      /* start a block; returns what ck_close needs */
void ck_close(Ck *c, uint32_t saved);
int ck_declare(Ck *c, const char *name, Span span, TypeSet type);
Local *ck_local(Ck *c, const char *name);
bool ck_seen_local(Ck *c, const char *name);
void ck_begin_frame(Ck *c, CkMode mode, Decl *decl, int decl_index);
uint32_t ck_end_frame(Ck *c);                 /* returns the slots the frame needs */
void ck_note_wait(Ck *c);
/* a checkpoint's title, show, edit, by, quorum and timeout (both forms) */
void ck_checkpoint(Ck *c, Checkpoint *cp);                     /* the current fn calls an action or waits */

#endif
