/* tests/fuzz/fuzz_load.c — libFuzzer target: any bytes through the bytecode
 * loader and verifier.  To get past the checksum, the target also re-signs
 * the input (recomputes the SHA-256 over the body) and loads that, so the
 * fuzzer reaches the section parsers and the verifier. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/bytecode.h"

enum { HEADER = 8, SUM = 32 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256];
  Module *m = bc_read(data, size, err, sizeof err);
  if (m) bc_free(m);
  if (size > HEADER + SUM) {
    uint8_t *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, data, size);
    memcpy(copy, BC_MAGIC, 4);
    crypto_hash_sha256(copy + HEADER, copy + HEADER + SUM, size - HEADER - SUM);
    m = bc_read(copy, size, err, sizeof err);
    if (m) bc_free(m);
    free(copy);
  }
  return 0;
}
