/* vm/ffi_actions.h — `from "lib.so" symbol "c_name"` actions called through libffi
 * (LANGUAGE.md §5).
 *
 *   Ffi *f = ffi_new(module, base_dir, next_fn, next_user);
 *   vm_bind_actions(vm, ffi_dispatch, f);      // `from` actions here, the rest to next_fn
 *   ...
 *   ffi_free(f);                               // after the VM is done with it
 *
 * One Ffi serves one VM (one thread at a time).  A library is opened and a
 * symbol looked up at the action's first call, so a missing library or
 * symbol is an `action` error of that call, naming it.  The library name is
 * used as given when it holds a slash; otherwise base_dir (the playbook's
 * folder, may be NULL) is tried first, then dlopen's usual search.
 *
 * Arguments go from JSON to C by the declared types: int -> int64_t,
 * float -> double, bool -> int, string -> const char *, list and map ->
 * const char * holding JSON; the result likewise back to JSON (a returned
 * string is copied, never freed; NULL is nil).  An action without a declared
 * result type is called as returning void and yields nil.  A parameter or
 * result type that is not exactly one of these (a union, `any`, nil) has no
 * C form: the call fails naming it. */
#ifndef HITL_FFI_ACTIONS_H
#define HITL_FFI_ACTIONS_H

#include <stdint.h>

#include "bytecode.h"
#include "vm.h"

typedef struct Ffi Ffi;

/* NULL on out of memory.  base_dir is copied; next (may be NULL) handles the
 * actions that are not `from` actions through ffi_dispatch. */
Ffi *ffi_new(const Module *m, const char *base_dir, VmActionFn next, void *next_user);
void ffi_free(Ffi *f);

/* Call action number `action` (a `from` action) with its arguments as a JSON
 * object: VmActionFn's contract (0 and the result as mem_alloc'd JSON, or
 * non-zero and a mem_alloc'd message). */
int ffi_call_action(Ffi *f, uint32_t action, const char *args_json, char **result_json);

/* A VmActionFn over an Ffi passed as user: a `from` action through
 * ffi_call_action, any other to next (or "no binding for action 'x'"). */
int ffi_dispatch(void *user, const char *action, const char *args_json, char **result_json);

/* The index of the action named `action` in m, or -1.  The VM passes the
 * module's own name pointer, which is found without comparing text. */
int32_t ffi_action_index(const Module *m, const char *action);

#endif
