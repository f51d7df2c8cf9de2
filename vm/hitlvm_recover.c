/* vm/hitlvm_recover.c — instances whose process died (docs/hitlvm.md,
 * "Crashes and recovery"): found `running` under an owner on this host whose
 * pid no longer exists, claimed, restored from their last stop (or started
 * again), given again a verdict that was claimed but not yet applied, and run
 * on with the journal replaying the calls already made. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hitlvm.h"
#include "mem.h"

/* ---- recovery ------------------------------------------------------------------- */

/* "host:pid" of a process on this host that no longer exists.  (A process
 * on another host is never judged: it may be alive.) */
bool owner_is_dead(const Cli *c, const char *owner) {
  const char *colon = owner ? strrchr(owner, ':') : NULL;
  if (!colon || (size_t)(colon - owner) != strlen(c->host) || strncmp(owner, c->host, strlen(c->host)) != 0)
    return false;
  char *end;
  long pid = strtol(colon + 1, &end, 10);
  if (*end || pid <= 0 || pid == (long)getpid()) return false;
  return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

int instance_items(Cli *c, const char *instance, const char *status, StItem **out, size_t *n) {
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
static char *stored_verdict(Cli *c, int64_t item) {
  StVerdict *v = NULL;
  size_t n = 0;
  if (st_list_verdicts(c->st, item, &v, &n) != ST_OK || n == 0) {
    if (v) st_verdicts_free(v, n);
    return NULL;
  }
  char *j = votes_verdict_json(v, n);
  st_verdicts_free(v, n);
  return j;
}

/* Take over an orphaned instance: restore its last stop (or start it again
 * if it never stopped), give it again the verdict it was resumed with if its
 * item is decided, and run on; the journal replays the calls it had made,
 * and an irreversible call without an outcome stops it in doubt. */
void recover_instance(Cli *c, const char *id) {
  StInstance in;
  if (st_get_instance(c->st, id, &in) != ST_OK) return;
  if (strcmp(in.status, "running") != 0 || !owner_is_dead(c, in.owner)) {
    st_instance_free(&in);
    return;
  }
  char dead[320];
  snprintf(dead, sizeof dead, "%s", in.owner);
  /* claim it: only one recovering process wins */
  int rc = st_begin(c->st);
  bool claimed = false;
  if (rc == ST_OK) {
    StInstance now;
    if (st_get_instance(c->st, id, &now) == ST_OK) {
      if (strcmp(now.status, "running") == 0 && now.owner && strcmp(now.owner, dead) == 0) {
        StInstance up = now;
        up.owner = c->owner;
        up.updated = (int64_t)time(NULL);
        claimed = st_update_instance(c->st, &up) == ST_OK;
      }
      st_instance_free(&now);
    }
    if (claimed) claimed = st_commit(c->st) == ST_OK;
    if (!claimed) st_rollback(c->st);
  }
  if (!claimed) {
    st_instance_free(&in);
    return;
  }
  Run r;
  uint8_t *snap = NULL;
  size_t len = 0;
  int got = st_load_snapshot(c->st, id, &snap, &len);
  mem_free(snap, len);
  int ok = got == ST_OK ? run_restore(c, &in, &r, true) : run_fresh(c, &in, &r);
  char fields[400];
  snprintf(fields, sizeof fields, "{\"recovered\":true,\"owner\":\"%s\",\"from\":\"%s\"}", dead,
           got == ST_OK ? "snapshot" : "start");
  if (ok == EXIT_COMPLETED && got == ST_OK) {
    /* the item the snapshot waits on: decided (or expired) = apply its verdict again */
    StItem *items = NULL;
    size_t n = 0;
    ok = EXIT_USAGE;
    if (instance_items(c, id, NULL, &items, &n) == ST_OK && n > 0 &&
        strcmp(items[n - 1].status, "open") != 0) {
      char *vj = stored_verdict(c, items[n - 1].id), err[512] = "no verdict stored";
      run_event(&r, "resumed", fields);
      r.verdict_item = items[n - 1].id;
      if (vj && vm_resume(r.vm, vj, err, sizeof err)) ok = EXIT_COMPLETED;
      else bad_input("instance %s: its verdict cannot be applied again: %s", id, err);
      free(vj);
    } else {
      bad_input("instance %s: running, but its last item is still open", id);
    }
    if (items) st_items_free(items, n);
  } else if (ok == EXIT_COMPLETED) {
    run_event(&r, "resumed", fields);
  }
  if (ok == EXIT_COMPLETED) {
    run_on(&r);
    StInstance after;
    if (st_get_instance(c->st, id, &after) == ST_OK) {
      fprintf(stderr, "hitlvm: recovered instance %s (its process %s had died): %s\n", id, dead, after.status);
      st_instance_free(&after);
    }
  } else {
    fprintf(stderr, "hitlvm: instance %s (its process %s had died) could not be recovered\n", id, dead);
  }
  run_free(&r);
  st_instance_free(&in);
}

void recover_all(Cli *c) {
  StInstance *v = NULL;
  size_t n = 0;
  if (st_list_instances(c->st, "running", &v, &n) != ST_OK) return;
  for (size_t i = 0; i < n; i++)
    if (owner_is_dead(c, v[i].owner)) recover_instance(c, v[i].id);
  st_instances_free(v, n);
}
