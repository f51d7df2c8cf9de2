/* vm/hitlvm_learn.c — learning from the reviewers' verdicts (TOOLS.md §2,
 * docs/calibration.md): `stats`, `calibrate` and `export`.
 *
 * A *decision* is an approval item opened by an `approve` route (its payload
 * has action, args, risk and rule) with its verdict; the calls that ran
 * without a person (the `action` events whose route is auto, review or deny)
 * give the other side of "the share routed to people".  Everything is per
 * playbook name and action: that is what a calibrated threshold belongs to.
 *
 * Calibration: for each action, over its decisions that a person decided
 * (status `decided`, verdict approve, modify or reject; timeouts and open
 * items do not count), sorted by confidence, the lowest observed confidence
 * t such that among the decisions with confidence >= t there are at least
 * --min-samples and the share a reviewer *approved* (approve only: a modify
 * means the proposal was wrong in part) is at least --target.  Calls at or
 * above t would then run unattended with an expected error rate of at most
 * 1 - target. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hitlvm.h"
#include "mem.h"

/* the confidence bands of `stats` (a call without confidence counts as 0.0,
 * as routing sees it) */
static const double band_lo[] = {0.0, 0.5, 0.7, 0.8, 0.9, 0.95};
#define NBANDS ((int)(sizeof band_lo / sizeof band_lo[0]))

static int band_of(double c) {
  int b = 0;
  for (int i = 0; i < NBANDS; i++)
    if (c >= band_lo[i]) b = i;
  return b;
}

enum { V_APPROVE, V_MODIFY, V_REJECT, V_OPEN, V_EXPIRED, V_OTHER, V_N };

typedef struct Counts {
  int64_t calls, routed, unattended[3];   /* unattended: auto, review, deny */
  int64_t v[V_N];
} Counts;

typedef struct Sample {
  double c;
  bool approved;
} Sample;

typedef struct Group {
  char *playbook, *action;
  Counts all, band[NBANDS];
  double last_threshold;                  /* risk.threshold of the last decision, -1 none */
  Sample *s;                              /* the decided decisions, for calibrate */
  size_t ns, caps;
} Group;

typedef struct Learn {
  Group *g;
  size_t n, cap;
  bool oom;
  bool samples;                           /* keep the samples (calibrate) */
} Learn;

static char *dup_s(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static Group *group(Learn *l, const char *playbook, const char *action) {
  for (size_t i = l->n; i-- > 0;)
    if (strcmp(l->g[i].action, action) == 0 && strcmp(l->g[i].playbook, playbook) == 0) return &l->g[i];
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    Group *g = realloc(l->g, cap * sizeof *g);
    if (!g) return NULL;
    l->g = g;
    l->cap = cap;
  }
  Group *g = &l->g[l->n];
  memset(g, 0, sizeof *g);
  g->playbook = dup_s(playbook);
  g->action = dup_s(action);
  g->last_threshold = -1;
  if (!g->playbook || !g->action) {
    free(g->playbook);
    free(g->action);
    return NULL;
  }
  l->n++;
  return g;
}

static void learn_free(Learn *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->g[i].playbook);
    free(l->g[i].action);
    free(l->g[i].s);
  }
  free(l->g);
  memset(l, 0, sizeof *l);
}

static int verdict_class(const StDecision *d) {
  if (strcmp(d->status, "open") == 0 || !d->verdict) return V_OPEN;
  if (strcmp(d->status, "expired") == 0) return V_EXPIRED;
  if (strcmp(d->verdict, "approve") == 0) return V_APPROVE;
  if (strcmp(d->verdict, "modify") == 0) return V_MODIFY;
  if (strcmp(d->verdict, "reject") == 0) return V_REJECT;
  return V_OTHER;
}

static bool on_decision(void *user, const StDecision *d) {
  Learn *l = user;
  Group *g = group(l, d->playbook, d->action);
  if (!g) return !(l->oom = true);
  double c = d->confidence < 0 ? 0.0 : d->confidence;
  int v = verdict_class(d);
  Counts *cs[2] = {&g->all, &g->band[band_of(c)]};
  for (int i = 0; i < 2; i++) {
    cs[i]->calls++;
    cs[i]->routed++;
    cs[i]->v[v]++;
  }
  if (d->threshold >= 0) g->last_threshold = d->threshold;
  if (l->samples && v <= V_REJECT) {
    if (g->ns == g->caps) {
      size_t cap = g->caps ? g->caps * 2 : 64;
      Sample *s = realloc(g->s, cap * sizeof *s);
      if (!s) return !(l->oom = true);
      g->s = s;
      g->caps = cap;
    }
    g->s[g->ns++] = (Sample){c, v == V_APPROVE};
  }
  return true;
}

static bool on_call(void *user, const StActionCall *a) {
  Learn *l = user;
  int k = strcmp(a->route, "auto") == 0 ? 0 : strcmp(a->route, "review") == 0 ? 1 : strcmp(a->route, "deny") == 0 ? 2 : -1;
  if (k < 0) return true;   /* approve: the call a decision let run, counted with its item */
  Group *g = group(l, a->playbook, a->action);
  if (!g) return !(l->oom = true);
  double c = a->confidence < 0 ? 0.0 : a->confidence;
  Counts *cs[2] = {&g->all, &g->band[band_of(c)]};
  for (int i = 0; i < 2; i++) {
    cs[i]->calls++;
    cs[i]->unattended[k]++;
  }
  return true;
}

static int cmp_group(const void *a, const void *b) {
  const Group *x = a, *y = b;
  int r = strcmp(x->playbook, y->playbook);
  return r ? r : strcmp(x->action, y->action);
}

/* Walk the store into l; EXIT_COMPLETED or EXIT_USAGE after a message. */
static int gather(Cli *c, Learn *l, bool samples) {
  l->samples = samples;
  int rc = st_each_decision(c->st, on_decision, l);
  if (rc == ST_OK && !l->oom) rc = st_each_action_call(c->st, on_call, l);
  if (l->oom) return bad_input("out of memory");
  if (rc != ST_OK) return store_error(c, "reading the decisions");
  if (l->n) qsort(l->g, l->n, sizeof *l->g, cmp_group);
  return EXIT_COMPLETED;
}

/* The calibrated value of (playbook, action), or -1. */
static double calibrated(const StThreshold *t, size_t n, const char *playbook, const char *action) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(t[i].playbook, playbook) == 0 && strcmp(t[i].action, action) == 0) return t[i].value;
  return -1;
}

static double ratio(int64_t a, int64_t b) { return b ? (double)a / (double)b : 0.0; }

/* ---- stats ----------------------------------------------------------------- */

static json_t *counts_json(const Counts *k) {
  int64_t decided = k->v[V_APPROVE] + k->v[V_MODIFY] + k->v[V_REJECT];
  return json_pack("{sI sI sI sI sI sf sI sI sI sI sI sf sf sf}", "calls", (json_int_t)k->calls, "routed",
                   (json_int_t)k->routed, "auto", (json_int_t)k->unattended[0], "review",
                   (json_int_t)k->unattended[1], "deny", (json_int_t)k->unattended[2], "share_routed",
                   ratio(k->routed, k->calls), "approve", (json_int_t)k->v[V_APPROVE], "modify",
                   (json_int_t)k->v[V_MODIFY], "reject", (json_int_t)k->v[V_REJECT], "open",
                   (json_int_t)k->v[V_OPEN], "expired", (json_int_t)k->v[V_EXPIRED], "approve_rate",
                   ratio(k->v[V_APPROVE], decided), "modify_rate", ratio(k->v[V_MODIFY], decided),
                   "reject_rate", ratio(k->v[V_REJECT], decided));
}

static void band_name(int b, char out[24]) {
  if (b + 1 < NBANDS) snprintf(out, 24, "[%.2f, %.2f)", band_lo[b], band_lo[b + 1]);
  else snprintf(out, 24, "[%.2f, 1.00]", band_lo[b]);
}

static void put_rates(const Counts *k) {
  int64_t decided = k->v[V_APPROVE] + k->v[V_MODIFY] + k->v[V_REJECT];
  printf("%8lld %7lld %6.1f%% %8lld", (long long)k->calls, (long long)k->routed, 100 * ratio(k->routed, k->calls),
         (long long)decided);
  if (decided)
    printf(" %7.1f%% %6.1f%% %6.1f%%\n", 100 * ratio(k->v[V_APPROVE], decided), 100 * ratio(k->v[V_MODIFY], decided),
           100 * ratio(k->v[V_REJECT], decided));
  else
    printf(" %8s %7s %7s\n", "-", "-", "-");
}

int cmd_stats(Cli *c) {
  Learn l = {0};
  StThreshold *th = NULL;
  size_t nth = 0;
  int status = gather(c, &l, false);
  if (status == EXIT_COMPLETED && st_list_thresholds(c->st, NULL, &th, &nth) != ST_OK)
    status = store_error(c, "reading the calibrated thresholds");
  if (status != EXIT_COMPLETED) {
    learn_free(&l);
    return status;
  }
  json_t *out = c->o->json ? json_array() : NULL;
  if (!c->o->json && l.n == 0) puts("no action calls in the store");
  for (size_t i = 0; i < l.n; i++) {
    Group *g = &l.g[i];
    double cal = calibrated(th, nth, g->playbook, g->action);
    double thr = cal >= 0 ? cal : g->last_threshold;
    if (c->o->json) {
      json_t *o = counts_json(&g->all);
      json_t *bands = json_array();
      for (int b = 0; b < NBANDS; b++) {
        json_t *bo = counts_json(&g->band[b]);
        json_object_set_new(bo, "from", json_real(band_lo[b]));
        json_object_set_new(bo, "to", json_real(b + 1 < NBANDS ? band_lo[b + 1] : 1.0));
        json_array_append_new(bands, bo);
      }
      json_object_set_new(o, "playbook", json_string(g->playbook));
      json_object_set_new(o, "action", json_string(g->action));
      json_object_set_new(o, "threshold", thr >= 0 ? json_real(thr) : json_null());
      json_object_set_new(o, "calibrated", json_boolean(cal >= 0));
      json_object_set_new(o, "bands", bands);
      json_array_append_new(out, o);
      continue;
    }
    const Counts *k = &g->all;
    printf("%s%s / %s: %lld calls, %lld routed to people (%.1f%%), %lld ran unattended (auto %lld, review %lld, "
           "deny %lld); %lld open, %lld expired; threshold ",
           i ? "\n" : "", g->playbook, g->action, (long long)k->calls, (long long)k->routed,
           100 * ratio(k->routed, k->calls), (long long)(k->unattended[0] + k->unattended[1] + k->unattended[2]),
           (long long)k->unattended[0], (long long)k->unattended[1], (long long)k->unattended[2],
           (long long)k->v[V_OPEN], (long long)k->v[V_EXPIRED]);
    if (thr < 0) puts("unknown");
    else printf("%.4g%s\n", thr, cal >= 0 ? " (calibrated)" : "");
    printf("  %-14s %8s %7s %7s %8s %8s %7s %7s\n", "confidence", "calls", "routed", "share", "decided", "approve",
           "modify", "reject");
    for (int b = 0; b < NBANDS; b++) {
      char name[24];
      band_name(b, name);
      printf("  %-14s ", name);
      put_rates(&g->band[b]);
    }
    printf("  %-14s ", "all");
    put_rates(k);
  }
  if (out) {
    char *s = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (s) puts(s);
    free(s);
    json_decref(out);
  }
  st_thresholds_free(th, nth);
  learn_free(&l);
  return EXIT_COMPLETED;
}

/* ---- calibrate ------------------------------------------------------------- */

static int cmp_sample(const void *a, const void *b) {
  double x = ((const Sample *)a)->c, y = ((const Sample *)b)->c;
  return (x > y) - (x < y);
}

typedef struct Proposal {
  int64_t samples, approved;
  int64_t above, above_approved;          /* at and above the proposal */
  double proposed;                        /* -1: none */
  const char *why;                        /* when none */
} Proposal;

/* The lowest observed confidence t with >= min decisions at or above it, of
 * which at least `target` were approved. */
static Proposal propose(Group *g, double target, int64_t min) {
  Proposal p = {(int64_t)g->ns, 0, 0, 0, -1, NULL};
  for (size_t i = 0; i < g->ns; i++) p.approved += g->s[i].approved;
  if ((int64_t)g->ns < min) {
    p.why = "not enough samples";
    return p;
  }
  qsort(g->s, g->ns, sizeof *g->s, cmp_sample);
  int64_t above = (int64_t)g->ns, ok = p.approved;
  for (size_t i = 0; i < g->ns && above >= min; i++) {
    if (i == 0 || g->s[i].c != g->s[i - 1].c) {
      /* every decision from i on has confidence >= s[i].c */
      if ((double)ok >= target * (double)above) {
        p.proposed = g->s[i].c;
        p.above = above;
        p.above_approved = ok;
        return p;
      }
    }
    above--;
    ok -= g->s[i].approved;
  }
  p.why = "target not reached";
  return p;
}

static bool parse_unit(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v > 0.0 && v <= 1.0)) return false;
  *out = v;
  return true;
}

int cmd_calibrate(Cli *c) {
  const Options *o = c->o;
  double target = 0.99;
  int64_t min = 50;
  if (o->target && !parse_unit(o->target, &target))
    return bad_input("--target needs a number in (0, 1], found '%s'", o->target);
  if (o->min_samples) {
    char *end;
    errno = 0;
    long long v = strtoll(o->min_samples, &end, 10);
    if (errno || end == o->min_samples || *end || v < 1)
      return bad_input("--min-samples needs a positive integer, found '%s'", o->min_samples);
    min = v;
  }
  Learn l = {0};
  StThreshold *th = NULL;
  size_t nth = 0;
  int status = gather(c, &l, true);
  if (status == EXIT_COMPLETED && st_list_thresholds(c->st, NULL, &th, &nth) != ST_OK)
    status = store_error(c, "reading the calibrated thresholds");
  Proposal *p = l.n ? calloc(l.n, sizeof *p) : NULL;
  if (status == EXIT_COMPLETED && l.n && !p) status = bad_input("out of memory");
  for (size_t i = 0; status == EXIT_COMPLETED && i < l.n; i++) p[i] = propose(&l.g[i], target, min);

  /* --apply: every proposal in one transaction */
  size_t applied = 0;
  if (status == EXIT_COMPLETED && o->apply) {
    int64_t now = (int64_t)time(NULL);
    int rc = st_begin(c->st);
    for (size_t i = 0; rc == ST_OK && i < l.n; i++) {
      if (p[i].proposed < 0) continue;
      StThreshold t = {l.g[i].playbook, l.g[i].action, p[i].proposed, target, p[i].samples, now};
      rc = st_put_threshold(c->st, &t);
      applied += rc == ST_OK;
    }
    if (rc == ST_OK) rc = st_commit(c->st);
    if (rc != ST_OK) {
      st_rollback(c->st);
      status = store_error(c, "recording the thresholds");
    }
  }
  if (status != EXIT_COMPLETED) {
    free(p);
    st_thresholds_free(th, nth);
    learn_free(&l);
    return status;
  }

  json_t *out = o->json ? json_array() : NULL;
  if (!o->json) {
    printf("target %.4g approved among the calls at or above the threshold, at least %lld decisions\n", target,
           (long long)min);
    if (l.n == 0) puts("no routed decisions in the store");
  }
  for (size_t i = 0; i < l.n; i++) {
    Group *g = &l.g[i];
    double cal = calibrated(th, nth, g->playbook, g->action);
    double cur = cal >= 0 ? cal : g->last_threshold;
    if (o->json) {
      json_t *j = json_pack("{ss ss sI sI so so so}", "playbook", g->playbook, "action", g->action, "samples",
                            (json_int_t)p[i].samples, "approved", (json_int_t)p[i].approved, "current",
                            cur >= 0 ? json_real(cur) : json_null(), "proposed",
                            p[i].proposed >= 0 ? json_real(p[i].proposed) : json_null(), "applied",
                            json_boolean(o->apply && p[i].proposed >= 0));
      if (p[i].proposed >= 0) {
        json_object_set_new(j, "above", json_integer(p[i].above));
        json_object_set_new(j, "approved_share", json_real(ratio(p[i].above_approved, p[i].above)));
      } else {
        json_object_set_new(j, "reason", json_string(p[i].why));
      }
      json_array_append_new(out, j);
      continue;
    }
    printf("%s / %s: %lld decisions (%lld approved), current threshold ", g->playbook, g->action,
           (long long)p[i].samples, (long long)p[i].approved);
    if (cur >= 0) printf("%.4g%s", cur, cal >= 0 ? " (calibrated)" : "");
    else fputs("unknown", stdout);
    if (p[i].proposed >= 0)
      printf(", proposed %.4g (%lld decisions at or above it, %.1f%% approved)%s\n", p[i].proposed,
             (long long)p[i].above, 100 * ratio(p[i].above_approved, p[i].above), o->apply ? ", applied" : "");
    else
      printf(", proposed: %s\n", p[i].why);
  }
  if (out) {
    char *s = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (s) puts(s);
    free(s);
    json_decref(out);
  } else if (o->apply) {
    printf("%zu threshold%s recorded in the store\n", applied, applied == 1 ? "" : "s");
  }
  free(p);
  st_thresholds_free(th, nth);
  learn_free(&l);
  return EXIT_COMPLETED;
}

/* ---- export ----------------------------------------------------------------- */

/* JSON lines, one per decision (routed items, by id) and then one per call
 * that ran or was denied without a person (action events with route auto,
 * review or deny, in log order).  Values the VM wrote (args, risk, rule,
 * because, edits) are copied as text, never re-encoded, so a float reads as
 * in the log. */

/* The shortest %g form that reads back as v (as the VM writes floats). */
static void put_num(double v) {
  char buf[40];
  if (v < 0) {
    fputs("null", stdout);
    return;
  }
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  fputs(buf, stdout);
  if (!strpbrk(buf, ".eEn")) fputs(".0", stdout);   /* a float stays a float */
}

static void put_str(const char *key, const char *v) {
  printf(",\"%s\":", key);
  if (!v) {
    fputs("null", stdout);
    return;
  }
  char *q = rt_json_quote(v);
  fputs(q ? q : "null", stdout);
  free(q);
}

static void put_raw(const char *key, const char *json) { printf(",\"%s\":%s", key, json ? json : "null"); }

static void put_time(const char *key, int64_t t) {
  char iso[32];
  if (t < 0) {
    put_raw(key, NULL);
    return;
  }
  rt_iso_time(t, iso);
  printf(",\"%s\":\"%s\"", key, iso);
}

static bool export_decision(void *user, const StDecision *d) {
  (void)user;
  char *inst = rt_json_quote(d->instance);
  printf("{\"instance\":%s", inst ? inst : "null");
  free(inst);
  put_str("playbook", d->playbook);
  printf(",\"item\":%lld", (long long)d->item);
  put_str("action", d->action);
  put_raw("args", d->args);
  fputs(",\"confidence\":", stdout);
  put_num(d->confidence);
  fputs(",\"threshold\":", stdout);
  put_num(d->threshold);
  put_raw("risk", d->risk);
  put_str("route", "approve");
  put_raw("rule", d->rule);
  put_raw("because", d->because);
  put_str("status", d->status);
  put_str("verdict", d->verdict);
  put_str("reviewer", d->reviewer);
  put_str("reason", d->reason);
  put_raw("edits", d->edits);
  put_time("created", d->created);
  put_time("at", d->at);
  fputs("}\n", stdout);
  return !ferror(stdout);
}

static bool export_call(void *user, const StActionCall *a) {
  (void)user;
  if (strcmp(a->route, "approve") == 0) return true;   /* exported with its item */
  char *inst = rt_json_quote(a->instance);
  printf("{\"instance\":%s", inst ? inst : "null");
  free(inst);
  put_str("playbook", a->playbook);
  put_raw("item", NULL);
  put_str("action", a->action);
  put_raw("args", a->args);
  fputs(",\"confidence\":", stdout);
  put_num(a->confidence);
  put_raw("threshold", NULL);
  put_raw("risk", NULL);
  put_str("route", a->route);
  printf(",\"rule\":{\"line\":%s,\"text\":null}", a->rule ? a->rule : "null");
  put_raw("because", a->because);
  put_str("status", a->failed ? "failed" : "ran");
  put_raw("verdict", NULL);
  put_raw("reviewer", NULL);
  put_raw("reason", NULL);
  put_raw("edits", NULL);
  put_time("created", a->at);
  put_time("at", a->at);
  fputs("}\n", stdout);
  return !ferror(stdout);
}

int cmd_export(Cli *c) {
  int rc = st_each_decision(c->st, export_decision, NULL);
  if (rc == ST_OK) rc = st_each_action_call(c->st, export_call, NULL);
  if (rc != ST_OK) return store_error(c, "exporting the decisions");
  return EXIT_COMPLETED;
}
