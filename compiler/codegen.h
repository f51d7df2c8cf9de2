/* compiler/codegen.h — the code generator: a checked syntax tree to a Module.
 *
 *   Module *m = cg_generate(ast, "refund.hitl", src, len, &diags);
 *
 * The tree must have passed the checker without errors (cp_compile in
 * compile.h runs the whole sequence).  Function 0 is the body; then one
 * function per `fn` in declaration order; then one per rule condition; then
 * one per action `blast`.  Anything the bytecode cannot hold (more than
 * BC_MAX_* of a thing, a `review` statement, which this VM cannot run yet)
 * is a diagnostic in d, and the result is NULL; so is out of memory.  The
 * Module owns all its memory (bc_free) and points into neither the tree nor
 * the source. */
#ifndef HITL_CODEGEN_H
#define HITL_CODEGEN_H

#include <stddef.h>

#include "ast.h"
#include "diag.h"
#include "../vm/bytecode.h"

Module *cg_generate(const Ast *ast, const char *source_name, const char *src, size_t src_len,
                    Diags *d);

#endif
