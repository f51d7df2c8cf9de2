/* vm/sha256.c — SHA-256 with the x86 SHA extensions, else libsodium
 * (sha256.h).  The compression function is the usual SHA-NI sequence (as in
 * Intel's white paper "Intel SHA Extensions", 2013): the state is kept as
 * ABEF/CDGH, four rounds per group, message schedule with sha256msg1/2. */
#include "vm/sha256.h"

#include <string.h>

#include <sodium.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#include <stdatomic.h>
#endif

#ifdef HAVE_SHA_NI

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* SSSE3, SSE4.1 and SHA, asked of the CPU itself */
static int cpu_asked_sha(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  if (!(c & (1u << 9)) || !(c & (1u << 19))) return 0;   /* SSSE3, SSE4.1 */
  if (__get_cpuid_max(0, NULL) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  return (b >> 29) & 1;                                   /* SHA */
}

/* Asked once per process: CPUID traps to the hypervisor in a virtual
 * machine (a VM exit, microseconds each), which made the question cost more
 * than the hash of a short text.  0 not asked yet, 1 no, 2 yes; threads that
 * race here all store the same answer. */
static _Atomic int sha_answer;
static int cpu_has_sha(void) {
  int a = atomic_load_explicit(&sha_answer, memory_order_relaxed);
  if (!a) {
    a = cpu_asked_sha() ? 2 : 1;
    atomic_store_explicit(&sha_answer, a, memory_order_relaxed);
  }
  return a == 2;
}

/* Four rounds: group G of sixteen, message words in M[C]; the schedule
 * steps (msg2 into the next group's words, msg1 on the previous group's)
 * run only where the standard sequence has them. */
#define GROUP(G, C, N, P)                                                       \
  do {                                                                          \
    __m128i w = _mm_add_epi32(M##C, _mm_loadu_si128((const __m128i *)(K + 4 * (G)))); \
    s1 = _mm_sha256rnds2_epu32(s1, s0, w);                                      \
    if ((G) >= 3 && (G) <= 14) {                                                \
      M##N = _mm_add_epi32(M##N, _mm_alignr_epi8(M##C, M##P, 4));               \
      M##N = _mm_sha256msg2_epu32(M##N, M##C);                                  \
    }                                                                           \
    w = _mm_shuffle_epi32(w, 0x0E);                                             \
    s0 = _mm_sha256rnds2_epu32(s0, s1, w);                                      \
    if ((G) >= 1 && (G) <= 12) M##P = _mm_sha256msg1_epu32(M##P, M##C);         \
  } while (0)

__attribute__((target("sha,ssse3,sse4.1")))
static void blocks_ni(uint32_t state[8], const uint8_t *p, size_t nblocks) {
  const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i t = _mm_loadu_si128((const __m128i *)&state[0]);
  __m128i s1 = _mm_loadu_si128((const __m128i *)&state[4]);
  t = _mm_shuffle_epi32(t, 0xB1);            /* CDAB */
  s1 = _mm_shuffle_epi32(s1, 0x1B);          /* EFGH */
  __m128i s0 = _mm_alignr_epi8(t, s1, 8);    /* ABEF */
  s1 = _mm_blend_epi16(s1, t, 0xF0);         /* CDGH */
  for (; nblocks; nblocks--, p += 64) {
    __m128i abef = s0, cdgh = s1;
    __m128i M0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), swap);
    __m128i M1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), swap);
    __m128i M2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), swap);
    __m128i M3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), swap);
    GROUP(0, 0, 1, 3);  GROUP(1, 1, 2, 0);  GROUP(2, 2, 3, 1);  GROUP(3, 3, 0, 2);
    GROUP(4, 0, 1, 3);  GROUP(5, 1, 2, 0);  GROUP(6, 2, 3, 1);  GROUP(7, 3, 0, 2);
    GROUP(8, 0, 1, 3);  GROUP(9, 1, 2, 0);  GROUP(10, 2, 3, 1); GROUP(11, 3, 0, 2);
    GROUP(12, 0, 1, 3); GROUP(13, 1, 2, 0); GROUP(14, 2, 3, 1); GROUP(15, 3, 0, 2);
    s0 = _mm_add_epi32(s0, abef);
    s1 = _mm_add_epi32(s1, cdgh);
  }
  t = _mm_shuffle_epi32(s0, 0x1B);           /* FEBA */
  s1 = _mm_shuffle_epi32(s1, 0xB1);          /* DCHG */
  s0 = _mm_blend_epi16(t, s1, 0xF0);         /* DCBA */
  s1 = _mm_alignr_epi8(s1, t, 8);            /* ABEF -> HGFE */
  _mm_storeu_si128((__m128i *)&state[0], s0);
  _mm_storeu_si128((__m128i *)&state[4], s1);
}

static void sha256_ni(uint8_t out[32], const uint8_t *p, size_t len) {
  uint32_t st[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  size_t full = len / 64;
  blocks_ni(st, p, full);
  /* the tail, the 0x80 byte and the bit length: one or two more blocks */
  uint8_t last[128] = {0};
  size_t rest = len % 64;
  if (rest) memcpy(last, p + full * 64, rest);
  last[rest] = 0x80;
  size_t n = rest < 56 ? 64 : 128;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) last[n - 1 - i] = (uint8_t)(bits >> (8 * i));
  blocks_ni(st, last, n / 64);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(st[i] >> 24);
    out[4 * i + 1] = (uint8_t)(st[i] >> 16);
    out[4 * i + 2] = (uint8_t)(st[i] >> 8);
    out[4 * i + 3] = (uint8_t)st[i];
  }
}
#endif

void hitl_sha256(uint8_t out[HITL_SHA256_BYTES], const void *data, size_t len) {
#ifdef HAVE_SHA_NI
  if (cpu_has_sha()) {
    sha256_ni(out, data, len);
    return;
  }
#endif
  if (sodium_init() < 0) {
    /* hashing works without it; sodium_init only picks faster code */
  }
  crypto_hash_sha256(out, data, len);
}
