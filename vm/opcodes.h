/* vm/opcodes.h — every instruction of the hitl VM, once.
 *
 * OP(name, operands, pops, pushes, meaning)
 *
 * operands is a string, one letter per operand, in encoding order (all
 * little-endian, right after the opcode byte):
 *   b  u8          s  i8 (a small signed int)
 *   h  u16 (an index: constant, local, global, function, action, site)
 *   j  i32 jump offset, relative to the end of this instruction
 * pops/pushes are the stack effect; -1 marks an effect that depends on the
 * operands (and on the module's tables), computed by bc_stack_effect().
 *
 * The enum, the disassembler, the verifier's operand and stack checks and the
 * max-stack computation all expand this list; the interpreter has one case
 * per line.  Locals are numbered per frame: a function's parameters first. */
#ifndef HITL_OPCODES_H
#define HITL_OPCODES_H

#define HITL_OPCODES(OP)                                                              \
  OP(NOP,           "",     0, 0, "do nothing")                                       \
  OP(CONST,         "h",    0, 1, "push constants[k]")                                \
  OP(SMALLINT,      "s",    0, 1, "push the int operand")                             \
  OP(NIL,           "",     0, 1, "push nil")                                         \
  OP(TRUE,          "",     0, 1, "push true")                                        \
  OP(FALSE,         "",     0, 1, "push false")                                       \
  OP(POP,           "",     1, 0, "drop the top value")                               \
  OP(DUP,           "",     1, 2, "push a copy of the top value")                     \
  OP(GET_LOCAL,     "h",    0, 1, "push locals[n]")                                   \
  OP(SET_LOCAL,     "h",    1, 0, "locals[n] := pop")                                 \
  OP(GET_GLOBAL,    "h",    0, 1, "push globals[g] (the inputs, then the params)")    \
  OP(ADD,           "",     2, 1, "b := pop, a := pop, push a + b")                   \
  OP(SUB,           "",     2, 1, "push a - b")                                       \
  OP(MUL,           "",     2, 1, "push a * b")                                       \
  OP(DIV,           "",     2, 1, "push a / b (always a float)")                      \
  OP(IDIV,          "",     2, 1, "push a // b (floor)")                              \
  OP(MOD,           "",     2, 1, "push a % b (floor)")                               \
  OP(NEG,           "",     1, 1, "push -pop")                                        \
  OP(NOT,           "",     1, 1, "push not pop (a bool)")                            \
  OP(EQ,            "",     2, 1, "push a == b (deep)")                               \
  OP(NE,            "",     2, 1, "push a != b")                                      \
  OP(LT,            "",     2, 1, "push a < b (numbers or strings)")                  \
  OP(LE,            "",     2, 1, "push a <= b")                                      \
  OP(GT,            "",     2, 1, "push a > b")                                       \
  OP(GE,            "",     2, 1, "push a >= b")                                      \
  OP(IN,            "",     2, 1, "push a in b (list element, map key, substring)")   \
  OP(TEST_BOOL,     "",     1, 1, "type error unless the top value is a bool")       \
  OP(CHECK_TYPE,    "hh",   1, 1, "check the top against TypeSet t for what constants[k] names; widen int to float") \
  OP(JUMP,          "j",    0, 0, "pc += offset")                                     \
  OP(JUMP_IF_FALSE, "j",    1, 0, "pop a bool; jump if false (backward: spends fuel)")                        \
  OP(JUMP_IF_TRUE,  "j",    1, 0, "pop a bool; jump if true")                         \
  OP(JUMP_IF_NOT_LT, "j",   2, 0, "b := pop, a := pop; jump unless a < b")            \
  OP(JUMP_IF_NOT_LE, "j",   2, 0, "jump unless a <= b")                               \
  OP(JUMP_IF_NOT_GT, "j",   2, 0, "jump unless a > b")                                \
  OP(JUMP_IF_NOT_GE, "j",   2, 0, "jump unless a >= b")                               \
  OP(JUMP_IF_NOT_EQ, "j",   2, 0, "jump unless a == b")                               \
  OP(JUMP_IF_NOT_NE, "j",   2, 0, "jump unless a != b")                               \
  OP(JUMP_IF_LT,    "j",    2, 0, "b := pop, a := pop; jump if a < b (a loop's test: backward, spends fuel)") \
  OP(JUMP_IF_LE,    "j",    2, 0, "jump if a <= b")                                   \
  OP(JUMP_IF_GT,    "j",    2, 0, "jump if a > b")                                    \
  OP(JUMP_IF_GE,    "j",    2, 0, "jump if a >= b")                                   \
  OP(JUMP_IF_EQ,    "j",    2, 0, "jump if a == b")                                   \
  OP(JUMP_IF_NE,    "j",    2, 0, "jump if a != b")                                   \
  OP(INC_LOCAL,     "hs",   0, 0, "locals[n] := locals[n] + s")                       \
  OP(GET_LOCAL2,    "hh",   0, 2, "push locals[a], then locals[b]")                   \
  OP(ADD_LOCAL,     "h",    1, 0, "locals[n] := locals[n] + pop")                     \
  OP(SUB_LOCAL,     "h",    1, 0, "locals[n] := locals[n] - pop")                     \
  OP(ADD_K,         "s",    1, 1, "push pop + s")                                     \
  OP(SUB_K,         "s",    1, 1, "push pop - s")                                     \
  OP(MUL_K,         "s",    1, 1, "push pop * s")                                     \
  OP(MOD_K,         "s",    1, 1, "push pop % s (s > 0)")                             \
  OP(IDIV_K,        "s",    1, 1, "push pop // s (s > 0)")                            \
  OP(JUMP_IF_NOT_EQ_K, "sj", 1, 0, "jump unless pop == s")                            \
  OP(JUMP_IF_NOT_NE_K, "sj", 1, 0, "jump unless pop != s")                            \
  OP(JUMP_IF_NOT_LT_K, "sj", 1, 0, "jump unless pop < s")                             \
  OP(JUMP_IF_NOT_LE_K, "sj", 1, 0, "jump unless pop <= s")                            \
  OP(JUMP_IF_NOT_GT_K, "sj", 1, 0, "jump unless pop > s")                             \
  OP(JUMP_IF_NOT_GE_K, "sj", 1, 0, "jump unless pop >= s")                            \
  OP(JUMP_IF_EQ_K,  "sj",   1, 0, "jump if pop == s")                                 \
  OP(JUMP_IF_NE_K,  "sj",   1, 0, "jump if pop != s")                                 \
  OP(JUMP_IF_LT_K,  "sj",   1, 0, "jump if pop < s")                                  \
  OP(JUMP_IF_LE_K,  "sj",   1, 0, "jump if pop <= s")                                 \
  OP(JUMP_IF_GT_K,  "sj",   1, 0, "jump if pop > s")                                  \
  OP(JUMP_IF_GE_K,  "sj",   1, 0, "jump if pop >= s")                                 \
  OP(ADD_LK,        "hs",   0, 1, "push locals[n] + s")                               \
  OP(SUB_LK,        "hs",   0, 1, "push locals[n] - s")                               \
  OP(MUL_LK,        "hs",   0, 1, "push locals[n] * s")                               \
  OP(MOD_LK,        "hs",   0, 1, "push locals[n] % s (s > 0)")                       \
  OP(IDIV_LK,       "hs",   0, 1, "push locals[n] // s (s > 0)")                      \
  OP(JUMP_IF_LT_LL, "hhj",  0, 0, "jump if locals[a] < locals[b] (backward: spends fuel)") \
  OP(JUMP_IF_LE_LL, "hhj",  0, 0, "jump if locals[a] <= locals[b]")                   \
  OP(JUMP_IF_GT_LL, "hhj",  0, 0, "jump if locals[a] > locals[b]")                    \
  OP(JUMP_IF_GE_LL, "hhj",  0, 0, "jump if locals[a] >= locals[b]")                   \
  OP(JUMP_IF_NOT_LT_LL, "hhj", 0, 0, "jump unless locals[a] < locals[b]")             \
  OP(JUMP_IF_NOT_LE_LL, "hhj", 0, 0, "jump unless locals[a] <= locals[b]")            \
  OP(JUMP_IF_NOT_GT_LL, "hhj", 0, 0, "jump unless locals[a] > locals[b]")             \
  OP(JUMP_IF_NOT_GE_LL, "hhj", 0, 0, "jump unless locals[a] >= locals[b]")            \
  OP(CALL,          "hb",   -1, 1, "call fns[f] with n arguments from the stack")     \
  OP(CALL_BUILTIN,  "bb",   -1, 1, "call built-in b with n arguments")               \
  OP(CALL_ACTION,   "h",    -1, 1, "call action site c: its arguments, then confidence and because if the site has them") \
  OP(RETURN,        "",     1, 0, "return pop to the caller; from the body, end the playbook with it") \
  OP(LIST,          "h",    -1, 1, "pop n values, push a list of them")               \
  OP(MAP,           "h",    -1, 1, "pop n key/value pairs, push a map of them")       \
  OP(INDEX,         "",     2, 1, "i := pop, x := pop, push x[i]")                    \
  OP(SET_INDEX,     "",     3, 0, "v := pop, i := pop, x := pop; x[i] := v")          \
  OP(FIELD,         "h",    1, 1, "push pop.(constants[k])")                          \
  OP(SET_FIELD,     "h",    2, 0, "v := pop, m := pop; m.(constants[k]) := v")        \
  OP(INTERP,        "h",    -1, 1, "pop n values, push their str forms joined")       \
  OP(FOR_LIST,      "hhj",  0, 0, "list at locals[b], index at locals[b+1]: next element to locals[x], or jump when done") \
  OP(FOR_MAP,       "hhhj", 0, 0, "map at locals[b], index at locals[b+1]: next key to locals[k], value to locals[v] (0xFFFF: none), or jump") \
  OP(TRY,           "j",    0, 0, "push a handler: an error jumps to the target with the error map pushed") \
  OP(END_TRY,       "",     0, 0, "pop the innermost handler")                        \
  OP(FAIL,          "",     1, 0, "raise pop: an error map as it is, else kind failed with str(pop)") \
  OP(LOG,           "",     1, 0, "log str(pop) as an event")                         \
  OP(STEP_BEGIN,    "",     1, 0, "start the step named str(pop)")                    \
  OP(STEP_END,      "",     0, 0, "end the innermost step")                           \
  OP(CHECKPOINT,    "h",    -1, 1, "checkpoint site c: pop its show values and title, open an approval item, suspend; push the verdict") \
  OP(REVIEW_BEGIN,  "h",    1, 0, "review site r: pop its title; record the block's action calls from here") \
  OP(REVIEW_END,    "h",    0, 0, "review site r ends: keep its locals as they are, open a review item of its calls")

typedef enum Opcode {
#define OP_ENUM(name, ops, pops, pushes, meaning) OP_##name,
  HITL_OPCODES(OP_ENUM)
#undef OP_ENUM
  OP__COUNT
} Opcode;

#endif
