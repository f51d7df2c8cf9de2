/* vm/disasm.c — the listing of `hitlc --disasm`.
 *
 * The header, every table, then each function one instruction a line:
 *
 *       pc  line  NAME            operands  ; comment
 *
 * where the comment shows what an operand refers to: a constant's value, a
 * global's (or an edited local's) name, a jump's target pc, the function,
 * built-in or action called.  The output depends only on the module (no
 * addresses, no locale-dependent number formats beyond "C"), so golden files
 * can diff it.  A module that did not verify is listed as far as it can be:
 * an index out of range gets no comment, an unknown opcode ends the function.
 */
#include "vm/bytecode.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/utf8.h"
#include "vm/bcinsn.h"
#include "vm/mem.h"
#include "vm/opcodes.h"

/* ---- values ------------------------------------------------------------------ */

/* s[0..len) as a double-quoted string: printable ASCII and valid UTF-8 as
 * they are, \" \\ \n \t \r, every other byte as \xNN */
static void put_quoted(FILE *out, const char *s, size_t len) {
  if (!s) { fputs("nil", out); return; }
  fputc('"', out);
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': fputs("\\\"", out); i++; continue;
    case '\\': fputs("\\\\", out); i++; continue;
    case '\n': fputs("\\n", out); i++; continue;
    case '\t': fputs("\\t", out); i++; continue;
    case '\r': fputs("\\r", out); i++; continue;
    default: break;
    }
    if (c >= 0x20 && c < 0x7F) { fputc(c, out); i++; continue; }
    if (c >= 0xC2) {
      size_t need = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      /* a whole valid character, and not a C1 control (U+0080..U+009F) */
      if (need <= len - i && utf8_valid_prefix(s + i, need) == need &&
          !(c == 0xC2 && (unsigned char)s[i + 1] < 0xA0)) {
        fwrite(s + i, 1, need, out);
        i += need;
        continue;
      }
    }
    fprintf(out, "\\x%02x", c);
    i++;
  }
  fputc('"', out);
}

static void put_cstr(FILE *out, const char *s) {
  put_quoted(out, s, s ? strlen(s) : 0);
}

/* the shortest form that reads back as the same double, always with a '.'
 * or an exponent so that it reads as a float */
static void put_float(FILE *out, double d) {
  if (isnan(d)) { fputs("nan", out); return; }
  if (isinf(d)) { fputs(d < 0 ? "-inf" : "inf", out); return; }
  char buf[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  fputs(buf, out);
  if (!strpbrk(buf, ".en")) fputs(".0", out);
}

static void put_const(FILE *out, const BcConst *k) {
  switch (k->kind) {
  case K_INT: fprintf(out, "%" PRId64, k->i); break;
  case K_FLOAT: put_float(out, k->f); break;
  case K_STR: put_quoted(out, k->s, k->s ? k->len : 0); break;
  default: fprintf(out, "?kind %u", k->kind);
  }
}

static const char *const type_names[] = {"nil", "bool", "int", "float", "string", "list", "map"};

static void put_type(FILE *out, uint32_t t) {
  if (t == 0x7F) { fputs("any", out); return; }
  if (t == 0) { fputs("none", out); return; }
  bool first = true;
  for (uint32_t b = 0; b < 32; b++) {
    if (!(t & (1u << b))) continue;
    if (!first) fputc('|', out);
    first = false;
    if (b < 7) fputs(type_names[b], out);
    else fprintf(out, "bit%u", b);
  }
}

static void put_hex(FILE *out, const uint8_t *h, size_t n) {
  for (size_t i = 0; i < n; i++) fprintf(out, "%02x", h[i]);
}

static const char *fn_name(const Module *m, int64_t f) {
  return f >= 0 && f < m->nfuncs && m->funcs[f].name ? m->funcs[f].name : "?";
}

static const char *action_name(const Module *m, int64_t a) {
  return a >= 0 && a < m->nactions && m->actions[a].name ? m->actions[a].name : "?";
}

static void put_verdict_timeout(FILE *out, int64_t timeout, uint8_t verdict, const char *reason) {
  if (timeout < 0) return;
  fprintf(out, "  timeout %" PRId64 "s -> %s", timeout, verdict ? "reject" : "approve");
  if (reason) {
    fputc(' ', out);
    put_cstr(out, reason);
  }
}

/* ---- tables ------------------------------------------------------------------ */

static const char *const route_names[] = {"auto", "approve", "review", "deny"};

static void put_header(const Module *m, FILE *out) {
  fprintf(out, "; hitl bytecode version %d\n", BC_VERSION);
  fputs("source       ", out);
  put_cstr(out, m->source_name);
  fputs("\nsource hash  ", out);
  put_hex(out, m->source_hash, sizeof m->source_hash);
  fputs("\nplaybook     ", out);
  fputs(m->playbook ? m->playbook : "?", out);
  fputc(' ', out);
  put_cstr(out, m->description);
  fputc('\n', out);
}

static void put_tables(const Module *m, FILE *out) {
  fprintf(out, "\nconstants %u\n", m->nconsts);
  for (uint32_t i = 0; i < m->nconsts; i++) {
    const BcConst *k = &m->consts[i];
    fprintf(out, "  %5u  %-5s  ", i,
            k->kind == K_INT ? "int" : k->kind == K_FLOAT ? "float" : k->kind == K_STR ? "str" : "?");
    put_const(out, k);
    fputc('\n', out);
  }

  fprintf(out, "\nglobals %u\n", m->nglobals);
  for (uint32_t i = 0; i < m->nglobals; i++) {
    const BcGlobal *g = &m->globals[i];
    fprintf(out, "  %5u  %-5s  %s: ", i, g->kind == G_INPUT ? "input" : g->kind == G_PARAM ? "param" : "?",
            g->name ? g->name : "?");
    put_type(out, g->type);
    if (g->deflt) fprintf(out, " = %s", g->deflt);
    else fputs("  (required)", out);
    fputc('\n', out);
  }

  fprintf(out, "\nactions %u\n", m->nactions);
  for (uint32_t i = 0; i < m->nactions; i++) {
    const BcAction *a = &m->actions[i];
    fprintf(out, "  %5u  %s(", i, a->name ? a->name : "?");
    for (uint32_t p = 0; p < a->nparams; p++) {
      fprintf(out, "%s%s: ", p ? ", " : "", a->params[p].name ? a->params[p].name : "?");
      put_type(out, a->params[p].type);
    }
    fputs(") -> ", out);
    put_type(out, a->result_type);
    fprintf(out, "  line %u\n         ", a->line);
    fputs(a->irreversible ? "irreversible" : "reversible", out);
    if (a->blast_fn >= 0) fprintf(out, "  blast fn %" PRId32 " %s", a->blast_fn, fn_name(m, a->blast_fn));
    if (a->compliance) {
      fputs("  compliance ", out);
      put_cstr(out, a->compliance);
    }
    if (a->editable) {
      fputs("  edit", out);
      for (uint32_t p = 0; p < 64; p++)
        if (a->editable & ((uint64_t)1 << p))
          fprintf(out, " %s", p < a->nparams && a->params[p].name ? a->params[p].name : "?");
    }
    if (a->undo >= 0) fprintf(out, "  undo %" PRId32 " %s", a->undo, action_name(m, a->undo));
    if (a->lib || a->symbol) {
      fputs("  from ", out);
      put_cstr(out, a->lib);
      fputs(" symbol ", out);
      put_cstr(out, a->symbol);
    }
    fputc('\n', out);
  }

  fprintf(out, "\ncall sites %u\n", m->ncalls);
  for (uint32_t i = 0; i < m->ncalls; i++) {
    const BcCallSite *c = &m->calls[i];
    fprintf(out, "  %5u  action %u %s  nargs %u%s%s%s%s  line %u:%u\n", i, c->action,
            action_name(m, c->action), c->nargs, c->has_confidence ? "  confidence" : "",
            c->has_because ? "  because" : "", c->in_approve ? "  in_approve" : "",
            c->in_review ? "  in_review" : "", c->line, c->col);
  }

  fprintf(out, "\nrules %u%s\n", m->nrules, m->has_rules ? "" : "  (no rules block)");
  for (uint32_t i = 0; i < m->nrules; i++) {
    const BcRule *r = &m->rules[i];
    const BcRoute *ro = &r->route;
    fprintf(out, "  %5u  line %u  ", i, r->line);
    if (r->cond_fn >= 0) fprintf(out, "fn %" PRId32 " %s", r->cond_fn, fn_name(m, r->cond_fn));
    else fputs("otherwise", out);
    fprintf(out, " -> %s", ro->kind < 4 ? route_names[ro->kind] : "?");
    if (ro->by) {
      fputs("  by ", out);
      put_cstr(out, ro->by);
    }
    if (ro->quorum) fprintf(out, "  quorum %u", ro->quorum);
    put_verdict_timeout(out, ro->timeout, ro->timeout_verdict, ro->timeout_reason);
    if (ro->within >= 0) fprintf(out, "  within %" PRId64 "s", ro->within);
    if (ro->message) {
      fputs("  message ", out);
      put_cstr(out, ro->message);
    }
    fputs("\n         ", out);
    put_cstr(out, r->text);
    fputc('\n', out);
  }

  fprintf(out, "\nthresholds %u\n", m->nthresholds);
  for (uint32_t i = 0; i < m->nthresholds; i++) {
    const BcThreshold *t = &m->thresholds[i];
    fprintf(out, "  %5u  %s  ", i, t->action < 0 ? "default" : action_name(m, t->action));
    put_float(out, t->value);
    fputc('\n', out);
  }

  fprintf(out, "\ncheckpoints %u\n", m->ncheckpoints);
  for (uint32_t i = 0; i < m->ncheckpoints; i++) {
    const BcCheckpoint *c = &m->checkpoints[i];
    fprintf(out, "  %5u  line %u  show %u", i, c->line, c->nshow);
    for (uint32_t s = 0; s < c->nshow; s++) {
      fputs(s ? ", " : " ", out);
      put_cstr(out, c->show_labels[s]);
    }
    if (c->nedits) {
      fputs("  edit", out);
      for (uint32_t e = 0; e < c->nedits; e++)
        fprintf(out, "%s%s (%s %u)", e ? ", " : " ", c->edits[e].name ? c->edits[e].name : "?",
                c->edits[e].global ? "global" : "local", c->edits[e].index);
    }
    if (c->by) {
      fputs("  by ", out);
      put_cstr(out, c->by);
    }
    if (c->quorum) fprintf(out, "  quorum %u", c->quorum);
    put_verdict_timeout(out, c->timeout, c->timeout_verdict, c->timeout_reason);
    if (c->raise_on_reject) fputs("  raise_on_reject", out);
    fputc('\n', out);
  }

  if (!m->nreviews) return;   /* listings of programs without reviews stay as they were */
  fprintf(out, "\nreviews %u\n", m->nreviews);
  for (uint32_t i = 0; i < m->nreviews; i++) {
    const BcReview *rv = &m->reviews[i];
    fprintf(out, "  %5u  line %u  within %" PRId64 "s", i, rv->line, rv->within < 0 ? (int64_t)86400 : rv->within);
    if (rv->by) {
      fputs("  by ", out);
      put_cstr(out, rv->by);
    }
    if (rv->flag_fn >= 0) fprintf(out, "  flag fn %" PRId32 " (%u variables)", rv->flag_fn, rv->nlive);
    fputc('\n', out);
  }
}

/* ---- code ------------------------------------------------------------------- */

/* the names of a function's locals that checkpoints edit (NULL if none or out
 * of memory: the listing then goes without them) */
static const char **local_names(const Module *m, const BcFunc *f) {
  if (!f->nlocals || !m->ncheckpoints) return NULL;
  const char **names = NULL;
  for (uint32_t pc = 0; pc < f->code_len;) {
    uint8_t op = f->code[pc];
    uint32_t len = bc_insn_len(op);
    if (!len || len > f->code_len - pc) break;
    int64_t o[4];
    bc_decode(f->code + pc, o);
    if (op == OP_CHECKPOINT && o[0] < m->ncheckpoints) {
      const BcCheckpoint *c = &m->checkpoints[o[0]];
      for (uint32_t e = 0; e < c->nedits; e++) {
        if (c->edits[e].global || c->edits[e].index >= f->nlocals) continue;
        if (!names) {
          names = mem_alloc(f->nlocals * sizeof *names);
          if (!names) return NULL;
          memset(names, 0, f->nlocals * sizeof *names);
        }
        names[c->edits[e].index] = c->edits[e].name;
      }
    }
    pc += len;
  }
  return names;
}

static const char *local_name(const char **names, const BcFunc *f, int64_t n) {
  return names && n >= 0 && n < f->nlocals ? names[n] : NULL;
}

/* whether the instruction gets a comment (so that " ;" is printed only then) */
static bool has_comment(const Module *m, const BcFunc *f, const char **names, uint32_t pc,
                        const int64_t *o) {
  int64_t target;
  if (bc_jump_target(f->code, pc, &target)) return true;
  switch ((Opcode)f->code[pc]) {
  case OP_CONST:
  case OP_FIELD:
  case OP_SET_FIELD: return o[0] < m->nconsts;
  case OP_GET_LOCAL:
  case OP_SET_LOCAL:
  case OP_INC_LOCAL: return local_name(names, f, o[0]) != NULL;
  case OP_GET_GLOBAL: return o[0] < m->nglobals && m->globals[o[0]].name;
  case OP_CALL_ACTION: return o[0] < m->ncalls;
  case OP_CHECKPOINT: return o[0] < m->ncheckpoints;
  case OP_REVIEW_BEGIN:
  case OP_REVIEW_END: return o[0] < m->nreviews;
  case OP_CHECK_TYPE:
  case OP_CALL:
  case OP_CALL_BUILTIN: return true;
  default: return false;
  }
}

static void put_local(FILE *out, const char **names, const BcFunc *f, int64_t n) {
  const char *s = local_name(names, f, n);
  if (s) fprintf(out, " %s", s);
  else fprintf(out, " local %" PRId64, n);
}

static void put_insn(const Module *m, const BcFunc *f, const char **names, uint32_t pc, FILE *out) {
  const uint8_t *code = f->code + pc;
  uint8_t op = code[0];
  int64_t o[4];
  int n = bc_decode(code, o);
  const char *ops = bc_op_operands(op);

  /* NAME, operands from column 16, the comment from column 31: no
   * trailing blanks */
  const char *name = bc_op_name(op);
  int col = fprintf(out, "%s", name);
  for (int i = 0; i < n; i++) {
    if (i == 0) col += fprintf(out, "%*s", col < 15 ? 15 - col : 0, "");
    col += fprintf(out, ops[i] == 'j' ? " %+" PRId64 : " %" PRId64, o[i]);
  }
  if (!has_comment(m, f, names, pc, o)) {
    fputc('\n', out);
    return;
  }
  fprintf(out, "%*s ;", col < 30 ? 30 - col : 0, "");

  int64_t target;
  switch ((Opcode)op) {
  case OP_CONST:
  case OP_FIELD:
  case OP_SET_FIELD:
    if (o[0] < m->nconsts) {
      fputc(' ', out);
      put_const(out, &m->consts[o[0]]);
    }
    break;
  case OP_CHECK_TYPE:
    fputc(' ', out);
    put_type(out, (uint32_t)o[0]);
    if (o[1] < m->nconsts) {
      fputs(" for ", out);
      put_const(out, &m->consts[o[1]]);
    }
    break;
  case OP_GET_LOCAL:
  case OP_SET_LOCAL:
  case OP_INC_LOCAL:
    if (local_name(names, f, o[0])) put_local(out, names, f, o[0]);
    break;
  case OP_GET_GLOBAL:
    if (o[0] < m->nglobals && m->globals[o[0]].name) fprintf(out, " %s", m->globals[o[0]].name);
    break;
  case OP_CALL:
    fprintf(out, " %s", fn_name(m, o[0]));
    break;
  case OP_CALL_BUILTIN: {
    const char *b = bc_builtin_name((uint32_t)o[0]);
    fprintf(out, " %s", b ? b : "?");
    break;
  }
  case OP_CALL_ACTION:
    if (o[0] < m->ncalls) {
      const BcCallSite *c = &m->calls[o[0]];
      fprintf(out, " %s/%u%s%s", action_name(m, c->action), c->nargs,
              c->has_confidence ? " with confidence" : "", c->has_because ? " because" : "");
    }
    break;
  case OP_FOR_LIST:
    put_local(out, names, f, o[1]);
    break;
  case OP_FOR_MAP:
    put_local(out, names, f, o[1]);
    if (o[2] != 0xFFFF) put_local(out, names, f, o[2]);
    break;
  case OP_CHECKPOINT:
    if (o[0] < m->ncheckpoints)
      fprintf(out, " line %u, show %u", m->checkpoints[o[0]].line, m->checkpoints[o[0]].nshow);
    break;
  case OP_REVIEW_BEGIN:
  case OP_REVIEW_END:
    if (o[0] < m->nreviews) fprintf(out, " line %u", m->reviews[o[0]].line);
    break;
  default:
    break;
  }
  if (bc_jump_target(f->code, pc, &target))
    fprintf(out, " %s %" PRId64,
            op == OP_TRY ? "handler at" : op == OP_FOR_LIST || op == OP_FOR_MAP ? "done ->" : "->",
            target);
  fputc('\n', out);
}

static void put_function(const Module *m, uint32_t i, FILE *out) {
  const BcFunc *f = &m->funcs[i];
  fprintf(out, "\nfn %u %s  params %u  locals %u  max_stack %u  ->", i, f->name ? f->name : "?",
          f->nparams, f->nlocals, f->max_stack);
  fputc(' ', out);
  put_type(out, f->result_type);
  fputc('\n', out);
  if (f->nparams && f->param_types) {
    fputs("  param types", out);
    for (uint32_t p = 0; p < f->nparams; p++) {
      fputc(' ', out);
      put_type(out, f->param_types[p]);
    }
    fputc('\n', out);
  }
  const char **names = local_names(m, f);
  uint32_t li = 0, line = 0;
  for (uint32_t pc = 0; pc < f->code_len;) {
    while (li < f->nlines && f->lines[li].pc <= pc) line = f->lines[li++].line;
    uint8_t op = f->code[pc];
    uint32_t len = bc_insn_len(op);
    fprintf(out, "  %6u %5u  ", pc, line);
    if (!len) {
      fprintf(out, "?? 0x%02x (unknown opcode)\n", op);
      break;
    }
    if (len > f->code_len - pc) {
      fprintf(out, "%s (truncated)\n", bc_op_name(op));
      break;
    }
    put_insn(m, f, names, pc, out);
    pc += len;
  }
  if (names) mem_free(names, f->nlocals * sizeof *names);
}

void bc_disasm(const Module *m, FILE *out) {
  if (!m || !out) return;
  put_header(m, out);
  put_tables(m, out);
  for (uint32_t i = 0; i < m->nfuncs; i++) put_function(m, i, out);
}
