/* vm/value.c — strings, string buffers, lists, maps, equality and the text
 * forms of values (str and JSON).
 *
 * Every object lives on the VM's garbage-collected heap (gc_new /
 * gc_realloc); a function that allocates twice keeps what it made first
 * reachable with vm_push_root.  StrBuf memory is outside the heap (mem_*) and
 * is freed by the VM's cleanup stack if an out-of-memory unwind passes it.
 * Formats and decisions: docs/values.md. */
#include "value.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "valops.h"
#include "vm.h"

/* ---- strings --------------------------------------------------------------- */

uint32_t str_hash_bytes(const char *s, size_t len) {
  uint32_t h = 2166136261u;                      /* FNV-1a, 32 bits */
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}

/* every byte < 0x80, eight at a time */
static bool bytes_ascii(const char *s, size_t len) {
  uint64_t any = 0;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    any |= w;
  }
  for (; i < len; i++) any |= (unsigned char)s[i];
  return (any & 0x8080808080808080ull) == 0;
}

Str *str_new(VM *vm, const char *s, size_t len) {
  if (len > vm_max_string(vm) || len > SIZE_MAX - sizeof(Str) - 1) vm_oom(vm, "string too long");
  Str *r = (Str *)gc_new(vm, sizeof(Str) + len + 1, V_STR);
  if (len) memcpy(r->s, s, len);
  r->s[len] = '\0';
  r->len = len;
  r->hashed = false;
  r->ascii = bytes_ascii(r->s, len);
  return r;
}

Str *str_cstr(VM *vm, const char *s) { return str_new(vm, s, strlen(s)); }

Str *str_concat(VM *vm, const Str *a, const Str *b) {
  size_t max = vm_max_string(vm);
  if (a->len > max || b->len > max - a->len) vm_oom(vm, "string too long");
  /* a and b are the caller's (reachable); gc_new does not move objects */
  size_t len = a->len + b->len;
  Str *r = (Str *)gc_new(vm, sizeof(Str) + len + 1, V_STR);
  memcpy(r->s, a->s, a->len);
  memcpy(r->s + a->len, b->s, b->len);
  r->s[len] = '\0';
  r->len = len;
  r->hashed = false;   /* hashed when first needed */
  r->ascii = a->ascii && b->ascii;
  return r;
}

/* A code point starts at every byte that is not a UTF-8 continuation byte
 * (10xxxxxx).  Strings are valid UTF-8 (the front end and jansson check);
 * for anything else this still counts deterministically. */
static inline bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

size_t str_chars(const Str *s) {
  if (s->ascii) return s->len;
  size_t n = 0;
  for (size_t i = 0; i < s->len; i++) n += !is_cont((unsigned char)s->s[i]);
  return n;
}

size_t str_char_offset(const Str *s, size_t i) {
  if (s->ascii) return i < s->len ? i : s->len;
  size_t k = 0;
  for (size_t off = 0; off < s->len; off++) {
    if (is_cont((unsigned char)s->s[off])) continue;
    if (k == i) return off;
    k++;
  }
  return s->len;
}

bool str_eq(const Str *a, const Str *b) {
  if (a == b) return true;
  if (a->len != b->len) return false;
  if (a->hashed && b->hashed && a->hash != b->hash) return false;
  return memcmp(a->s, b->s, a->len) == 0;
}

/* ---- string buffers -------------------------------------------------------- */

static void strbuf_cleanup(void *p) {
  StrBuf *b = p;
  mem_free(b->p, b->cap);
  b->p = NULL;
  b->cap = b->len = 0;
}

void strbuf_init(VM *vm, StrBuf *b) {
  b->p = NULL;
  b->len = b->cap = 0;
  b->vm = vm;
  vm_cleanup_push(vm, strbuf_cleanup, b);
}

/* room for `extra` more bytes plus a NUL (the NUL is not counted in len and
 * not against the limit) */
static void strbuf_reserve(StrBuf *b, size_t extra) {
  size_t max = vm_max_string(b->vm);
  if (b->len > max || extra > max - b->len) vm_oom(b->vm, "string too long");
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (cap > max + 1) cap = max + 1;
  char *p = mem_realloc(b->p, b->cap, cap);
  if (!p) vm_oom(b->vm, "out of memory");
  b->p = p;
  b->cap = cap;
}

void strbuf_add(StrBuf *b, const char *s, size_t n) {
  if (!n) return;
  strbuf_reserve(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

void strbuf_addc(StrBuf *b, char c) {
  if (b->len + 1 < b->cap) {
    b->p[b->len++] = c;
    return;
  }
  strbuf_add(b, &c, 1);
}

void strbuf_printf(StrBuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[128];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    strbuf_add(b, small, (size_t)n);
    return;
  }
  strbuf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

Str *strbuf_done(StrBuf *b) {
  /* if str_new runs out of memory the cleanup still frees the buffer */
  Str *s = str_new(b->vm, b->p ? b->p : "", b->len);
  vm_cleanup_pop(b->vm, true);
  return s;
}

void strbuf_free(StrBuf *b) { vm_cleanup_pop(b->vm, true); }

/* ---- lists ----------------------------------------------------------------- */

List *list_new(VM *vm, uint32_t cap) {
  if (cap > vm_max_list(vm)) vm_oom(vm, "list too long");
  List *l = (List *)gc_new(vm, sizeof(List), V_LIST);
  if (cap) {
    vm_push_root(vm, v_obj(&l->h));
    l->v = gc_realloc(vm, NULL, 0, (size_t)cap * sizeof(Value));
    l->cap = cap;
    vm_pop_root(vm, 1);
  }
  return l;
}

void list_push(VM *vm, List *l, Value v) {
  if (l->n == l->cap) {
    uint32_t max = vm_max_list(vm);
    if (l->n >= max) vm_oom(vm, "list too long");
    uint32_t cap = l->cap < 4 ? 8 : (l->cap > max / 2 ? max : l->cap * 2);
    vm_push_root(vm, v_obj(&l->h));
    vm_push_root(vm, v);
    l->v = gc_realloc(vm, l->v, (size_t)l->cap * sizeof(Value), (size_t)cap * sizeof(Value));
    l->cap = cap;
    vm_pop_root(vm, 2);
  }
  l->v[l->n++] = v;
}

/* ---- maps ------------------------------------------------------------------ */

enum { MAP_LINEAR = 8 };   /* linear search up to this many entries */

Map *map_new(VM *vm, uint32_t cap) {
  if (cap > vm_max_list(vm)) vm_oom(vm, "map too large");
  Map *m = (Map *)gc_new(vm, sizeof(Map), V_MAP);
  if (cap) {
    vm_push_root(vm, v_obj(&m->h));
    m->e = gc_realloc(vm, NULL, 0, (size_t)cap * sizeof(struct MEntry));
    m->cap = cap;
    vm_pop_root(vm, 1);
  }
  return m;
}

/* a map's keys are hashed when they are inserted */
static inline bool key_is(const Str *k, uint32_t h, const char *s, size_t len) {
  return k->hash == h && k->len == len && memcmp(k->s, s, len) == 0;
}

/* entry index, or -1 */
static int64_t map_find(const Map *m, uint32_t h, const char *s, size_t len) {
  if (!m->icap) {
    for (uint32_t i = 0; i < m->n; i++)
      if (key_is(m->e[i].key, h, s, len)) return i;
    return -1;
  }
  uint32_t mask = m->icap - 1;
  for (uint32_t i = h & mask;; i = (i + 1) & mask) {
    uint32_t slot = m->index[i];
    if (!slot) return -1;
    if (key_is(m->e[slot - 1].key, h, s, len)) return slot - 1;
  }
}

Value *map_get(const Map *m, const Str *key) {
  int64_t i = map_find(m, str_hash(key), key->s, key->len);
  return i < 0 ? NULL : &m->e[i].val;
}

Value *map_get_cstr(const Map *m, const char *key, size_t len) {
  int64_t i = map_find(m, str_hash_bytes(key, len), key, len);
  return i < 0 ? NULL : &m->e[i].val;
}

static void index_put(uint32_t *index, uint32_t icap, uint32_t h, uint32_t entry) {
  uint32_t mask = icap - 1;
  uint32_t i = h & mask;
  while (index[i]) i = (i + 1) & mask;
  index[i] = entry + 1;
}

void map_set(VM *vm, Map *m, Str *key, Value v) {
  int64_t found = map_find(m, str_hash(key), key->s, key->len);
  if (found >= 0) {
    m->e[found].val = v;
    return;
  }
  uint32_t max = vm_max_list(vm);
  if (m->n >= max) vm_oom(vm, "map too large");
  uint32_t n1 = m->n + 1;
  int roots = 0;
  if (m->n == m->cap || (n1 > MAP_LINEAR && (uint64_t)m->icap < 2 * (uint64_t)n1)) {
    vm_push_root(vm, v_obj(&m->h));
    vm_push_root(vm, v_obj(&key->h));
    vm_push_root(vm, v);
    roots = 3;
  }
  if (m->n == m->cap) {
    uint32_t cap = m->cap < 4 ? 8 : (m->cap > max / 2 ? max : m->cap * 2);
    m->e = gc_realloc(vm, m->e, (size_t)m->cap * sizeof(struct MEntry), (size_t)cap * sizeof(struct MEntry));
    m->cap = cap;
  }
  if (n1 > MAP_LINEAR && (uint64_t)m->icap < 2 * (uint64_t)n1) {
    uint32_t icap = m->icap ? m->icap : 16;
    while ((uint64_t)icap < 2 * (uint64_t)n1) icap *= 2;
    uint32_t *index = gc_realloc(vm, NULL, 0, (size_t)icap * sizeof(uint32_t));
    memset(index, 0, (size_t)icap * sizeof(uint32_t));
    for (uint32_t i = 0; i < m->n; i++) index_put(index, icap, m->e[i].key->hash, i);
    if (m->index) gc_free_array(vm, m->index, (size_t)m->icap * sizeof(uint32_t));
    m->index = index;
    m->icap = icap;
  }
  if (roots) vm_pop_root(vm, roots);
  m->e[m->n].key = key;
  m->e[m->n].val = v;
  if (m->icap) index_put(m->index, m->icap, key->hash, m->n);
  m->n = n1;
}

/* ---- equality and order ---------------------------------------------------- */

/* int64 against double, exactly: -1, 0, 1; NaN sorts last */
static int cmp_int_float(int64_t i, double d) {
  if (isnan(d)) return -1;
  if (d >= 9223372036854775808.0) return -1;          /* 2^63 */
  if (d < -9223372036854775808.0) return 1;
  double t = trunc(d);                                 /* in range: exact as int64 */
  int64_t ti = (int64_t)t;
  if (i != ti) return i < ti ? -1 : 1;
  return d > t ? -1 : d < t ? 1 : 0;
}

int num_cmp(Value a, Value b) {
  if (a.t == V_INT && b.t == V_INT) return a.u.i < b.u.i ? -1 : a.u.i > b.u.i;
  if (a.t == V_INT) return cmp_int_float(a.u.i, b.u.f);
  if (b.t == V_INT) return -cmp_int_float(b.u.i, a.u.f);
  double x = a.u.f, y = b.u.f;
  if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
  return x < y ? -1 : x > y;
}

static bool eq(Value a, Value b, int depth) {
  if (val_is_num(a) && val_is_num(b)) {
    if (a.t == V_FLOAT && isnan(a.u.f)) return false;
    if (b.t == V_FLOAT && isnan(b.u.f)) return false;
    return num_cmp(a, b) == 0;
  }
  if (a.t != b.t) return false;
  switch (a.t) {
    case V_NIL: return true;
    case V_BOOL: return a.u.b == b.u.b;
    case V_STR: return str_eq(AS_STR(a), AS_STR(b));
    default: break;
  }
  if (a.u.o == b.u.o) return true;
  if (depth >= VAL_EQ_MAX_DEPTH) return false;
  if (a.t == V_LIST) {
    List *x = AS_LIST(a), *y = AS_LIST(b);
    if (x->n != y->n) return false;
    for (uint32_t i = 0; i < x->n; i++)
      if (!eq(x->v[i], y->v[i], depth + 1)) return false;
    return true;
  }
  Map *x = AS_MAP(a), *y = AS_MAP(b);
  if (x->n != y->n) return false;
  for (uint32_t i = 0; i < x->n; i++) {
    Value *w = map_get(y, x->e[i].key);
    if (!w || !eq(x->e[i].val, *w, depth + 1)) return false;
  }
  return true;
}

bool val_eq(Value a, Value b) { return eq(a, b, 0); }

const char *val_type_name(Value v) {
  switch (v.t) {
    case V_NIL: return "nil";
    case V_BOOL: return "bool";
    case V_INT: return "int";
    case V_FLOAT: return "float";
    case V_STR: return "string";
    case V_LIST: return "list";
    case V_MAP: return "map";
  }
  return "?";
}

/* ---- floats ---------------------------------------------------------------- */

void fmt_float(char out[32], double d) {
  if (isnan(d)) { strcpy(out, "nan"); return; }
  if (isinf(d)) { strcpy(out, d < 0 ? "-inf" : "inf"); return; }
  char *o = out;
  if (signbit(d)) { *o++ = '-'; d = -d; }
  if (d == 0) { strcpy(o, "0.0"); return; }

  /* the shortest %e form that reads back as d */
  char e[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(e, sizeof e, "%.*e", prec - 1, d);
    if (strtod(e, NULL) == d) break;
  }
  /* e is "D[.DDD]e[+-]XX": the digits and the decimal exponent */
  char digits[20];
  int nd = 0;
  const char *p = e;
  for (; *p && *p != 'e'; p++)
    if (*p >= '0' && *p <= '9') digits[nd++] = *p;
  int exp10 = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0') nd--;

  if (exp10 < -4 || exp10 >= 16) {
    *o++ = digits[0];
    if (nd > 1) {
      *o++ = '.';
      memcpy(o, digits + 1, (size_t)nd - 1);
      o += nd - 1;
    }
    int x = exp10 < 0 ? -exp10 : exp10;    /* 5 .. 324 */
    *o++ = 'e';
    *o++ = exp10 < 0 ? '-' : '+';
    if (x >= 100) *o++ = (char)('0' + x / 100);
    *o++ = (char)('0' + x / 10 % 10);
    *o++ = (char)('0' + x % 10);
    *o = '\0';
    return;
  }
  if (exp10 < 0) {                       /* 0.000ddd */
    *o++ = '0';
    *o++ = '.';
    for (int i = -1; i > exp10; i--) *o++ = '0';
    memcpy(o, digits, (size_t)nd);
    o += nd;
  } else {                               /* ddd.ddd, ddd.0 */
    for (int i = 0; i <= exp10; i++) *o++ = i < nd ? digits[i] : '0';
    *o++ = '.';
    if (nd > exp10 + 1) {
      memcpy(o, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
      o += nd - exp10 - 1;
    } else {
      *o++ = '0';
    }
  }
  *o = '\0';
}

/* ---- text forms ------------------------------------------------------------ */

static void json_string(StrBuf *b, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  strbuf_addc(b, '"');
  size_t run = 0;                          /* bytes copied as they are */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    strbuf_add(b, s + run, i - run);
    run = i + 1;
    char esc[7] = {'\\', 0};
    size_t n = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        memcpy(esc + 1, "u00", 3);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        n = 6;
    }
    strbuf_add(b, esc, n);
  }
  strbuf_add(b, s + run, len - run);
  strbuf_addc(b, '"');
}

/* frees *p: the cleanup is registered before the allocation, since
 * registering may itself run out of memory */
static void free_scratch(void *p) {
  void **q = p;
  mem_free(*q, 0);
  *q = NULL;
}

static int key_order(const void *x, const void *y) {
  const Str *a = (*(const struct MEntry *const *)x)->key;
  const Str *b = (*(const struct MEntry *const *)y)->key;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->s, b->s, n);
  if (c) return c;
  return a->len < b->len ? -1 : a->len > b->len;
}

/* two digits at a time, from the right; 32-bit arithmetic while it fits
 * (the common case; a 64-bit division by 10 is a longer multiply chain) */
size_t fmt_int(char out[24], int64_t i) {
  static const char pairs[201] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  char tmp[24];
  char *p = tmp + sizeof tmp;
  uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
  while (u > UINT32_MAX) {
    unsigned d = (unsigned)(u % 100);
    u /= 100;
    p -= 2;
    memcpy(p, pairs + 2 * d, 2);
  }
  uint32_t w = (uint32_t)u;
  while (w >= 100) {
    unsigned d = w % 100;
    w /= 100;
    p -= 2;
    memcpy(p, pairs + 2 * d, 2);
  }
  if (w >= 10) {
    p -= 2;
    memcpy(p, pairs + 2 * w, 2);
  } else {
    *--p = (char)('0' + w);
  }
  size_t n = (size_t)(tmp + sizeof tmp - p), len = 0;
  if (i < 0) out[len++] = '-';
  memcpy(out + len, p, n);
  return len + n;
}

static int write_json(StrBuf *b, Value v, bool canonical, bool strict, int depth) {
  char num[32];
  switch (v.t) {
    case V_NIL: strbuf_add(b, "null", 4); return VAL_OK;
    case V_BOOL: v.u.b ? strbuf_add(b, "true", 4) : strbuf_add(b, "false", 5); return VAL_OK;
    case V_INT: strbuf_add(b, num, fmt_int(num, v.u.i)); return VAL_OK;
    case V_FLOAT:
      if (!isfinite(v.u.f)) {
        if (strict) return VAL_ENONFINITE;
        strbuf_add(b, "null", 4);
        return VAL_OK;
      }
      fmt_float(num, v.u.f);
      strbuf_add(b, num, strlen(num));
      return VAL_OK;
    case V_STR: json_string(b, AS_STR(v)->s, AS_STR(v)->len); return VAL_OK;
    default: break;
  }
  if (depth >= VAL_MAX_DEPTH) return VAL_EDEEP;
  int rc = VAL_OK;
  if (v.t == V_LIST) {
    List *l = AS_LIST(v);
    strbuf_addc(b, '[');
    for (uint32_t i = 0; i < l->n && rc == VAL_OK; i++) {
      if (i) strbuf_addc(b, ',');
      rc = write_json(b, l->v[i], canonical, strict, depth + 1);
    }
    strbuf_addc(b, ']');
    return rc;
  }
  Map *m = AS_MAP(v);
  struct MEntry **order = NULL;
  if (canonical && m->n > 1) {
    vm_cleanup_push(b->vm, free_scratch, (void *)&order);
    order = mem_alloc((size_t)m->n * sizeof *order);
    if (!order) vm_oom(b->vm, "out of memory");
    for (uint32_t i = 0; i < m->n; i++) order[i] = &m->e[i];
    qsort(order, m->n, sizeof *order, key_order);
  }
  strbuf_addc(b, '{');
  for (uint32_t i = 0; i < m->n && rc == VAL_OK; i++) {
    struct MEntry *e = order ? order[i] : &m->e[i];
    if (i) strbuf_addc(b, ',');
    json_string(b, e->key->s, e->key->len);
    strbuf_addc(b, ':');
    rc = write_json(b, e->val, canonical, strict, depth + 1);
  }
  strbuf_addc(b, '}');
  if (order) vm_cleanup_pop(b->vm, true);
  return rc;
}

int val_json_checked(StrBuf *b, Value v, bool canonical, bool strict) {
  return write_json(b, v, canonical, strict, 0);
}

int val_str_checked(StrBuf *b, Value v) {
  char num[32];
  switch (v.t) {
    case V_NIL: strbuf_add(b, "nil", 3); return VAL_OK;
    case V_FLOAT:
      fmt_float(num, v.u.f);
      strbuf_add(b, num, strlen(num));
      return VAL_OK;
    case V_STR: strbuf_add(b, AS_STR(v)->s, AS_STR(v)->len); return VAL_OK;
    default: return write_json(b, v, false, false, 0);
  }
}

void val_json(StrBuf *b, Value v, bool canonical) {
  if (write_json(b, v, canonical, false, 0) != VAL_OK) vm_oom(b->vm, "value nested too deeply");
}

void val_str(StrBuf *b, Value v) {
  if (val_str_checked(b, v) != VAL_OK) vm_oom(b->vm, "value nested too deeply");
}
