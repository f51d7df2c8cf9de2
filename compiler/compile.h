/* compiler/compile.h — source file to checked tree in one call.
 *
 * hitlc and hitlvm (which compiles a .hitl on the fly) share this sequence,
 * so both report the same diagnostics for the same file:
 *
 *   char *src; size_t len;
 *   int err = cp_read_file(path, &src, &len);      // errno value, 0 = read
 *   Diags d; Ast *ast;
 *   bool ok = cp_front(path, src, len, &d, &ast);  // parse, then check
 *   diag_print(&d, stderr, isatty(2));
 *   ast_free(ast); diag_free(&d); cp_free_text(src);
 *
 * or, to bytecode:  Module *m = cp_compile(path, src, len, &d);  ...  bc_free(m);
 */
#ifndef HITL_COMPILE_H
#define HITL_COMPILE_H

#include <stdbool.h>
#include <stddef.h>

#include "../vm/bytecode.h"
#include "ast.h"
#include "diag.h"

/* Read a whole file as bytes (it may hold NUL bytes).  On success *text is
 * NUL-terminated (not counted in *len) and belongs to the caller
 * (cp_free_text); on failure returns the errno value (EISDIR for a
 * directory, ENOMEM when out of memory) and leaves *text NULL. */
int cp_read_file(const char *path, char **text, size_t *len);
void cp_free_text(char *text);

/* Initialise d (name is the file name diagnostics show), parse src, and run
 * the checker unless parsing reported an error, then, when the checker found
 * no error, the gating analysis's warnings (explain.h).  Returns true when there is
 * no error (warnings allowed).  With out, *out receives the tree, also on
 * errors (the caller frees it with ast_free); without, it is freed here.
 * The caller always calls diag_free(d); src must outlive d. */
bool cp_front(const char *name, const char *src, size_t len, Diags *d, Ast **out);

/* cp_front, then the code generator (compiler/codegen.h): the module, or
 * NULL when there is an error (in d, which is initialised here as by
 * cp_front; the caller calls diag_free(d)).
 *
 * The module is not verified here: bc_read verifies every module it loads,
 * and verifying a big module costs about as much as generating it.  With
 * HITL_VERIFY_CODEGEN set in the environment (to anything but "" or "0")
 * cp_compile also runs bc_verify on what the code generator wrote and turns
 * a failure into an internal error.  The Makefile's test targets set it, so
 * every program the tests compile is verified; the fuzz target calls
 * bc_verify itself (and traps on a failure). */
Module *cp_compile(const char *name, const char *src, size_t len, Diags *d);

#endif
