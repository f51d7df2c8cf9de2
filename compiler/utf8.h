/* compiler/utf8.h — the little UTF-8 the front end needs: validate, count
 * characters, encode a code point. */
#ifndef HITL_UTF8_H
#define HITL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the longest valid UTF-8 prefix of s[0..n) (== n when all valid). */
size_t utf8_valid_prefix(const char *s, size_t n);
/* Number of characters: bytes that are not continuation bytes. */
size_t utf8_count(const char *s, size_t n);
/* Encode cp (<= 0x10FFFF, not a surrogate) into out[4]; returns the length. */
int utf8_encode(uint32_t cp, char out[4]);

#endif
