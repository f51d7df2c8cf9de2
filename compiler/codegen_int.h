/* compiler/codegen_int.h — what the code generator's files share (internal).
 *
 * codegen.c drives generation and builds the module's tables (globals,
 * actions, rules, thresholds); codegen_emit.c appends instructions to the
 * function being generated, tracking the stack depth, the line table, jumps
 * and the constant pool; codegen_expr.c and codegen_stmt.c walk expressions
 * and statements; codegen_json.c writes constant defaults as JSON.
 *
 * Include this header first: compiler/ast.h names its operators OP_ADD,
 * OP_NOT, ... like the opcodes of vm/opcodes.h, so the tree's operators are
 * declared here as AST_OP_* and OP_* means an opcode in the generator. */
#ifndef HITL_CODEGEN_INT_H
#define HITL_CODEGEN_INT_H

#if defined(HITL_AST_H)
#error "compiler/codegen_int.h must be included before compiler/ast.h"
#endif

#include <string.h>

#include "../vm/opcodes.h"

#define OP_ADD AST_OP_ADD
#define OP_SUB AST_OP_SUB
#define OP_MUL AST_OP_MUL
#define OP_DIV AST_OP_DIV
#define OP_IDIV AST_OP_IDIV
#define OP_MOD AST_OP_MOD
#define OP_EQ AST_OP_EQ
#define OP_NE AST_OP_NE
#define OP_LT AST_OP_LT
#define OP_LE AST_OP_LE
#define OP_GT AST_OP_GT
#define OP_GE AST_OP_GE
#define OP_IN AST_OP_IN
#define OP_AND AST_OP_AND
#define OP_OR AST_OP_OR
#define OP_NOT AST_OP_NOT
#define OP_NEG AST_OP_NEG
#include "ast.h"
#undef OP_ADD
#undef OP_SUB
#undef OP_MUL
#undef OP_DIV
#undef OP_IDIV
#undef OP_MOD
#undef OP_EQ
#undef OP_NE
#undef OP_LT
#undef OP_LE
#undef OP_GT
#undef OP_GE
#undef OP_IN
#undef OP_AND
#undef OP_OR
#undef OP_NOT
#undef OP_NEG

#include "codegen.h"
#include "diag.h"

/* a break waiting for the end of its loop, and what a break/continue leaves */
typedef enum CgScopeKind { CG_LOOP, CG_TRY, CG_STEP } CgScopeKind;

typedef struct CgScope {
  CgScopeKind kind;
  uint32_t cont_pc;        /* CG_LOOP: where `continue` jumps */
  uint32_t first_break;    /* CG_LOOP: its breaks start here in Cg.breaks */
  uint32_t first_cont;     /* CG_LOOP with a test at the bottom: its continues start here in conts */
  bool cont_fwd;           /* continue jumps forward to the test (patched by cg_patch_conts) */
} CgScope;

/* the function being generated */
typedef struct CgFn {
  uint8_t *code; uint32_t len, cap;
  BcLine *lines; uint32_t nlines, caplines;
  uint32_t line;           /* source line of the instructions being emitted */
  int depth, max_depth;    /* operand stack, tracked as instructions are emitted */
  uint32_t slots;          /* the checker's frame size */
  uint32_t hidden, max_hidden;   /* hidden locals above the checker's slots */
  bool rule;               /* a rule condition: REF_CONTEXT names are parameters */
  const Decl *fn;          /* the fn being generated, NULL for the body and the rest */
  Span at;                 /* what a limit diagnostic points at */
  CgScope *scopes; uint32_t nscopes, capscopes;
  uint32_t *breaks; uint32_t nbreaks, capbreaks;   /* jump operands to patch */
  uint32_t *conts; uint32_t nconts, capconts;      /* forward continues to patch */
  uint32_t *pend; uint32_t npend, cappend;         /* a condition's false jumps */
  uint32_t in_approve, in_review;                  /* lexical nesting */
} CgFn;

typedef struct Cg {
  const Ast *ast;
  Diags *d;
  Module *m;
  bool failed;             /* an error was reported: the result will be NULL */
  bool oom;                /* out of memory was reported */
  bool too_big;            /* a jump/code size limit was reported for this function */
  bool consts_full;        /* the constant limit was reported */

  /* decl index -> index of what it became (global, function, action), -1 if none */
  int *decl_to;
  uint32_t ninputs;        /* globals [0, ninputs) are the inputs */

  BcConst *consts; uint32_t nconsts, capconsts;
  uint32_t *chash; uint32_t chcap;   /* open addressing: const index + 1, 0 = empty */
  BcCallSite *calls; uint32_t ncalls, capcalls;
  BcCheckpoint *cps; uint32_t ncps, capcps;
  BcReview *revs; uint32_t nrevs, caprevs;
  /* flag blocks, generated as functions after all the others */
  struct CgFlag { const Stmt *s; uint32_t slots, in_approve; const Decl *fn; } *flags;
  uint32_t nflags, capflags;
  uint32_t flag_base;      /* the function index of the first flag block */

  CgFn f;
} Cg;

/* codegen.c */
void cg_oom(Cg *g);
const char *cg_str(Cg *g, const char *s);        /* a copy in the module's pool (NULL stays NULL) */
int cg_rule_param(const char *name);             /* a risk-context name's parameter slot, or -1 */
/* grow *v (element size sz) so that it holds at least n + 1 elements */
bool cg_grow(Cg *g, void **v, uint32_t *cap, uint32_t n, size_t sz);

/* codegen_emit.c — instructions of g->f */
void cg_line(Cg *g, uint32_t line);
/* Append op with up to three operands (u16/u8/s8 as the opcode's operand
 * letters say; a `j` operand is written as 0 and its position returned).
 * pops is used only for the opcodes whose effect varies (-1 in the list). */
uint32_t cg_emit(Cg *g, Opcode op, int64_t a, int64_t b, int64_t c, int pops);
static inline void cg_op(Cg *g, Opcode op) { cg_emit(g, op, 0, 0, 0, 0); }
static inline void cg_op1(Cg *g, Opcode op, int64_t a) { cg_emit(g, op, a, 0, 0, 0); }
uint32_t cg_here(Cg *g);
uint32_t cg_jump(Cg *g, Opcode op);              /* forward: patch with cg_patch */
void cg_patch(Cg *g, uint32_t at);               /* the jump at operand `at` lands here */
void cg_jump_back(Cg *g, Opcode op, uint32_t target);
void cg_patch_to(Cg *g, uint32_t at, uint32_t target);   /* the jump at operand `at` lands at target */
void cg_set_depth(Cg *g, int depth);             /* at a label reached only by a jump */
uint32_t cg_hide(Cg *g, uint32_t n);             /* n consecutive hidden locals */
void cg_unhide(Cg *g, uint32_t n);
void cg_limit(Cg *g, const char *what, uint32_t max);   /* "too many WHAT" diagnostic */
int cg_const_int(Cg *g, int64_t v);
int cg_const_float(Cg *g, double v);
int cg_const_str(Cg *g, const char *s, size_t len);
static inline int cg_const_cstr(Cg *g, const char *s) { return cg_const_str(g, s, strlen(s)); }
void cg_push_int(Cg *g, int64_t v);              /* SMALLINT or CONST */

/* codegen_expr.c */
void cg_expr(Cg *g, const Expr *e);
/* Jump when cond is false: returns a mark for cg_patch_false, which lands
 * every such jump (`a and b` makes two) at the current position. */
uint32_t cg_cond_false(Cg *g, const Expr *cond);
/* Jump back to target when cond is true (a loop's test at its bottom); the
 * jumps out of an `a and b` are pending: land them with cg_patch_false. */
uint32_t cg_cond_true_back(Cg *g, const Expr *cond, uint32_t target);
void cg_patch_false(Cg *g, uint32_t mark);
/* the value of e stored into a variable of type want: CHECK_TYPE when needed,
 * naming it as printf(what, name) does (what holds one %s) */
void cg_value_for(Cg *g, const Expr *e, TypeSet want, const char *what, const char *name);
/* title, show values, CHECKPOINT: leaves the verdict on the stack */
void cg_checkpoint(Cg *g, const Checkpoint *cp, bool raise_on_reject);

/* the review site of statement s (codegen.c); its flag block, if any, is
 * queued to be generated as a function of its own */
uint32_t cg_review_site(Cg *g, const Stmt *s);

/* codegen_stmt.c */
void cg_stmts(Cg *g, const StmtList *l);
bool cg_ends(const StmtList *l);

/* codegen_json.c: the JSON text of a constant expression, in the module's
 * pool; NULL on out of memory (reported) */
const char *cg_json(Cg *g, const Expr *e);

#endif
