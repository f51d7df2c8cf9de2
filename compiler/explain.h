/* compiler/explain.h — static gating analysis: which routes the rules allow
 * at each action call site (LANGUAGE.md §6, TOOLS.md §1 `hitlc --explain`).
 *
 * For every call of an action in the body and in the fns, the risk context
 * is built from what is known before the program runs (the action's name and
 * attributes, blast on constant arguments, a constant confidence, whether
 * the call stands inside an approve or review block) and every rule
 * condition is evaluated over three values (true, false, unknown), noting
 * whether it may raise.  The walk mirrors vm/route.c: a rule that is surely
 * true decides, a possibly true one adds its route, and if the walk can fall
 * off the end (or a rule or the blast may raise) the fail-closed route is
 * added.  The routes are an over-approximation: a route that can happen at
 * run time is always listed.  docs/explain.md has the rules.
 *
 *   ExReport *r = ex_analyze(ast, &diags);   // after ck_check, with no errors
 *   ex_print_table(r, stdout);  or  ex_print_json(r, stdout);
 *
 * ex_analyze also warns (into d, when d is not NULL) at every call of an
 * irreversible action that can be routed `auto` outside an approve block.
 * The report lives in the tree's arena (freed with the tree). */
#ifndef HITL_EXPLAIN_H
#define HITL_EXPLAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ast.h"
#include "diag.h"

/* what a call's route can come from */
typedef enum ExWhy {
  EXW_RULE,         /* the rule at `line` matches */
  EXW_MAY_RAISE,    /* the rule at `line` may raise: fail closed, approve */
  EXW_RAISES,       /* the rule at `line` surely raises: approve, and the walk stops */
  EXW_BLAST_MAY_RAISE,  /* the action's blast may raise (or not be an int): approve */
  EXW_BLAST_RAISES, /* the blast surely raises: approve, no rule is tried */
  EXW_NO_MATCH,     /* no rule matches: auto if reversible, else approve */
} ExWhy;

typedef struct ExOutcome {
  ExWhy why;
  uint32_t line;        /* the rule's line (EXW_RULE, EXW_*RAISE*), else 0 */
  RouteKind route;
  const char *text;     /* the route as written: "approve by finance", "auto" */
} ExOutcome;

typedef struct ExSite {
  Span span;                    /* the callee's name */
  const Decl *action;
  bool irreversible;
  const char *compliance;       /* NULL when none */
  bool blast_known; int64_t blast;
  bool conf_given, conf_known; double confidence;   /* 0.0 when not given */
  bool in_approve, in_review;
  ExOutcome *out; uint32_t nout;   /* in walk order */
  bool can_auto;                /* some outcome is auto */
} ExSite;

typedef struct ExReport {
  ExSite *v;
  uint32_t n;                   /* in source order */
} ExReport;

ExReport *ex_analyze(Ast *ast, Diags *d);
/* Warn only (what cp_front runs): nothing is kept. */
void ex_warn(Ast *ast, Diags *d);

void ex_print_table(const ExReport *r, FILE *out);
void ex_print_json(const ExReport *r, FILE *out);

#endif
