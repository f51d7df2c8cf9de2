/* stdlib/builtins.h — every built-in function of LANGUAGE.md §9, once.
 *
 * BUILTIN(name, min args, max args (-1 = any number), result type,
 *         type of arg 1, arg 2, arg 3 (later args take arg 1's type))
 * Types are TypeSets (compiler/ast.h).  The checker reads this list for
 * arity and static argument types; the VM's table of C functions is built
 * from the same list, so a builtin cannot exist in one and not the other. */
#ifndef HITL_BUILTINS_H
#define HITL_BUILTINS_H

#define TY_COLL_ (TY_STRING | TY_LIST | TY_MAP)
#define TY_NUMLIST_ (TY_INT | TY_FLOAT | TY_LIST)

#define HITL_BUILTINS(B)                                                   \
  B(len,         1, 1, TY_INT,    TY_COLL_,   0,          0)               \
  B(str,         1, 1, TY_STRING, TY_ANY,     0,          0)               \
  B(int,         1, 1, TY_INT,    TY_INT | TY_FLOAT | TY_STRING, 0, 0)     \
  B(float,       1, 1, TY_FLOAT,  TY_INT | TY_FLOAT | TY_STRING, 0, 0)     \
  B(type,        1, 1, TY_STRING, TY_ANY,     0,          0)               \
  B(keys,        1, 1, TY_LIST,   TY_MAP,     0,          0)               \
  B(values,      1, 1, TY_LIST,   TY_MAP,     0,          0)               \
  B(has,         2, 2, TY_BOOL,   TY_MAP,     TY_STRING,  0)               \
  B(contains,    2, 2, TY_BOOL,   TY_COLL_,   TY_ANY,     0)               \
  B(append,      2, 2, TY_NIL,    TY_LIST,    TY_ANY,     0)               \
  B(pop,         1, 1, TY_ANY,    TY_LIST,    0,          0)               \
  B(range,       1, 2, TY_LIST,   TY_INT,     TY_INT,     0)               \
  B(sort,        1, 1, TY_LIST,   TY_LIST,    0,          0)               \
  B(join,        2, 2, TY_STRING, TY_LIST,    TY_STRING,  0)               \
  B(split,       2, 2, TY_LIST,   TY_STRING,  TY_STRING,  0)               \
  B(upper,       1, 1, TY_STRING, TY_STRING,  0,          0)               \
  B(lower,       1, 1, TY_STRING, TY_STRING,  0,          0)               \
  B(trim,        1, 1, TY_STRING, TY_STRING,  0,          0)               \
  B(starts_with, 2, 2, TY_BOOL,   TY_STRING,  TY_STRING,  0)               \
  B(ends_with,   2, 2, TY_BOOL,   TY_STRING,  TY_STRING,  0)               \
  B(replace,     3, 3, TY_STRING, TY_STRING,  TY_STRING,  TY_STRING)       \
  B(substr,      3, 3, TY_STRING, TY_STRING,  TY_INT,     TY_INT)          \
  B(find,        2, 2, TY_INT,    TY_STRING,  TY_STRING,  0)               \
  B(min,         1, -1, TY_INT | TY_FLOAT, TY_NUMLIST_, TY_INT | TY_FLOAT, TY_INT | TY_FLOAT) \
  B(max,         1, -1, TY_INT | TY_FLOAT, TY_NUMLIST_, TY_INT | TY_FLOAT, TY_INT | TY_FLOAT) \
  B(abs,         1, 1, TY_INT | TY_FLOAT, TY_INT | TY_FLOAT, 0,   0)       \
  B(round,       1, 1, TY_INT,    TY_INT | TY_FLOAT, 0,   0)               \
  B(floor,       1, 1, TY_INT,    TY_INT | TY_FLOAT, 0,   0)               \
  B(ceil,        1, 1, TY_INT,    TY_INT | TY_FLOAT, 0,   0)               \
  B(sum,         1, 1, TY_INT | TY_FLOAT, TY_LIST, 0,     0)               \
  B(json_encode, 1, 1, TY_STRING, TY_ANY,     0,          0)               \
  B(json_decode, 1, 1, TY_ANY,    TY_STRING,  0,          0)               \
  B(now,         0, 0, TY_FLOAT,  0,          0,          0)               \
  B(sha256,      1, 1, TY_STRING, TY_STRING,  0,          0)

/* min(x) with one argument needs a list; min(a, b, ...) needs numbers: the
 * checker and the VM apply that rule on top of the table. */

#endif
