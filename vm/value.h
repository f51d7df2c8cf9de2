/* vm/value.h — run-time values and the heap objects behind them.
 *
 * A Value is 16 bytes: a type tag and a payload.  nil, bool, int and float
 * are immediate; strings, lists and maps are heap objects owned by one VM and
 * collected by its garbage collector (vm/gc.c).  Values never hold host
 * pointers, so the whole state of a VM can be written to a snapshot.
 *
 * Allocation: every function here that allocates may run the collector
 * first, so a caller must keep the values it still needs reachable (on the
 * VM stack, or pushed with vm_root / vm_unroot) across the call.  When memory
 * or a size limit runs out these functions do not return: they raise the
 * uncatchable `memory` error (vm_oom), which unwinds to vm_run. */
#ifndef HITL_VALUE_H
#define HITL_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct VM VM;

typedef enum ValType {
  V_NIL, V_BOOL, V_INT, V_FLOAT, V_STR, V_LIST, V_MAP,
} ValType;

/* TypeSet bit for a value type: 1 << type (same bits as compiler/ast.h TY_*) */
#define VT_BIT(t) (1u << (t))

typedef struct Obj {
  struct Obj *next;       /* all objects of a VM, for the sweep */
  uint8_t type;           /* V_STR, V_LIST, V_MAP */
  uint8_t marked;
} Obj;

typedef struct Str {
  Obj h;
  uint32_t hash;          /* valid when hashed: computed on first use (str_hash) */
  bool ascii;             /* every byte < 0x80: character index == byte index */
  bool hashed;
  size_t len;             /* bytes, not counting the terminating NUL */
  char s[];               /* NUL-terminated; may also contain NULs */
} Str;

typedef struct List {
  Obj h;
  struct Value *v;
  uint32_t n, cap;
} List;

typedef struct Value {
  uint32_t t;             /* ValType (not a char type: stores to it must not alias everything) */
  union {
    bool b;
    int64_t i;
    double f;
    Obj *o;
  } u;
} Value;

typedef struct Map {
  Obj h;
  struct MEntry { Str *key; Value val; } *e;   /* insertion order */
  uint32_t n, cap;
  uint32_t *index;        /* open addressing: entry index + 1, 0 = empty */
  uint32_t icap;          /* power of two, or 0 while small (linear search) */
} Map;

/* ---- constructors -------------------------------------------------------- */

static inline Value v_nil(void) { Value v; v.t = V_NIL; v.u.i = 0; return v; }
static inline Value v_bool(bool b) { Value v; v.t = V_BOOL; v.u.i = 0; v.u.b = b; return v; }
static inline Value v_int(int64_t i) { Value v; v.t = V_INT; v.u.i = i; return v; }
static inline Value v_float(double f) { Value v; v.t = V_FLOAT; v.u.f = f; return v; }
static inline Value v_obj(Obj *o) { Value v; v.t = o->type; v.u.o = o; return v; }

#define AS_STR(v) ((Str *)(v).u.o)
#define AS_LIST(v) ((List *)(v).u.o)
#define AS_MAP(v) ((Map *)(v).u.o)

/* ---- strings ------------------------------------------------------------- */

Str *str_new(VM *vm, const char *s, size_t len);          /* copies */
Str *str_cstr(VM *vm, const char *s);
Str *str_concat(VM *vm, const Str *a, const Str *b);
size_t str_chars(const Str *s);                            /* code points */
/* byte offset of character i (0 <= i <= chars) */
size_t str_char_offset(const Str *s, size_t i);
uint32_t str_hash_bytes(const char *s, size_t len);
/* the hash of s, computed the first time it is needed (a string built by
 * concatenation and never used as a map key is never hashed) */
static inline uint32_t str_hash(const Str *s) {
  if (!s->hashed) {
    Str *w = (Str *)s;    /* every Str is a heap object: the cache is writable */
    w->hash = str_hash_bytes(s->s, s->len);
    w->hashed = true;
  }
  return s->hash;
}
bool str_eq(const Str *a, const Str *b);

/* A growable byte buffer for building strings, outside the GC heap.  Its
 * memory counts against the VM's string limit; strbuf_done makes the Str and
 * frees the buffer.  strbuf_init registers a cleanup (vm_cleanup_push), so an
 * out-of-memory unwind frees it too; strbuf_done / strbuf_free pop it, so
 * buffers must be finished in LIFO order. */
typedef struct StrBuf { char *p; size_t len, cap; VM *vm; } StrBuf;
void strbuf_init(VM *vm, StrBuf *b);
void strbuf_add(StrBuf *b, const char *s, size_t n);
void strbuf_addc(StrBuf *b, char c);
void strbuf_printf(StrBuf *b, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;
Str *strbuf_done(StrBuf *b);      /* the Str; frees the buffer */
void strbuf_free(StrBuf *b);      /* abandon */

/* ---- lists --------------------------------------------------------------- */

List *list_new(VM *vm, uint32_t cap);
void list_push(VM *vm, List *l, Value v);

/* ---- maps ---------------------------------------------------------------- */

Map *map_new(VM *vm, uint32_t cap);
/* NULL when absent */
Value *map_get(const Map *m, const Str *key);
Value *map_get_cstr(const Map *m, const char *key, size_t len);
void map_set(VM *vm, Map *m, Str *key, Value v);

/* ---- JSON (vm/json.c) ---------------------------------------------------- */

/* Parse JSON text into a value: integers that fit become int, other numbers
 * float, objects maps (keys in order).  false with a message in err on bad
 * JSON (not raised: the caller decides). */
bool json_to_value(VM *vm, const char *text, size_t len, Value *out, char *err, size_t n);

/* ---- whole values -------------------------------------------------------- */

bool val_eq(Value a, Value b);            /* LANGUAGE.md §2: deep, int == float numerically */
const char *val_type_name(Value v);       /* "nil" "bool" "int" ... */
static inline bool val_is_obj(Value v) { return v.t >= V_STR; }

/* Text forms (LANGUAGE.md §9): str() and json_encode(); canonical JSON sorts
 * map keys by their bytes (for digests). They append to b. */
void val_str(StrBuf *b, Value v);
void val_json(StrBuf *b, Value v, bool canonical);
/* Python repr of a double: 2.0, 0.1, 1e-05, 1e+16, inf, nan */
void fmt_float(char out[32], double d);
/* decimal text of an int (what "%lld" writes, no NUL); returns its length */
size_t fmt_int(char out[24], int64_t i);

#endif
