/* stdlib/stdlib.h — the built-in functions as the VM calls them.
 *
 * One C function per row of HITL_BUILTINS (stdlib/builtins.h), in the same
 * order: the code generator emits CALL_BUILTIN with the row number, and the
 * checker has already checked arity and static types.  A built-in reads its
 * arguments from args[0..nargs) (they stay on the VM stack, so they are
 * rooted), writes its result to *out and returns true, or raises with
 * vm_raise and returns false. */
#ifndef HITL_STDLIB_H
#define HITL_STDLIB_H

#include "stdlib/builtins.h"
#include "vm/vm.h"

typedef bool (*BuiltinFn)(VM *vm, Value *args, int nargs, Value *out);

enum {
#define BI_ENUM(name, min, max, res, a, b, c) BI_##name,
  HITL_BUILTINS(BI_ENUM)
#undef BI_ENUM
  BI__COUNT
};

extern const BuiltinFn bi_table[BI__COUNT];
extern const char *const bi_names[BI__COUNT];

#endif
