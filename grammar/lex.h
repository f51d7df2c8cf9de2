/* grammar/lex.h — state shared by the scanner (lexer.l) and the parser
 * (parser.y).  Include after the generated parser.h.
 *
 * The scanner keeps a stack of open brackets: `(`, `[`, `{` and `i` for an
 * open string interpolation.  It decides where newlines are ignored (inside
 * `(` and `[`), repairs unclosed brackets at a `}`, and bounds nesting. */
#ifndef HITL_LEX_H
#define HITL_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler/diag.h"

typedef struct LexFrame { char kind; PsLoc loc; } LexFrame;

/* One interned spelling of an identifier (see lex_intern in lexer.l). */
typedef struct LexName { const char *s; uint32_t hash, len; } LexName;

typedef struct LexState {
  Diags *d;
  Arena *arena;
  uint32_t line, col;          /* position of the next character */
  uint32_t byte;               /* offset of the next character (sources are below 2 GiB) */
  LexFrame *stack;             /* open brackets, innermost last */
  uint32_t depth, cap;
  void *flex[8];               /* blocks flex allocated (see lexalloc) */
  int nflex;
  char *src_copy;              /* the source with two NULs after it, for flex */
  size_t src_copy_len;
  char *buf;                   /* string literal being read */
  size_t blen, bcap;
  PsLoc seg;                   /* start of the current string segment */
  PsLoc quote;                 /* opening quote of the current string */
  bool interp;                 /* the current string has had an interpolation */
  uint32_t error_line;         /* last line with a lexical error (0 = none) */
  bool stop;                   /* a fatal condition: return end of input */
  uint32_t dropped;            /* ( and [ forgotten by lex_drop_parens, not yet closed */
  bool unmatched;
  LexName *names;              /* identifiers seen, open addressing; s NULL = empty */
  uint32_t nnames, names_cap;  /* names_cap is 0 or a power of two */
  bool hard_nl;                /* this NL (a `;`, or a line that ended a broken string) always ends a statement */              /* the last token was a closing bracket with no opener */
} LexState;

/* A scanner over src[0..len) (len < 2 GiB) into *scanner, which is set
 * before anything that can fail after it; out of memory goes to ps_oom. */
void lex_open(LexState *st, const char *src, size_t len, void **scanner);
void lex_close(void *scanner);
/* After an out-of-memory unwind: free whatever the scanner had allocated. */
void lex_abandon(LexState *st);
/* Unwind the parse on allocation failure (parser.y). */
_Noreturn void ps_oom(void);

/* The raw scanner (lexer.l); the parser's ps_lex applies the newline rule. */
int lex_raw(PSY_STYPE *lval, PsLoc *lloc, void *scanner);
/* true when a newline here is ignored: the innermost bracket is ( or [ */
bool lex_in_parens(const LexState *st);
/* Forget open ( and [ (after a syntax error), keeping braces and strings. */
void lex_drop_parens(LexState *st);

#endif
