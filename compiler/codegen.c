/* compiler/codegen.c — the code generator's driver and the module's tables.
 *
 * cg_generate numbers everything first (globals: inputs then params;
 * functions: the body, the fns, the rule conditions, the blasts; actions in
 * declaration order), so that code may refer to anything before it is
 * generated; then it generates each function into one reusable buffer and
 * copies the result into the module's pool, and last fills in the tables
 * the code produced on the way (constants, call sites, checkpoints). */
#include "codegen_int.h"
#include "vm/sha256.h"


#include "../vm/mem.h"

/* the risk context of a rule condition: its parameters, in BC_RULE_NPARAMS
 * order (vm/bytecode.h), with their types */
static const struct { const char *name; TypeSet type; } rule_params[BC_RULE_NPARAMS] = {
  {"action", TY_STRING},  {"args", TY_MAP},       {"irreversible", TY_BOOL},
  {"blast", TY_INT},      {"compliance", TY_STRING | TY_NIL},
  {"confidence", TY_FLOAT}, {"threshold", TY_FLOAT}, {"risk", TY_FLOAT},
  {"queue", TY_INT},      {"approved", TY_BOOL},  {"reviewed", TY_BOOL},
};

int cg_rule_param(const char *name) {
  for (int i = 0; i < BC_RULE_NPARAMS; i++)
    if (strcmp(rule_params[i].name, name) == 0) return i;
  return -1;
}

void cg_oom(Cg *g) {
  if (!g->oom) diag_error(g->d, g->ast->name_span, "out of memory while generating code");
  g->oom = g->failed = true;
}

bool cg_grow(Cg *g, void **v, uint32_t *cap, uint32_t n, size_t sz) {
  if (n < *cap) return true;
  if (g->oom) return false;
  uint32_t nc = *cap ? *cap : 16;
  while (nc <= n) {
    if (nc > UINT32_MAX / 2) {
      cg_oom(g);
      return false;
    }
    nc *= 2;
  }
  void *p = *v ? mem_realloc(*v, (size_t)*cap * sz, (size_t)nc * sz) : mem_alloc((size_t)nc * sz);
  if (!p) {
    cg_oom(g);
    return false;
  }
  *v = p;
  *cap = nc;
  return true;
}

static void *pool(Cg *g, size_t n, size_t sz) {
  if (!n) return NULL;
  void *p = n <= SIZE_MAX / sz ? bc_alloc(g->m, n * sz) : NULL;
  if (!p) cg_oom(g);
  return p;
}

const char *cg_str(Cg *g, const char *s) {
  if (!s) return NULL;
  char *r = bc_strdup(g->m, s, strlen(s));
  if (!r) cg_oom(g);
  return r;
}

static void *copy(Cg *g, const void *v, uint32_t n, size_t sz) {
  void *p = pool(g, n, sz);
  if (p) memcpy(p, v, n * sz);
  return p;
}

/* ---- functions ----------------------------------------------------------- */

static void begin_fn(Cg *g, uint32_t slots, Span at) {
  CgFn *f = &g->f;
  f->len = f->nlines = 0;
  f->line = at.line;
  f->depth = f->max_depth = 0;
  f->slots = slots;
  f->hidden = f->max_hidden = 0;
  f->rule = false;
  f->fn = NULL;
  f->at = at;
  f->nscopes = f->nbreaks = f->nconts = f->npend = 0;
  f->in_approve = f->in_review = 0;
  g->too_big = false;
}

static void end_fn(Cg *g, BcFunc *out, const char *name, uint32_t nparams, const uint32_t *ptypes,
                   TypeSet result) {
  CgFn *f = &g->f;
  uint32_t nlocals = f->slots + f->max_hidden;
  if (nparams > BC_MAX_PARAMS) cg_limit(g, "parameters", BC_MAX_PARAMS);
  if (nlocals > BC_MAX_LOCALS) cg_limit(g, "local variables in one function", BC_MAX_LOCALS);
  if (f->max_depth > BC_MAX_STACK) cg_limit(g, "values on the stack", BC_MAX_STACK);
  if (g->failed) return;
  out->name = cg_str(g, name);
  out->nparams = (uint16_t)nparams;
  out->nlocals = (uint16_t)nlocals;
  out->max_stack = (uint16_t)f->max_depth;
  out->param_types = copy(g, ptypes, nparams, sizeof *ptypes);
  out->result_type = result ? result : TY_ANY;
  out->code = copy(g, f->code, f->len, 1);
  out->code_len = f->len;
  out->lines = copy(g, f->lines, f->nlines, sizeof *f->lines);
  out->nlines = f->nlines;
}

static uint32_t *param_types(Cg *g, const ParamList *ps) {
  uint32_t *t = pool(g, ps->n, sizeof *t);
  for (uint32_t i = 0; t && i < ps->n; i++) t[i] = ps->v[i].type ? ps->v[i].type : TY_ANY;
  return t;
}

static void gen_body(Cg *g) {
  const Ast *ast = g->ast;
  begin_fn(g, ast->body_nslots, ast->name_span);
  cg_stmts(g, &ast->body);
  if (!cg_ends(&ast->body)) {
    cg_op(g, OP_NIL);
    cg_op(g, OP_RETURN);
  }
  end_fn(g, &g->m->funcs[0], "<body>", 0, NULL, TY_ANY);
}

static void gen_fn(Cg *g, const Decl *d, BcFunc *out) {
  begin_fn(g, d->u.fn.nslots, d->name_span);
  g->f.fn = d;
  cg_stmts(g, &d->u.fn.body);
  if (!cg_ends(&d->u.fn.body)) {
    cg_op(g, OP_NIL);
    cg_op(g, OP_RETURN);
  }
  const uint32_t *pt = param_types(g, &d->u.fn.params);
  end_fn(g, out, d->name, d->u.fn.params.n, pt, d->u.fn.has_result ? d->u.fn.result : TY_NIL);
}

static void gen_rule(Cg *g, const Rule *r, BcFunc *out) {
  begin_fn(g, BC_RULE_NPARAMS, r->span);
  g->f.rule = true;
  cg_expr(g, r->cond);
  cg_op(g, OP_RETURN);   /* RETURN checks the result type: bool */
  uint32_t pt[BC_RULE_NPARAMS];
  for (int i = 0; i < BC_RULE_NPARAMS; i++) pt[i] = rule_params[i].type;
  char name[48];
  snprintf(name, sizeof name, "<rule line %u>", r->span.line);
  end_fn(g, out, name, BC_RULE_NPARAMS, pt, TY_BOOL);
}

static void gen_blast(Cg *g, const Decl *d, BcFunc *out) {
  const Expr *e = d->u.action.blast;
  begin_fn(g, d->u.action.nslots, e->span);
  cg_expr(g, e);
  cg_op(g, OP_RETURN);   /* RETURN checks the result type: int */
  size_t n = strlen(d->name);
  char *name = mem_alloc(n + 9);   /* "<blast " NAME ">" and the NUL */
  if (!name) {
    cg_oom(g);
    return;
  }
  memcpy(name, "<blast ", 7);
  memcpy(name + 7, d->name, n);
  memcpy(name + 7 + n, ">", 2);
  end_fn(g, out, name, d->u.action.params.n, param_types(g, &d->u.action.params), TY_INT);
  mem_free(name, n + 9);
}

/* ---- reviews ------------------------------------------------------------- */

uint32_t cg_review_site(Cg *g, const Stmt *s) {
  if (g->nrevs >= BC_MAX_SITES) {
    if (g->nrevs == BC_MAX_SITES) cg_limit(g, "review statements", BC_MAX_SITES);
    g->nrevs = BC_MAX_SITES + 1;   /* report once; nothing is built */
    return 0;
  }
  if (s->u.review.has_flag && s->u.review.nlive + 1 > BC_MAX_PARAMS) {
    g->failed = true;
    diag_error(g->d, s->span, "a flag block sees at most %u variables; %u are in scope here",
               BC_MAX_PARAMS - 1, s->u.review.nlive);
    diag_hint(g->d, "move the review into a fn of its own, which sees only its own variables");
  }
  if (g->failed || !cg_grow(g, (void **)&g->revs, &g->caprevs, g->nrevs, sizeof *g->revs)) return 0;
  int32_t flag_fn = -1;
  if (s->u.review.has_flag) {
    if (!cg_grow(g, (void **)&g->flags, &g->capflags, g->nflags, sizeof *g->flags)) return 0;
    g->flags[g->nflags] = (struct CgFlag){s, g->f.slots, g->f.in_approve, g->f.fn};
    flag_fn = (int32_t)(g->flag_base + g->nflags++);
  }
  g->revs[g->nrevs] = (BcReview){
    .line = s->span.line,
    .by = cg_str(g, s->u.review.by),
    .within = s->u.review.within > 0 ? s->u.review.within : -1,
    .flag_fn = flag_fn,
    .nlive = (uint16_t)s->u.review.nlive,
  };
  return g->nrevs++;
}

/* A flag block as a function: its parameters are the enclosing frame's
 * first nlive slots and the reason, so its code addresses the variables it
 * sees in the slots the checker gave them. */
static void gen_flag(Cg *g, uint32_t k, BcFunc *out) {
  struct CgFlag fl = g->flags[k];   /* generating it may queue more */
  const Stmt *s = fl.s;
  begin_fn(g, fl.slots, s->span);
  g->f.fn = fl.fn;
  g->f.in_approve = fl.in_approve;
  cg_stmts(g, &s->u.review.flag);
  cg_op(g, OP_NIL);
  cg_op(g, OP_RETURN);
  uint32_t n = s->u.review.nlive + 1;
  uint32_t *pt = pool(g, n, sizeof *pt);
  if (!pt) return;
  for (uint32_t i = 0; i + 1 < n; i++) pt[i] = TY_ANY;
  pt[n - 1] = TY_STRING;
  char name[40];
  snprintf(name, sizeof name, "<flag line %u>", s->span.line);
  end_fn(g, out, name, n, pt, TY_ANY);
}

static void gen_flags(Cg *g) {
  Module *m = g->m;
  BcFunc *fl = NULL;
  uint32_t cap = 0;
  for (uint32_t k = 0; k < g->nflags && !g->failed; k++) {
    if (m->nfuncs + (uint64_t)k + 1 > BC_MAX_FUNCS) {
      cg_limit(g, "functions", BC_MAX_FUNCS);
      break;
    }
    if (!cg_grow(g, (void **)&fl, &cap, k, sizeof *fl)) break;
    memset(&fl[k], 0, sizeof fl[k]);
    gen_flag(g, k, &fl[k]);
  }
  if (!g->failed && g->nflags) {
    BcFunc *all = pool(g, m->nfuncs + g->nflags, sizeof *all);
    if (all) {
      memcpy(all, m->funcs, m->nfuncs * sizeof *all);
      memcpy(all + m->nfuncs, fl, g->nflags * sizeof *all);
      m->funcs = all;
      m->nfuncs += g->nflags;
    }
  }
  mem_free(fl, cap * sizeof *fl);
}

/* ---- tables -------------------------------------------------------------- */

static void gen_globals(Cg *g, const Decl *input, uint32_t nparams) {
  const Ast *ast = g->ast;
  Module *m = g->m;
  uint32_t n = (input ? input->u.input.n : 0) + nparams;
  if (n > BC_MAX_GLOBALS) {
    cg_limit(g, "inputs and params", BC_MAX_GLOBALS);
    return;
  }
  m->globals = pool(g, n, sizeof *m->globals);
  if (!m->globals) return;
  m->nglobals = n;
  uint32_t k = 0;
  for (uint32_t i = 0; input && i < input->u.input.n; i++, k++) {
    const Param *p = &input->u.input.v[i];
    m->globals[k] = (BcGlobal){cg_str(g, p->name), G_INPUT, p->type ? p->type : TY_ANY,
                               p->deflt ? cg_json(g, p->deflt) : NULL};
  }
  g->ninputs = k;
  for (uint32_t i = 0; i < ast->decls.n; i++) {
    const Decl *d = ast->decls.v[i];
    if (d->kind != D_PARAM) continue;
    g->decl_to[i] = (int)k;
    m->globals[k++] = (BcGlobal){cg_str(g, d->name), G_PARAM,
                                 d->u.param.type ? d->u.param.type : TY_ANY,
                                 d->u.param.value ? cg_json(g, d->u.param.value) : NULL};
  }
}

static int action_named(Cg *g, const char *name) {
  const Ast *ast = g->ast;
  for (uint32_t i = 0; i < ast->decls.n; i++)
    if (ast->decls.v[i]->kind == D_ACTION && strcmp(ast->decls.v[i]->name, name) == 0)
      return g->decl_to[i];
  return -1;
}

static uint64_t editable(Cg *g, const Decl *d) {
  const ParamList *ps = &d->u.action.params;
  if (!d->u.action.has_edit) {
    if (ps->n > 64) {
      g->failed = true;
      diag_error(g->d, d->name_span, "action '%s' has %u parameters: at most 64 can be editable",
                 d->name, ps->n);
      diag_hint(g->d, "list the ones a reviewer may change: edit p1, p2");
      return 0;
    }
    return ps->n == 64 ? UINT64_MAX : (UINT64_C(1) << ps->n) - 1;
  }
  uint64_t bits = 0;
  const NameList *ed = &d->u.action.edit;
  for (uint32_t i = 0; i < ed->n; i++)
    for (uint32_t k = 0; k < ps->n; k++) {
      if (strcmp(ps->v[k].name, ed->v[i]) != 0) continue;
      if (k >= 64) {
        g->failed = true;
        diag_error(g->d, ed->spans[i], "'%s' is parameter %u of '%s': only the first 64 can be "
                   "editable", ed->v[i], k + 1, d->name);
      } else {
        bits |= UINT64_C(1) << k;
      }
    }
  return bits;
}

static void gen_actions(Cg *g, const uint32_t *blast_fn) {
  const Ast *ast = g->ast;
  Module *m = g->m;
  for (uint32_t i = 0, k = 0; i < ast->decls.n; i++) {
    const Decl *d = ast->decls.v[i];
    if (d->kind != D_ACTION) continue;
    BcAction *a = &m->actions[k++];
    const ParamList *ps = &d->u.action.params;
    if (ps->n > BC_MAX_PARAMS) {
      g->f.at = d->name_span;
      cg_limit(g, "parameters", BC_MAX_PARAMS);
      continue;
    }
    a->name = cg_str(g, d->name);
    a->params = pool(g, ps->n, sizeof *a->params);
    for (uint32_t p = 0; a->params && p < ps->n; p++)
      a->params[p] = (BcParam){cg_str(g, ps->v[p].name), ps->v[p].type ? ps->v[p].type : TY_ANY};
    a->nparams = (uint16_t)ps->n;
    a->result_type = d->u.action.has_result && d->u.action.result ? d->u.action.result : TY_ANY;
    a->irreversible = d->u.action.irreversible;
    a->blast_fn = d->u.action.blast ? (int32_t)blast_fn[i] : -1;
    a->compliance = cg_str(g, d->u.action.compliance);
    a->editable = editable(g, d);
    a->undo = d->u.action.undo ? action_named(g, d->u.action.undo) : -1;
    a->lib = cg_str(g, d->u.action.lib);
    a->symbol = cg_str(g, d->u.action.symbol);
    a->line = d->span.line;
  }
}

static BcRoute route(Cg *g, const Route *r) {
  static const uint8_t kind[] = {[R_AUTO] = BR_AUTO, [R_APPROVE] = BR_APPROVE,
                                 [R_REVIEW] = BR_REVIEW, [R_DENY] = BR_DENY};
  return (BcRoute){
    .kind = kind[r->kind],
    .by = cg_str(g, r->by),
    .quorum = r->quorum > 0 ? (uint32_t)(r->quorum > UINT32_MAX ? UINT32_MAX : r->quorum) : 0,
    .timeout = r->timeout.present ? r->timeout.seconds : -1,
    .timeout_verdict = r->timeout.verdict == VK_REJECT,
    .timeout_reason = cg_str(g, r->timeout.reason),
    .within = r->kind == R_REVIEW && r->within > 0 ? r->within : -1,
    .message = cg_str(g, r->message),
  };
}

static void gen_thresholds(Cg *g, const Decl *d) {
  Module *m = g->m;
  m->thresholds = pool(g, d->u.thresholds.n, sizeof *m->thresholds);
  if (!m->thresholds) return;
  m->nthresholds = d->u.thresholds.n;
  for (uint32_t i = 0; i < d->u.thresholds.n; i++) {
    const Threshold *t = &d->u.thresholds.v[i];
    m->thresholds[i] = (BcThreshold){
      strcmp(t->action, "default") == 0 ? -1 : action_named(g, t->action), t->value};
  }
}

/* ---- entry --------------------------------------------------------------- */

static void header(Cg *g, const char *source_name, const char *src, size_t src_len) {
  Module *m = g->m;
  m->source_name = cg_str(g, source_name ? source_name : "");
  hitl_sha256(m->source_hash, src, src_len);
  m->playbook = cg_str(g, g->ast->name ? g->ast->name : "");
  m->description = cg_str(g, g->ast->description ? g->ast->description : "");
}

static void generate(Cg *g, const char *source_name, const char *src, size_t src_len) {
  const Ast *ast = g->ast;
  Module *m = g->m;
  uint32_t nd = ast->decls.n;
  g->decl_to = mem_alloc((nd ? nd : 1) * sizeof *g->decl_to);
  uint32_t *blast_fn = mem_alloc((nd ? nd : 1) * sizeof *blast_fn);
  if (!g->decl_to || !blast_fn) {
    mem_free(blast_fn, (nd ? nd : 1) * sizeof *blast_fn);
    cg_oom(g);
    return;
  }
  header(g, source_name, src, src_len);

  /* number everything */
  const Decl *input = NULL, *rules = NULL, *thresholds = NULL;
  uint32_t nparams = 0, nactions = 0, nfns = 0, nconds = 0, nblasts = 0;
  for (uint32_t i = 0; i < nd; i++) {
    const Decl *d = ast->decls.v[i];
    g->decl_to[i] = -1;
    switch (d->kind) {
    case D_INPUT: if (!input) input = d; break;
    case D_PARAM: nparams++; break;
    case D_ACTION:
      g->decl_to[i] = (int)nactions++;
      if (d->u.action.blast) nblasts++;
      break;
    case D_FN: g->decl_to[i] = 1 + (int)nfns++; break;
    case D_RULES:
      if (!rules) rules = d;
      break;
    case D_THRESHOLDS: if (!thresholds) thresholds = d; break;
    }
  }
  for (uint32_t i = 0; rules && i < rules->u.rules.n; i++) nconds += rules->u.rules.v[i].cond != NULL;
  uint64_t nfuncs = 1 + (uint64_t)nfns + nconds + nblasts;
  for (uint32_t i = 0, b = 0; i < nd; i++)
    if (ast->decls.v[i]->kind == D_ACTION && ast->decls.v[i]->u.action.blast)
      blast_fn[i] = 1 + nfns + nconds + b++;

  g->flag_base = (uint32_t)nfuncs;
  g->f.at = ast->name_span;
  if (nfuncs > BC_MAX_FUNCS) cg_limit(g, "functions", BC_MAX_FUNCS);
  if (nactions > BC_MAX_ACTIONS) cg_limit(g, "actions", BC_MAX_ACTIONS);
  if (!g->failed) {
    m->funcs = pool(g, nfuncs, sizeof *m->funcs);
    m->actions = pool(g, nactions, sizeof *m->actions);
    if (m->funcs) m->nfuncs = (uint32_t)nfuncs;
    if (m->actions || !nactions) m->nactions = nactions;
  }
  if (g->failed) goto done;
  gen_globals(g, input, nparams);
  gen_actions(g, blast_fn);

  gen_body(g);
  for (uint32_t i = 0; i < nd; i++)
    if (ast->decls.v[i]->kind == D_FN) gen_fn(g, ast->decls.v[i], &m->funcs[g->decl_to[i]]);
  if (rules) {
    m->has_rules = true;
    m->rules = pool(g, rules->u.rules.n, sizeof *m->rules);
    if (!m->rules && rules->u.rules.n) goto done;
    m->nrules = rules->u.rules.n;
    for (uint32_t i = 0, c = 0; i < rules->u.rules.n; i++) {
      const Rule *r = &rules->u.rules.v[i];
      BcRule *br = &m->rules[i];
      br->cond_fn = -1;
      if (r->cond) {
        br->cond_fn = (int32_t)(1 + nfns + c++);
        gen_rule(g, r, &m->funcs[br->cond_fn]);
      }
      br->route = route(g, &r->route);
      br->line = r->span.line;
      br->text = cg_str(g, r->text ? r->text : "");
    }
  }
  for (uint32_t i = 0; i < nd; i++)
    if (ast->decls.v[i]->kind == D_ACTION && ast->decls.v[i]->u.action.blast)
      gen_blast(g, ast->decls.v[i], &m->funcs[blast_fn[i]]);
  if (thresholds) gen_thresholds(g, thresholds);
  gen_flags(g);

  /* what the code produced on the way */
  if (!g->failed) {
    m->consts = copy(g, g->consts, g->nconsts, sizeof *g->consts);
    m->nconsts = g->nconsts;
    m->calls = copy(g, g->calls, g->ncalls, sizeof *g->calls);
    m->ncalls = g->ncalls;
    m->checkpoints = copy(g, g->cps, g->ncps, sizeof *g->cps);
    m->ncheckpoints = g->ncps;
    m->reviews = copy(g, g->revs, g->nrevs, sizeof *g->revs);
    m->nreviews = g->nrevs;
  }
done:
  mem_free(blast_fn, (nd ? nd : 1) * sizeof *blast_fn);
}

Module *cg_generate(const Ast *ast, const char *source_name, const char *src, size_t src_len,
                    Diags *d) {
  Cg cg = {.ast = ast, .d = d};
  Cg *g = &cg;
  g->m = bc_new();
  if (!g->m) {
    cg_oom(g);
    return NULL;
  }
  generate(g, source_name, src, src_len);

  CgFn *f = &g->f;
  mem_free(f->code, f->cap);
  mem_free(f->lines, f->caplines * sizeof *f->lines);
  mem_free(f->scopes, f->capscopes * sizeof *f->scopes);
  mem_free(f->breaks, f->capbreaks * sizeof *f->breaks);
  mem_free(f->conts, f->capconts * sizeof *f->conts);
  mem_free(f->pend, f->cappend * sizeof *f->pend);
  mem_free(g->consts, g->capconsts * sizeof *g->consts);
  mem_free(g->chash, g->chcap * sizeof *g->chash);
  mem_free(g->calls, g->capcalls * sizeof *g->calls);
  mem_free(g->cps, g->capcps * sizeof *g->cps);
  mem_free(g->revs, g->caprevs * sizeof *g->revs);
  mem_free(g->flags, g->capflags * sizeof *g->flags);
  mem_free(g->decl_to, (ast->decls.n ? ast->decls.n : 1) * sizeof *g->decl_to);
  if (g->failed) {
    bc_free(g->m);
    return NULL;
  }
  return g->m;
}
