/* vm/bcinsn.h — instruction decoding shared by the verifier and the
 * disassembler (inside the VM only; vm/bytecode.h is the public face).
 * Everything here is an expansion of HITL_OPCODES or HITL_BUILTINS,
 * implemented in vm/verify.c. */
#ifndef HITL_BCINSN_H
#define HITL_BCINSN_H

#include <stdbool.h>
#include <stdint.h>

/* the operand letters of op ("" for an unknown opcode), vm/opcodes.h */
const char *bc_op_operands(uint8_t op);
/* Decode the operands of the whole instruction at code[0] (a known opcode,
 * all its bytes present) into v[], in encoding order; returns how many. */
int bc_decode(const uint8_t *code, int64_t v[4]);
/* The jump target of the instruction at code[pc], relative to the start of
 * the function (possibly outside it); false if it has no jump operand. */
bool bc_jump_target(const uint8_t *code, uint32_t pc, int64_t *target);

/* The operand stack depth at the start of instruction pc of function fn (the
 * verifier's abstract interpretation), or -1 when pc is not a reachable
 * instruction start or the function does not verify.  Snapshots use it to
 * check a restored frame. */
#include "bytecode.h"
int32_t bc_depth_at(const Module *m, uint32_t fn, uint32_t pc);

/* built-ins (stdlib/builtins.h), by row number */
uint32_t bc_builtin_count(void);
const char *bc_builtin_name(uint32_t b);   /* NULL when out of range */

#endif
