/* vm/verify.c — what an instruction is, and the check that a Module is safe
 * to run.
 *
 * Instruction names, operand widths and fixed stack effects are expansions of
 * HITL_OPCODES (vm/opcodes.h); the built-ins' arities of HITL_BUILTINS
 * (stdlib/builtins.h).  Nothing here is a second list to keep in sync.
 *
 * bc_verify checks the tables (every index in range, enums, TypeSets, the
 * calling conventions of rule and blast functions), then each function's code
 * in three linear passes:
 *   1. decode every instruction from pc 0: known opcode, operands inside the
 *      function, operand indices in range; mark the instruction starts;
 *   2. every jump target is an instruction start inside the function;
 *   3. a worklist over the control-flow graph computes the one stack depth
 *      each reachable instruction must have.  An instruction is queued only
 *      the first time its depth is set, so the pass visits each instruction
 *      at most once and never enumerates paths.
 * The VM may then run the code without bounds checks on locals, constants or
 * its operand stack. */
#include "vm/bytecode.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "stdlib/builtins.h"
#include "vm/bcinsn.h"
#include "vm/mem.h"
#include "vm/opcodes.h"

/* every TypeSet is a subset of TY_ANY (compiler/ast.h) */
#define TYPESET_ALL 0x7Fu

static const char *const op_names[OP__COUNT] = {
#define OP_NAME(name, ops, pops, pushes, meaning) #name,
  HITL_OPCODES(OP_NAME)
#undef OP_NAME
};

static const char *const op_operands[OP__COUNT] = {
#define OP_OPS(name, ops, pops, pushes, meaning) ops,
  HITL_OPCODES(OP_OPS)
#undef OP_OPS
};

static const signed char op_pops[OP__COUNT] = {
#define OP_POPS(name, ops, pops, pushes, meaning) pops,
  HITL_OPCODES(OP_POPS)
#undef OP_POPS
};

static const signed char op_pushes[OP__COUNT] = {
#define OP_PUSHES(name, ops, pops, pushes, meaning) pushes,
  HITL_OPCODES(OP_PUSHES)
#undef OP_PUSHES
};

static const struct { const char *name; int min, max; } builtins[] = {
#define BI_ROW(name, min, max, res, a1, a2, a3) {#name, min, max},
  HITL_BUILTINS(BI_ROW)
#undef BI_ROW
};
enum { NBUILTINS = sizeof builtins / sizeof builtins[0] };

/* ---- instructions ---------------------------------------------------------- */

static uint32_t operand_width(char c) {
  switch (c) {
  case 'b': case 's': return 1;
  case 'h': return 2;
  case 'j': return 4;
  default: return 0;
  }
}

uint32_t bc_insn_len(uint8_t op) {
  if (op >= OP__COUNT) return 0;
  uint32_t len = 1;
  for (const char *p = op_operands[op]; *p; p++) len += operand_width(*p);
  return len;
}

const char *bc_op_name(uint8_t op) {
  return op < OP__COUNT ? op_names[op] : "?";
}

const char *bc_op_operands(uint8_t op) {
  return op < OP__COUNT ? op_operands[op] : "";
}

uint32_t bc_builtin_count(void) { return NBUILTINS; }

const char *bc_builtin_name(uint32_t b) {
  return b < NBUILTINS ? builtins[b].name : NULL;
}

int bc_decode(const uint8_t *code, int64_t v[4]) {
  const char *ops = bc_op_operands(code[0]);
  const uint8_t *p = code + 1;
  int n = 0;
  for (; *ops && n < 4; ops++, n++) {
    switch (*ops) {
    case 'b': v[n] = p[0]; p += 1; break;
    case 's': v[n] = (int8_t)p[0]; p += 1; break;
    case 'h': v[n] = (int64_t)(p[0] | (uint32_t)p[1] << 8); p += 2; break;
    case 'j': {
      uint32_t u = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
      v[n] = (int32_t)u;
      p += 4;
      break;
    }
    default: v[n] = 0;
    }
  }
  return n;
}

bool bc_jump_target(const uint8_t *code, uint32_t pc, int64_t *target) {
  const char *ops = bc_op_operands(code[pc]);
  const char *j = strchr(ops, 'j');
  if (!j) return false;
  int64_t v[4];
  bc_decode(code + pc, v);
  *target = (int64_t)pc + bc_insn_len(code[pc]) + v[j - ops];
  return true;
}

bool bc_stack_effect(const Module *m, const uint8_t *code, int *pops, int *pushes) {
  uint8_t op = code[0];
  if (op >= OP__COUNT || op_pushes[op] < 0) return false;
  int po = op_pops[op];
  if (po < 0) {
    int64_t v[4];
    bc_decode(code, v);
    switch (op) {
    case OP_CALL:
    case OP_CALL_BUILTIN: po = (int)v[1]; break;
    case OP_CALL_ACTION: {
      if (!m || v[0] >= m->ncalls || !m->calls) return false;
      const BcCallSite *c = &m->calls[v[0]];
      po = c->nargs + (c->has_confidence ? 1 : 0) + (c->has_because ? 1 : 0);
      break;
    }
    case OP_LIST:
    case OP_INTERP: po = (int)v[0]; break;
    case OP_MAP: po = 2 * (int)v[0]; break;
    case OP_CHECKPOINT:
      if (!m || v[0] >= m->ncheckpoints || !m->checkpoints) return false;
      po = 1 + m->checkpoints[v[0]].nshow;
      break;
    default: return false;   /* a variable effect this file does not know */
    }
  }
  *pops = po;
  *pushes = op_pushes[op];
  return true;
}

/* ---- errors ------------------------------------------------------------------ */

typedef struct V {
  const Module *m;
  char *err;
  size_t n;
} V;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static bool fail(V *v, const char *fmt, ...) {
  if (v->err && v->n) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->err, v->n, fmt, ap);
    va_end(ap);
  }
  return false;
}

static const char *nm(const char *s) { return s ? s : "?"; }

/* ---- tables ------------------------------------------------------------------ */

static bool check_route(V *v, const BcRoute *r, uint32_t i) {
  if (r->kind > BR_DENY) return fail(v, "rule %u: unknown route kind %u", i, r->kind);
  if (r->timeout < -1 || r->timeout == 0)
    return fail(v, "rule %u: route timeout %" PRId64 " is neither -1 nor positive", i, r->timeout);
  if (r->timeout_verdict > 1)
    return fail(v, "rule %u: route timeout verdict %u is neither 0 nor 1", i, r->timeout_verdict);
  if (r->within < -1 || r->within == 0)
    return fail(v, "rule %u: review window %" PRId64 " is neither -1 nor positive", i, r->within);
  return true;
}

/* a function index a table refers to: -1 (none) or 1..nfuncs-1 with nparams */
static bool check_fn_ref(V *v, int32_t fn, uint32_t nparams, const char *what, uint32_t i) {
  const Module *m = v->m;
  if (fn == -1) return true;
  if (fn < 1 || (uint32_t)fn >= m->nfuncs)
    return fail(v, "%s %u: function %" PRId32 " out of range (1..%u)", what, i, fn,
                m->nfuncs - 1);
  if (m->funcs[fn].nparams != nparams)
    return fail(v, "%s %u: function %" PRId32 " '%s' takes %u parameters, expected %u", what, i,
                fn, nm(m->funcs[fn].name), m->funcs[fn].nparams, nparams);
  return true;
}

static bool check_tables(V *v) {
  const Module *m = v->m;
  if (!m) return fail(v, "no module");
  if (m->nconsts > BC_MAX_CONSTS) return fail(v, "too many constants (%u)", m->nconsts);
  if (m->nfuncs < 1) return fail(v, "no functions: function 0 (the body) is required");
  if (m->nfuncs > BC_MAX_FUNCS) return fail(v, "too many functions (%u)", m->nfuncs);
  if (m->nglobals > BC_MAX_GLOBALS) return fail(v, "too many globals (%u)", m->nglobals);
  if (m->nactions > BC_MAX_ACTIONS) return fail(v, "too many actions (%u)", m->nactions);
  if (m->ncalls > BC_MAX_SITES) return fail(v, "too many call sites (%u)", m->ncalls);
  if (m->ncheckpoints > BC_MAX_SITES) return fail(v, "too many checkpoints (%u)", m->ncheckpoints);
  if (m->nreviews > BC_MAX_SITES) return fail(v, "too many review sites (%u)", m->nreviews);
  if ((m->nconsts && !m->consts) || !m->funcs || (m->nglobals && !m->globals) ||
      (m->nactions && !m->actions) || (m->ncalls && !m->calls) || (m->nrules && !m->rules) ||
      (m->nthresholds && !m->thresholds) || (m->ncheckpoints && !m->checkpoints) ||
      (m->nreviews && !m->reviews))
    return fail(v, "a table with entries has no storage");

  for (uint32_t i = 0; i < m->nconsts; i++) {
    const BcConst *k = &m->consts[i];
    if (k->kind > K_STR) return fail(v, "constant %u: unknown kind %u", i, k->kind);
    if (k->kind == K_STR && !k->s) return fail(v, "constant %u: string without storage", i);
  }

  for (uint32_t i = 0; i < m->nfuncs; i++) {
    const BcFunc *f = &m->funcs[i];
    if (!f->name) return fail(v, "function %u has no name", i);
    if (f->nparams > BC_MAX_PARAMS)
      return fail(v, "function %u '%s': %u parameters, the limit is %d", i, f->name, f->nparams,
                  BC_MAX_PARAMS);
    if (f->nparams > f->nlocals)
      return fail(v, "function %u '%s': %u parameters but only %u locals", i, f->name,
                  f->nparams, f->nlocals);
    if (f->nlocals > BC_MAX_LOCALS)
      return fail(v, "function %u '%s': %u locals, the limit is %d", i, f->name, f->nlocals,
                  BC_MAX_LOCALS);
    if (f->nparams && !f->param_types)
      return fail(v, "function %u '%s': parameter types missing", i, f->name);
    for (uint32_t p = 0; p < f->nparams; p++)
      if (f->param_types[p] > TYPESET_ALL)
        return fail(v, "function %u '%s': parameter %u has bad type set 0x%" PRIx32, i,
                    f->name, p, f->param_types[p]);
    if (f->result_type > TYPESET_ALL)
      return fail(v, "function %u '%s': bad result type set 0x%" PRIx32, i, f->name,
                  f->result_type);
    if ((f->code_len && !f->code) || (f->nlines && !f->lines))
      return fail(v, "function %u '%s': code or line table missing", i, f->name);
  }
  if (m->funcs[0].nparams != 0)
    return fail(v, "function 0 (the body) must take no parameters, it takes %u",
                m->funcs[0].nparams);

  bool seen_param = false;
  for (uint32_t i = 0; i < m->nglobals; i++) {
    const BcGlobal *g = &m->globals[i];
    if (!g->name) return fail(v, "global %u has no name", i);
    if (g->kind > G_PARAM) return fail(v, "global %u '%s': unknown kind %u", i, g->name, g->kind);
    if (g->kind == G_PARAM) seen_param = true;
    else if (seen_param)
      return fail(v, "global %u '%s': an input after a param (inputs come first)", i, g->name);
    if (g->type > TYPESET_ALL)
      return fail(v, "global %u '%s': bad type set 0x%" PRIx32, i, g->name, g->type);
  }

  for (uint32_t i = 0; i < m->nactions; i++) {
    const BcAction *a = &m->actions[i];
    if (!a->name) return fail(v, "action %u has no name", i);
    if (a->nparams > BC_MAX_PARAMS)
      return fail(v, "action %u '%s': %u parameters, the limit is %d", i, a->name, a->nparams,
                  BC_MAX_PARAMS);
    if (a->nparams && !a->params) return fail(v, "action %u '%s': parameters missing", i, a->name);
    for (uint32_t p = 0; p < a->nparams; p++) {
      if (!a->params[p].name) return fail(v, "action %u '%s': parameter %u has no name", i, a->name, p);
      if (a->params[p].type > TYPESET_ALL)
        return fail(v, "action %u '%s': parameter '%s' has bad type set 0x%" PRIx32, i, a->name,
                    a->params[p].name, a->params[p].type);
    }
    if (a->result_type > TYPESET_ALL)
      return fail(v, "action %u '%s': bad result type set 0x%" PRIx32, i, a->name, a->result_type);
    if (!check_fn_ref(v, a->blast_fn, a->nparams, "blast function of action", i)) return false;
    if (a->undo < -1 || a->undo >= (int64_t)m->nactions)
      return fail(v, "action %u '%s': undo action %" PRId32 " out of range (%u actions)", i,
                  a->name, a->undo, m->nactions);
    if (a->nparams < 64 && (a->editable >> a->nparams) != 0)
      return fail(v, "action %u '%s': editable mask 0x%" PRIx64 " names a parameter beyond its %u",
                  i, a->name, a->editable, a->nparams);
  }

  for (uint32_t i = 0; i < m->ncalls; i++) {
    const BcCallSite *c = &m->calls[i];
    if (c->action >= m->nactions)
      return fail(v, "call site %u: action %u out of range (%u actions)", i, c->action,
                  m->nactions);
    const BcAction *a = &m->actions[c->action];
    if (c->nargs != a->nparams)
      return fail(v, "call site %u: %u arguments to action '%s', which takes %u", i, c->nargs,
                  a->name, a->nparams);
  }

  for (uint32_t i = 0; i < m->nrules; i++) {
    const BcRule *r = &m->rules[i];
    if (!check_fn_ref(v, r->cond_fn, BC_RULE_NPARAMS, "condition of rule", i)) return false;
    if (!check_route(v, &r->route, i)) return false;
  }

  for (uint32_t i = 0; i < m->nthresholds; i++) {
    const BcThreshold *t = &m->thresholds[i];
    if (t->action < -1 || t->action >= (int64_t)m->nactions)
      return fail(v, "threshold %u: action %" PRId32 " out of range (%u actions)", i, t->action,
                  m->nactions);
    if (!(t->value >= 0.0 && t->value <= 1.0))
      return fail(v, "threshold %u: value %g is not between 0 and 1", i, t->value);
  }

  for (uint32_t i = 0; i < m->ncheckpoints; i++) {
    const BcCheckpoint *c = &m->checkpoints[i];
    if ((c->nshow && !c->show_labels) || (c->nedits && !c->edits))
      return fail(v, "checkpoint %u: show labels or edits missing", i);
    for (uint32_t s = 0; s < c->nshow; s++)
      if (!c->show_labels[s]) return fail(v, "checkpoint %u: show label %u missing", i, s);
    for (uint32_t e = 0; e < c->nedits; e++) {
      const BcEditTarget *t = &c->edits[e];
      if (!t->name) return fail(v, "checkpoint %u: edit %u has no name", i, e);
      if (t->global && t->index >= m->nglobals)
        return fail(v, "checkpoint %u: edit '%s' names global %u out of range (%u globals)", i,
                    t->name, t->index, m->nglobals);
      /* a local's index is checked against the frame at each CHECKPOINT */
    }
    if (c->timeout < -1 || c->timeout == 0)
      return fail(v, "checkpoint %u: timeout %" PRId64 " is neither -1 nor positive", i,
                  c->timeout);
    if (c->timeout_verdict > 1)
      return fail(v, "checkpoint %u: timeout verdict %u is neither 0 nor 1", i,
                  c->timeout_verdict);
  }

  for (uint32_t i = 0; i < m->nreviews; i++) {
    const BcReview *rv = &m->reviews[i];
    if (rv->within < -1 || rv->within == 0)
      return fail(v, "review %u: window %" PRId64 " is neither -1 nor positive", i, rv->within);
    if (rv->flag_fn < -1 || rv->flag_fn == 0 || rv->flag_fn >= (int64_t)m->nfuncs)
      return fail(v, "review %u: flag function %" PRId32 " out of range (%u functions)", i, rv->flag_fn,
                  m->nfuncs);
    if (rv->flag_fn > 0) {
      const BcFunc *ff = &m->funcs[rv->flag_fn];
      if (ff->nparams != (uint32_t)rv->nlive + 1 || (ff->param_types[rv->nlive] & ~(1u << 4) /* string */))
        return fail(v, "review %u: flag function %" PRId32 " takes %u parameters, not its %u variables and the "
                    "reason", i, rv->flag_fn, ff->nparams, rv->nlive);
    }
  }
  return true;
}

/* ---- code ------------------------------------------------------------------- */

enum { NOT_START = -2, UNSEEN = -1 };

typedef struct Fn {
  V *v;
  uint32_t index;
  const BcFunc *f;
  int32_t *depth;            /* per byte: NOT_START, UNSEEN or the stack depth */
  uint32_t *work;
  uint32_t nwork;
  size_t work_size;          /* bytes of work[] */
} Fn;

static bool local_ok(Fn *F, uint32_t pc, int64_t n, const char *op) {
  if (n >= 0 && n < F->f->nlocals) return true;
  return fail(F->v, "function %u '%s': local %" PRId64 " out of range at pc %u (%s; %u locals)",
              F->index, nm(F->f->name), n, pc, op, F->f->nlocals);
}

static bool str_const_ok(Fn *F, uint32_t pc, int64_t k, const char *op) {
  const Module *m = F->v->m;
  if (k >= m->nconsts)
    return fail(F->v, "function %u '%s': constant %" PRId64 " out of range at pc %u (%s; %u constants)",
                F->index, nm(F->f->name), k, pc, op, m->nconsts);
  if (m->consts[k].kind != K_STR)
    return fail(F->v, "function %u '%s': %s at pc %u needs a string constant, constant %" PRId64
                " is not a string", F->index, nm(F->f->name), op, pc, k);
  return true;
}

/* the operand indices of the (whole, known) instruction at pc */
static bool check_operands(Fn *F, uint32_t pc) {
  const Module *m = F->v->m;
  const uint8_t *code = F->f->code + pc;
  const char *name = op_names[code[0]];
  const char *fname = nm(F->f->name);
  int64_t o[4];
  bc_decode(code, o);
  switch ((Opcode)code[0]) {
  case OP_CONST:
    if (o[0] >= m->nconsts)
      return fail(F->v, "function %u '%s': constant %" PRId64 " out of range at pc %u (%u constants)",
                  F->index, fname, o[0], pc, m->nconsts);
    return true;
  case OP_GET_LOCAL:
  case OP_SET_LOCAL:
  case OP_INC_LOCAL:
  case OP_ADD_LOCAL:
  case OP_SUB_LOCAL:
  case OP_ADD_LK:
  case OP_SUB_LK:
  case OP_MUL_LK:
  case OP_MOD_LK:
  case OP_IDIV_LK:
    return local_ok(F, pc, o[0], name);
  case OP_GET_LOCAL2:
  case OP_JUMP_IF_LT_LL:
  case OP_JUMP_IF_LE_LL:
  case OP_JUMP_IF_GT_LL:
  case OP_JUMP_IF_GE_LL:
  case OP_JUMP_IF_NOT_LT_LL:
  case OP_JUMP_IF_NOT_LE_LL:
  case OP_JUMP_IF_NOT_GT_LL:
  case OP_JUMP_IF_NOT_GE_LL:
    return local_ok(F, pc, o[0], name) && local_ok(F, pc, o[1], name);
  case OP_GET_GLOBAL:
    if (o[0] >= m->nglobals)
      return fail(F->v, "function %u '%s': global %" PRId64 " out of range at pc %u (%u globals)",
                  F->index, fname, o[0], pc, m->nglobals);
    return true;
  case OP_CHECK_TYPE:
    if (o[0] > TYPESET_ALL)
      return fail(F->v, "function %u '%s': bad type set 0x%" PRIx64 " at pc %u", F->index, fname,
                  (uint64_t)o[0], pc);
    return str_const_ok(F, pc, o[1], name);
  case OP_FIELD:
  case OP_SET_FIELD:
    return str_const_ok(F, pc, o[0], name);
  case OP_CALL:
    if (o[0] == 0)
      return fail(F->v, "function %u '%s': CALL to function 0 (the body) at pc %u", F->index,
                  fname, pc);
    if (o[0] >= m->nfuncs)
      return fail(F->v, "function %u '%s': CALL to function %" PRId64 " out of range at pc %u (%u functions)",
                  F->index, fname, o[0], pc, m->nfuncs);
    if (o[1] != m->funcs[o[0]].nparams)
      return fail(F->v, "function %u '%s': CALL at pc %u passes %" PRId64 " arguments to '%s', which takes %u",
                  F->index, fname, pc, o[1], nm(m->funcs[o[0]].name), m->funcs[o[0]].nparams);
    return true;
  case OP_CALL_BUILTIN:
    if (o[0] >= NBUILTINS)
      return fail(F->v, "function %u '%s': built-in %" PRId64 " out of range at pc %u (%d built-ins)",
                  F->index, fname, o[0], pc, (int)NBUILTINS);
    if (o[1] < builtins[o[0]].min || (builtins[o[0]].max >= 0 && o[1] > builtins[o[0]].max))
      return fail(F->v, "function %u '%s': CALL_BUILTIN at pc %u passes %" PRId64 " arguments to %s()",
                  F->index, fname, pc, o[1], builtins[o[0]].name);
    return true;
  case OP_CALL_ACTION:
    if (o[0] >= m->ncalls)
      return fail(F->v, "function %u '%s': call site %" PRId64 " out of range at pc %u (%u call sites)",
                  F->index, fname, o[0], pc, m->ncalls);
    return true;
  case OP_FOR_LIST:
    return local_ok(F, pc, o[0], name) && local_ok(F, pc, o[0] + 1, name) &&
           local_ok(F, pc, o[1], name);
  case OP_FOR_MAP:
    return local_ok(F, pc, o[0], name) && local_ok(F, pc, o[0] + 1, name) &&
           local_ok(F, pc, o[1], name) && (o[2] == 0xFFFF || local_ok(F, pc, o[2], name));
  case OP_REVIEW_BEGIN:
  case OP_REVIEW_END:
    if (o[0] >= m->nreviews)
      return fail(F->v, "function %u '%s': review %" PRId64 " out of range at pc %u (%u review sites)",
                  F->index, fname, o[0], pc, m->nreviews);
    if (m->reviews[o[0]].nlive > F->f->nlocals)
      return fail(F->v, "function %u '%s': review %" PRId64 " at pc %u keeps %u locals, more than the frame's %u",
                  F->index, fname, o[0], pc, m->reviews[o[0]].nlive, F->f->nlocals);
    return true;
  case OP_CHECKPOINT: {
    if (o[0] >= m->ncheckpoints)
      return fail(F->v, "function %u '%s': checkpoint %" PRId64 " out of range at pc %u (%u checkpoints)",
                  F->index, fname, o[0], pc, m->ncheckpoints);
    const BcCheckpoint *c = &m->checkpoints[o[0]];
    for (uint32_t e = 0; e < c->nedits; e++)
      if (!c->edits[e].global && c->edits[e].index >= F->f->nlocals)
        return fail(F->v, "function %u '%s': checkpoint %" PRId64 " at pc %u edits local %u ('%s'), out of range (%u locals)",
                    F->index, fname, o[0], pc, c->edits[e].index, c->edits[e].name,
                    F->f->nlocals);
    return true;
  }
  default:
    return true;
  }
}

/* reach pc with depth d */
static bool edge(Fn *F, uint32_t from, int64_t to, int32_t d) {
  if (to < 0 || to >= F->f->code_len || F->depth[to] == NOT_START)
    return fail(F->v, "function %u '%s': bad control flow from pc %u to %" PRId64, F->index,
                nm(F->f->name), from, to);   /* pass 2 rules this out */
  if (F->depth[to] == UNSEEN) {
    F->depth[to] = d;
    F->work[F->nwork++] = (uint32_t)to;
    return true;
  }
  if (F->depth[to] != d)
    return fail(F->v, "function %u '%s': stack depth mismatch at pc %" PRId64
                ": reached with depth %d and with %d (from pc %u)",
                F->index, nm(F->f->name), to, F->depth[to], d, from);
  return true;
}

static bool fall_through(Fn *F, uint32_t pc, uint32_t len, int32_t d) {
  if ((uint64_t)pc + len >= F->f->code_len)
    return fail(F->v, "function %u '%s': code falls off the end of the function after %s at pc %u",
                F->index, nm(F->f->name), op_names[F->f->code[pc]], pc);
  return edge(F, pc, (int64_t)pc + len, d);
}

static bool verify_code(Fn *F) {
  const BcFunc *f = F->f;
  const uint8_t *code = f->code;
  const char *fname = nm(f->name);
  uint32_t n = f->code_len;

  /* 1. decode */
  uint32_t ninsns = 0;
  for (uint32_t pc = 0; pc < n;) {
    uint8_t op = code[pc];
    uint32_t len = bc_insn_len(op);
    if (len == 0)
      return fail(F->v, "function %u '%s': unknown opcode 0x%02x at pc %u", F->index, fname, op, pc);
    if (len > n - pc)
      return fail(F->v, "function %u '%s': truncated operands of %s at pc %u (%u bytes, %u left)",
                  F->index, fname, op_names[op], pc, len, n - pc);
    F->depth[pc] = UNSEEN;
    if (!check_operands(F, pc)) return false;
    pc += len;
    ninsns++;
  }

  /* 2. jump targets */
  for (uint32_t pc = 0; pc < n; pc += bc_insn_len(code[pc])) {
    int64_t t;
    if (!bc_jump_target(code, pc, &t)) continue;
    if (t < 0 || t >= n)
      return fail(F->v, "function %u '%s': %s at pc %u jumps out of the function (to %" PRId64
                  ", code is %u bytes)", F->index, fname, op_names[code[pc]], pc, t, n);
    if (F->depth[t] == NOT_START)
      return fail(F->v, "function %u '%s': %s at pc %u jumps into the middle of an instruction (pc %" PRId64 ")",
                  F->index, fname, op_names[code[pc]], pc, t);
  }

  /* 3. stack depths */
  F->work_size = (size_t)ninsns * sizeof *F->work;
  F->work = mem_alloc(F->work_size);
  if (!F->work) return fail(F->v, "out of memory verifying function %u", F->index);
  F->nwork = 0;
  F->depth[0] = 0;
  F->work[F->nwork++] = 0;
  while (F->nwork) {
    uint32_t pc = F->work[--F->nwork];
    int32_t d = F->depth[pc];
    uint8_t op = code[pc];
    uint32_t len = bc_insn_len(op);
    int pops, pushes;
    if (!bc_stack_effect(F->v->m, code + pc, &pops, &pushes))
      return fail(F->v, "function %u '%s': no stack effect for %s at pc %u", F->index, fname,
                  op_names[op], pc);
    if (d < pops)
      return fail(F->v, "function %u '%s': stack underflow at pc %u (%s pops %d, depth is %d)",
                  F->index, fname, pc, op_names[op], pops, d);
    int32_t nd = d - pops + pushes;
    int32_t peak = nd + (op == OP_TRY ? 1 : 0);
    if (peak > f->max_stack)
      return fail(F->v, "function %u '%s': max_stack too small: depth %d at pc %u (%s), max_stack is %u",
                  F->index, fname, peak, pc, op_names[op], f->max_stack);
    int64_t t = 0;
    bool jumps = bc_jump_target(code, pc, &t);
    bool ok = true;
    switch ((Opcode)op) {
    case OP_RETURN:
    case OP_FAIL:
      break;
    case OP_JUMP:
      ok = edge(F, pc, t, nd);
      break;
    case OP_TRY:   /* the handler starts with the error map pushed */
      ok = edge(F, pc, t, nd + 1) && fall_through(F, pc, len, nd);
      break;
    default:
      ok = (!jumps || edge(F, pc, t, nd)) && fall_through(F, pc, len, nd);
    }
    if (!ok) return false;
  }

  /* the line table */
  for (uint32_t l = 0; l < f->nlines; l++) {
    if (f->lines[l].pc >= n)
      return fail(F->v, "function %u '%s': line table entry %u has pc %u, code is %u bytes",
                  F->index, fname, l, f->lines[l].pc, n);
    if (l && f->lines[l].pc < f->lines[l - 1].pc)
      return fail(F->v, "function %u '%s': line table entry %u goes back to pc %u (after pc %u)",
                  F->index, fname, l, f->lines[l].pc, f->lines[l - 1].pc);
  }
  return true;
}

static bool verify_func(V *v, uint32_t i) {
  const BcFunc *f = &v->m->funcs[i];
  if (f->code_len == 0)
    return fail(v, "function %u '%s': no code (it would fall off the end)", i, nm(f->name));
  if (f->code_len > BC_MAX_CODE)
    return fail(v, "function %u '%s': %u bytes of code, the limit is %u", i, nm(f->name),
                f->code_len, (unsigned)BC_MAX_CODE);
  Fn F = {.v = v, .index = i, .f = f};
  F.depth = mem_alloc((size_t)f->code_len * sizeof *F.depth);
  if (!F.depth) return fail(v, "out of memory verifying function %u", i);
  for (uint32_t pc = 0; pc < f->code_len; pc++) F.depth[pc] = NOT_START;
  bool ok = verify_code(&F);
  mem_free(F.work, F.work_size);
  mem_free(F.depth, (size_t)f->code_len * sizeof *F.depth);
  return ok;
}

int32_t bc_depth_at(const Module *m, uint32_t fn, uint32_t pc) {
  if (fn >= m->nfuncs) return -1;
  const BcFunc *f = &m->funcs[fn];
  if (f->code_len == 0 || f->code_len > BC_MAX_CODE || pc >= f->code_len) return -1;
  char err[8];
  V v = {0};
  v.m = m;
  v.err = err;
  v.n = sizeof err;
  Fn F = {.v = &v, .index = fn, .f = f};
  F.depth = mem_alloc((size_t)f->code_len * sizeof *F.depth);
  if (!F.depth) return -1;
  for (uint32_t i = 0; i < f->code_len; i++) F.depth[i] = NOT_START;
  int32_t d = verify_code(&F) ? F.depth[pc] : -1;
  mem_free(F.work, F.work_size);
  mem_free(F.depth, (size_t)f->code_len * sizeof *F.depth);
  return d < 0 ? -1 : d;
}

bool bc_verify(const Module *m, char *err, size_t n) {
  V v = {.m = m, .err = err, .n = n};
  if (err && n) err[0] = '\0';
  if (!check_tables(&v)) return false;
  for (uint32_t i = 0; i < m->nfuncs; i++)
    if (!verify_func(&v, i)) return false;
  return true;
}
