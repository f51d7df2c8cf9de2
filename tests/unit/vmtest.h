/* tests/unit/vmtest.h — fixtures for the unit tests that compile a playbook
 * and run it in a VM (test_snapshot, test_review, test_route): compile it
 * (printing its diagnostics when it does not compile), the hash of its
 * bytecode, a VM started on an input with a host (action binding, event
 * sink, limits, collector stress), a VM reloaded from a snapshot as another
 * process would, and the end of a run (its result, or its rejection). */
#ifndef HITL_VMTEST_H
#define HITL_VMTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compiler/compile.h"
#include "vm/bytecode.h"
#include "vm/mem.h"
#include "vm/sha256.h"
#include "vm/vm.h"

/* what a test's host gives a VM; a NULL callback is not set */
typedef struct Host {
  VmActionFn actions;
  void *actions_user;
  VmEventFn events;
  void *events_user;
  const VmLimits *limits;  /* NULL: the defaults */
  bool stress;             /* a collection at every allocation */
} Host;

static inline Module *compile(const char *src) {
  Diags d;
  diag_init(&d, "t.hitl", src, strlen(src));
  Module *m = cp_compile("t.hitl", src, strlen(src), &d);
  if (!m || d.errors) diag_print(&d, stderr, false);
  diag_free(&d);
  assert_non_null(m);
  return m;
}

/* the program hash a snapshot names: SHA-256 of m's bytecode */
static inline void hash_of(const Module *m, uint8_t out[32]) {
  uint8_t *bytes;
  size_t len;
  assert_true(bc_write(m, &bytes, &len));
  hitl_sha256(out, bytes, len);
  mem_free(bytes, len);
}

static inline void host_bind(VM *vm, const Host *h) {
  if (h->actions) vm_bind_actions(vm, h->actions, h->actions_user);
  if (h->events) vm_set_events(vm, h->events, h->events_user);
}

/* a VM for m with the host h, its input set from the JSON text input */
static inline VM *start_vm(const Module *m, const Host *h, const char *input) {
  VM *vm = vm_new(m, h->limits);
  assert_non_null(vm);
  host_bind(vm, h);
  vm_gc_stress(vm, h->stress);
  char err[256];
  if (!vm_set_input_json(vm, input, err, sizeof err)) fail_msg("input %s: %s", input, err);
  return vm;
}

/* snapshot vm and restore it as a fresh VM with the host h, as another
 * process would; vm is freed */
static inline VM *reload_vm(const Module *m, const uint8_t hash[32], VM *vm, const Host *h) {
  uint8_t *snap;
  size_t len;
  assert_true(vm_snapshot(vm, hash, &snap, &len));
  char err[256] = "";
  VM *r = vm_restore(m, hash, snap, len, h->limits, err, sizeof err);
  if (!r) fail_msg("restore: %s", err);
  host_bind(r, h);
  mem_free(snap, len);
  vm_free(vm);
  return r;
}

/* run vm to its end: completed with result (JSON text), or, when result is
 * NULL, failed with a `rejected` error */
static inline void ends_with(VM *vm, const char *result) {
  VmStatus st = vm_run(vm);
  if (result) {
    assert_int_equal(st, VM_COMPLETED);
    assert_string_equal(vm_result_json(vm), result);
  } else {
    assert_int_equal(st, VM_FAILED);
    assert_string_equal(vm_error_kind(vm), "rejected");
  }
}

#endif
