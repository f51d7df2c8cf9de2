/* vm/json.c — JSON text to values, through jansson.
 *
 * Integers that fit int64 become ints, every other number a float; objects
 * become maps with their keys in document order (a repeated key keeps its
 * first position and its last value); nesting deeper than VAL_MAX_DEPTH is
 * refused.  The jansson tree is released by the VM's cleanup stack if the
 * conversion runs out of memory.  Decisions: docs/values.md. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "valops.h"
#include "value.h"
#include "vm.h"

/* the cleanup holds the address of the tree pointer, registered before the
 * tree exists: registering may itself run out of memory */
static void tree_free(void *p) {
  json_t **j = p;
  json_decref(*j);
  *j = NULL;
}

/* false when the tree nests too deeply */
static bool convert(VM *vm, json_t *j, Value *out, int depth) {
  switch (json_typeof(j)) {
    case JSON_NULL: *out = v_nil(); return true;
    case JSON_TRUE: *out = v_bool(true); return true;
    case JSON_FALSE: *out = v_bool(false); return true;
    case JSON_INTEGER: *out = v_int((int64_t)json_integer_value(j)); return true;
    case JSON_REAL: *out = v_float(json_real_value(j)); return true;
    case JSON_STRING: *out = v_obj(&str_new(vm, json_string_value(j), json_string_length(j))->h); return true;
    default: break;
  }
  if (depth >= VAL_MAX_DEPTH) return false;
  if (json_is_array(j)) {
    size_t n = json_array_size(j);
    if (n > vm_max_list(vm)) vm_oom(vm, "list too long");
    List *l = list_new(vm, (uint32_t)n);
    vm_push_root(vm, v_obj(&l->h));
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
      Value v;
      ok = convert(vm, json_array_get(j, i), &v, depth + 1);
      if (ok) list_push(vm, l, v);
    }
    vm_pop_root(vm, 1);
    *out = v_obj(&l->h);
    return ok;
  }
  size_t n = json_object_size(j);
  if (n > vm_max_list(vm)) vm_oom(vm, "map too large");
  Map *m = map_new(vm, (uint32_t)n);
  vm_push_root(vm, v_obj(&m->h));
  bool ok = true;
  const char *key;
  size_t klen;
  json_t *val;
  json_object_keylen_foreach(j, key, klen, val) {
    Value v;
    if (!(ok = convert(vm, val, &v, depth + 1))) break;
    vm_push_root(vm, v);
    Str *k = str_new(vm, key, klen);
    map_set(vm, m, k, v);
    vm_pop_root(vm, 1);
  }
  vm_pop_root(vm, 1);
  *out = v_obj(&m->h);
  return ok;
}

/* jansson refuses integers beyond json_int_t ("too big integer"): rewrite
 * every integer token outside strings that does not fit int64 with ".0"
 * appended, so it reads as a real, and parse again.  Each such token has at
 * least 19 digits, so the text grows by at most 2 bytes in 19.  NULL on out
 * of memory. */
static bool int_too_big(const char *t, size_t n) {
  bool neg = t[0] == '-';
  t += neg;
  n -= neg;
  if (n != 19) return n > 19;
  return memcmp(t, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0;
}

static char *widen_big_ints(const char *text, size_t len, size_t *out_len) {
  char *o = mem_alloc(len + len / 8 + 16);
  if (!o) return NULL;
  size_t n = 0;
  bool in_str = false;
  for (size_t i = 0; i < len;) {
    char c = text[i];
    if (in_str) {
      o[n++] = c;
      i++;
      if (c == '\\' && i < len) o[n++] = text[i++];
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    if (c != '-' && !(c >= '0' && c <= '9')) { o[n++] = c; i++; continue; }
    size_t start = i;
    bool plain = true;
    for (; i < len && text[i] && strchr("0123456789+-.eE", text[i]); i++)
      if (strchr("+.eE", text[i]) || (text[i] == '-' && i > start)) plain = false;
    memcpy(o + n, text + start, i - start);
    n += i - start;
    if (plain && int_too_big(text + start, i - start)) {
      o[n++] = '.';
      o[n++] = '0';
    }
  }
  *out_len = n;
  return o;
}

bool json_to_value(VM *vm, const char *text, size_t len, Value *out, char *err, size_t n) {
  json_error_t je;
  const size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;
  json_t *j = NULL;
  vm_cleanup_push(vm, tree_free, &j);
  j = json_loadb(text, len, flags, &je);
  if (!j && strstr(je.text, "too big")) {
    size_t wlen = 0;
    char *w = widen_big_ints(text, len, &wlen);
    if (!w) vm_oom(vm, "out of memory");
    j = json_loadb(w, wlen, flags, &je);
    mem_free(w, 0);
  }
  if (!j) {
    vm_cleanup_pop(vm, false);
    if (n) snprintf(err, n, "invalid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
    return false;
  }
  bool ok = convert(vm, j, out, 0);
  vm_cleanup_pop(vm, true);
  if (!ok) {
    if (n) snprintf(err, n, "invalid JSON: nested more than %d levels deep", VAL_MAX_DEPTH);
    *out = v_nil();
    return false;
  }
  return true;
}
