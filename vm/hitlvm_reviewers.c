/* vm/hitlvm_reviewers.c — the reviewer registry (TOOLS.md §2, docs/hitlvm.md):
 *
 *   hitlvm reviewers add NAME --group G [--group G2]... [--key PUBKEY]
 *   hitlvm reviewers list
 *   hitlvm reviewers remove NAME [--group G]
 *   hitlvm reviewers group G [--signed | --unsigned]
 *
 * Who belongs to which group decides who may give a verdict on an item whose
 * `by` names a group (rt_desk.c).  A reviewer's key is an Ed25519 public
 * key as 64 hex digits. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "hitlvm.h"

bool valid_key_hex(const char *s) {
  if (strlen(s) != 64) return false;
  for (const char *p = s; *p; p++)
    if (!isxdigit((unsigned char)*p)) return false;
  return true;
}

static int reviewers_add(Cli *c, const char *name) {
  const Options *o = c->o;
  if (!rt_good_name(name))
    return bad_input("'%s' is not a reviewer name (printable, no spaces, not 'timeout')", name);
  if (o->ngroups == 0 && !o->key) return bad_input("reviewers add needs --group G (one or more) or --key PUBKEY");
  for (int i = 0; i < o->ngroups; i++)
    if (!rt_good_name(o->groups[i])) return bad_input("'%s' is not a group name", o->groups[i]);
  char key[65] = "";
  if (o->key) {
    if (!valid_key_hex(o->key))
      return bad_input("--key takes an Ed25519 public key as 64 hex digits (hitlvm keygen prints one)");
    for (int i = 0; i < 64; i++) key[i] = (char)tolower((unsigned char)o->key[i]);
    key[64] = '\0';
  }
  if (rt_reviewers_add(&c->rt, name, (const char *const *)o->groups, (size_t)o->ngroups, o->key ? key : NULL) !=
      RT_COMPLETED)
    return rt_error(c, EXIT_USAGE);
  if (!o->json) {
    printf("%s", name);
    for (int i = 0; i < o->ngroups; i++) printf("%s%s", i ? ", " : " is in ", o->groups[i]);
    if (o->key) printf("%skey %s", o->ngroups ? "; " : " has ", key);
    putchar('\n');
    return EXIT_COMPLETED;
  }
  StReviewer r;
  if (st_get_reviewer(c->st, name, &r) != ST_OK) return store_error(c, "reading the reviewer");
  char *n = rt_json_quote(r.name);
  printf("{\"name\":%s,\"groups\":%s,\"key\":", n ? n : "null", r.groups);
  if (r.key) printf("\"%s\"}\n", r.key);
  else puts("null}");
  free(n);
  st_reviewer_free(&r);
  return EXIT_COMPLETED;
}

static int reviewers_list(Cli *c) {
  StReviewer *v = NULL;
  size_t n = 0;
  if (st_list_reviewers(c->st, &v, &n) != ST_OK) return store_error(c, "listing the reviewers");
  if (c->o->json) fputc('[', stdout);
  for (size_t i = 0; i < n; i++) {
    if (c->o->json) {
      char *name = rt_json_quote(v[i].name);
      printf("%s{\"name\":%s,\"groups\":%s,\"key\":", i ? "," : "", name ? name : "null", v[i].groups);
      if (v[i].key) printf("\"%s\"}", v[i].key);
      else fputs("null}", stdout);
      free(name);
    } else {
      printf("%-20s %s%s%s\n", v[i].name, v[i].groups, v[i].key ? "  key " : "", v[i].key ? v[i].key : "");
    }
  }
  if (c->o->json) fputs("]\n", stdout);
  else if (!n) puts("no reviewers");
  if (v) st_reviewers_free(v, n);
  return EXIT_COMPLETED;
}

static int reviewers_remove(Cli *c, const char *name) {
  const Options *o = c->o;
  if (o->key) return bad_input("--key is not an option of reviewers remove");
  if (o->ngroups > 1) return bad_input("reviewers remove takes one --group at most");
  int rc = o->group ? st_remove_membership(c->st, name, o->group) : st_remove_reviewer(c->st, name);
  if (rc == ST_NOTFOUND) {
    if (o->group) return bad_input("%s is not a member of group %s", name, o->group);
    return bad_input("no reviewer %s", name);
  }
  if (rc != ST_OK) return store_error(c, "removing the reviewer");
  if (o->json) puts("{}");
  else if (o->group) printf("%s is no longer in %s\n", name, o->group);
  else printf("%s removed\n", name);
  return EXIT_COMPLETED;
}

/* group G: show whether G's verdicts must be signed; --signed / --unsigned
 * sets it (the group need not have members yet). */
static int reviewers_group(Cli *c, const char *group) {
  const Options *o = c->o;
  if (!rt_good_name(group)) return bad_input("'%s' is not a group name", group);
  if (o->ngroups || o->key) return bad_input("reviewers group takes no --group or --key");
  if ((o->set_signed || o->set_unsigned) && st_set_group_signed(c->st, group, o->set_signed) != ST_OK)
    return store_error(c, "marking the group");
  bool sign = false;
  if (st_group_signed(c->st, group, &sign) != ST_OK) return store_error(c, "reading the group");
  char *g = rt_json_quote(group);
  if (o->json) printf("{\"group\":%s,\"signed\":%s}\n", g ? g : "null", sign ? "true" : "false");
  else printf("group %s: %s\n", group, sign ? "signed (verdicts must be signed by a registered key)" : "unsigned");
  free(g);
  return EXIT_COMPLETED;
}

int cmd_reviewers(Cli *c) {
  const Options *o = c->o;
  const char *sub = o->arg1;
  if ((o->set_signed || o->set_unsigned) && strcmp(sub, "group") != 0)
    return bad_input("--signed and --unsigned go with reviewers group G");
  if (strcmp(sub, "group") == 0) {
    if (!o->arg2) return bad_input("reviewers group needs a group name G");
    return reviewers_group(c, o->arg2);
  }
  if (strcmp(sub, "list") == 0) {
    if (o->arg2) return bad_input("reviewers list takes no NAME");
    if (o->ngroups || o->key) return bad_input("reviewers list takes no --group or --key");
    return reviewers_list(c);
  }
  if (strcmp(sub, "add") != 0 && strcmp(sub, "remove") != 0)
    return bad_input("reviewers takes add, list, remove or group, not '%s'", sub);
  if (!o->arg2) return bad_input("reviewers %s needs a NAME", sub);
  return sub[0] == 'a' ? reviewers_add(c, o->arg2) : reviewers_remove(c, o->arg2);
}
