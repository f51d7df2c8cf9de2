/* vm/rt_recover.c — instances whose process died (docs/hitlvm.md, "Crashes
 * and recovery"): found `running` under an owner on this host whose pid no
 * longer exists, claimed, restored from their last stop (or started again),
 * given again a verdict that was claimed but not yet applied, and run on with
 * the journal replaying the calls already made.  What happened is told
 * through the context's notes; recovery never refuses the command that
 * looked. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <jansson.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "rt.h"

/* "host:pid" of a process on this host that no longer exists.  (A process
 * on another host is never judged: it may be alive.) */
bool rt_owner_is_dead(const RtCtx *c, const char *owner) {
  const char *colon = owner ? strrchr(owner, ':') : NULL;
  if (!colon || !c->host || (size_t)(colon - owner) != strlen(c->host) ||
      strncmp(owner, c->host, strlen(c->host)) != 0)
    return false;
  char *end;
  long pid = strtol(colon + 1, &end, 10);
  if (*end || pid <= 0 || pid == (long)getpid()) return false;
  return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

int rt_instance_items(RtCtx *c, const char *instance, const char *status, StItem **out, size_t *n) {
  if (status && strcmp(status, "open") == 0) return st_list_open_items_of(c->st, instance, out, n);
  int rc = st_list_items(c->st, status, NULL, out, n);
  if (rc != ST_OK) {
    *out = NULL;
    *n = 0;
    return rc;
  }
  size_t k = 0;
  for (size_t i = 0; i < *n; i++) {
    if (strcmp((*out)[i].instance, instance) == 0) (*out)[k++] = (*out)[i];
    else st_item_free(&(*out)[i]);
  }
  *n = k;
  return ST_OK;
}

/* The verdict of a decided item, as vm_resume takes it (malloc'd). */
static char *stored_verdict(RtCtx *c, int64_t item) {
  StVerdict *v = NULL;
  size_t n = 0;
  if (st_list_verdicts(c->st, item, &v, &n) != ST_OK || n == 0) {
    if (v) st_verdicts_free(v, n);
    return NULL;
  }
  char *j = rt_votes_verdict_json(v, n);
  st_verdicts_free(v, n);
  return j;
}

/* Claim the instance from its dead owner: of several recovering processes
 * exactly one wins. */
static bool claim(RtCtx *c, const char *id, const char *dead) {
  if (st_begin(c->st) != ST_OK) return false;
  bool claimed = false;
  StInstance now;
  if (st_get_instance(c->st, id, &now) == ST_OK) {
    if (strcmp(now.status, "running") == 0 && now.owner && strcmp(now.owner, dead) == 0) {
      StInstance up = now;
      up.owner = (char *)c->owner;
      up.updated = (int64_t)time(NULL);
      claimed = st_update_instance(c->st, &up) == ST_OK;
    }
    st_instance_free(&now);
  }
  if (claimed) claimed = st_commit(c->st) == ST_OK;
  if (!claimed) st_rollback(c->st);
  return claimed;
}

/* The item a running instance's last segment applied: the item of the last
 * `verdict` event (the claim logs it; the stop that follows logs more), or
 * 0 when there is none. */
static int64_t verdict_in_flight(RtCtx *c, const char *id) {
  StEvent *ev = NULL;
  size_t n = 0;
  int64_t item = 0;
  if (st_list_events(c->st, id, &ev, &n) != ST_OK) return 0;
  for (size_t i = n; i > 0 && !item; i--) {
    if (strcmp(ev[i - 1].kind, "verdict") != 0) continue;
    json_t *f = json_loads(ev[i - 1].fields, 0, NULL);
    json_t *it = json_object_get(f, "item");
    item = json_is_integer(it) ? json_integer_value(it) : -1;
    json_decref(f);
  }
  if (ev) st_events_free(ev, n);
  return item > 0 ? item : 0;
}

/* A restored instance whose last claimed item is decided (or expired): its
 * verdict again.  *review tells whether it is a review item (applied with
 * rt_segment_review) or an approval (vm_resume here, then the run goes on).
 * RT_COMPLETED, or RT_USAGE with the reason. */
static int apply_verdict_again(RtCtx *c, RtRun *r, const char *id, const char *fields, bool *review,
                               int64_t *item, char **vj) {
  StItem it = {0};
  int ok = RT_USAGE;
  *item = verdict_in_flight(c, id);
  if (*item && st_get_item(c->st, *item, &it) == ST_OK && strcmp(it.instance, id) == 0 &&
      strcmp(it.status, "open") != 0) {
    char err[512] = "no verdict stored";
    *vj = stored_verdict(c, *item);
    *review = strcmp(it.kind, "review") == 0;
    rt_run_event(r, "resumed", fields);
    r->verdict_item = *item;
    if (*vj && (*review ? vm_review_has(r->vm, *item) : vm_resume(r->vm, *vj, err, sizeof err))) ok = RT_COMPLETED;
    else rt_fail(c, "store", "instance %s: its verdict cannot be applied again: %s", id,
                 *review ? "its snapshot has no such review" : err);
  } else {
    rt_fail(c, "store", "instance %s: running, but no decided item it was resumed with", id);
  }
  st_item_free(&it);
  return ok;
}

/* Take over an orphaned instance: restore its last stop (or start it again
 * if it never stopped), give it again the verdict it was resumed with if its
 * item is decided, and run on; the journal replays the calls it had made,
 * and an irreversible call without an outcome stops it in doubt. */
void rt_recover_instance(RtCtx *c, const char *id) {
  StInstance in;
  if (st_get_instance(c->st, id, &in) != ST_OK) return;
  char *dead = strcmp(in.status, "running") == 0 && rt_owner_is_dead(c, in.owner) ? rt_strdup(in.owner) : NULL;
  if (!dead || !claim(c, id, dead)) {
    mem_free(dead, 0);
    st_instance_free(&in);
    return;
  }
  RtRun r;
  uint8_t *snap = NULL;
  size_t len = 0;
  int got = st_load_snapshot(c->st, id, &snap, &len);
  mem_free(snap, len);
  int ok = got == ST_OK ? rt_run_restore(c, &in, &r, true) : rt_run_fresh(c, &in, &r);
  char *owner = rt_json_quote(dead);
  char *fields = owner ? rt_printf("{\"recovered\":true,\"owner\":%s,\"from\":\"%s\"}", owner,
                                   got == ST_OK ? "snapshot" : "start")
                       : NULL;
  free(owner);
  if (ok == RT_COMPLETED && !fields) ok = rt_oom(c);
  bool review = false;
  int64_t item = 0;
  char *vj = NULL;
  if (ok == RT_COMPLETED && got == ST_OK) ok = apply_verdict_again(c, &r, id, fields, &review, &item, &vj);
  else if (ok == RT_COMPLETED) rt_run_event(&r, "resumed", fields);
  if (ok == RT_COMPLETED) {
    int cls = review ? rt_segment_review(&r, item, vj) : rt_segment_run(&r);
    if (cls == RT_USAGE) rt_fail_to_note(c);
    StInstance after;
    if (st_get_instance(c->st, id, &after) == ST_OK) {
      rt_note(c, "recovered instance %s (its process %s had died): %s", id, dead, after.status);
      st_instance_free(&after);
    }
  } else {
    rt_fail_to_note(c);
    rt_note(c, "instance %s (its process %s had died) could not be recovered", id, dead);
  }
  free(vj);
  mem_free(fields, 0);
  mem_free(dead, 0);
  rt_run_free(&r);
  st_instance_free(&in);
}

void rt_recover_all(RtCtx *c) {
  StInstance *v = NULL;
  size_t n = 0;
  if (st_list_instances(c->st, "running", &v, &n) != ST_OK) return;
  for (size_t i = 0; i < n; i++)
    if (rt_owner_is_dead(c, v[i].owner)) rt_recover_instance(c, v[i].id);
  st_instances_free(v, n);
}
