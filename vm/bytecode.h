/* vm/bytecode.h — a compiled playbook in memory, and its .hbc file form.
 *
 * The code generator (compiler/codegen*.c) builds a Module; bc_write turns it
 * into the bytes of a .hbc file and bc_read turns bytes back into a Module,
 * refusing anything malformed; bc_verify checks every function's code
 * (operands in range, jumps on instruction boundaries, one stack depth at
 * every instruction) before a VM runs it.  The file layout is in
 * docs/bytecode.md.
 *
 * A Module owns all its memory (one arena-like pool, freed by bc_free), holds
 * no pointers into the source or the syntax tree, and never changes once
 * built or read: any number of VMs may run it at once. */
#ifndef HITL_BYTECODE_H
#define HITL_BYTECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BC_MAGIC "\x7fHBC"
#define BC_VERSION 3   /* 2: the fused instructions (_K, _LK, _LL, positive JUMP_IF_<cmp>) renumbered the opcodes;
                          3: the review sites (version 2 files, without them, still load) */

/* limits a module must respect (the loader refuses anything larger) */
enum {
  BC_MAX_CONSTS = 65535,
  BC_MAX_FUNCS = 65535,
  BC_MAX_LOCALS = 65534,     /* 0xFFFF means "no local" in FOR_MAP */
  BC_MAX_GLOBALS = 65535,
  BC_MAX_ACTIONS = 65535,
  BC_MAX_SITES = 65535,
  BC_MAX_CODE = 1u << 28,    /* bytes of code in one function */
  BC_MAX_STACK = 65535,
  BC_MAX_PARAMS = 255,
};

typedef enum ConstKind { K_INT, K_FLOAT, K_STR } ConstKind;

typedef struct BcConst {
  uint8_t kind;              /* ConstKind */
  int64_t i;
  double f;
  const char *s;             /* K_STR: NUL-terminated, may hold NULs */
  uint32_t len;
} BcConst;

/* pc -> source line, one entry where the line changes */
typedef struct BcLine { uint32_t pc, line; } BcLine;

typedef struct BcFunc {
  const char *name;          /* "<body>" for the playbook body (function 0) */
  uint16_t nparams;
  uint16_t nlocals;          /* parameters included */
  uint16_t max_stack;        /* operand stack above the locals; bc_verify checks it */
  uint32_t *param_types;     /* TypeSet per parameter */
  uint32_t result_type;      /* TypeSet */
  uint8_t *code;
  uint32_t code_len;
  BcLine *lines;
  uint32_t nlines;
} BcFunc;

typedef enum GlobalKind { G_INPUT, G_PARAM } GlobalKind;

typedef struct BcGlobal {
  const char *name;
  uint8_t kind;              /* GlobalKind */
  uint32_t type;             /* TypeSet */
  const char *deflt;         /* the default as JSON text; NULL = required input */
} BcGlobal;

typedef struct BcParam { const char *name; uint32_t type; } BcParam;

typedef struct BcAction {
  const char *name;
  BcParam *params;
  uint16_t nparams;
  uint32_t result_type;      /* TypeSet; TY_ANY when undeclared */
  bool irreversible;
  int32_t blast_fn;          /* function computing blast from the params, -1 = 1 */
  const char *compliance;    /* NULL = none */
  uint64_t editable;         /* bit i: parameter i may be changed by `modify` */
  int32_t undo;              /* action index, -1 = none */
  const char *lib, *symbol;  /* `from ... symbol ...`; NULL = bound by the host */
  uint32_t line;
} BcAction;

/* one place in the code that calls an action */
typedef struct BcCallSite {
  uint16_t action;
  uint8_t nargs;
  bool has_confidence, has_because;
  bool in_approve;           /* lexically inside a checkpoint's approve block */
  bool in_review;            /* lexically inside a review block */
  uint32_t line, col;
} BcCallSite;

typedef enum RouteKind_ { BR_AUTO, BR_APPROVE, BR_REVIEW, BR_DENY } BcRouteKind;

typedef struct BcRoute {
  uint8_t kind;              /* BcRouteKind */
  const char *by;            /* NULL = anyone */
  uint32_t quorum;           /* 0 = absent (1) */
  int64_t timeout;           /* seconds, -1 = none */
  uint8_t timeout_verdict;   /* 0 approve, 1 reject */
  const char *timeout_reason;
  int64_t within;            /* review window in seconds, -1 = default 1d */
  const char *message;       /* deny message, NULL = none */
} BcRoute;

/* A rule's condition is compiled to a function whose 11 parameters are the
 * risk context, in this order (LANGUAGE.md §6): action, args, irreversible,
 * blast, compliance, confidence, threshold, risk, queue, approved, reviewed. */
enum { BC_RULE_NPARAMS = 11 };

typedef struct BcRule {
  int32_t cond_fn;           /* function returning the condition's bool; -1 = otherwise */
  BcRoute route;
  uint32_t line;
  const char *text;          /* source text, runs of blanks collapsed */
} BcRule;

typedef struct BcThreshold { int32_t action; double value; } BcThreshold;  /* action -1 = default */

/* a name a reviewer's `modify` may change at a checkpoint */
typedef struct BcEditTarget {
  const char *name;
  bool global;               /* an input (globals[index]) or a local of the frame */
  uint16_t index;
} BcEditTarget;

typedef struct BcCheckpoint {
  uint32_t line;
  const char **show_labels;  /* the show values are on the stack in this order, after the title */
  uint16_t nshow;
  BcEditTarget *edits;
  uint16_t nedits;
  const char *by;            /* NULL = anyone */
  uint32_t quorum;           /* 0 = absent (1) */
  int64_t timeout;           /* seconds, -1 = none */
  uint8_t timeout_verdict;   /* 0 approve, 1 reject */
  const char *timeout_reason;
  bool raise_on_reject;      /* statement form without a reject block: a rejection raises `rejected` */
} BcCheckpoint;

/* a review statement (LANGUAGE.md §7): REVIEW_BEGIN and REVIEW_END name it */
typedef struct BcReview {
  uint32_t line;
  const char *by;            /* NULL = anyone */
  int64_t within;            /* seconds, -1 = the default 1d */
  int32_t flag_fn;           /* the flag block as a function, -1 = none: its parameters are
                                the frame's first nlive locals, then the reason */
  uint16_t nlive;            /* locals the flag block sees as they were at the block's end */
} BcReview;

typedef struct Module {
  struct BcPool *pool;       /* owns every allocation below */
  const char *source_name;
  uint8_t source_hash[32];   /* SHA-256 of the source text */
  const char *playbook;      /* playbook NAME */
  const char *description;

  BcConst *consts; uint32_t nconsts;
  BcFunc *funcs; uint32_t nfuncs;          /* funcs[0] is the body */
  BcGlobal *globals; uint32_t nglobals;    /* inputs first, then params */
  BcAction *actions; uint32_t nactions;
  BcCallSite *calls; uint32_t ncalls;
  BcRule *rules; uint32_t nrules;
  bool has_rules;                          /* a rules block exists (even an empty one) */
  BcThreshold *thresholds; uint32_t nthresholds;
  BcCheckpoint *checkpoints; uint32_t ncheckpoints;
  BcReview *reviews; uint32_t nreviews;
} Module;

/* ---- building (code generator) ------------------------------------------ */

Module *bc_new(void);                                  /* NULL on out of memory */
/* Allocation from the module's pool; NULL on out of memory. */
void *bc_alloc(Module *m, size_t size);
char *bc_strdup(Module *m, const char *s, size_t len);
void bc_free(Module *m);

/* ---- the file form ------------------------------------------------------- */

/* Serialise; *out is mem_alloc'd (free with mem_free(*out, *len)).  false on
 * out of memory. */
bool bc_write(const Module *m, uint8_t **out, size_t *len);
/* Parse and verify; on failure returns NULL and a message in err (size n). */
Module *bc_read(const uint8_t *data, size_t len, char *err, size_t n);
/* Check a module (bc_read calls it; the code generator's output is checked
 * too in debug builds and tests).  false with a message on the first problem. */
bool bc_verify(const Module *m, char *err, size_t n);

/* stack effect of the instruction at code[0] (its operands decoded) */
bool bc_stack_effect(const Module *m, const uint8_t *code, int *pops, int *pushes);
/* length in bytes of the instruction at code[0], or 0 for an unknown opcode */
uint32_t bc_insn_len(uint8_t op);
const char *bc_op_name(uint8_t op);

/* the listing of hitlc --disasm */
#include <stdio.h>
void bc_disasm(const Module *m, FILE *out);

#endif
