/* tests/fuzz/fuzz_parse.c — libFuzzer target: any bytes through the front
 * end (scanner, parser, checker) and, when they check clean, the code
 * generator and the verifier.  Nothing may crash, leak or hang. */
#include <stddef.h>
#include <stdint.h>

#include "compiler/compile.h"
#include "compiler/front.h"
#include "vm/bytecode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Diags d;
  diag_init(&d, "fuzz.hitl", (const char *)data, size);
  Module *m = cp_compile("fuzz.hitl", (const char *)data, size, &d);
  if (m) {
    char err[256];
    if (!bc_verify(m, err, sizeof err)) __builtin_trap();   /* codegen wrote bad code */
    bc_free(m);
  }
  diag_free(&d);
  return 0;
}
