/* vm/hitlvm_desk.c — the reviewers' desk (TOOLS.md §2): pending, show,
 * resume, instances, log, expire.
 *
 * A verdict is checked in full before anything is written — the item is
 * open, the verdict allowed, the digest matches, the decider is not the
 * starter, and vm_resume accepts the edits on the restored VM — then the item
 * is claimed in one transaction (st_close_item + the verdict + its event), so
 * of two racing deciders exactly one wins, and the instance runs on. */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hitlvm.h"
#include "mem.h"

static bool parse_item_id(const char *s, int64_t *id) {
  int64_t v = 0;
  if (!*s || strlen(s) > 18) return false;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    v = v * 10 + (*p - '0');
  }
  *id = v;
  return v > 0;
}

/* The item ITEM names (its instance recovered first if it was orphaned). */
static int get_item(Cli *c, const char *arg, StItem *it) {
  int64_t id;
  if (!parse_item_id(arg, &id)) return bad_input("ITEM is an item's id (a positive integer), found '%s'", arg);
  int rc = st_get_item(c->st, id, it);
  if (rc == ST_NOTFOUND) return bad_input("unknown item %s", arg);
  if (rc != ST_OK) return store_error(c, "reading the item");
  char inst[64];
  snprintf(inst, sizeof inst, "%s", it->instance);
  recover_instance(c, inst);
  st_item_free(it);
  if (st_get_item(c->st, id, it) != ST_OK) return store_error(c, "reading the item");
  return EXIT_COMPLETED;
}

/* The verdict object of vm_resume with a JSON list of reviewers. */
static char *verdict_json_of(const char *kind, const char *reviewers, const char *reason, const char *edits,
                             int64_t at) {
  char iso[32];
  iso_time(at, iso);
  char *k = json_quote(kind), *why = reason ? json_quote(reason) : NULL;
  size_t n = (k ? strlen(k) : 0) + strlen(reviewers) + (why ? strlen(why) : 0) + (edits ? strlen(edits) : 0) + 128;
  char *j = k && (why || !reason) ? malloc(n) : NULL;
  if (j)
    snprintf(j, n, "{\"kind\":%s,\"reviewers\":%s,\"reason\":%s,\"edits\":%s,\"at\":\"%s\"}", k, reviewers,
             why ? why : "null", edits ? edits : "{}", iso);
  free(k);
  free(why);
  return j;
}

char *verdict_json(const char *kind, const char *reviewer, const char *reason, const char *edits, int64_t at) {
  char *r = json_quote(reviewer);
  size_t n = r ? strlen(r) + 3 : 0;
  char *list = r ? malloc(n) : NULL;
  if (list) snprintf(list, n, "[%s]", r);
  char *j = list ? verdict_json_of(kind, list, reason, edits, at) : NULL;
  free(r);
  free(list);
  return j;
}

char *votes_verdict_json(const StVerdict *v, size_t n) {
  if (n == 0) return NULL;
  const StVerdict *last = &v[n - 1];
  bool all = strcmp(last->verdict, "approve") == 0 && strcmp(last->reviewer, "timeout") != 0;
  size_t cap = 3;
  for (size_t i = 0; i < n; i++) cap += 2 * strlen(v[i].reviewer) + 8;
  char *list = malloc(cap);
  if (!list) return NULL;
  size_t at = (size_t)snprintf(list, cap, "[");
  bool first = true;
  for (size_t i = 0; i < n; i++) {
    if (all ? strcmp(v[i].verdict, "approve") != 0 : i != n - 1) continue;
    char *q = json_quote(v[i].reviewer);
    if (!q) {
      free(list);
      return NULL;
    }
    at += (size_t)snprintf(list + at, cap - at, "%s%s", first ? "" : ",", q);
    first = false;
    free(q);
  }
  snprintf(list + at, cap - at, "]");
  char *j = verdict_json_of(last->verdict, list, last->reason, last->edits, last->at);
  free(list);
  return j;
}

/* The verdict event's fields (malloc'd); approvals >= 0 for a quorum item. */
static char *verdict_event(int64_t item, const char *verdict, const char *reviewer, const char *reason,
                           const char *edits, int64_t approvals, int64_t quorum) {
  char *v = json_quote(verdict), *r = json_quote(reviewer), *why = reason ? json_quote(reason) : NULL;
  size_t n = (v ? strlen(v) : 0) + (r ? strlen(r) : 0) + (why ? strlen(why) : 0) + (edits ? strlen(edits) : 0) + 160;
  char *j = v && r && (why || !reason) ? malloc(n) : NULL;
  if (j) {
    int k = snprintf(j, n, "{\"item\":%lld,\"verdict\":%s,\"reviewer\":%s,\"reason\":%s,\"edits\":%s", (long long)item,
                     v, r, why ? why : "null", edits ? edits : "null");
    if (approvals >= 0)
      k += snprintf(j + k, n - (size_t)k, ",\"approvals\":%lld,\"quorum\":%lld", (long long)approvals,
                    (long long)quorum);
    snprintf(j + k, n - (size_t)k, "}");
  }
  free(v);
  free(r);
  free(why);
  return j;
}

static char *msg(const char *fmt, ...) CLI_PRINTF(1, 2);
static char *msg(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return strdup(buf);
}

char *may_not_decide(Cli *c, const StItem *it, const char *name) {
  StInstance in;
  if (st_get_instance(c->st, it->instance, &in) != ST_OK) return msg("cannot read instance %s", it->instance);
  bool starter = strcmp(in.starter, name) == 0;
  st_instance_free(&in);
  /* separation of duties: the starter is the requester its `started` event records */
  if (starter) return msg("%s started instance %s (its requester) and may not decide its items", name, it->instance);
  if (it->by) {
    int rc = st_is_member(c->st, name, it->by);
    if (rc == ST_NOTFOUND)
      return msg("%s is not a member of group %s, which decides item %lld", name, it->by, (long long)it->id);
    if (rc != ST_OK) return msg("cannot read the reviewer registry: %s", st_errmsg(c->st));
  }
  StVerdict *v = NULL;
  size_t n = 0;
  if (st_list_verdicts(c->st, it->id, &v, &n) != ST_OK) return msg("cannot read the votes: %s", st_errmsg(c->st));
  char *why = NULL;
  for (size_t i = 0; i < n && !why; i++)
    if (strcmp(v[i].reviewer, name) == 0)
      why = msg("%s already voted on item %lld (%s)", name, (long long)it->id, v[i].verdict);
  if (v) st_verdicts_free(v, n);
  return why;
}

static int count_approvals(const StVerdict *v, size_t n) {
  int k = 0;
  for (size_t i = 0; i < n; i++) k += strcmp(v[i].verdict, "approve") == 0;
  return k;
}

/* Give an open item a verdict.  A person's vote on a quorum item (quorum
 * above 1, item_status "decided") is stored as a verdict row with the item
 * still open; the vote that reaches the quorum, or a rejection, decides.
 * Everything from reading the item's votes to claiming it is one
 * BEGIN IMMEDIATE transaction, so of concurrent voters exactly one is the
 * deciding one, and a refused vote changes nothing. */
int decide(Cli *c, StItem *it, const char *verdict, const char *reviewer, const char *reason, const char *edits,
           const char *item_status, int64_t at, bool quiet) {
  StInstance in;
  if (st_get_instance(c->st, it->instance, &in) != ST_OK) return store_error(c, "reading the item's instance");
  int status = EXIT_USAGE;
  char *vj = NULL, *ev = NULL, fields[128], err[1024];
  StVerdict *votes = NULL;
  size_t nvotes = 0;
  StItem now = {0};
  Run r = {0};
  bool vote = it->quorum > 1 && strcmp(item_status, "decided") == 0, open_txn = false;
  if (strcmp(in.status, "suspended") != 0) {
    bad_input("instance %s is %s, not waiting for a verdict", in.id, in.status);
    goto done;
  }
  if (run_restore(c, &in, &r, quiet) != EXIT_COMPLETED) goto done;
  int rc = st_begin(c->st);
  if (rc != ST_OK) {
    store_error(c, "cannot claim the item");
    goto done;
  }
  open_txn = true;
  /* under the write lock: the item and its votes as they are now */
  if ((rc = st_get_item(c->st, it->id, &now)) != ST_OK) {
    store_error(c, "reading the item");
    goto done;
  }
  if (strcmp(now.status, "open") != 0) {
    bad_input("item %lld already decided", (long long)it->id);
    goto done;
  }
  StVerdict v = {0, it->id, it->instance, (char *)verdict, (char *)reviewer, (char *)reason, (char *)edits, at,
                 (char *)c->sig};
  rc = st_insert_verdict(c->st, &v);
  if (rc == ST_CONFLICT) {
    bad_input("%s already voted on item %lld", reviewer, (long long)it->id);
    goto done;
  }
  if (rc == ST_OK) rc = st_list_verdicts(c->st, it->id, &votes, &nvotes);
  if (rc != ST_OK) {
    store_error(c, "cannot record the verdict");
    goto done;
  }
  int approvals = count_approvals(votes, nvotes);
  bool deciding = !vote || strcmp(verdict, "approve") != 0 || approvals >= it->quorum;
  ev = verdict_event(it->id, verdict, reviewer, reason, edits, it->quorum > 1 ? approvals : -1, it->quorum);
  vj = deciding ? votes_verdict_json(votes + (vote ? 0 : nvotes - 1), vote ? nvotes : 1) : NULL;
  if (!ev || (deciding && !vj)) {
    bad_input("out of memory");
    goto done;
  }
  /* the VM checks the edits (names, types) before anything is committed */
  r.verdict_item = it->id;
  if (deciding && !vm_resume(r.vm, vj, err, sizeof err)) {
    bad_input("verdict refused: %s", err);
    goto done;
  }
  rc = st_append_event(c->st, in.id, (int64_t)time(NULL), "verdict", ev);
  if (rc == ST_OK && deciding) rc = st_close_item(c->st, it->id, item_status);
  if (rc == ST_OK && deciding) {
    StInstance up = in;
    up.status = "running";
    up.owner = c->owner;
    up.segment = in.segment + 1;
    up.updated = (int64_t)time(NULL);
    rc = st_update_instance(c->st, &up);
  }
  open_txn = false;
  if (rc == ST_OK) rc = st_commit(c->st);
  if (rc != ST_OK) {
    st_rollback(c->st);
    if (rc == ST_CONFLICT) bad_input("item %lld already decided", (long long)it->id);
    else store_error(c, "cannot claim the item");
    goto done;
  }
  if (!deciding) {   /* a vote short of the quorum: the instance stays suspended */
    if (!quiet && !c->o->json)
      printf("vote recorded: %d of %lld approvals for item %lld; instance %s stays suspended\n", approvals,
             (long long)it->quorum, (long long)it->id, in.id);
    else if (!quiet)
      put_outcome(c, &in);
    status = EXIT_SUSPENDED;
    goto done;
  }
  snprintf(fields, sizeof fields, "{\"item\":%lld,\"segment\":%lld}", (long long)it->id, (long long)in.segment + 1);
  run_event(&r, "resumed", fields);
  status = run_on(&r);
done:
  if (open_txn) st_rollback(c->st);
  run_free(&r);
  free(vj);
  free(ev);
  if (votes) st_verdicts_free(votes, nvotes);
  st_item_free(&now);
  st_instance_free(&in);
  return status;
}

/* ---- resume ----------------------------------------------------------------- */

/* --set NAME=JSON... as one JSON object of edits (malloc'd); NULL after a message. */
static char *edits_of(const Options *o) {
  json_t *names = json_object();
  size_t cap = 3;
  for (int i = 0; i < o->nsets; i++) cap += 2 * strlen(o->sets[i]) + 16;
  char *out = names ? malloc(cap) : NULL;
  size_t at = out ? (size_t)snprintf(out, cap, "{") : 0;
  for (int i = 0; out && i < o->nsets; i++) {
    char *eq = strchr(o->sets[i], '=');
    *eq = '\0';
    json_error_t je;
    json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, &je);
    char *key = json_quote(o->sets[i]);
    if (!v) bad_input("--set %s: malformed JSON: %s", o->sets[i], je.text);
    else if (json_object_get(names, o->sets[i])) bad_input("--set %s given twice", o->sets[i]);
    else if (!key || json_object_set_new(names, o->sets[i], json_true())) bad_input("out of memory");
    else at += (size_t)snprintf(out + at, cap - at, "%s%s:%s", i ? "," : "", key, eq + 1);
    if (!v || !key || at == 0 || json_object_size(names) != (size_t)i + 1) {
      free(out);
      out = NULL;
    }
    *eq = '=';
    json_decref(v);
    free(key);
  }
  if (out) snprintf(out + at, cap - at, "}");
  json_decref(names);
  return out;
}

static bool allowed(const char *kind, const char *verdict) {
  static const char *const approval[] = {"approve", "modify", "reject"}, *const review[] = {"pass", "flag"};
  bool appr = strcmp(kind, "approval") == 0;
  for (size_t i = 0; i < (appr ? 3u : 2u); i++)
    if (strcmp(verdict, appr ? approval[i] : review[i]) == 0) return true;
  return false;
}

int cmd_resume(Cli *c) {
  const Options *o = c->o;
  const char *verdict = o->arg2;
  StItem it = {0};
  int status = get_item(c, o->arg1, &it);
  if (status != EXIT_COMPLETED) return status;
  status = EXIT_USAGE;
  char *edits = NULL, *why = NULL;
  if (strcmp(it.status, "open") != 0) {
    bad_input("item %lld already %s", (long long)it.id,
              strcmp(it.status, "cancelled") == 0 ? "cancelled" : "decided");
  } else if (strcmp(it.kind, "approval") != 0) {
    bad_input("item %lld is a %s item: reviews arrive with issue 6", (long long)it.id, it.kind);
  } else if (!allowed(it.kind, verdict)) {
    bad_input("'%s' is not a verdict for an approval item: approve, modify or reject", verdict);
  } else if (strcmp(verdict, "modify") == 0 && o->nsets == 0) {
    bad_input("modify needs at least one --set NAME=JSON (editable here: %s)", it.editable);
  } else if (strcmp(verdict, "modify") != 0 && o->nsets > 0) {
    bad_input("--set goes with modify only, not %s", verdict);
  } else if (it.quorum > 1 && strcmp(verdict, "approve") != 0 && strcmp(verdict, "reject") != 0) {
    bad_input("item %lld needs a quorum of %lld: only approve or reject", (long long)it.id, (long long)it.quorum);
  } else if (o->digest && (!it.digest || strcasecmp(o->digest, it.digest) != 0)) {
    bad_input("digest mismatch: item %lld is not what was seen (its digest is %s)", (long long)it.id,
              it.digest ? it.digest : "not set");
  } else if (strcmp(c->user, "timeout") == 0) {
    bad_input("'timeout' is the name expire decides in, not a reviewer's");
  } else if ((why = may_not_decide(c, &it, c->user))) {
    bad_input("%s", why);
  } else if (o->nsets == 0 || (edits = edits_of(o))) {
    /* the signature: required by a signed group, checked whenever given */
    char sig[129];
    if ((why = verdict_signature(c, &it, verdict, edits, o->reason, c->user, sig))) {
      bad_input("%s", why);
    } else {
      c->sig = sig[0] ? sig : NULL;
      status = decide(c, &it, verdict, c->user, o->reason, edits, "decided", (int64_t)time(NULL), false);
      c->sig = NULL;
    }
  }
  free(why);
  free(edits);
  st_item_free(&it);
  return status;
}

/* ---- pending, show -------------------------------------------------------------- */

int cmd_pending(Cli *c) {
  recover_all(c);
  StItem *v = NULL;
  size_t n = 0;
  if (st_list_items(c->st, "open", c->o->group, &v, &n) != ST_OK) return store_error(c, "listing items");
  size_t shown = 0;
  if (c->o->json) fputc('[', stdout);
  for (size_t i = 0; i < n; i++) {
    if (c->o->as) {   /* what NAME may decide: not one's own, one's groups', not voted on */
      char *why = may_not_decide(c, &v[i], c->o->as);
      free(why);
      if (why) continue;
    }
    if (c->o->json) {
      if (shown) fputc(',', stdout);
      put_item_json(stdout, &v[i]);
    } else {
      put_item_human(stdout, &v[i]);
    }
    shown++;
  }
  if (c->o->json) fputs("]\n", stdout);
  else if (!shown) puts("no open items");
  if (v) st_items_free(v, n);
  return EXIT_COMPLETED;
}

int cmd_show(Cli *c) {
  StItem it = {0};
  int status = get_item(c, c->o->arg1, &it);
  if (status != EXIT_COMPLETED) return status;
  /* the votes so far (a quorum's partial approvals; the verdict of a decided item) */
  StVerdict *v = NULL;
  size_t n = 0;
  if (st_list_verdicts(c->st, it.id, &v, &n) != ST_OK) {
    st_item_free(&it);
    return store_error(c, "reading the votes");
  }
  if (c->o->json) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m) {
      put_item_json(m, &it);
      fclose(m);
    }
    if (!buf || len < 2) {
      free(buf);
      st_verdicts_free(v, n);
      st_item_free(&it);
      return bad_input("out of memory");
    }
    fwrite(buf, 1, len - 1, stdout);   /* without its closing brace */
    fputs(",\"votes\":[", stdout);
    for (size_t i = 0; i < n; i++) {
      char at[32];
      iso_time(v[i].at, at);
      char *who = json_quote(v[i].reviewer);
      printf("%s{\"reviewer\":%s,\"verdict\":\"%s\",\"at\":\"%s\"}", i ? "," : "", who ? who : "null",
             v[i].verdict, at);
      free(who);
    }
    printf("],\"approvals\":%d,\"status\":\"%s\"}\n", count_approvals(v, n), it.status);
    free(buf);
  } else {
    put_item_human(stdout, &it);
    if (it.quorum > 1 || n) {
      printf("  votes: %d of %lld approvals", count_approvals(v, n), (long long)it.quorum);
      for (size_t i = 0; i < n; i++) printf("%s%s %s", i ? ", " : " (", v[i].reviewer, v[i].verdict);
      puts(n ? ")" : "");
    }
  }
  if (v) st_verdicts_free(v, n);
  st_item_free(&it);
  return EXIT_COMPLETED;
}

/* ---- instances, log ---------------------------------------------------------------- */

int cmd_instances(Cli *c) {
  static const char *const states[] = {"running", "suspended", "reviewing", "completed", "failed"};
  const char *want = c->o->status;
  bool known = !want;
  for (size_t i = 0; i < 5 && !known; i++) known = strcmp(want, states[i]) == 0;
  if (!known) return bad_input("--status is running, suspended, reviewing, completed or failed, not '%s'", want);
  recover_all(c);
  StInstance *v = NULL;
  size_t n = 0;
  if (st_list_instances(c->st, want, &v, &n) != ST_OK) return store_error(c, "listing instances");
  if (c->o->json) fputc('[', stdout);
  for (size_t i = 0; i < n; i++) {
    char created[32], updated[32];
    iso_time(v[i].created, created);
    iso_time(v[i].updated, updated);
    char *pb = json_quote(v[i].playbook), *who = json_quote(v[i].starter);
    if (c->o->json)
      printf("%s{\"id\":\"%s\",\"playbook\":%s,\"status\":\"%s\",\"starter\":%s,\"created\":\"%s\",\"updated\":\"%s\"}",
             i ? "," : "", v[i].id, pb ? pb : "null", v[i].status, who ? who : "null", created, updated);
    else
      printf("%s  %-10s %-20s %-12s %s  %s\n", v[i].id, v[i].status, v[i].playbook, v[i].starter, created, updated);
    free(pb);
    free(who);
  }
  if (c->o->json) fputs("]\n", stdout);
  else if (!n) puts("no instances");
  if (v) st_instances_free(v, n);
  return EXIT_COMPLETED;
}

/* JSON text on one line: raw line breaks and tabs in valid JSON text are
 * whitespace between tokens (inside strings they are escaped). */
static void put_one_line(const char *s) {
  for (; *s; s++) putchar(*s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s);
}

int cmd_log(Cli *c) {
  const char *id = c->o->arg1;
  StInstance in;
  int rc = st_get_instance(c->st, id, &in);
  if (rc == ST_NOTFOUND) return bad_input("unknown instance '%s'", id);
  if (rc != ST_OK) return store_error(c, "reading the instance");
  st_instance_free(&in);
  recover_instance(c, id);
  StEvent *v = NULL;
  size_t n = 0;
  if (st_list_events(c->st, id, &v, &n) != ST_OK) return store_error(c, "reading the log");
  for (size_t i = 0; i < n; i++) {
    char at[32];
    iso_time(v[i].at, at);
    if (c->o->json) {
      const char *rest = strchr(v[i].fields, '{');
      rest = rest ? rest + 1 : "}";
      while (isspace((unsigned char)*rest)) rest++;
      printf("{\"seq\":%lld,\"at\":\"%s\",\"kind\":\"%s\"%s", (long long)v[i].seq, at, v[i].kind,
             *rest == '}' ? "" : ",");
      put_one_line(rest);
    } else {
      printf("%4lld  %s  %-10s ", (long long)v[i].seq, at, v[i].kind);
      put_one_line(v[i].fields);
    }
    putchar('\n');
  }
  if (v) st_events_free(v, n);
  return EXIT_COMPLETED;
}

/* ---- expire --------------------------------------------------------------------------- */

int cmd_expire(Cli *c) {
  int64_t now = (int64_t)time(NULL);
  if (c->o->now && !parse_time(c->o->now, &now))
    return bad_input("--now takes Unix seconds or ISO 8601 UTC (2026-11-28T14:00:00Z), not '%s'", c->o->now);
  recover_all(c);
  StItem *v = NULL;
  size_t n = 0;
  if (st_list_items(c->st, "open", NULL, &v, &n) != ST_OK) return store_error(c, "listing items");
  int status = EXIT_COMPLETED;
  size_t done = 0;
  if (c->o->json) fputc('[', stdout);
  for (size_t i = 0; i < n; i++) {
    StItem *it = &v[i];
    if (it->deadline < 0 || it->deadline > now || it->timeout_verdict < 0) continue;
    const char *verdict = it->timeout_verdict ? "reject" : "approve";
    int rs = decide(c, it, verdict, "timeout", it->timeout_reason, NULL, "expired", now, true);
    if (rs == EXIT_USAGE) {
      status = EXIT_USAGE;
      continue;
    }
    const char *st = rs == EXIT_COMPLETED ? "completed" : rs == EXIT_SUSPENDED ? "suspended" : "failed";
    if (c->o->json)
      printf("%s{\"item\":%lld,\"instance\":\"%s\",\"verdict\":\"%s\",\"status\":\"%s\"}", done ? "," : "",
             (long long)it->id, it->instance, verdict, st);
    else
      printf("item %lld (instance %s): %s in the name of timeout; the instance is %s\n", (long long)it->id,
             it->instance, verdict, st);
    done++;
  }
  if (c->o->json) fputs("]\n", stdout);
  else if (!done) puts("no item past its deadline");
  if (v) st_items_free(v, n);
  return status;
}
