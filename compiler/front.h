/* compiler/front.h — the front end's entry points: source to checked tree.
 *
 *   Ast *ast = ps_parse(src, len, &diags);   // grammar/: lexer + parser
 *   if (!diags.errors) ck_check(ast, &diags); // compiler/check*.c
 *   ...
 *   ast_free(ast);
 *
 * ps_parse never fails outright: on out-of-memory or pathological input it
 * records a diagnostic and returns what it has (possibly an empty tree). */
#ifndef HITL_FRONT_H
#define HITL_FRONT_H

#include <stddef.h>

#include "ast.h"
#include "diag.h"

enum {
  FRONT_MAX_NESTING = 200,     /* ( [ { nested deeper than this: error */
  FRONT_MAX_EXPR_DEPTH = 1000, /* expression trees deeper than this: error */
};

Ast *ps_parse(const char *src, size_t len, Diags *d);
void ast_free(Ast *ast);

/* Name resolution, static types and every rule of LANGUAGE.md the compiler
 * can see; appends errors and warnings to d.  Returns true when no error. */
bool ck_check(Ast *ast, Diags *d);

#endif
