/* compiler/codegen_json.c — input defaults and param values as JSON text.
 *
 * The checker allows only constants there (literals, negated numbers, lists
 * and maps of constants), so this small writer covers them all.  Floats are
 * written with 17 significant digits, which read back to the same double,
 * and always with a '.' or an exponent, so that 2.0 stays a float. */
#include "codegen_int.h"

#include <math.h>
#include <stdio.h>

#include "../vm/mem.h"

typedef struct Buf { char *s; uint32_t n, cap; } Buf;

static void put(Cg *g, Buf *b, const char *s, size_t n) {
  if (n > UINT32_MAX - b->n - 1) {
    cg_oom(g);
    return;
  }
  if (!cg_grow(g, (void **)&b->s, &b->cap, b->n + (uint32_t)n, 1)) return;
  memcpy(b->s + b->n, s, n);
  b->n += (uint32_t)n;
}

static void put_str(Cg *g, Buf *b, const char *s, size_t len) {
  put(g, b, "\"", 1);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    const char *e = NULL;
    switch (c) {
    case '"': e = "\\\""; break;
    case '\\': e = "\\\\"; break;
    case '\n': e = "\\n"; break;
    case '\r': e = "\\r"; break;
    case '\t': e = "\\t"; break;
    case '\b': e = "\\b"; break;
    case '\f': e = "\\f"; break;
    default:
      if (c < 0x20) {
        snprintf(esc, sizeof esc, "\\u%04x", c);
        e = esc;
      }
    }
    if (e)
      put(g, b, e, strlen(e));
    else
      put(g, b, (const char *)&s[i], 1);
  }
  put(g, b, "\"", 1);
}

static void put_float(Cg *g, Buf *b, double f) {
  char num[40];
  if (isnan(f)) {
    put(g, b, "null", 4);   /* no literal can be NaN */
    return;
  }
  if (isinf(f)) {   /* a literal beyond the double range: read back as infinity */
    put(g, b, f < 0 ? "-1e999" : "1e999", f < 0 ? 6 : 5);
    return;
  }
  int n = snprintf(num, sizeof num, "%.17g", f);
  if (n < 0 || (size_t)n >= sizeof num) n = 0;
  put(g, b, num, (size_t)n);
  if (!strpbrk(num, ".eE")) put(g, b, ".0", 2);
}

static void value(Cg *g, Buf *b, const Expr *e) {
  char num[32];
  switch (e->kind) {
  case E_NIL: put(g, b, "null", 4); return;
  case E_BOOL: put(g, b, e->u.b ? "true" : "false", e->u.b ? 4 : 5); return;
  case E_INT: {
    int n = snprintf(num, sizeof num, "%lld", (long long)e->u.i);
    put(g, b, num, (size_t)n);
    return;
  }
  case E_FLOAT: put_float(g, b, e->u.f); return;
  case E_STRING: put_str(g, b, e->u.str.s, e->u.str.len); return;
  case E_UNARY:   /* a negated number the parser did not fold */
    if (e->u.op.a->kind == E_INT && e->u.op.a->u.i != INT64_MIN) {
      int n = snprintf(num, sizeof num, "%lld", -(long long)e->u.op.a->u.i);
      put(g, b, num, (size_t)n);
      return;
    }
    if (e->u.op.a->kind == E_FLOAT) {
      put_float(g, b, -e->u.op.a->u.f);
      return;
    }
    break;
  case E_LIST:
    put(g, b, "[", 1);
    for (uint32_t i = 0; i < e->u.list.n; i++) {
      if (i) put(g, b, ",", 1);
      value(g, b, e->u.list.v[i]);
    }
    put(g, b, "]", 1);
    return;
  case E_MAP:
    put(g, b, "{", 1);
    for (uint32_t i = 0; i < e->u.map.keys.n; i++) {
      const Expr *k = e->u.map.keys.v[i];
      if (i) put(g, b, ",", 1);
      if (k->kind != E_STRING) break;
      put_str(g, b, k->u.str.s, k->u.str.len);
      put(g, b, ":", 1);
      value(g, b, e->u.map.vals.v[i]);
    }
    put(g, b, "}", 1);
    return;
  default:
    break;
  }
  g->failed = true;
  diag_error(g->d, e->span, "internal error in the code generator: a default that is not a "
             "constant");
}

const char *cg_json(Cg *g, const Expr *e) {
  Buf b = {0};
  value(g, &b, e);
  const char *r = NULL;
  if (!g->oom) {
    r = bc_strdup(g->m, b.s ? b.s : "", b.n);
    if (!r) cg_oom(g);
  }
  mem_free(b.s, b.cap);
  return r;
}
