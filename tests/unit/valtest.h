/* tests/unit/valtest.h — helpers for the value and built-in unit tests: a VM
 * without a module, values made from JSON text (every value a test makes is
 * rooted until the test ends, so the tests run with the collector in stress
 * mode), and expectations on results, raised errors and `memory` unwinds. */
#ifndef HITL_VALTEST_H
#define HITL_VALTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stdlib/stdlib.h"
#include "vm/mem.h"
#include "vm/valops.h"
#include "vm/vm_internal.h"

static VM *vm;

static inline int vt_setup(void **state) {
  (void)state;
  vm = vm_new(NULL, NULL);
  assert_non_null(vm);
  vm_gc_stress(vm, true);
  return 0;
}

/* a VM with small limits, for the size-limit tests */
static inline int vt_setup_small(void **state) {
  (void)state;
  VmLimits lim = {0};
  lim.max_string = 100;
  lim.max_list = 50;
  lim.heap_bytes = 1 << 20;
  vm = vm_new(NULL, &lim);
  assert_non_null(vm);
  return 0;
}

static inline int vt_teardown(void **state) {
  (void)state;
  assert_int_equal(vm->ncleanups, 0);
  vm_free(vm);
  vm = NULL;
  return 0;
}

static inline Value keep(Value v) {
  vm_push_root(vm, v);
  return v;
}

/* a value from JSON text */
static inline Value J(const char *json) {
  Value v;
  char err[256];
  if (!json_to_value(vm, json, strlen(json), &v, err, sizeof err)) fail_msg("bad test JSON %s: %s", json, err);
  return keep(v);
}

static inline Value S(const char *s) { return keep(v_obj(&str_cstr(vm, s)->h)); }
static inline Value SN(const char *s, size_t n) { return keep(v_obj(&str_new(vm, s, n)->h)); }

/* the compact (or canonical) JSON of v, in a static buffer */
static inline const char *to_json(Value v, bool canonical) {
  static char out[8192];
  StrBuf b;
  strbuf_init(vm, &b);
  val_json(&b, v, canonical);
  assert_true(b.len < sizeof out);
  memcpy(out, b.p ? b.p : "", b.len);
  out[b.len] = 0;
  strbuf_free(&b);
  return out;
}

static inline const char *to_str(Value v) {
  static char out[8192];
  StrBuf b;
  strbuf_init(vm, &b);
  val_str(&b, v);
  assert_true(b.len < sizeof out);
  memcpy(out, b.p ? b.p : "", b.len);
  out[b.len] = 0;
  strbuf_free(&b);
  return out;
}

static inline int bi_index(const char *name) {
  for (int i = 0; i < BI__COUNT; i++)
    if (strcmp(bi_names[i], name) == 0) return i;
  fail_msg("no built-in %s", name);
  return -1;
}

/* call built-in `name` on n values; the result is rooted */
static inline bool callv(const char *name, Value *out, int n, Value *args) {
  *out = v_nil();
  bool ok = bi_table[bi_index(name)](vm, args, n, out);
  keep(*out);
  return ok;
}

/* the n Values of a variadic call, into args (room for 8) */
static inline Value *va_values(Value *args, int n, va_list ap) {
  assert_true(n <= 8);
  for (int i = 0; i < n; i++) args[i] = va_arg(ap, Value);
  return args;
}

static inline Value call(const char *name, int n, ...) {
  Value args[8], out;
  va_list ap;
  va_start(ap, n);
  bool ok = callv(name, &out, n, va_values(args, n, ap));
  va_end(ap);
  if (!ok) fail_msg("%s() raised: %s", name, to_json(vm->error, false));
  return out;
}

/* the call must raise `kind` with a message containing `msg` */
static inline void call_err(const char *kind, const char *msg, const char *name, int n, ...) {
  Value args[8], out;
  va_list ap;
  va_start(ap, n);
  va_values(args, n, ap);
  va_end(ap);
  vm->error = v_nil();
  if (callv(name, &out, n, args)) fail_msg("%s() did not raise (gave %s)", name, to_json(out, false));
  if (!vm_error_is(vm->error, kind)) fail_msg("%s() raised the wrong kind: %s", name, to_json(vm->error, false));
  Value *m = map_get_cstr(AS_MAP(vm->error), "message", 7);
  assert_non_null(m);
  if (!strstr(AS_STR(*m)->s, msg)) fail_msg("%s(): message %s lacks \"%s\"", name, AS_STR(*m)->s, msg);
  vm->error = v_nil();
}

/* the value's JSON must be `want` */
#define EXPECT_JSON(v, want) assert_string_equal(to_json((v), false), (want))

/* `stmt` must unwind with the memory error whose text contains `what` */
#define EXPECT_OOM(what, stmt)                                    \
  do {                                                            \
    jmp_buf jb_;                                                  \
    vm->oom = &jb_;                                               \
    if (setjmp(jb_) == 0) {                                       \
      stmt;                                                       \
      vm->oom = NULL;                                             \
      fail_msg("%s", "no memory error from " #stmt);              \
    }                                                             \
    vm->oom = NULL;                                               \
    assert_non_null(strstr(vm->oom_what, (what)));                \
    assert_int_equal(vm->ncleanups, 0);                           \
  } while (0)

#endif
