/* vm/sha256.h — SHA-256 of a buffer, with the CPU's SHA instructions when it
 * has them.
 *
 * libsodium's SHA-256 is portable C (about 15 cycles a byte); x86-64 CPUs
 * with the SHA extensions (Intel since Goldmont/Ice Lake, every AMD Zen) do
 * it in about 2.  Hashing is a fixed cost of every compile (the source hash)
 * and of every .hbc written or read (the checksum), so it is worth the
 * difference.  Without the instructions (or on another architecture) this is
 * crypto_hash_sha256; the result is the same bytes either way. */
#ifndef HITL_SHA256_H
#define HITL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define HITL_SHA256_BYTES 32

void hitl_sha256(uint8_t out[HITL_SHA256_BYTES], const void *data, size_t len);

#endif
