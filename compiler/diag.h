/* compiler/diag.h — the front end's one error model: a list of diagnostics.
 *
 * Every stage (lexer, parser, checker, code generator) appends to the same
 * Diags; nothing prints or exits on its own.  The CLI prints the list once,
 * as `FILE:LINE:COL: error: MESSAGE`, the source line and a caret under the
 * column (TOOLS.md §1).  Messages live in the Diags' own arena. */
#ifndef HITL_DIAG_H
#define HITL_DIAG_H

#include <stdbool.h>
#include <stdio.h>

#include "ast.h"

typedef enum Severity { SEV_ERROR, SEV_WARNING } Severity;

typedef struct Diag {
  Severity sev;
  Span span;
  const char *msg;
  const char *hint;     /* NULL when none */
} Diag;

typedef struct Diags {
  Arena arena;
  const char *file;     /* name to print */
  const char *src;      /* the source text, for the quoted line */
  size_t src_len;
  Diag *v;
  unsigned n, cap;
  unsigned errors, warnings;
  unsigned max;         /* stop recording after this many (0 = 100) */
} Diags;

void diag_init(Diags *d, const char *file, const char *src, size_t src_len);
void diag_free(Diags *d);

void diag_error(Diags *d, Span at, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;
void diag_warning(Diags *d, Span at, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;
/* Attach a hint to the most recent diagnostic. */
void diag_hint(Diags *d, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;

/* Sort by position (stable) and print every diagnostic; colour when asked. */
void diag_print(Diags *d, FILE *out, bool colour);

#endif
