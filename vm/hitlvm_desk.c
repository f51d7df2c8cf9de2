/* vm/hitlvm_desk.c — the reviewers' desk (TOOLS.md §2): pending, show,
 * resume, instances, log, expire.  The options are read and the results
 * printed here; checking a verdict, claiming the item, running the instance
 * on, expiring and recovering are the runtime's (vm/rt_desk.c,
 * vm/rt_recover.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static bool item_arg(const char *arg, int64_t *id) {
  if (parse_item_id(arg, id)) return true;
  bad_input("ITEM is an item's id (a positive integer), found '%s'", arg);
  return false;
}

/* ---- resume ----------------------------------------------------------------- */

/* --set NAME=JSON... as one JSON object of edits (mem_alloc'd); NULL after a message. */
static char *edits_of(const Options *o) {
  json_t *names = json_object();
  if (!names) {
    bad_input("out of memory");
    return NULL;
  }
  RtBuf b = {0};
  rt_buf_add(&b, "{");
  bool ok = true;
  for (int i = 0; ok && i < o->nsets; i++) {
    char *eq = strchr(o->sets[i], '=');
    *eq = '\0';
    json_error_t je;
    json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, &je);
    char *key = rt_json_quote(o->sets[i]);
    ok = false;
    if (!v) bad_input("--set %s: malformed JSON: %s", o->sets[i], je.text);
    else if (json_object_get(names, o->sets[i])) bad_input("--set %s given twice", o->sets[i]);
    else if (!key || json_object_set_new(names, o->sets[i], json_true())) bad_input("out of memory");
    else ok = true;
    if (ok) {
      rt_buf_add(&b, i ? "," : "");
      rt_buf_add(&b, key);
      rt_buf_add(&b, ":");
      rt_buf_add(&b, eq + 1);
    }
    *eq = '=';
    json_decref(v);
    free(key);
  }
  json_decref(names);
  rt_buf_add(&b, "}");
  char *out = rt_buf_take(&b);
  if (ok && !out) bad_input("out of memory");
  if (!ok) {
    mem_free(out, 0);
    out = NULL;
  }
  return out;
}

int cmd_resume(Cli *c) {
  const Options *o = c->o;
  const char *verdict = o->arg2;
  int64_t id;
  StItem it = {0};
  if (!item_arg(o->arg1, &id)) return EXIT_USAGE;
  if (rt_item_get(&c->rt, id, o->arg1, &it) != RT_COMPLETED) return rt_error(c, EXIT_USAGE);
  int status = EXIT_USAGE;
  char *edits = NULL, *why = NULL;
  if (rt_check_verdict(&c->rt, &it, verdict, o->nsets > 0, o->digest, c->user) != RT_COMPLETED) {
    rt_error(c, EXIT_USAGE);
  } else if (o->nsets == 0 || (edits = edits_of(o))) {
    /* the signature: required by a signed group, checked whenever given */
    char sig[129];
    if ((why = verdict_signature(c, &it, verdict, edits, o->reason, c->user, sig))) {
      bad_input("%s", why);
    } else {
      RtDecided d;
      status = rt_decide(&c->rt, &it, verdict, c->user, o->reason, edits, sig[0] ? sig : NULL, "decided",
                         (int64_t)time(NULL), false, &d);
      if (status == RT_USAGE)
        rt_error(c, status);
      else if (d.vote && !o->json)
        printf("vote recorded: %d of %lld approvals for item %lld; instance %s stays suspended\n", d.approvals,
               (long long)d.quorum, (long long)it.id, d.instance);
      else
        put_outcome(c, d.instance);
    }
  }
  free(why);
  mem_free(edits, 0);
  st_item_free(&it);
  return status;
}

/* ---- pending, show -------------------------------------------------------------- */

int cmd_pending(Cli *c) {
  StItem *v = NULL;
  size_t n = 0;
  if (rt_pending(&c->rt, c->o->group, c->o->as, &v, &n) != RT_COMPLETED) return rt_error(c, EXIT_USAGE);
  if (c->o->json) fputc('[', stdout);
  for (size_t i = 0; i < n; i++) {
    if (c->o->json) {
      if (i) fputc(',', stdout);
      put_item_json(stdout, &v[i]);
    } else {
      put_item_human(stdout, &v[i]);
    }
  }
  if (c->o->json) fputs("]\n", stdout);
  else if (!n) puts("no open items");
  if (v) st_items_free(v, n);
  return EXIT_COMPLETED;
}

int cmd_show(Cli *c) {
  int64_t id;
  StItem it = {0};
  StVerdict *v = NULL;
  size_t n = 0;
  if (!item_arg(c->o->arg1, &id)) return EXIT_USAGE;
  if (rt_show(&c->rt, id, c->o->arg1, &it, &v, &n) != RT_COMPLETED) return rt_error(c, EXIT_USAGE);
  int status = EXIT_COMPLETED;
  if (c->o->json) {
    RtBuf b = {0};
    rt_show_json(&b, &it, v, n);
    char *s = rt_buf_take(&b);
    if (s) printf("%s\n", s);
    else status = bad_input("out of memory");
    mem_free(s, 0);
  } else {
    put_item_human(stdout, &it);
    if (it.quorum > 1 || n) {
      printf("  votes: %d of %lld approvals", rt_count_approvals(v, n), (long long)it.quorum);
      for (size_t i = 0; i < n; i++) printf("%s%s %s", i ? ", " : " (", v[i].reviewer, v[i].verdict);
      puts(n ? ")" : "");
    }
  }
  if (v) st_verdicts_free(v, n);
  st_item_free(&it);
  return status;
}

/* ---- instances, log ---------------------------------------------------------------- */

int cmd_instances(Cli *c) {
  StInstance *v = NULL;
  size_t n = 0;
  if (rt_instances(&c->rt, c->o->status, &v, &n) != RT_COMPLETED) return rt_error(c, EXIT_USAGE);
  if (c->o->json) fputc('[', stdout);
  for (size_t i = 0; i < n; i++) {
    if (c->o->json) {
      RtBuf b = {0};
      rt_buf_add(&b, i ? "," : "");
      rt_instance_json(&b, &v[i]);
      char *s = rt_buf_take(&b);
      fputs(s ? s : "", stdout);
      mem_free(s, 0);
    } else {
      char created[32], updated[32];
      rt_iso_time(v[i].created, created);
      rt_iso_time(v[i].updated, updated);
      printf("%s  %-10s %-20s %-12s %s  %s\n", v[i].id, v[i].status, v[i].playbook, v[i].starter, created, updated);
    }
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
  StEvent *v = NULL;
  size_t n = 0;
  if (rt_log(&c->rt, c->o->arg1, &v, &n) != RT_COMPLETED) return rt_error(c, EXIT_USAGE);
  for (size_t i = 0; i < n; i++) {
    if (c->o->json) {
      RtBuf b = {0};
      rt_event_json(&b, &v[i]);
      char *s = rt_buf_take(&b);
      fputs(s ? s : "", stdout);
      mem_free(s, 0);
    } else {
      char at[32];
      rt_iso_time(v[i].at, at);
      printf("%4lld  %s  %-10s ", (long long)v[i].seq, at, v[i].kind);
      put_one_line(v[i].fields);
    }
    putchar('\n');
  }
  if (v) st_events_free(v, n);
  return EXIT_COMPLETED;
}

/* ---- expire --------------------------------------------------------------------------- */

typedef struct Expired {
  Cli *c;
  size_t done;
} Expired;

static void put_expired(void *user, const StItem *it, const char *verdict, int rs) {
  Expired *e = user;
  const char *st = rs == RT_COMPLETED ? "completed" : rs == RT_SUSPENDED ? "suspended" : "failed";
  if (e->c->o->json)
    printf("%s{\"item\":%lld,\"instance\":\"%s\",\"verdict\":\"%s\",\"status\":\"%s\"}", e->done ? "," : "[",
           (long long)it->id, it->instance, verdict, st);
  else
    printf("item %lld (instance %s): %s in the name of timeout; the instance is %s\n", (long long)it->id,
           it->instance, verdict, st);
  e->done++;
}

int cmd_expire(Cli *c) {
  int64_t now = (int64_t)time(NULL);
  if (c->o->now && !rt_parse_time(c->o->now, &now))
    return bad_input("--now takes Unix seconds or ISO 8601 UTC (2026-11-28T14:00:00Z), not '%s'", c->o->now);
  Expired e = {c, 0};
  int status = rt_expire(&c->rt, now, put_expired, &e);
  if (status == RT_USAGE && c->rt.err) return rt_error(c, EXIT_USAGE);   /* nothing listed */
  if (c->o->json) fputs(e.done ? "]\n" : "[]\n", stdout);
  else if (!e.done) puts("no item past its deadline");
  return status;
}
