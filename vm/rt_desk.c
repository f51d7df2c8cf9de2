/* vm/rt_desk.c — the reviewers' desk over the store (vm/rt.h; TOOLS.md §2):
 * who may decide an item, the checks of a verdict, deciding (claim +
 * verdict + run on), expire, and the reads (pending, show, instances, log).
 *
 * A verdict is checked in full before anything is written — the item is
 * open, the verdict allowed, the digest matches, the decider is not the
 * starter, and vm_resume accepts the edits on the restored VM — then the item
 * is claimed in one transaction (st_close_item + the verdict + its event), so
 * of two racing deciders exactly one wins, and the instance runs on. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "mem.h"
#include "rt.h"

/* ---- the store and the reviewer registry ------------------------------------------- */

int rt_store_open(RtCtx *c, const char *given, Store **st, const char **path_out) {
  const char *path = given;
  *st = NULL;
  if (!path) path = getenv("HITL_STORE");
  if (path && !path[0]) path = NULL;
  if (!path) {
    /* the default: ./.hitl/store.db, the folder private to its user */
    if (mkdir(".hitl", 0700) != 0 && errno != EEXIST)
      return rt_fail(c, "store", "cannot create the store's folder ./.hitl: %s", strerror(errno));
    path = ".hitl/store.db";
  }
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
    return rt_fail(c, "store", "the store '%s' is a directory, not a store file", path);
  char err[512];
  if (st_open(path, st, err, sizeof err) != ST_OK) {
    *st = NULL;
    return rt_fail(c, "store", "cannot open the store '%s': %s", path, err);
  }
  *path_out = path;
  return RT_COMPLETED;
}

bool rt_good_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 128 || strcmp(s, "timeout") == 0) return false;
  for (const char *p = s; *p; p++)
    if ((unsigned char)*p < 0x21 || *p == 0x7f) return false;
  return true;
}

int rt_reviewers_add(RtCtx *c, const char *name, const char *const *groups, size_t ngroups, const char *key) {
  if (!rt_good_name(name))
    return rt_fail(c, "input", "'%s' is not a reviewer name (printable, no spaces, not 'timeout')", name);
  for (size_t i = 0; i < ngroups; i++)
    if (!rt_good_name(groups[i])) return rt_fail(c, "input", "'%s' is not a group name", groups[i]);
  int rc = st_begin(c->st);
  if (rc == ST_OK) rc = st_add_reviewer(c->st, name, key, (int64_t)time(NULL));
  for (size_t i = 0; rc == ST_OK && i < ngroups; i++) rc = st_add_membership(c->st, name, groups[i]);
  if (rc == ST_OK) rc = st_commit(c->st);
  if (rc != ST_OK) {
    st_rollback(c->st);
    return rt_store_fail(c, "adding the reviewer");
  }
  return RT_COMPLETED;
}

/* ---- items and who may decide them ----------------------------------------------- */

int rt_item_get(RtCtx *c, int64_t id, const char *as_given, StItem *it) {
  int rc = st_get_item(c->st, id, it);
  if (rc == ST_NOTFOUND) {
    if (as_given) return rt_fail(c, "usage", "unknown item %s", as_given);
    return rt_fail(c, "usage", "unknown item %lld", (long long)id);
  }
  if (rc != ST_OK) return rt_store_fail(c, "reading the item");
  /* read again only if recovery ran: it may have decided or closed the item */
  if (!rt_recover_instance(c, it->instance)) return RT_COMPLETED;
  st_item_free(it);
  if (st_get_item(c->st, id, it) != ST_OK) return rt_store_fail(c, "reading the item");
  return RT_COMPLETED;
}

char *rt_may_not_decide(RtCtx *c, const StItem *it, const char *name) {
  StInstance in;
  if (st_get_instance(c->st, it->instance, &in) != ST_OK) return rt_printf("cannot read instance %s", it->instance);
  bool starter = strcmp(in.starter, name) == 0;
  st_instance_free(&in);
  /* separation of duties: the starter is the requester its `started` event records */
  if (starter) return rt_printf("%s started instance %s (its requester) and may not decide its items", name, it->instance);
  if (it->by) {
    int rc = st_is_member(c->st, name, it->by);
    if (rc == ST_NOTFOUND)
      return rt_printf("%s is not a member of group %s, which decides item %lld", name, it->by, (long long)it->id);
    if (rc != ST_OK) return rt_printf("cannot read the reviewer registry: %s", st_errmsg(c->st));
  }
  /* votes: only a quorum item takes more than one verdict (the store's
   * unique (item, reviewer) refuses a second vote in any case) */
  if (it->quorum <= 1) return NULL;
  StVerdict *v = NULL;
  size_t n = 0;
  if (st_list_verdicts(c->st, it->id, &v, &n) != ST_OK) return rt_printf("cannot read the votes: %s", st_errmsg(c->st));
  char *why = NULL;
  for (size_t i = 0; i < n && !why; i++)
    if (strcmp(v[i].reviewer, name) == 0)
      why = rt_printf("%s already voted on item %lld (%s)", name, (long long)it->id, v[i].verdict);
  if (v) st_verdicts_free(v, n);
  return why;
}

/* The verdicts an item of that kind takes. */
static bool allowed(const char *kind, const char *verdict) {
  static const char *const approval[] = {"approve", "modify", "reject"}, *const review[] = {"pass", "flag"};
  bool appr = strcmp(kind, "approval") == 0;
  for (size_t i = 0; i < (appr ? 3u : 2u); i++)
    if (strcmp(verdict, appr ? approval[i] : review[i]) == 0) return true;
  return false;
}

int rt_check_verdict(RtCtx *c, const StItem *it, const char *verdict, bool has_edits, const char *digest,
                     const char *who) {
  const char *set_one = c->words.set_one ? c->words.set_one : "edit";
  const char *set = c->words.set ? c->words.set : "edits";
  if (strcmp(it->status, "open") != 0)
    return rt_fail(c, "verdict", "item %lld already %s", (long long)it->id,
                   strcmp(it->status, "cancelled") == 0 ? "cancelled" : "decided");
  bool review = strcmp(it->kind, "review") == 0;
  if (!allowed(it->kind, verdict))
    return rt_fail(c, "verdict", review ? "'%s' is not a verdict for a review item: pass or flag"
                                        : "'%s' is not a verdict for an approval item: approve, modify or reject",
                   verdict);
  if (strcmp(verdict, "modify") == 0 && !has_edits)
    return rt_fail(c, "verdict", "modify needs at least one %s (editable here: %s)", set_one, it->editable);
  if (strcmp(verdict, "modify") != 0 && has_edits)
    return rt_fail(c, "verdict", "%s goes with modify only, not %s", set, verdict);
  if (it->quorum > 1 && strcmp(verdict, "approve") != 0 && strcmp(verdict, "reject") != 0)
    return rt_fail(c, "verdict", "item %lld needs a quorum of %lld: only approve or reject", (long long)it->id,
                   (long long)it->quorum);
  if (digest && (!it->digest || strcasecmp(digest, it->digest) != 0))
    return rt_fail(c, "verdict", "digest mismatch: item %lld is not what was seen (its digest is %s)",
                   (long long)it->id, it->digest ? it->digest : "not set");
  if (strcmp(who, "timeout") == 0)
    return rt_fail(c, "verdict", "'timeout' is the name expire decides in, not a reviewer's");
  char *why = rt_may_not_decide(c, it, who);
  if (!why) return RT_COMPLETED;
  rt_fail(c, "verdict", "%s", why);
  mem_free(why, 0);
  return RT_USAGE;
}

int rt_signature_required(RtCtx *c, const StItem *it, bool *required) {
  *required = false;
  if (it->by && st_group_signed(c->st, it->by, required) != ST_OK) {
    return rt_fail(c, "store", "cannot read group %s: %s", it->by, st_errmsg(c->st));
  }
  return RT_COMPLETED;
}

/* ---- verdicts as the VM and the log take them ---------------------------------------- */

/* The verdict object of vm_resume with a JSON list of reviewers (malloc'd). */
static char *verdict_json_of(const char *kind, const char *reviewers, const char *reason, const char *edits,
                             int64_t at) {
  char iso[32];
  rt_iso_time(at, iso);
  char *k = rt_json_quote(kind), *why = reason ? rt_json_quote(reason) : NULL;
  size_t n = (k ? strlen(k) : 0) + strlen(reviewers) + (why ? strlen(why) : 0) + (edits ? strlen(edits) : 0) + 128;
  char *j = k && (why || !reason) ? malloc(n) : NULL;
  if (j)
    snprintf(j, n, "{\"kind\":%s,\"reviewers\":%s,\"reason\":%s,\"edits\":%s,\"at\":\"%s\"}", k, reviewers,
             why ? why : "null", edits ? edits : "{}", iso);
  free(k);
  free(why);
  return j;
}

char *rt_votes_verdict_json(const StVerdict *v, size_t n) {
  if (n == 0) return NULL;
  const StVerdict *last = &v[n - 1];
  bool all = strcmp(last->verdict, "approve") == 0 && strcmp(last->reviewer, "timeout") != 0;
  RtBuf list = {0};
  rt_buf_add(&list, "[");
  bool first = true;
  for (size_t i = 0; i < n; i++) {
    if (all ? strcmp(v[i].verdict, "approve") != 0 : i != n - 1) continue;
    char *q = rt_json_quote(v[i].reviewer);
    if (!q) {
      rt_buf_free(&list);
      return NULL;
    }
    rt_buf_add(&list, first ? "" : ",");
    rt_buf_add(&list, q);
    first = false;
    free(q);
  }
  rt_buf_add(&list, "]");
  char *l = rt_buf_take(&list);
  char *j = l ? verdict_json_of(last->verdict, l, last->reason, last->edits, last->at) : NULL;
  mem_free(l, 0);
  return j;
}

/* The verdict event's fields (mem_alloc'd); approvals >= 0 for a quorum item. */
static char *verdict_event(int64_t item, const char *verdict, const char *reviewer, const char *reason,
                           const char *edits, int64_t approvals, int64_t quorum) {
  char *v = rt_json_quote(verdict), *r = rt_json_quote(reviewer), *why = reason ? rt_json_quote(reason) : NULL;
  char *j = NULL;
  if (v && r && (why || !reason)) {
    RtBuf b = {0};
    rt_buf_printf(&b, "{\"item\":%lld,\"verdict\":%s,\"reviewer\":%s,\"reason\":%s,\"edits\":%s", (long long)item,
                  v, r, why ? why : "null", edits ? edits : "null");
    if (approvals >= 0)
      rt_buf_printf(&b, ",\"approvals\":%lld,\"quorum\":%lld", (long long)approvals, (long long)quorum);
    rt_buf_add(&b, "}");
    j = rt_buf_take(&b);
  }
  free(v);
  free(r);
  free(why);
  return j;
}

/* ---- deciding ----------------------------------------------------------------------- */

/* Give an open item a verdict.  A person's vote on a quorum item (quorum
 * above 1, item_status "decided") is stored as a verdict row with the item
 * still open; the vote that reaches the quorum, or a rejection, decides.
 * Everything from reading the item's votes to claiming it is one
 * BEGIN IMMEDIATE transaction, so of concurrent voters exactly one is the
 * deciding one, and a refused vote changes nothing. */
int rt_decide(RtCtx *c, const StItem *it, const char *verdict, const char *reviewer, const char *reason,
              const char *edits, const char *sig, const char *item_status, int64_t at, bool quiet,
              RtDecided *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->instance, sizeof out->instance, "%s", it->instance);
  out->quorum = it->quorum;
  StInstance in = {0};
  int status = RT_USAGE;
  char *vj = NULL, *ev = NULL, err[1024];
  StVerdict *votes = NULL;
  size_t nvotes = 0;
  StItem now = {0};
  RtRun r = {0};
  bool review = strcmp(it->kind, "review") == 0;
  bool vote = !review && it->quorum > 1 && strcmp(item_status, "decided") == 0, open_txn = false;
  /* the write lock first: the instance, its snapshot and the item are read
   * as the claim will find them, in one transaction */
  int rc = st_begin(c->st);
  if (rc != ST_OK) {
    rt_store_fail(c, "cannot claim the item");
    goto done;
  }
  open_txn = true;
  if (st_get_instance(c->st, it->instance, &in) != ST_OK) {
    rt_store_fail(c, "reading the item's instance");
    goto done;
  }
  if (strcmp(in.status, "suspended") != 0 && st_get_item(c->st, it->id, &now) == ST_OK &&
      strcmp(now.status, "open") != 0) {
    /* a racing decider claimed it (and set the instance running) since we read it */
    rt_fail(c, "verdict", "item %lld already decided", (long long)it->id);
    goto done;
  }
  st_item_free(&now);
  memset(&now, 0, sizeof now);
  if (review && strcmp(in.status, "running") == 0) {
    /* its snapshot is behind the body running elsewhere */
    rt_fail(c, "verdict", "instance %s is running (process %s); its review can be decided when it stops", in.id,
            in.owner ? in.owner : "?");
    goto done;
  }
  if (!review && strcmp(in.status, "suspended") != 0) {
    rt_fail(c, "verdict", "instance %s is %s, not waiting for a verdict", in.id, in.status);
    goto done;
  }
  if (rt_run_restore_at(c, &in, &r, quiet, it) != RT_COMPLETED) goto done;
  if (review && !vm_review_has(r.vm, it->id)) {
    rt_fail(c, "store", "store %s: instance %s's snapshot has no open review item %lld", c->store_path, in.id,
            (long long)it->id);
    goto done;
  }
  /* the item and its votes as they are now */
  if ((rc = st_get_item(c->st, it->id, &now)) != ST_OK) {
    rt_store_fail(c, "reading the item");
    goto done;
  }
  if (strcmp(now.status, "open") != 0) {
    rt_fail(c, "verdict", "item %lld already decided", (long long)it->id);
    goto done;
  }
  StVerdict v = {0, it->id, it->instance, (char *)verdict, (char *)reviewer, (char *)reason, (char *)edits, at,
                 (char *)sig};
  rc = st_insert_verdict(c->st, &v);
  if (rc == ST_CONFLICT) {
    rt_fail(c, "verdict", "%s already voted on item %lld", reviewer, (long long)it->id);
    goto done;
  }
  /* a quorum's votes so far; an item of quorum 1 is decided by this verdict alone */
  if (rc == ST_OK && it->quorum > 1) rc = st_list_verdicts(c->st, it->id, &votes, &nvotes);
  if (rc != ST_OK) {
    rt_store_fail(c, "cannot record the verdict");
    goto done;
  }
  const StVerdict *vs = it->quorum > 1 ? votes : &v;
  size_t nv = it->quorum > 1 ? nvotes : 1;
  int approvals = rt_count_approvals(vs, nv);
  bool deciding = !vote || strcmp(verdict, "approve") != 0 || approvals >= it->quorum;
  ev = verdict_event(it->id, verdict, reviewer, reason, edits, it->quorum > 1 ? approvals : -1, it->quorum);
  vj = deciding ? rt_votes_verdict_json(vs + (vote ? 0 : nv - 1), vote ? nv : 1) : NULL;
  if (!ev || (deciding && !vj)) {
    rt_oom(c);
    goto done;
  }
  /* the VM checks the edits (names, types) before anything is committed */
  r.verdict_item = it->id;
  if (!review && deciding && !vm_resume(r.vm, vj, err, sizeof err)) {
    rt_fail(c, "verdict", "verdict refused: %s", err);
    goto done;
  }
  rc = st_append_event(c->st, in.id, (int64_t)time(NULL), "verdict", ev);
  if (rc == ST_OK && review) {
    char closed[96];
    snprintf(closed, sizeof closed, "{\"item\":%lld,\"verdict\":\"%s\"}", (long long)it->id,
             strcmp(verdict, "flag") == 0 ? "flag" : "pass");
    rc = st_append_event(c->st, in.id, (int64_t)time(NULL), "review_closed", closed);
  }
  if (rc == ST_OK && deciding) rc = st_close_item(c->st, it->id, item_status);
  if (rc == ST_OK && deciding) {
    StInstance up = in;
    up.status = "running";
    up.owner = (char *)c->owner;
    up.segment = in.segment + 1;
    up.updated = (int64_t)time(NULL);
    rc = st_update_instance(c->st, &up);
  }
  open_txn = false;
  if (rc == ST_OK) rc = st_commit(c->st);
  if (rc != ST_OK) {
    st_rollback(c->st);
    if (rc == ST_CONFLICT) rt_fail(c, "verdict", "item %lld already decided", (long long)it->id);
    else rt_store_fail(c, "cannot claim the item");
    goto done;
  }
  out->approvals = approvals;
  if (!deciding) {   /* a vote short of the quorum: the instance stays suspended */
    out->vote = true;
    status = RT_SUSPENDED;
    goto done;
  }
  char fields[128];
  snprintf(fields, sizeof fields, "{\"item\":%lld,\"segment\":%lld}", (long long)it->id, (long long)in.segment + 1);
  r.segment = in.segment + 1;
  rt_run_event(&r, "resumed", fields);
  status = review ? rt_segment_review(&r, it->id, vj) : rt_segment_run(&r);
done:
  if (open_txn) st_rollback(c->st);
  rt_run_free(&r);
  free(vj);
  mem_free(ev, 0);
  if (votes) st_verdicts_free(votes, nvotes);
  st_item_free(&now);
  st_instance_free(&in);
  return status;
}

/* ---- expire --------------------------------------------------------------------------- */

int rt_expire(RtCtx *c, int64_t now, RtExpiredFn fn, void *user) {
  rt_recover_all(c);
  StItem *v = NULL;
  size_t n = 0;
  if (st_list_items(c->st, "open", NULL, &v, &n) != ST_OK) return rt_store_fail(c, "listing items");
  int status = RT_COMPLETED;
  for (size_t i = 0; i < n; i++) {
    StItem *it = &v[i];
    bool review = strcmp(it->kind, "review") == 0;
    if (it->deadline < 0 || it->deadline > now || (!review && it->timeout_verdict < 0)) continue;
    /* a review window that closes passes the review (LANGUAGE.md §7) */
    const char *verdict = review ? "pass" : it->timeout_verdict ? "reject" : "approve";
    RtDecided d;
    int rs = rt_decide(c, it, verdict, "timeout", it->timeout_reason, NULL, NULL, "expired", now, true, &d);
    if (rs == RT_USAGE) {
      rt_fail_to_note(c);
      status = RT_USAGE;
      continue;
    }
    if (fn) fn(user, it, verdict, rs);
  }
  if (v) st_items_free(v, n);
  return status;
}

/* ---- the desk's reads --------------------------------------------------------------------- */

int rt_pending(RtCtx *c, const char *group, const char *as, StItem **out, size_t *n) {
  rt_recover_all(c);
  *out = NULL;
  *n = 0;
  if (st_list_items(c->st, "open", group, out, n) != ST_OK) return rt_store_fail(c, "listing items");
  if (!as) return RT_COMPLETED;
  /* what AS may decide: not one's own, one's groups', not voted on */
  size_t k = 0;
  for (size_t i = 0; i < *n; i++) {
    char *why = rt_may_not_decide(c, &(*out)[i], as);
    if (why) {
      st_item_free(&(*out)[i]);
      mem_free(why, 0);
    } else {
      (*out)[k++] = (*out)[i];
    }
  }
  *n = k;
  return RT_COMPLETED;
}

int rt_show(RtCtx *c, int64_t id, const char *as_given, StItem *it, StVerdict **votes, size_t *n) {
  *votes = NULL;
  *n = 0;
  int status = rt_item_get(c, id, as_given, it);
  if (status != RT_COMPLETED) return status;
  /* the votes so far (a quorum's partial approvals; the verdict of a decided item) */
  if (st_list_verdicts(c->st, it->id, votes, n) != ST_OK) {
    st_item_free(it);
    return rt_store_fail(c, "reading the votes");
  }
  return RT_COMPLETED;
}

int rt_instances(RtCtx *c, const char *status, StInstance **out, size_t *n) {
  static const char *const states[] = {"running", "suspended", "reviewing", "completed", "failed"};
  *out = NULL;
  *n = 0;
  bool known = !status;
  for (size_t i = 0; i < 5 && !known; i++) known = strcmp(status, states[i]) == 0;
  if (!known)
    return rt_fail(c, "usage", "%s is running, suspended, reviewing, completed or failed, not '%s'",
                   c->words.status ? c->words.status : "status", status);
  rt_recover_all(c);
  if (st_list_instances(c->st, status, out, n) != ST_OK) return rt_store_fail(c, "listing instances");
  return RT_COMPLETED;
}

/* A stored checkpoint or review_opened event is {item, digest} (rt_run.c);
 * the log shows it with its item's payload, as the VM reported it.  Events
 * that carry a payload already (stores before it was left out) stay as they
 * are. */
static int with_payload(RtCtx *c, const char *instance, StEvent *e) {
  if (strcmp(e->kind, "checkpoint") != 0 && strcmp(e->kind, "review_opened") != 0) return RT_COMPLETED;
  json_t *f = json_loads(e->fields, 0, NULL);
  json_t *id = json_object_get(f, "item");
  bool bare = json_is_object(f) && json_is_integer(id) && !json_object_get(f, "payload");
  int64_t item = bare ? json_integer_value(id) : 0;
  json_decref(f);
  if (!bare) return RT_COMPLETED;
  StItem it;
  int rc = st_get_item(c->st, item, &it);
  if (rc == ST_NOTFOUND) return RT_COMPLETED;   /* shown as stored */
  if (rc != ST_OK) return rt_store_fail(c, "reading the log's items");
  size_t len = strlen(e->fields);
  char *shown = NULL;
  bool ours = strcmp(it.instance, instance) == 0 && e->fields[len - 1] == '}';
  if (ours) shown = rt_printf("%.*s,\"payload\":%s}", (int)(len - 1), e->fields, it.payload);
  st_item_free(&it);
  if (!ours) return RT_COMPLETED;
  if (!shown) return rt_oom(c);
  mem_free(e->fields, len + 1);
  e->fields = shown;   /* mem_alloc'd to its length, as the record's strings are */
  return RT_COMPLETED;
}

int rt_log(RtCtx *c, const char *instance, StEvent **out, size_t *n) {
  *out = NULL;
  *n = 0;
  StInstance in;
  int rc = st_get_instance(c->st, instance, &in);
  if (rc == ST_NOTFOUND) return rt_fail(c, "usage", "unknown instance '%s'", instance);
  if (rc != ST_OK) return rt_store_fail(c, "reading the instance");
  st_instance_free(&in);
  rt_recover_instance(c, instance);
  if (st_list_events(c->st, instance, out, n) != ST_OK) return rt_store_fail(c, "reading the log");
  for (size_t i = 0; i < *n; i++) {
    if (with_payload(c, instance, &(*out)[i]) == RT_COMPLETED) continue;
    st_events_free(*out, *n);
    *out = NULL;
    *n = 0;
    return RT_USAGE;
  }
  return RT_COMPLETED;
}
