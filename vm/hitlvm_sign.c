/* vm/hitlvm_sign.c — signed verdicts (issue 8; docs/hitlvm.md, "Signed
 * verdicts"; docs/SECURITY.md):
 *
 *   hitlvm keygen NAME                      NAME.key (secret, 0600), prints the public key
 *   hitlvm resume ITEM VERDICT --sign KEYFILE | --signature HEX
 *   hitlvm audit verify                     re-verifies every stored signature
 *
 * A reviewer signs the canonical message of verdict_message with Ed25519
 * (libsodium); the signature is checked against the key the registry holds
 * for the reviewer before anything is written, and stored with the verdict. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hitlvm.h"

static char *why(const char *fmt, ...) CLI_PRINTF(1, 2);
static char *why(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return strdup(buf);
}

/* exactly n bytes from 2n hex digits */
static bool from_hex(uint8_t *out, size_t n, const char *hex, size_t hexlen) {
  size_t got = 0;
  const char *end = NULL;
  if (hexlen != 2 * n) return false;
  return sodium_hex2bin(out, n, hex, hexlen, NULL, &got, &end) == 0 && got == n && end == hex + hexlen;
}

char *verdict_message(int64_t item, const char *digest, const char *verdict, const char *edits,
                      const char *reason, const char *reviewer) {
  json_t *e = json_null();
  if (edits) {
    json_error_t je;
    e = json_loads(edits, JSON_REJECT_DUPLICATES, &je);
    if (!e || !json_is_object(e)) {
      json_decref(e);
      return NULL;
    }
  }
  json_t *o = json_object();
  char *s = NULL;
  if (o && !json_object_set_new(o, "item", json_integer(item)) &&
      !json_object_set_new(o, "digest", digest ? json_string(digest) : json_null()) &&
      !json_object_set_new(o, "verdict", json_string(verdict)) && !json_object_set(o, "edits", e) &&
      !json_object_set_new(o, "reason", reason ? json_string(reason) : json_null()) &&
      !json_object_set_new(o, "reviewer", json_string(reviewer)))
    s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(o);
  json_decref(e);
  return s;
}

/* ---- keygen ---------------------------------------------------------------------- */

int cmd_keygen(Cli *c) {
  const char *name = c->o->arg1;
  if (!name[0]) return bad_input("keygen needs a NAME");
  if (sodium_init() < 0) return bad_input("cannot initialise libsodium");
  size_t n = strlen(name) + 5;
  char *path = malloc(n);
  if (!path) return bad_input("out of memory");
  snprintf(path, n, "%s.key", name);
  uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  char skhex[2 * crypto_sign_SECRETKEYBYTES + 2], pkhex[2 * crypto_sign_PUBLICKEYBYTES + 1];
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    int st = e == EEXIST ? bad_input("%s exists: keygen never overwrites a key", path)
                         : bad_input("cannot create %s: %s", path, strerror(e));
    free(path);
    return st;
  }
  crypto_sign_keypair(pk, sk);
  sodium_bin2hex(skhex, sizeof skhex - 1, sk, sizeof sk);
  sodium_bin2hex(pkhex, sizeof pkhex, pk, sizeof pk);
  size_t len = strlen(skhex);
  skhex[len++] = '\n';
  bool ok = fchmod(fd, 0600) == 0 && write(fd, skhex, len) == (ssize_t)len && fsync(fd) == 0;
  int e = errno;
  ok = close(fd) == 0 && ok;
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(skhex, sizeof skhex);
  if (!ok) {
    unlink(path);
    int st = bad_input("cannot write %s: %s", path, strerror(e));
    free(path);
    return st;
  }
  if (c->o->json) {
    char *f = rt_json_quote(path);
    printf("{\"file\":%s,\"key\":\"%s\"}\n", f ? f : "null", pkhex);
    free(f);
  } else {
    printf("%s\n", pkhex);
    const char *base = strrchr(name, '/');
    fprintf(stderr, "hitlvm: wrote the secret key to %s (keep it private); register the public key with\n"
            "  hitlvm reviewers add %s --group G --key %s\n", path, base ? base + 1 : name, pkhex);
  }
  free(path);
  return EXIT_COMPLETED;
}

/* A key file: 128 hex digits (libsodium's 64-byte secret key: seed, then the
 * public key) and an optional line break; the halves must agree. */
static char *load_secret(const char *path, uint8_t sk[crypto_sign_SECRETKEYBYTES]) {
  char buf[260];
  FILE *f = fopen(path, "rb");
  if (!f) return why("cannot read the key file %s: %s", path, strerror(errno));
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
  uint8_t pk[crypto_sign_PUBLICKEYBYTES], check[crypto_sign_SECRETKEYBYTES];
  bool ok = from_hex(sk, crypto_sign_SECRETKEYBYTES, buf, n) && crypto_sign_seed_keypair(pk, check, sk) == 0 &&
            sodium_memcmp(check, sk, sizeof check) == 0;
  sodium_memzero(buf, sizeof buf);
  sodium_memzero(check, sizeof check);
  if (!ok) {
    sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
    return why("%s is not a key file of hitlvm keygen (128 hex digits)", path);
  }
  return NULL;
}

/* The reviewer's registered public key. */
static char *registered_key(Cli *c, const char *reviewer, uint8_t pk[crypto_sign_PUBLICKEYBYTES]) {
  StReviewer r = {0};
  int rc = st_get_reviewer(c->st, reviewer, &r);
  if (rc != ST_OK && rc != ST_NOTFOUND) return why("cannot read the reviewer registry: %s", st_errmsg(c->st));
  char *w = NULL;
  if (rc == ST_NOTFOUND || !r.key)
    w = why("%s has no registered key (hitlvm reviewers add %s --key PUBKEY)", reviewer, reviewer);
  else if (!from_hex(pk, crypto_sign_PUBLICKEYBYTES, r.key, strlen(r.key)))
    w = why("%s's registered key is not 64 hex digits", reviewer);
  if (rc == ST_OK) st_reviewer_free(&r);
  return w;
}

char *verdict_signature(Cli *c, const StItem *it, const char *verdict, const char *edits, const char *reason,
                        const char *reviewer, char sig[129]) {
  const Options *o = c->o;
  sig[0] = '\0';
  bool required = false;
  if (it->by && st_group_signed(c->st, it->by, &required) != ST_OK)
    return why("cannot read group %s: %s", it->by, st_errmsg(c->st));
  if (!o->sign && !o->signature)
    return required ? why("group %s requires signed verdicts: resume with --sign KEYFILE (hitlvm keygen makes one)",
                          it->by)
                    : NULL;
  if (sodium_init() < 0) return why("cannot initialise libsodium");
  uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], s[crypto_sign_BYTES];
  char *w = registered_key(c, reviewer, pk);
  if (w) return w;
  char *m = verdict_message(it->id, it->digest, verdict, edits, reason, reviewer);
  if (!m) return why("cannot form the message to sign (out of memory, or edits not a JSON object)");
  if (o->sign) {
    w = load_secret(o->sign, sk);
    if (!w && sodium_memcmp(sk + crypto_sign_SECRETKEYBYTES - crypto_sign_PUBLICKEYBYTES, pk, sizeof pk) != 0)
      w = why("the key in %s is not the one registered for %s", o->sign, reviewer);
    if (!w) crypto_sign_detached(s, NULL, (const unsigned char *)m, strlen(m), sk);
    sodium_memzero(sk, sizeof sk);
  } else if (!from_hex(s, sizeof s, o->signature, strlen(o->signature))) {
    w = why("--signature takes an Ed25519 signature as 128 hex digits");
  }
  if (!w && crypto_sign_verify_detached(s, (const unsigned char *)m, strlen(m), pk) != 0)
    w = why("the signature does not verify against %s's registered key for this verdict on item %lld", reviewer,
            (long long)it->id);
  free(m);
  if (!w) sodium_bin2hex(sig, 129, s, sizeof s);
  return w;
}

/* ---- audit verify ------------------------------------------------------------------ */

int audit_signatures(Cli *c, int64_t *checked, char **bad, int64_t *bad_verdict) {
  *checked = 0;
  *bad = NULL;
  *bad_verdict = 0;
  if (sodium_init() < 0) {
    *bad = why("cannot initialise libsodium");
    return ST_OK;
  }
  StItem *items = NULL;
  size_t ni = 0;
  int rc = st_list_items(c->st, NULL, NULL, &items, &ni);
  if (rc != ST_OK) return rc;
  for (size_t i = 0; i < ni && !*bad && rc == ST_OK; i++) {
    if (c->o->arg2 && strcmp(items[i].instance, c->o->arg2) != 0) continue;
    StVerdict *v = NULL;
    size_t nv = 0;
    if ((rc = st_list_verdicts(c->st, items[i].id, &v, &nv)) != ST_OK) break;
    for (size_t k = 0; k < nv && !*bad; k++) {
      if (!v[k].signature) continue;
      uint8_t pk[crypto_sign_PUBLICKEYBYTES], s[crypto_sign_BYTES];
      char *w = registered_key(c, v[k].reviewer, pk);
      char *m = w ? NULL : verdict_message(items[i].id, items[i].digest, v[k].verdict, v[k].edits, v[k].reason,
                                           v[k].reviewer);
      if (!w && !m) w = why("its edits are not a JSON object");
      else if (!w && !from_hex(s, sizeof s, v[k].signature, strlen(v[k].signature)))
        w = why("its signature is not 128 hex digits");
      else if (!w && crypto_sign_verify_detached(s, (const unsigned char *)m, strlen(m), pk) != 0)
        w = why("the signature does not verify against %s's registered key", v[k].reviewer);
      free(m);
      if (w) {
        *bad = why("verdict %lld (item %lld, %s by %s): %s", (long long)v[k].id, (long long)items[i].id,
                   v[k].verdict, v[k].reviewer, w);
        *bad_verdict = v[k].id;
        free(w);
        if (!*bad) rc = ST_ERR;
      } else {
        (*checked)++;
      }
    }
    if (v) st_verdicts_free(v, nv);
  }
  if (items) st_items_free(items, ni);
  return rc;
}
