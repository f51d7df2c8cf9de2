/* compiler/diag.c — collect diagnostics, then print them once (diag.h).
 *
 * Recording never fails the caller: messages are formatted into the Diags'
 * arena, and when the cap is reached or memory runs out a diagnostic is
 * counted but not stored (diag_print says how many were left out).
 *
 * Printing quotes the source line under each message with a caret at the
 * column.  Columns count code points, so the quoted line is walked one UTF-8
 * character at a time; the line is made safe to show on a terminal (control
 * bytes, bidi overrides and invalid UTF-8 become '?') and a very long line is
 * cut to a window around the column.  Diagnostics are sorted by position
 * first, so one forward walk over the source finds every line: printing is
 * linear in the size of the file whatever the number of diagnostics. */
#include "diag.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/mem.h"

enum {
  DIAG_DEFAULT_MAX = 100,
  QUOTE_WIDTH = 200,   /* characters of a long line shown */
  QUOTE_BEFORE = 100,  /* of which this many before the column */
};

#define REPLACEMENT '?'

/* ---- recording ----------------------------------------------------------- */

void diag_init(Diags *d, const char *file, const char *src, size_t src_len) {
  memset(d, 0, sizeof *d);
  arena_init(&d->arena);
  d->file = file;
  d->src = src;
  d->src_len = src_len;
}

void diag_free(Diags *d) {
  arena_free(&d->arena);
  d->v = NULL;
  d->n = d->cap = 0;
}

static unsigned diag_max(const Diags *d) { return d->max ? d->max : DIAG_DEFAULT_MAX; }

/* vsnprintf into the arena (which jumps to its oom handler on failure). */
static char *arena_vformat(Arena *a, const char *fmt, va_list ap) {
  /* Most messages fit the first try.  (Measuring with vsnprintf(NULL, 0, ..)
   * instead trips gcc's -Wformat-truncation under -fsanitize=undefined.) */
  char small[256];
  va_list ap2;
  va_copy(ap2, ap);
  int len = vsnprintf(small, sizeof small, fmt, ap2);
  va_end(ap2);
  if (len < 0) return arena_strdup(a, "(unprintable message)");
  if ((size_t)len < sizeof small) return arena_strndup(a, small, (size_t)len);
  char *p = arena_alloc(a, (size_t)len + 1);
  vsnprintf(p, (size_t)len + 1, fmt, ap);
  return p;
}

static void diag_add(Diags *d, Severity sev, Span at, const char *fmt, va_list ap) {
  if (sev == SEV_ERROR)
    d->errors++;
  else
    d->warnings++;
  if (d->n >= diag_max(d)) return;

  /* Out of memory while recording: the diagnostic stays counted, not stored. */
  jmp_buf oom;
  jmp_buf *saved = d->arena.oom;
  d->arena.oom = &oom;
  if (setjmp(oom)) {
    d->arena.oom = saved;
    return;
  }
  if (d->n == d->cap) {
    unsigned cap = d->cap ? d->cap * 2 : 16;
    if (cap > diag_max(d) || cap < d->cap) cap = diag_max(d);
    d->v = arena_grow(&d->arena, d->v, sizeof *d->v, d->n, cap);
    d->cap = cap;
  }
  char *msg = arena_vformat(&d->arena, fmt, ap);
  d->v[d->n++] = (Diag){.sev = sev, .span = at, .msg = msg, .hint = NULL};
  d->arena.oom = saved;
}

void diag_error(Diags *d, Span at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_add(d, SEV_ERROR, at, fmt, ap);
  va_end(ap);
}

void diag_warning(Diags *d, Span at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_add(d, SEV_WARNING, at, fmt, ap);
  va_end(ap);
}

void diag_hint(Diags *d, const char *fmt, ...) {
  /* Only when the most recent diagnostic was stored: never attach a hint to
   * an earlier one because the latest fell over the cap. */
  if (d->n == 0 || d->errors + d->warnings != d->n) return;
  jmp_buf oom;
  jmp_buf *saved = d->arena.oom;
  d->arena.oom = &oom;
  if (setjmp(oom)) {
    d->arena.oom = saved;
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  char *hint = arena_vformat(&d->arena, fmt, ap);
  va_end(ap);
  d->v[d->n - 1].hint = hint;
  d->arena.oom = saved;
}

/* ---- sorting ------------------------------------------------------------- */

static bool diag_before(const Diag *a, const Diag *b) {
  return a->span.line < b->span.line ||
         (a->span.line == b->span.line && a->span.col < b->span.col);
}

/* Stable: a bottom-up merge sort, or insertion sort if no buffer is to be had. */
static void diag_sort(Diag *v, unsigned n) {
  if (n < 2) return;
  Diag *tmp = mem_alloc((size_t)n * sizeof *tmp);
  if (!tmp) {
    for (unsigned i = 1; i < n; i++) {
      Diag x = v[i];
      unsigned j = i;
      for (; j > 0 && diag_before(&x, &v[j - 1]); j--) v[j] = v[j - 1];
      v[j] = x;
    }
    return;
  }
  Diag *from = v, *to = tmp;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) to[k++] = diag_before(&from[j], &from[i]) ? from[j++] : from[i++];
      while (i < mid) to[k++] = from[i++];
      while (j < hi) to[k++] = from[j++];
    }
    Diag *t = from;
    from = to;
    to = t;
  }
  if (from != v) memcpy(v, from, (size_t)n * sizeof *v);
  mem_free(tmp, (size_t)n * sizeof *tmp);
}

/* ---- UTF-8 --------------------------------------------------------------- */

/* Decode one character at p (p < e).  Returns its length in bytes and the
 * code point in *cp, or length 1 and *cp = -1 for a byte that does not start
 * a valid sequence (overlong forms, surrogates and values past U+10FFFF are
 * invalid).  Each invalid byte counts as one character. */
static size_t u8_next(const unsigned char *p, const unsigned char *e, int32_t *cp) {
  unsigned c = p[0];
  if (c < 0x80) {
    *cp = (int32_t)c;
    return 1;
  }
  size_t n;
  uint32_t v, min;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2; v = c & 0x1F; min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3; v = c & 0x0F; min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4; v = c & 0x07; min = 0x10000;
  } else {
    *cp = -1;
    return 1;
  }
  if ((size_t)(e - p) < n) {
    *cp = -1;
    return 1;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80) {
      *cp = -1;
      return 1;
    }
    v = v << 6 | (p[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    *cp = -1;
    return 1;
  }
  *cp = (int32_t)v;
  return n;
}

/* Characters that must not reach the terminal as they are: C0 and C1
 * controls, DEL, and the invisible direction overrides and isolates that
 * could make the quoted line read differently from what the compiler saw. */
static bool unsafe_cp(int32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F || cp == 0xFEFF;
}

/* Terminal columns a (safe) character takes: 0 for combining marks, 2 for
 * East Asian wide and fullwidth forms and most emoji, else 1. */
static unsigned cp_width(int32_t cp) {
  if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
      (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
      (cp >= 0xFE20 && cp <= 0xFE2F) || cp == 0x200B || cp == 0x200C || cp == 0x200D)
    return 0;
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
      (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
      (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
      (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD))
    return 2;
  return 1;
}

/* Write n bytes of text (a message, hint or file name) on one line, unsafe
 * characters and invalid UTF-8 replaced. */
static void put_safe(FILE *out, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *e = p + n;
  while (p < e) {
    int32_t cp;
    size_t len = u8_next(p, e, &cp);
    if (cp < 0 || unsafe_cp(cp))
      fputc(cp == '\t' ? ' ' : REPLACEMENT, out);
    else
      fwrite(p, 1, len, out);
    p += len;
  }
}

static void put_safe_str(FILE *out, const char *s) { put_safe(out, s, strlen(s)); }

/* ---- finding lines ------------------------------------------------------- */

/* A forward-only walk over the source: the current line's bounds and a
 * position inside it.  Diagnostics arrive sorted, so the cursor moves forward
 * only (it restarts from the top if asked to go back). */
typedef struct Cursor {
  const unsigned char *src;
  size_t len;
  uint32_t line;       /* current line (1-based); 0 = not started */
  size_t start, end;   /* its bytes [start, end), without "\n" or "\r\n" */
  size_t pos;          /* a position in the line ... */
  uint32_t chars;      /* ... that many characters from its start */
} Cursor;

static void cursor_set_line(Cursor *c, size_t start) {
  const unsigned char *nl = memchr(c->src + start, '\n', c->len - start);
  c->start = start;
  c->end = nl ? (size_t)(nl - c->src) : c->len;
  if (c->end > start && c->src[c->end - 1] == '\r') c->end--;
  c->pos = start;
  c->chars = 0;
}

/* Move to line `line`; false if the source has no such line. */
static bool cursor_seek_line(Cursor *c, uint32_t line) {
  if (line == 0) return false;
  if (c->line == 0 || line < c->line) {
    c->line = 1;
    cursor_set_line(c, 0);
  }
  while (c->line < line) {
    const unsigned char *nl = memchr(c->src + c->start, '\n', c->len - c->start);
    if (!nl) return false;
    c->line++;
    cursor_set_line(c, (size_t)(nl - c->src) + 1);
  }
  return true;
}

/* The lexer counts a column for every byte that is not a UTF-8 continuation
 * byte (utf8_count), so a valid character is one column, an invalid lead
 * byte is one, and a stray continuation byte is none (it still shows, as a
 * '?', so the caret line gives it a blank). */
static bool counts_column(unsigned char b) { return (b & 0xC0) != 0x80; }

/* Move just past column `chars` - 1 of the current line (0: to its start),
 * or to its end if it is shorter. */
static void cursor_seek_char(Cursor *c, uint32_t chars) {
  if (chars < c->chars) {
    c->pos = c->start;
    c->chars = 0;
  }
  const unsigned char *e = c->src + c->end;
  while (c->pos < c->end && c->chars < chars) {
    int32_t cp;
    c->chars += counts_column(c->src[c->pos]);
    c->pos += u8_next(c->src + c->pos, e, &cp);
  }
}

/* ---- printing ------------------------------------------------------------ */

typedef struct Style {
  const char *bold, *error, *warning, *caret, *reset;
} Style;

static const Style plain = {"", "", "", "", ""};
static const Style coloured = {"\033[1m", "\033[1;31m", "\033[1;35m", "\033[1;32m", "\033[0m"};

static void put_chars(FILE *out, int ch, unsigned n) {
  while (n--) fputc(ch, out);
}

/* How one unit of the line shows: its terminal width (a replaced unit shows
 * as one '?'); *cp < 0 or unsafe means replaced. */
static unsigned unit_width(int32_t cp) {
  return cp < 0 || unsafe_cp(cp) ? 1 : cp_width(cp);
}

/* The quoted line and the caret line under it, for a diagnostic on the
 * cursor's current line at column col (1-based) spanning len columns. */
static void print_quote(FILE *out, Cursor *c, uint32_t line, uint32_t col, uint32_t len,
                        const Style *st) {
  if (col == 0) col = 1;
  if (len == 0) len = 1;
  uint32_t at = col - 1;   /* columns before the caret */

  /* The window: up to QUOTE_WIDTH units starting QUOTE_BEFORE columns
   * before the caret (the whole line when it is short). */
  uint32_t from = at > QUOTE_BEFORE ? at - QUOTE_BEFORE : 0;
  cursor_seek_char(c, from);
  from = c->chars;   /* less than asked when the line is shorter */
  const size_t wstart = c->pos;
  const unsigned char *s = c->src, *e = c->src + c->end;
  const bool cut_left = from > 0;

  int width = 0;
  for (uint32_t l = line; l; l /= 10) width++;
  if (width < 5) width = 5;

  /* the source line, made safe */
  fprintf(out, "%*u | %s", width, line, cut_left ? "..." : "");
  size_t p = wstart;
  uint32_t i = from;
  /* stray continuation bytes take no column: so that they cannot push the
   * caret out of the window, it stretches (boundedly) to take it in */
  for (unsigned shown = 0;
       p < c->end && (shown < QUOTE_WIDTH || (i <= at && shown < 8 * QUOTE_WIDTH)); shown++) {
    int32_t cp;
    i += counts_column(s[p]);
    size_t n = u8_next(s + p, e, &cp);
    if (cp == '\t')
      fputc('\t', out);
    else if (cp < 0 || unsafe_cp(cp))
      fputc(REPLACEMENT, out);
    else
      fwrite(s + p, 1, n, out);
    p += n;
  }
  const size_t wend = p;
  if (wend < c->end) fputs("...", out);
  fputc('\n', out);

  /* the caret line: the units before the column again as blanks (tabs
   * copied, so the caret lines up whatever the tab width), then ^ and ~ */
  fprintf(out, "%*s | %s", width, "", cut_left ? "   " : "");
  p = wstart;
  i = from;
  while (p < wend && !(i == at && counts_column(s[p]))) {
    int32_t cp;
    i += counts_column(s[p]);
    p += u8_next(s + p, e, &cp);
    if (cp == '\t')
      fputc('\t', out);
    else
      put_chars(out, ' ', unit_width(cp));
  }
  if (i < at) put_chars(out, ' ', at - i);   /* the column lies past the end of the line */
  fputs(st->caret, out);
  fputc('^', out);
  if (p < wend && i == at) {
    int32_t cp;
    p += u8_next(s + p, e, &cp);
    put_chars(out, '~', unit_width(cp) - 1);
    i++;
    /* the rest of the span, within the window and the line */
    while (p < wend && i - at < len) {
      i += counts_column(s[p]);
      p += u8_next(s + p, e, &cp);
      put_chars(out, '~', unit_width(cp));
    }
  }
  fputs(st->reset, out);
  fputc('\n', out);
}

static bool no_color_env(void) {
  const char *e = getenv("NO_COLOR");
  return e && *e;
}

void diag_print(Diags *d, FILE *out, bool colour) {
  const Style *st = colour && !no_color_env() ? &coloured : &plain;
  const char *file = d->file ? d->file : "<input>";
  diag_sort(d->v, d->n);

  Cursor c = {.src = (const unsigned char *)d->src, .len = d->src ? d->src_len : 0};
  for (unsigned k = 0; k < d->n; k++) {
    const Diag *g = &d->v[k];
    bool err = g->sev == SEV_ERROR;
    fputs(st->bold, out);
    put_safe_str(out, file);
    if (g->span.line)
      fprintf(out, ":%u:%u", (unsigned)g->span.line, (unsigned)(g->span.col ? g->span.col : 1));
    fprintf(out, ":%s %s%s:%s ", st->reset, err ? st->error : st->warning,
            err ? "error" : "warning", st->reset);
    fputs(st->bold, out);
    put_safe_str(out, g->msg);
    fputs(st->reset, out);
    fputc('\n', out);
    if (c.src && cursor_seek_line(&c, g->span.line))
      print_quote(out, &c, g->span.line, g->span.col, g->span.len, st);
    if (g->hint) {
      fprintf(out, "%shint:%s ", st->bold, st->reset);
      put_safe_str(out, g->hint);
      fputc('\n', out);
    }
  }
  unsigned total = d->errors + d->warnings;
  if (total > d->n) {
    fputs(st->bold, out);
    put_safe_str(out, file);
    if (d->n < diag_max(d))   /* not the cap: memory ran out */
      fprintf(out, ":%s note: out of memory: %u more diagnostics not shown\n", st->reset,
              total - d->n);
    else
      fprintf(out, ":%s note: too many errors: %u more not shown\n", st->reset, total - d->n);
  }
}
