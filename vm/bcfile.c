/* vm/bcfile.c — a Module as the bytes of a .hbc file, and back.
 *
 * The layout is in docs/bytecode.md: a 40-byte header (magic, version,
 * flags, SHA-256 of the rest), then the body, every integer little-endian
 * and fixed width, every string a u32 length and its bytes.
 *
 * bc_read treats its input as hostile.  It checks the header and the
 * checksum first, then reads through a cursor that never goes past the end;
 * a count is checked against the BC_MAX_* limit and against the bytes left
 * (each record has a known minimum size) before anything is allocated, so a
 * file can make the loader allocate only a small multiple of its own size.
 * The reader checks the form (lengths, booleans, UTF-8); bc_verify then
 * checks the meaning (indices, enums, types, code).  Any failure frees the
 * half-built module and leaves one message, naming the byte offset. */
#include "vm/bytecode.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "compiler/utf8.h"
#include "vm/mem.h"
#include "vm/sha256.h"

enum {
  HDR_MAGIC = 0,
  HDR_VERSION = 4,
  HDR_FLAGS = 6,
  HDR_HASH = 8,
  HDR_SIZE = 8 + crypto_hash_sha256_BYTES,   /* 40: the body starts here */
};

#define NO_STRING 0xFFFFFFFFu   /* the length of an absent (NULL) string */

/* ===================================================================== */
/* writing                                                               */
/* ===================================================================== */

typedef struct Wr {
  uint8_t *buf;
  size_t len, cap;
  bool failed;               /* out of memory, or a string too long to encode */
} Wr;

static void w_bytes_grow(Wr *w, const void *p, size_t n) {
  if (w->failed || n == 0) return;
  if (n > SIZE_MAX / 2 - w->len) { w->failed = true; return; }
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n) cap *= 2;
    uint8_t *nb = mem_realloc(w->buf, w->cap, cap);
    if (!nb) { w->failed = true; return; }
    w->buf = nb;
    w->cap = cap;
  }
  memcpy(w->buf + w->len, p, n);
  w->len += n;
}

/* Inline when the bytes fit: a module is hundreds of thousands of small
 * writes.  (Bytes written after a failure are thrown away with the buffer.) */
static inline void w_bytes(Wr *w, const void *p, size_t n) {
  if (n <= w->cap - w->len && w->buf) {
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return;
  }
  w_bytes_grow(w, p, n);
}

static inline void w_le(Wr *w, uint64_t v, int n) {
  uint8_t b[8];
  for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
  w_bytes(w, b, (size_t)n);
}

/* About the bytes w_body writes for m (strings of names and labels aside),
 * so that the buffer is allocated once, not doubled a dozen times. */
static size_t body_estimate(const Module *m) {
  size_t n = 4096;
  for (uint32_t i = 0; i < m->nconsts; i++) n += 13 + (m->consts[i].kind == K_STR ? m->consts[i].len : 0);
  for (uint32_t i = 0; i < m->nfuncs; i++) {
    const BcFunc *f = &m->funcs[i];
    n += 32 + (size_t)f->nparams * 4 + f->code_len + (size_t)f->nlines * 8;
  }
  n += (size_t)m->ncalls * 16 + (size_t)m->nglobals * 32 + (size_t)m->nactions * 64;
  return n;
}

static void w_u8(Wr *w, uint8_t v) { w_le(w, v, 1); }
static void w_u16(Wr *w, uint16_t v) { w_le(w, v, 2); }
static void w_u32(Wr *w, uint32_t v) { w_le(w, v, 4); }
static void w_u64(Wr *w, uint64_t v) { w_le(w, v, 8); }
static void w_i32(Wr *w, int32_t v) { w_le(w, (uint64_t)(uint32_t)v, 4); }
static void w_i64(Wr *w, int64_t v) { w_le(w, (uint64_t)v, 8); }
static void w_bool(Wr *w, bool v) { w_u8(w, v ? 1 : 0); }

static void w_f64(Wr *w, double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  w_u64(w, u);
}

static void w_str(Wr *w, const char *s, size_t len) {
  if (len >= NO_STRING) { w->failed = true; return; }
  w_u32(w, (uint32_t)len);
  w_bytes(w, s, len);
}

/* a required string (a NULL is written as "") */
static void w_cstr(Wr *w, const char *s) {
  if (!s) s = "";
  w_str(w, s, strlen(s));
}

/* an optional string: NULL is the length NO_STRING with no bytes */
static void w_optstr(Wr *w, const char *s) {
  if (!s) w_u32(w, NO_STRING);
  else w_cstr(w, s);
}

static void w_route(Wr *w, const BcRoute *r) {
  w_u8(w, r->kind);
  w_optstr(w, r->by);
  w_u32(w, r->quorum);
  w_i64(w, r->timeout);
  w_u8(w, r->timeout_verdict);
  w_optstr(w, r->timeout_reason);
  w_i64(w, r->within);
  w_optstr(w, r->message);
}

static void w_body(Wr *w, const Module *m) {
  w_cstr(w, m->source_name);
  w_bytes(w, m->source_hash, 32);
  w_cstr(w, m->playbook);
  w_cstr(w, m->description);

  w_u32(w, m->nconsts);
  for (uint32_t i = 0; i < m->nconsts; i++) {
    const BcConst *k = &m->consts[i];
    w_u8(w, k->kind);
    if (k->kind == K_INT) w_i64(w, k->i);
    else if (k->kind == K_FLOAT) w_f64(w, k->f);
    else w_str(w, k->s ? k->s : "", k->s ? k->len : 0);
  }

  w_u32(w, m->nfuncs);
  for (uint32_t i = 0; i < m->nfuncs; i++) {
    const BcFunc *f = &m->funcs[i];
    w_cstr(w, f->name);
    w_u16(w, f->nparams);
    w_u16(w, f->nlocals);
    w_u16(w, f->max_stack);
    w_u32(w, f->result_type);
    for (uint32_t p = 0; p < f->nparams; p++) w_u32(w, f->param_types ? f->param_types[p] : 0);
    w_u32(w, f->code_len);
    w_bytes(w, f->code, f->code_len);
    w_u32(w, f->nlines);
    for (uint32_t l = 0; l < f->nlines; l++) {
      w_u32(w, f->lines[l].pc);
      w_u32(w, f->lines[l].line);
    }
  }

  w_u32(w, m->nglobals);
  for (uint32_t i = 0; i < m->nglobals; i++) {
    const BcGlobal *g = &m->globals[i];
    w_cstr(w, g->name);
    w_u8(w, g->kind);
    w_u32(w, g->type);
    w_optstr(w, g->deflt);
  }

  w_u32(w, m->nactions);
  for (uint32_t i = 0; i < m->nactions; i++) {
    const BcAction *a = &m->actions[i];
    w_cstr(w, a->name);
    w_u32(w, a->line);
    w_u32(w, a->nparams);
    for (uint32_t p = 0; p < a->nparams; p++) {
      w_cstr(w, a->params[p].name);
      w_u32(w, a->params[p].type);
    }
    w_u32(w, a->result_type);
    w_bool(w, a->irreversible);
    w_i32(w, a->blast_fn);
    w_optstr(w, a->compliance);
    w_u64(w, a->editable);
    w_i32(w, a->undo);
    w_optstr(w, a->lib);
    w_optstr(w, a->symbol);
  }

  w_u32(w, m->ncalls);
  for (uint32_t i = 0; i < m->ncalls; i++) {
    const BcCallSite *c = &m->calls[i];
    w_u16(w, c->action);
    w_u8(w, c->nargs);
    w_bool(w, c->has_confidence);
    w_bool(w, c->has_because);
    w_bool(w, c->in_approve);
    w_bool(w, c->in_review);
    w_u32(w, c->line);
    w_u32(w, c->col);
  }

  w_bool(w, m->has_rules);
  w_u32(w, m->nrules);
  for (uint32_t i = 0; i < m->nrules; i++) {
    const BcRule *r = &m->rules[i];
    w_i32(w, r->cond_fn);
    w_route(w, &r->route);
    w_u32(w, r->line);
    w_cstr(w, r->text);
  }

  w_u32(w, m->nthresholds);
  for (uint32_t i = 0; i < m->nthresholds; i++) {
    w_i32(w, m->thresholds[i].action);
    w_f64(w, m->thresholds[i].value);
  }

  w_u32(w, m->ncheckpoints);
  for (uint32_t i = 0; i < m->ncheckpoints; i++) {
    const BcCheckpoint *c = &m->checkpoints[i];
    w_u32(w, c->line);
    w_u32(w, c->nshow);
    for (uint32_t s = 0; s < c->nshow; s++) w_cstr(w, c->show_labels[s]);
    w_u32(w, c->nedits);
    for (uint32_t e = 0; e < c->nedits; e++) {
      w_cstr(w, c->edits[e].name);
      w_bool(w, c->edits[e].global);
      w_u16(w, c->edits[e].index);
    }
    w_optstr(w, c->by);
    w_u32(w, c->quorum);
    w_i64(w, c->timeout);
    w_u8(w, c->timeout_verdict);
    w_optstr(w, c->timeout_reason);
    w_bool(w, c->raise_on_reject);
  }

  w_u32(w, m->nreviews);
  for (uint32_t i = 0; i < m->nreviews; i++) {
    const BcReview *rv = &m->reviews[i];
    w_u32(w, rv->line);
    w_optstr(w, rv->by);
    w_i64(w, rv->within);
    w_i32(w, rv->flag_fn);
    w_u16(w, rv->nlive);
  }
}

bool bc_write(const Module *m, uint8_t **out, size_t *len) {
  *out = NULL;
  *len = 0;
  if (!m) return false;
  Wr w = {0};
  size_t guess = HDR_SIZE + body_estimate(m);
  w.buf = mem_alloc(guess);
  w.cap = w.buf ? guess : 0;   /* on failure w_bytes tries again, and fails properly */
  uint8_t header[HDR_SIZE] = {0};
  w_bytes(&w, header, sizeof header);   /* filled in below, once the body is known */
  w_body(&w, m);
  if (w.failed) {
    mem_free(w.buf, w.cap);
    return false;
  }
  memcpy(w.buf + HDR_MAGIC, BC_MAGIC, 4);
  w.buf[HDR_VERSION] = BC_VERSION & 0xFF;
  w.buf[HDR_VERSION + 1] = (BC_VERSION >> 8) & 0xFF;
  w.buf[HDR_FLAGS] = w.buf[HDR_FLAGS + 1] = 0;
  hitl_sha256(w.buf + HDR_HASH, w.buf + HDR_SIZE, w.len - HDR_SIZE);

  /* hand back exactly len bytes, so that mem_free(*out, *len) is right */
  uint8_t *exact = mem_realloc(w.buf, w.cap, w.len);
  if (!exact) {
    mem_free(w.buf, w.cap);
    return false;
  }
  *out = exact;
  *len = w.len;
  return true;
}

/* ===================================================================== */
/* reading                                                               */
/* ===================================================================== */

typedef struct Rd {
  const uint8_t *p;
  size_t len, pos;
  Module *m;
  char *err;
  size_t n;
  bool failed;               /* sticky: after the first error every read yields 0 */
  unsigned version;          /* the file's format version */
} Rd;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void rd_fail(Rd *r, const char *fmt, ...) {
  if (r->failed) return;
  r->failed = true;
  if (r->err && r->n) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->n, fmt, ap);
    va_end(ap);
  }
}

static void rd_oom(Rd *r) { rd_fail(r, "out of memory reading bytecode"); }

static size_t rd_left(const Rd *r) { return r->len - r->pos; }

static bool rd_need(Rd *r, size_t k, const char *what) {
  if (r->failed) return false;
  if (rd_left(r) < k) {
    rd_fail(r, "truncated bytecode: %s needs %zu bytes at offset %zu, only %zu left",
            what, k, r->pos, rd_left(r));
    return false;
  }
  return true;
}

static uint64_t rd_le(Rd *r, int k, const char *what) {
  if (!rd_need(r, (size_t)k, what)) return 0;
  uint64_t v = 0;
  for (int i = 0; i < k; i++) v |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
  r->pos += (size_t)k;
  return v;
}

static uint8_t rd_u8(Rd *r, const char *what) { return (uint8_t)rd_le(r, 1, what); }
static uint16_t rd_u16(Rd *r, const char *what) { return (uint16_t)rd_le(r, 2, what); }
static uint32_t rd_u32(Rd *r, const char *what) { return (uint32_t)rd_le(r, 4, what); }
static uint64_t rd_u64(Rd *r, const char *what) { return rd_le(r, 8, what); }
static int32_t rd_i32(Rd *r, const char *what) { return (int32_t)rd_u32(r, what); }
static int64_t rd_i64(Rd *r, const char *what) { return (int64_t)rd_u64(r, what); }

static double rd_f64(Rd *r, const char *what) {
  uint64_t u = rd_u64(r, what);
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

static bool rd_bool(Rd *r, const char *what) {
  size_t at = r->pos;
  uint8_t b = rd_u8(r, what);
  if (b > 1) rd_fail(r, "bad bytecode: %s at offset %zu is %u, expected 0 or 1", what, at, b);
  return b == 1;
}

typedef enum StrMode {
  S_NAME,                    /* required; UTF-8 without NUL */
  S_OPT,                     /* may be absent (NULL); UTF-8 without NUL */
  S_PATH,                    /* required; any bytes but NUL (a file name) */
  S_BYTES,                   /* required; any bytes (a string constant) */
} StrMode;

static const char *rd_str(Rd *r, StrMode mode, const char *what, uint32_t *lenp) {
  size_t at = r->pos;
  uint32_t len = rd_u32(r, what);
  if (lenp) *lenp = 0;
  if (r->failed) return NULL;
  if (len == NO_STRING) {
    if (mode == S_OPT) return NULL;
    rd_fail(r, "bad bytecode: %s at offset %zu is absent but required", what, at);
    return NULL;
  }
  if (!rd_need(r, len, what)) return NULL;
  const char *s = (const char *)r->p + r->pos;
  if (mode != S_BYTES && memchr(s, 0, len)) {
    rd_fail(r, "bad bytecode: %s at offset %zu contains a NUL byte", what, at);
    return NULL;
  }
  if ((mode == S_NAME || mode == S_OPT) && utf8_valid_prefix(s, len) != len) {
    rd_fail(r, "bad bytecode: %s at offset %zu is not valid UTF-8 (at byte %zu)", what,
            at, r->pos + utf8_valid_prefix(s, len));
    return NULL;
  }
  char *copy = bc_strdup(r->m, s, len);
  if (!copy) { rd_oom(r); return NULL; }
  r->pos += len;
  if (lenp) *lenp = len;
  return copy;
}

/* A count of records at least min_size bytes each: refused if it is over the
 * limit or if the bytes left cannot hold that many. */
static uint32_t rd_count(Rd *r, const char *what, size_t min_size, uint32_t limit) {
  size_t at = r->pos;
  uint32_t c = rd_u32(r, what);
  if (r->failed) return 0;
  if (c > limit) {
    rd_fail(r, "bad bytecode: %s %u at offset %zu is over the limit of %u", what, c, at, limit);
    return 0;
  }
  if (min_size && c > rd_left(r) / min_size) {
    rd_fail(r, "bad bytecode: %s %u at offset %zu needs at least %zu bytes, only %zu left",
            what, c, at, (size_t)c * min_size, rd_left(r));
    return 0;
  }
  return c;
}

/* zeroed room for c records (NULL for none) */
static void *rd_array(Rd *r, uint32_t c, size_t size) {
  if (r->failed || c == 0) return NULL;
  if (c > SIZE_MAX / size) { rd_oom(r); return NULL; }
  void *p = bc_alloc(r->m, (size_t)c * size);
  if (!p) rd_oom(r);
  return p;
}

/* minimum encoded sizes of each record (docs/bytecode.md) */
enum {
  MIN_STR = 4,
  MIN_CONST = 1 + MIN_STR,
  MIN_FUNC = MIN_STR + 2 + 2 + 2 + 4 + 4 + 4,
  MIN_LINE = 8,
  MIN_GLOBAL = MIN_STR + 1 + 4 + 4,
  MIN_ACTION = MIN_STR + 4 + 4 + 4 + 1 + 4 + 4 + 8 + 4 + 4 + 4,
  MIN_PARAM = MIN_STR + 4,
  MIN_CALL = 2 + 1 + 4 * 1 + 4 + 4,
  MIN_ROUTE = 1 + 4 + 4 + 8 + 1 + 4 + 8 + 4,
  MIN_RULE = 4 + MIN_ROUTE + 4 + MIN_STR,
  MIN_THRESHOLD = 4 + 8,
  MIN_CHECKPOINT = 4 + 4 + 4 + 4 + 4 + 8 + 1 + 4 + 1,
  MIN_REVIEW = 4 + 4 + 8 + 4 + 2,
  MIN_EDIT = MIN_STR + 1 + 2,
};

static void rd_route(Rd *r, BcRoute *ro) {
  ro->kind = rd_u8(r, "route kind");
  ro->by = rd_str(r, S_OPT, "route 'by' group", NULL);
  ro->quorum = rd_u32(r, "route quorum");
  ro->timeout = rd_i64(r, "route timeout");
  ro->timeout_verdict = rd_u8(r, "route timeout verdict");
  ro->timeout_reason = rd_str(r, S_OPT, "route timeout reason", NULL);
  ro->within = rd_i64(r, "route review window");
  ro->message = rd_str(r, S_OPT, "route deny message", NULL);
}

static void rd_funcs(Rd *r, Module *m) {
  m->nfuncs = rd_count(r, "function count", MIN_FUNC, BC_MAX_FUNCS);
  m->funcs = rd_array(r, m->nfuncs, sizeof *m->funcs);
  for (uint32_t i = 0; i < m->nfuncs && !r->failed; i++) {
    BcFunc *f = &m->funcs[i];
    f->name = rd_str(r, S_NAME, "function name", NULL);
    f->nparams = rd_u16(r, "function parameter count");
    f->nlocals = rd_u16(r, "function local count");
    f->max_stack = rd_u16(r, "function max_stack");
    f->result_type = rd_u32(r, "function result type");
    if (r->failed) break;
    if (f->nparams > BC_MAX_PARAMS) {
      rd_fail(r, "bad bytecode: function %u has %u parameters, the limit is %d (offset %zu)",
              i, f->nparams, BC_MAX_PARAMS, r->pos);
      break;
    }
    if (!rd_need(r, (size_t)f->nparams * 4, "function parameter types")) break;
    f->param_types = rd_array(r, f->nparams, sizeof *f->param_types);
    for (uint32_t p = 0; p < f->nparams && !r->failed; p++)
      f->param_types[p] = rd_u32(r, "function parameter type");
    f->code_len = rd_count(r, "code length", 1, BC_MAX_CODE);
    if (r->failed) break;
    f->code = rd_array(r, f->code_len, 1);
    if (r->failed) break;
    if (f->code_len) memcpy(f->code, r->p + r->pos, f->code_len);
    r->pos += f->code_len;
    f->nlines = rd_count(r, "line table length", MIN_LINE, UINT32_MAX);
    f->lines = rd_array(r, f->nlines, sizeof *f->lines);
    for (uint32_t l = 0; l < f->nlines && !r->failed; l++) {
      f->lines[l].pc = rd_u32(r, "line table pc");
      f->lines[l].line = rd_u32(r, "line table line");
    }
  }
}

static void rd_actions(Rd *r, Module *m) {
  m->nactions = rd_count(r, "action count", MIN_ACTION, BC_MAX_ACTIONS);
  m->actions = rd_array(r, m->nactions, sizeof *m->actions);
  for (uint32_t i = 0; i < m->nactions && !r->failed; i++) {
    BcAction *a = &m->actions[i];
    a->name = rd_str(r, S_NAME, "action name", NULL);
    a->line = rd_u32(r, "action line");
    a->nparams = (uint16_t)rd_count(r, "action parameter count", MIN_PARAM, BC_MAX_PARAMS);
    a->params = rd_array(r, a->nparams, sizeof *a->params);
    for (uint32_t p = 0; p < a->nparams && !r->failed; p++) {
      a->params[p].name = rd_str(r, S_NAME, "action parameter name", NULL);
      a->params[p].type = rd_u32(r, "action parameter type");
    }
    a->result_type = rd_u32(r, "action result type");
    a->irreversible = rd_bool(r, "action irreversible flag");
    a->blast_fn = rd_i32(r, "action blast function");
    a->compliance = rd_str(r, S_OPT, "action compliance tag", NULL);
    a->editable = rd_u64(r, "action editable mask");
    a->undo = rd_i32(r, "action undo");
    a->lib = rd_str(r, S_OPT, "action library", NULL);
    a->symbol = rd_str(r, S_OPT, "action symbol", NULL);
  }
}

static void rd_checkpoints(Rd *r, Module *m) {
  m->ncheckpoints = rd_count(r, "checkpoint count", MIN_CHECKPOINT, BC_MAX_SITES);
  m->checkpoints = rd_array(r, m->ncheckpoints, sizeof *m->checkpoints);
  for (uint32_t i = 0; i < m->ncheckpoints && !r->failed; i++) {
    BcCheckpoint *c = &m->checkpoints[i];
    c->line = rd_u32(r, "checkpoint line");
    c->nshow = (uint16_t)rd_count(r, "checkpoint show count", MIN_STR, UINT16_MAX);
    c->show_labels = rd_array(r, c->nshow, sizeof *c->show_labels);
    for (uint32_t s = 0; s < c->nshow && !r->failed; s++)
      c->show_labels[s] = rd_str(r, S_NAME, "checkpoint show label", NULL);
    c->nedits = (uint16_t)rd_count(r, "checkpoint edit count", MIN_EDIT, UINT16_MAX);
    c->edits = rd_array(r, c->nedits, sizeof *c->edits);
    for (uint32_t e = 0; e < c->nedits && !r->failed; e++) {
      c->edits[e].name = rd_str(r, S_NAME, "checkpoint edit name", NULL);
      c->edits[e].global = rd_bool(r, "checkpoint edit 'global' flag");
      c->edits[e].index = rd_u16(r, "checkpoint edit index");
    }
    c->by = rd_str(r, S_OPT, "checkpoint 'by' group", NULL);
    c->quorum = rd_u32(r, "checkpoint quorum");
    c->timeout = rd_i64(r, "checkpoint timeout");
    c->timeout_verdict = rd_u8(r, "checkpoint timeout verdict");
    c->timeout_reason = rd_str(r, S_OPT, "checkpoint timeout reason", NULL);
    c->raise_on_reject = rd_bool(r, "checkpoint raise_on_reject flag");
  }
}

/* version 3 and later */
static void rd_reviews(Rd *r, Module *m) {
  m->nreviews = rd_count(r, "review count", MIN_REVIEW, BC_MAX_SITES);
  m->reviews = rd_array(r, m->nreviews, sizeof *m->reviews);
  for (uint32_t i = 0; i < m->nreviews && !r->failed; i++) {
    BcReview *rv = &m->reviews[i];
    rv->line = rd_u32(r, "review line");
    rv->by = rd_str(r, S_OPT, "review 'by' group", NULL);
    rv->within = rd_i64(r, "review window");
    rv->flag_fn = rd_i32(r, "review flag function");
    rv->nlive = rd_u16(r, "review variable count");
  }
}

static void rd_body(Rd *r, Module *m) {
  m->source_name = rd_str(r, S_PATH, "source name", NULL);
  if (rd_need(r, 32, "source hash")) {
    memcpy(m->source_hash, r->p + r->pos, 32);
    r->pos += 32;
  }
  m->playbook = rd_str(r, S_NAME, "playbook name", NULL);
  m->description = rd_str(r, S_NAME, "playbook description", NULL);

  m->nconsts = rd_count(r, "constant count", MIN_CONST, BC_MAX_CONSTS);
  m->consts = rd_array(r, m->nconsts, sizeof *m->consts);
  for (uint32_t i = 0; i < m->nconsts && !r->failed; i++) {
    BcConst *k = &m->consts[i];
    size_t at = r->pos;
    k->kind = rd_u8(r, "constant kind");
    switch (k->kind) {
    case K_INT: k->i = rd_i64(r, "int constant"); break;
    case K_FLOAT: k->f = rd_f64(r, "float constant"); break;
    case K_STR: k->s = rd_str(r, S_BYTES, "string constant", &k->len); break;
    default:
      rd_fail(r, "bad bytecode: constant %u at offset %zu has unknown kind %u", i, at, k->kind);
    }
  }

  rd_funcs(r, m);

  m->nglobals = rd_count(r, "global count", MIN_GLOBAL, BC_MAX_GLOBALS);
  m->globals = rd_array(r, m->nglobals, sizeof *m->globals);
  for (uint32_t i = 0; i < m->nglobals && !r->failed; i++) {
    BcGlobal *g = &m->globals[i];
    g->name = rd_str(r, S_NAME, "global name", NULL);
    g->kind = rd_u8(r, "global kind");
    g->type = rd_u32(r, "global type");
    g->deflt = rd_str(r, S_OPT, "global default", NULL);
  }

  rd_actions(r, m);

  m->ncalls = rd_count(r, "call site count", MIN_CALL, BC_MAX_SITES);
  m->calls = rd_array(r, m->ncalls, sizeof *m->calls);
  for (uint32_t i = 0; i < m->ncalls && !r->failed; i++) {
    BcCallSite *c = &m->calls[i];
    c->action = rd_u16(r, "call site action");
    c->nargs = rd_u8(r, "call site argument count");
    c->has_confidence = rd_bool(r, "call site confidence flag");
    c->has_because = rd_bool(r, "call site because flag");
    c->in_approve = rd_bool(r, "call site in_approve flag");
    c->in_review = rd_bool(r, "call site in_review flag");
    c->line = rd_u32(r, "call site line");
    c->col = rd_u32(r, "call site column");
  }

  m->has_rules = rd_bool(r, "has_rules flag");
  m->nrules = rd_count(r, "rule count", MIN_RULE, UINT32_MAX);
  m->rules = rd_array(r, m->nrules, sizeof *m->rules);
  for (uint32_t i = 0; i < m->nrules && !r->failed; i++) {
    BcRule *ru = &m->rules[i];
    ru->cond_fn = rd_i32(r, "rule condition function");
    rd_route(r, &ru->route);
    ru->line = rd_u32(r, "rule line");
    ru->text = rd_str(r, S_NAME, "rule text", NULL);
  }

  m->nthresholds = rd_count(r, "threshold count", MIN_THRESHOLD, UINT32_MAX);
  m->thresholds = rd_array(r, m->nthresholds, sizeof *m->thresholds);
  for (uint32_t i = 0; i < m->nthresholds && !r->failed; i++) {
    m->thresholds[i].action = rd_i32(r, "threshold action");
    m->thresholds[i].value = rd_f64(r, "threshold value");
  }

  rd_checkpoints(r, m);
  if (r->version >= 3) rd_reviews(r, m);

  if (!r->failed && r->pos != r->len)
    rd_fail(r, "bad bytecode: %zu unexpected bytes after the last section, at offset %zu%s",
            r->len - r->pos, r->pos, r->version != BC_VERSION ? " (read as an older format version)" : "");
}

static void set_err(char *err, size_t n, const char *msg) {
  if (err && n) snprintf(err, n, "%s", msg);
}

Module *bc_read(const uint8_t *data, size_t len, char *err, size_t n) {
  if (err && n) err[0] = '\0';
  if (!data || len < 4 || memcmp(data, BC_MAGIC, 4) != 0) {
    set_err(err, n, "not hitl bytecode (bad magic number)");
    return NULL;
  }
  if (len < HDR_SIZE) {
    if (err && n)
      snprintf(err, n, "truncated bytecode: %zu bytes, the header alone is %d", len, HDR_SIZE);
    return NULL;
  }
  unsigned version = data[HDR_VERSION] | (unsigned)data[HDR_VERSION + 1] << 8;
  if (version != BC_VERSION && version != 2) {
    if (err && n)
      snprintf(err, n, "unsupported bytecode version %u (this hitl reads version %d)",
               version, BC_VERSION);
    return NULL;
  }
  unsigned flags = data[HDR_FLAGS] | (unsigned)data[HDR_FLAGS + 1] << 8;
  if (flags != 0) {
    if (err && n) snprintf(err, n, "unsupported bytecode flags 0x%04x", flags);
    return NULL;
  }
  uint8_t hash[crypto_hash_sha256_BYTES];
  hitl_sha256(hash, data + HDR_SIZE, len - HDR_SIZE);
  if (sodium_memcmp(hash, data + HDR_HASH, sizeof hash) != 0) {
    set_err(err, n, "corrupt bytecode: checksum mismatch");
    return NULL;
  }

  Module *m = bc_new();
  if (!m) {
    set_err(err, n, "out of memory reading bytecode");
    return NULL;
  }
  Rd r = {.p = data, .len = len, .pos = HDR_SIZE, .m = m, .err = err, .n = n, .version = version};
  rd_body(&r, m);
  if (r.failed) {
    bc_free(m);
    return NULL;
  }
  if (!bc_verify(m, err, n)) {
    bc_free(m);
    return NULL;
  }
  return m;
}
