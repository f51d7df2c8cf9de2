/* stdlib/strings.c — the string built-ins, and the text forms (str, join,
 * json_encode, json_decode, sha256).
 *
 * Strings are UTF-8 and indexed by code point; searching works on bytes
 * (a UTF-8 needle only matches at character boundaries), and positions are
 * converted to characters at the edge.  Results are made after every other
 * allocation, so *out (which may be an argument's slot) is written last. */
#define _GNU_SOURCE 1   /* memmem: linear-time search */
#include <sodium.h>
#include <string.h>

#include "stdlib/bi.h"

static const char *find_bytes(const Str *hay, size_t from, const Str *needle) {
  if (from > hay->len) return NULL;
  return memmem(hay->s + from, hay->len - from, needle->s, needle->len);
}

/* characters in the first `off` bytes */
static size_t chars_before(const Str *s, size_t off) {
  if (s->ascii) return off;
  size_t n = 0;
  for (size_t i = 0; i < off; i++) n += ((unsigned char)s->s[i] & 0xC0) != 0x80;
  return n;
}

static bool text_error(VM *vm, const char *fn, int rc) {
  if (rc == VAL_ENONFINITE)
    return vm_raise(vm, "type", "%s(): nan and inf have no JSON form", fn);
  return vm_raise(vm, "type", "%s(): the value is nested more than %d levels deep (does it contain itself?)",
                  fn, VAL_MAX_DEPTH);
}

bool bi_str(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (args[0].t == V_STR) {
    *out = args[0];
    return true;
  }
  StrBuf b;
  strbuf_init(vm, &b);
  int rc = val_str_checked(&b, args[0]);
  if (rc != VAL_OK) {
    strbuf_free(&b);
    return text_error(vm, "str", rc);
  }
  *out = v_obj(&strbuf_done(&b)->h);
  return true;
}

bool bi_join(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "join", args, 0, V_LIST) || !bi_want(vm, "join", args, 1, V_STR)) return false;
  List *l = AS_LIST(args[0]);
  Str *sep = AS_STR(args[1]);
  StrBuf b;
  strbuf_init(vm, &b);
  for (uint32_t i = 0; i < l->n; i++) {
    if (i) strbuf_add(&b, sep->s, sep->len);
    int rc = val_str_checked(&b, l->v[i]);
    if (rc != VAL_OK) {
      strbuf_free(&b);
      return text_error(vm, "join", rc);
    }
  }
  *out = v_obj(&strbuf_done(&b)->h);
  return true;
}

bool bi_split(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "split", args, 0, V_STR) || !bi_want(vm, "split", args, 1, V_STR)) return false;
  const Str *s = AS_STR(args[0]), *sep = AS_STR(args[1]);
  if (!sep->len) return vm_raise(vm, "type", "split(): the separator must not be empty");
  List *l = list_new(vm, 0);
  vm_push_root(vm, v_obj(&l->h));
  size_t from = 0;
  for (;;) {
    const char *hit = find_bytes(s, from, sep);
    size_t end = hit ? (size_t)(hit - s->s) : s->len;
    Str *piece = str_new(vm, s->s + from, end - from);
    list_push(vm, l, v_obj(&piece->h));       /* list_push keeps piece reachable */
    if (!hit) break;
    from = end + sep->len;
  }
  vm_pop_root(vm, 1);
  *out = v_obj(&l->h);
  return true;
}

static bool map_case(VM *vm, const char *fn, Value *args, Value *out, char lo, char hi, int delta) {
  if (!bi_want(vm, fn, args, 0, V_STR)) return false;
  const Str *s = AS_STR(args[0]);
  StrBuf b;
  strbuf_init(vm, &b);
  strbuf_add(&b, s->s, s->len);
  for (size_t i = 0; i < b.len; i++)
    if (b.p[i] >= lo && b.p[i] <= hi) b.p[i] = (char)(b.p[i] + delta);
  *out = v_obj(&strbuf_done(&b)->h);
  return true;
}

bool bi_upper(VM *vm, Value *args, int nargs, Value *out) { (void)nargs; return map_case(vm, "upper", args, out, 'a', 'z', 'A' - 'a'); }
bool bi_lower(VM *vm, Value *args, int nargs, Value *out) { (void)nargs; return map_case(vm, "lower", args, out, 'A', 'Z', 'a' - 'A'); }

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

bool bi_trim(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "trim", args, 0, V_STR)) return false;
  const Str *s = AS_STR(args[0]);
  size_t a = 0, z = s->len;
  while (a < z && is_space(s->s[a])) a++;
  while (z > a && is_space(s->s[z - 1])) z--;
  if (a == 0 && z == s->len) {
    *out = args[0];                        /* strings are immutable */
    return true;
  }
  bi_str_out(vm, out, s->s + a, z - a);
  return true;
}

bool bi_starts_with(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "starts_with", args, 0, V_STR) || !bi_want(vm, "starts_with", args, 1, V_STR)) return false;
  const Str *s = AS_STR(args[0]), *p = AS_STR(args[1]);
  *out = v_bool(p->len <= s->len && memcmp(s->s, p->s, p->len) == 0);
  return true;
}

bool bi_ends_with(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "ends_with", args, 0, V_STR) || !bi_want(vm, "ends_with", args, 1, V_STR)) return false;
  const Str *s = AS_STR(args[0]), *p = AS_STR(args[1]);
  *out = v_bool(p->len <= s->len && memcmp(s->s + s->len - p->len, p->s, p->len) == 0);
  return true;
}

bool bi_replace(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  for (int i = 0; i < 3; i++)
    if (!bi_want(vm, "replace", args, i, V_STR)) return false;
  const Str *s = AS_STR(args[0]), *old = AS_STR(args[1]), *rep = AS_STR(args[2]);
  if (!old->len) return vm_raise(vm, "type", "replace(): the string to replace must not be empty");
  StrBuf b;
  strbuf_init(vm, &b);
  size_t from = 0;
  const char *hit;
  while ((hit = find_bytes(s, from, old)) != NULL) {
    size_t at = (size_t)(hit - s->s);
    strbuf_add(&b, s->s + from, at - from);
    strbuf_add(&b, rep->s, rep->len);
    from = at + old->len;
  }
  strbuf_add(&b, s->s + from, s->len - from);
  *out = v_obj(&strbuf_done(&b)->h);
  return true;
}

/* the characters in [start, start + n) that exist: a window clamped to the
 * string on both sides (a negative start does not count from the end) */
bool bi_substr(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "substr", args, 0, V_STR) || !bi_want(vm, "substr", args, 1, V_INT) ||
      !bi_want(vm, "substr", args, 2, V_INT))
    return false;
  const Str *s = AS_STR(args[0]);
  int64_t start = args[1].u.i, n = args[2].u.i;
  int64_t chars = (int64_t)str_chars(s);
  int64_t lo = start < 0 ? 0 : start;
  int64_t hi = n <= 0 ? start : (start > INT64_MAX - n ? INT64_MAX : start + n);
  if (hi > chars) hi = chars;
  if (lo >= hi) {
    bi_str_out(vm, out, "", 0);
    return true;
  }
  size_t a = str_char_offset(s, (size_t)lo), z = str_char_offset(s, (size_t)hi);
  bi_str_out(vm, out, s->s + a, z - a);
  return true;
}

bool bi_find(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "find", args, 0, V_STR) || !bi_want(vm, "find", args, 1, V_STR)) return false;
  const Str *s = AS_STR(args[0]), *sub = AS_STR(args[1]);
  const char *hit = sub->len ? find_bytes(s, 0, sub) : s->s;
  *out = v_int(hit ? (int64_t)chars_before(s, (size_t)(hit - s->s)) : -1);
  return true;
}

bool bi_sha256(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "sha256", args, 0, V_STR)) return false;
  const Str *s = AS_STR(args[0]);
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)s->s, s->len);
  static const char hex[] = "0123456789abcdef";
  char text[2 * crypto_hash_sha256_BYTES];
  for (size_t i = 0; i < sizeof h; i++) {
    text[2 * i] = hex[h[i] >> 4];
    text[2 * i + 1] = hex[h[i] & 15];
  }
  bi_str_out(vm, out, text, sizeof text);
  return true;
}

bool bi_json_encode(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  StrBuf b;
  strbuf_init(vm, &b);
  int rc = val_json_checked(&b, args[0], false, true);
  if (rc != VAL_OK) {
    strbuf_free(&b);
    return text_error(vm, "json_encode", rc);
  }
  *out = v_obj(&strbuf_done(&b)->h);
  return true;
}

bool bi_json_decode(VM *vm, Value *args, int nargs, Value *out) {
  (void)nargs;
  if (!bi_want(vm, "json_decode", args, 0, V_STR)) return false;
  const Str *s = AS_STR(args[0]);
  char err[256];
  Value v;
  if (!json_to_value(vm, s->s, s->len, &v, err, sizeof err)) return vm_raise(vm, "type", "json_decode(): %s", err);
  *out = v;
  return true;
}
