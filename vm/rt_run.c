/* vm/rt_run.c — running instances over the store (vm/rt.h): starting an
 * instance, the run segment that resume, expire and recovery continue, and
 * the action journal (docs/hitlvm.md).
 *
 * A segment's events are kept in memory and stored with its stop in one
 * transaction (events, item, digest, snapshot, mock counters, status), so a
 * crash mid-run loses nothing committed: the instance is still `running`
 * with its last snapshot, and recovery (rt_recover.c) replays the journal up
 * to where it was.  The journal is the exception that is written as the run
 * goes: an irreversible call's intent is committed before the call, its
 * outcome after.  Every action call goes through it, whatever answers it:
 * the host's binding, a mock, a `from` function or the host's default. */
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler/ast.h"
#include "ffi_actions.h"
#include "mem.h"
#include "pending.h"
#include "rt.h"
#include "sha256.h"

/* ---- programs by hash ---------------------------------------------------------- */

/* Programs by hash, loaded once per process.  Every resume needs its
 * instance's program, read from the store and verified (bc_read); a process
 * that decides many items (a host on the store API, a worker) keeps the last
 * few it loaded.  A Module is never changed once loaded, so runs share it;
 * an entry in use is never evicted.  The store's rows are content-addressed
 * (a hash's bytes never change), and a program is only cached after its
 * bytes were checked against the hash they are stored under. */
enum { PROGRAM_CACHE = 8 };
static struct {
  uint8_t hash[32];
  Module *m;
  unsigned refs;
  uint64_t used;
} programs[PROGRAM_CACHE];
static uint64_t programs_clock;
static pthread_mutex_t programs_lock = PTHREAD_MUTEX_INITIALIZER;

static Module *cached_program(const uint8_t hash[32]) {
  Module *m = NULL;
  pthread_mutex_lock(&programs_lock);
  for (size_t i = 0; i < PROGRAM_CACHE && !m; i++)
    if (programs[i].m && memcmp(programs[i].hash, hash, 32) == 0) {
      m = programs[i].m;
      programs[i].refs++;
      programs[i].used = ++programs_clock;
    }
  pthread_mutex_unlock(&programs_lock);
  return m;
}

/* Keep m (in use once) unless the cache is full of programs in use or has
 * this hash already (another thread loaded it too). */
static bool cache_program(const uint8_t hash[32], Module *m) {
  pthread_mutex_lock(&programs_lock);
  size_t slot = PROGRAM_CACHE;
  bool have = false;
  for (size_t i = 0; i < PROGRAM_CACHE; i++) {
    if (programs[i].m && memcmp(programs[i].hash, hash, 32) == 0) have = true;
    if (programs[i].refs == 0 && (slot == PROGRAM_CACHE || !programs[i].m ||
                                  (programs[slot].m && programs[i].used < programs[slot].used)))
      slot = i;
  }
  bool kept = !have && slot < PROGRAM_CACHE;
  if (kept) {
    if (programs[slot].m) bc_free(programs[slot].m);
    memcpy(programs[slot].hash, hash, 32);
    programs[slot].m = m;
    programs[slot].refs = 1;
    programs[slot].used = ++programs_clock;
  }
  pthread_mutex_unlock(&programs_lock);
  return kept;
}

static void release_program(const Module *m) {
  pthread_mutex_lock(&programs_lock);
  for (size_t i = 0; i < PROGRAM_CACHE; i++)
    if (programs[i].m == m && programs[i].refs) programs[i].refs--;
  pthread_mutex_unlock(&programs_lock);
}

/* ---- events ------------------------------------------------------------------- */

void rt_run_event(RtRun *r, const char *kind, const char *fields_json) {
  if (r->nev == r->capev) {
    size_t cap = r->capev ? r->capev * 2 : 16;
    RtEvent *ev = mem_realloc(r->ev, r->capev * sizeof *ev, cap * sizeof *ev);
    if (!ev) {
      r->lost = true;
      return;
    }
    r->ev = ev;
    r->capev = cap;
  }
  RtEvent *e = &r->ev[r->nev];
  e->kind = rt_strdup(kind);
  e->fields = rt_strdup(fields_json);
  e->at = (int64_t)time(NULL);
  if (!e->kind || !e->fields) {
    mem_free(e->kind, 0);
    mem_free(e->fields, 0);
    r->lost = true;
    return;
  }
  r->nev++;
}

/* The VM's events.  `started` is written with the instance itself
 * (rt_run_start), so the VM's own is not kept twice.  A segment that is not
 * quiet passes each on to the echo callback as it happens. */
static void on_event(void *user, const char *kind, const char *fields_json) {
  RtRun *r = user;
  if (strcmp(kind, "started") == 0) return;
  rt_run_event(r, kind, fields_json);
  if (!r->quiet && r->c->echo) r->c->echo(r->c->echo_user, kind, fields_json);
}

/* ---- the bindings and the action journal ---------------------------------------- */

/* A failed call with its message (*result_json NULL when out of memory). */
static int fail_with(char **result_json, char *msg) {
  *result_json = msg;
  return 1;
}

static const RtBinding *host_binding(const RtCtx *c, const char *action) {
  for (size_t i = 0; i < c->nbinds; i++)
    if (strcmp(c->binds[i].action, action) == 0) return &c->binds[i];
  return NULL;
}

/* A host's callback: any non-zero is a failure (2 would mean "in doubt" to
 * the VM), and a result is always there to journal. */
static int host_call(VmActionFn fn, void *user, const char *action, const char *args_json, char **result_json) {
  int res = fn(user, action, args_json, result_json) ? 1 : 0;
  if (!*result_json)
    *result_json = rt_strdup(res ? "(no message)" : "the binding returned no result");
  return *result_json && !res ? 0 : 1;
}

/* Each call goes to the first of: the host's binding of that action, its
 * mock, its `from` function through libffi, the host's default binding;
 * else it fails ("no binding for action 'x'", from mock_call). */
static int call_binding(RtRun *r, const char *action, const char *args_json, char **result_json) {
  const RtBinding *b = host_binding(r->c, action);
  if (b) return host_call(b->fn, b->user, action, args_json, result_json);
  bool mocked = false;
  for (size_t i = 0; r->mocks && i < mock_count(r->mocks) && !mocked; i++)
    mocked = strcmp(mock_name(r->mocks, i), action) == 0;
  int32_t ai = ffi_action_index(r->m, action);
  if (!mocked && ai >= 0 && r->m->actions[ai].lib) {
    if (!r->ffi && !(r->ffi = ffi_new(r->m, r->base_dir, NULL, NULL)))
      return fail_with(result_json, rt_printf("not called: out of memory opening '%s'", action));
    return ffi_call_action(r->ffi, (uint32_t)ai, args_json, result_json);
  }
  if (!mocked && r->c->dflt) return host_call(r->c->dflt, r->c->dflt_user, action, args_json, result_json);
  return mock_call(r->mocks, action, args_json, result_json);
}

/* Every action call goes through the journal, by its index in the instance.
 * A recorded outcome is returned without calling (replay after a crash; the
 * mock's counter moves on as it did, with no call made); an intent without
 * an outcome is in doubt unless a person approved calling again. */
static int journal_call(void *user, const char *action, const char *args_json, char **result_json) {
  RtRun *r = user;
  Store *st = r->c->st;
  VmCallInfo ci;
  vm_current_call(r->vm, &ci);
  *result_json = NULL;
  StCall row = {0};
  bool have_intent = false;
  int rc = st_get_call(st, r->id, (int64_t)ci.index, &row);
  if (rc == ST_OK) {
    int out = -1;
    if (strcmp(row.action, action) != 0) {
      out = fail_with(result_json, rt_printf("the journal records another action at this call ('%s'), not '%s'",
                                             row.action, action));
    } else if (strcmp(row.state, "done") == 0 || strcmp(row.state, "failed") == 0) {
      if (r->mocks) mock_skip(r->mocks, action);
      out = row.state[0] == 'f';
      *result_json = rt_strdup(row.result ? row.result : out ? "action failed" : "null");
    } else if (!ci.retry) {
      out = VM_ACTION_IN_DOUBT;
    } else if (strcmp(row.state, "retry") == 0 && row.result &&
               strtoll(row.result, NULL, 10) == r->verdict_item) {
      /* this very approval already started the call again and never heard
       * back (a crash): in doubt once more, never a third call unasked */
      out = VM_ACTION_IN_DOUBT;
    }
    have_intent = true;
    st_call_free(&row);
    if (out >= 0) return out;
  } else if (rc != ST_NOTFOUND) {
    return fail_with(result_json, rt_printf("not called: the journal cannot be read (%s)", st_errmsg(st)));
  }
  StCall c = {r->id, (int64_t)ci.index, (char *)action, (char *)args_json, "intent", NULL, (int64_t)time(NULL)};
  if (ci.irreversible && !have_intent && st_put_call(st, &c) != ST_OK)
    return fail_with(result_json, rt_printf("not called: the intent cannot be recorded (%s)", st_errmsg(st)));
  if (have_intent && ci.retry) {
    /* a person approved calling it again: record which approval started the
     * retry before calling, so a crash during it cannot lead to another */
    char item[32];
    snprintf(item, sizeof item, "%lld", (long long)r->verdict_item);
    StCall retry = c;
    retry.state = "retry";
    retry.result = item;
    if (st_put_call(st, &retry) != ST_OK)
      return fail_with(result_json, rt_printf("not called: the retry cannot be recorded (%s)", st_errmsg(st)));
  }
  int res = call_binding(r, action, args_json, result_json);
  if (!*result_json) return res;   /* out of memory: the VM fails the run; an intent stays in doubt */
  c.state = res ? "failed" : "done";
  c.result = *result_json;
  c.at = (int64_t)time(NULL);
  if (st_put_call(st, &c) != ST_OK)
    rt_note(r->c, "warning: the outcome of call %llu (%s) could not be journaled: %s",
            (unsigned long long)ci.index, action, st_errmsg(st));
  return res;
}

/* `queue` in the rules: the approval items open in the store right now */
static int64_t open_items(void *user) {
  RtRun *r = user;
  int64_t n = st_count_open_items(r->c->st);
  return n < 0 ? 0 : n;
}

static void run_bind(RtRun *r) {
  r->calls_before = vm_calls_made(r->vm);
  vm_set_queue_fn(r->vm, open_items, r);
  if (r->mocks && !mock_set_witness_id(r->mocks, r->id)) r->lost = true;
  vm_bind_actions(r->vm, journal_call, r);
  vm_set_events(r->vm, on_event, r);
}

void rt_run_free(RtRun *r) {
  for (size_t i = 0; i < r->nev; i++) {
    mem_free(r->ev[i].kind, 0);
    mem_free(r->ev[i].fields, 0);
  }
  mem_free(r->ev, r->capev * sizeof *r->ev);
  vm_free(r->vm);
  ffi_free(r->ffi);
  mem_free(r->base_dir, 0);
  mock_free(r->mocks);
  if (r->own_m) bc_free(r->m);
  if (r->cached_m) release_program(r->m);
  mem_free(r->bytes, r->len);
  mem_free(r->input, 0);
  free(r->params);
  mem_free(r->params_logged, 0);
  mem_free(r->mocks_text, 0);
  memset(r, 0, sizeof *r);
}

/* ---- storing a stop ----------------------------------------------------------- */

/* The checkpoint and review_opened events as stored: {item, digest}
 * (LANGUAGE.md §8), known once the item is in.  The VM's event carries the
 * payload, which the item row holds and the digest commits to, so the store
 * keeps it once, in the item; rt_log shows it in the event again. */
static char *checkpoint_fields(int64_t item, const char *digest) {
  return rt_printf("{\"item\":%lld,\"digest\":\"%s\"}", (long long)item, digest);
}

static int64_t payload_int(json_t *p, const char *key, int64_t dflt) {
  json_t *v = json_object_get(p, key);
  return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* The item of a suspended VM, inserted with its digest and the snapshot. */
static int store_item(RtRun *r, int64_t now, int64_t *item, char digest[65]) {
  Store *st = r->c->st;
  const char *payload = vm_pending_json(r->vm);
  json_t *p = json_loads(payload, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  json_t *ed = json_object_get(p, "editable");
  char *editable = json_dumps(json_is_array(ed) ? ed : json_array(), JSON_COMPACT);
  VmTimeout to;
  vm_pending_timeout(r->vm, &to);
  int64_t deadline = -1;
  const char *dl = json_string_value(json_object_get(p, "deadline"));
  if (dl && !rt_parse_time(dl, &deadline)) deadline = -1;
  if (deadline < 0 && to.seconds >= 0) deadline = now + to.seconds;
  const char *title = json_string_value(json_object_get(p, "title"));
  StItem it = {0};
  it.instance = r->id;
  it.kind = "approval";
  it.title = (char *)(title ? title : "");
  it.payload = (char *)payload;
  it.by = (char *)json_string_value(json_object_get(p, "by"));
  it.quorum = payload_int(p, "quorum", 1);
  it.editable = editable ? editable : "[]";
  it.status = "open";
  it.created = now;
  it.deadline = deadline;
  it.timeout_verdict = to.seconds >= 0 ? to.verdict : -1;
  it.timeout_reason = (char *)to.reason;
  int rc = editable ? st_insert_item(st, &it) : ST_ERR;
  *item = it.id;
  if (rc == ST_OK) rc = vm_item_digest(r->vm, r->id, it.id, digest, NULL) ? ST_OK : ST_ERR;
  if (rc == ST_OK) rc = st_set_item_digest(st, it.id, digest);
  /* the item holds the payload: the snapshot names it instead of a copy */
  if (rc == ST_OK) vm_set_pending_item(r->vm, it.id);
  uint8_t *snap = NULL;
  size_t len = 0;
  if (rc == ST_OK) rc = vm_snapshot(r->vm, r->hash, &snap, &len) ? ST_OK : ST_ERR;
  if (rc == ST_OK) rc = st_save_snapshot(st, r->id, snap, len);
  mem_free(snap, len);
  free(editable);
  json_decref(p);
  return rc;
}

/* The review items the segment opened (LANGUAGE.md §7), inserted with
 * their digests and named on the VM (before its snapshot is taken); their
 * ids and digests annotate the review_opened events, in order. */
typedef struct NewReviews {
  int64_t *item;
  char (*digest)[65];
  uint32_t n;
} NewReviews;

static int store_reviews(RtRun *r, int64_t now, NewReviews *nr) {
  Store *st = r->c->st;
  uint32_t n = vm_new_reviews(r->vm);
  nr->n = 0;
  if (!n) return ST_OK;
  nr->item = mem_alloc(n * sizeof *nr->item);
  nr->digest = mem_alloc(n * sizeof *nr->digest);
  if (!nr->item || !nr->digest) return ST_ERR;
  for (uint32_t k = 0; k < n; k++) {
    const char *payload = vm_new_review_json(r->vm, 0);
    json_t *p = payload ? json_loads(payload, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
    if (!p) return ST_ERR;
    const char *title = json_string_value(json_object_get(p, "title"));
    const char *dl = json_string_value(json_object_get(p, "deadline"));
    int64_t deadline = -1;
    if (!dl || !rt_parse_time(dl, &deadline)) deadline = now + 86400;
    StItem it = {0};
    it.instance = r->id;
    it.kind = "review";
    it.title = (char *)(title ? title : "");
    it.payload = (char *)payload;
    it.by = (char *)json_string_value(json_object_get(p, "by"));
    it.quorum = 1;
    it.editable = "[]";
    it.status = "open";
    int64_t opened = vm_new_review_opened(r->vm, 0);
    it.created = opened > 0 && opened <= now ? opened : now;   /* its window started when it opened */
    it.deadline = deadline;
    it.timeout_verdict = -1;   /* expire passes a review past its window */
    int rc = st_insert_item(st, &it);
    json_decref(p);
    if (rc == ST_OK) rc = vm_review_digest(r->vm, 0, r->id, it.id, nr->digest[k]) ? ST_OK : ST_ERR;
    if (rc == ST_OK) rc = st_set_item_digest(st, it.id, nr->digest[k]);
    if (rc == ST_OK) rc = vm_review_assign(r->vm, 0, it.id) ? ST_OK : ST_ERR;
    if (rc != ST_OK) return rc;
    nr->item[k] = it.id;
    nr->n++;
  }
  return ST_OK;
}

/* A failed instance waits on nothing: its open approval items are cancelled
 * (its review items stay open: the calls before the failure happened). */
static int cancel_approvals(RtRun *r) {
  StItem *v = NULL;
  size_t n = 0;
  int rc = rt_instance_items(r->c, r->id, "open", &v, &n);
  for (size_t i = 0; rc == ST_OK && i < n; i++)
    if (strcmp(v[i].kind, "approval") == 0) rc = st_close_item(r->c->st, v[i].id, "cancelled");
  if (v) st_items_free(v, n);
  return rc;
}

/* One transaction: the review items the segment opened, the item (if it
 * stopped at a new one), the events, the snapshot (while it waits, or has
 * reviews open), the instance's new state.  new_item is false after a
 * review's verdict: a body that was suspended still waits on its item.  On
 * failure nothing is written and the instance stays `running` (recovered
 * later from its last snapshot). */
static int store_stop(RtRun *r, VmStatus vs, bool new_item) {
  Store *st = r->c->st;
  int64_t now = (int64_t)time(NULL), item = -1;
  char digest[65] = "";
  if (r->lost) return ST_ERR;
  char *mstate = r->mocks ? mock_state_json(r->mocks) : NULL;
  int rc = r->mocks && !mstate ? ST_ERR : st_begin(st);
  bool began = rc == ST_OK, logged_item = false, opens = vs == VM_SUSPENDED && new_item;
  NewReviews nr = {0};
  uint32_t nopened = 0;
  if (rc == ST_OK) rc = store_reviews(r, now, &nr);
  if (rc == ST_OK && opens) rc = store_item(r, now, &item, digest);
  for (size_t i = 0; rc == ST_OK && i < r->nev; i++) {
    RtEvent *e = &r->ev[i];
    char *f = NULL;
    if (opens && strcmp(e->kind, "checkpoint") == 0 && i + 1 == r->nev) {
      if (!(f = checkpoint_fields(item, digest))) rc = ST_ERR;
      logged_item = true;
    } else if (strcmp(e->kind, "review_opened") == 0 && nopened < nr.n) {
      if (!(f = checkpoint_fields(nr.item[nopened], nr.digest[nopened]))) rc = ST_ERR;
      nopened++;
    }
    if (rc == ST_OK) rc = st_append_event(st, r->id, e->at, e->kind, f ? f : e->fields);
    mem_free(f, 0);
  }
  if (rc == ST_OK && opens && !logged_item) {
    /* a stop the VM logged no checkpoint event for (an action in doubt) */
    char *f = checkpoint_fields(item, digest);
    rc = f ? st_append_event(st, r->id, now, "checkpoint", f) : ST_ERR;
    mem_free(f, 0);
  }
  bool reviewing = vs != VM_SUSPENDED && vm_open_reviews(r->vm) > 0;
  if (rc == ST_OK && ((vs == VM_SUSPENDED && !new_item) || reviewing)) {
    uint8_t *snap = NULL;
    size_t len = 0;
    rc = vm_snapshot(r->vm, r->hash, &snap, &len) ? ST_OK : ST_ERR;
    if (rc == ST_OK) rc = st_save_snapshot(st, r->id, snap, len);
    mem_free(snap, len);
  } else if (rc == ST_OK && vs != VM_SUSPENDED) {
    rc = st_delete_snapshot(st, r->id);
    if (rc == ST_NOTFOUND) rc = ST_OK;
  }
  /* the journal's rows behind this stop are not needed by any replay (the
   * last stop dropped those before it: nothing to do without new calls) */
  if (rc == ST_OK && vm_calls_made(r->vm) != r->calls_before)
    rc = st_prune_calls(st, r->id, (int64_t)vm_calls_made(r->vm));
  if (rc == ST_OK && vs == VM_FAILED) rc = cancel_approvals(r);
  if (rc == ST_OK) {
    StInstance up = {0};
    up.id = r->id;
    up.segment = r->segment;
    up.status = vs == VM_COMPLETED ? (reviewing ? "reviewing" : "completed")
                : vs == VM_FAILED  ? "failed"
                                   : "suspended";
    up.result = vs == VM_COMPLETED ? (char *)vm_result_json(r->vm) : NULL;
    up.error = vs == VM_FAILED ? (char *)vm_error_json(r->vm) : NULL;
    up.mock_state = mstate;
    up.owner = NULL;
    up.updated = now;
    rc = st_update_instance(st, &up);
  }
  if (rc == ST_OK) rc = st_commit(st);
  if (rc != ST_OK && began) st_rollback(st);
  mem_free(nr.item, 0);
  mem_free(nr.digest, 0);
  mem_free(mstate, 0);
  return rc;
}

static int stored_class(RtRun *r, VmStatus vs, bool new_item) {
  if (store_stop(r, vs, new_item) != ST_OK)
    return rt_fail(r->c, "store",
                   "store %s: the instance's stop could not be stored (%s); it stays running and is recovered "
                   "from its last stop by the next hitlvm that looks at it",
                   r->c->store_path, r->lost ? "out of memory" : st_errmsg(r->c->st));
  return vs == VM_COMPLETED ? RT_COMPLETED : vs == VM_SUSPENDED ? RT_SUSPENDED : RT_FAILED;
}

int rt_segment_run(RtRun *r) { return stored_class(r, vm_run(r->vm), true); }

int rt_segment_review(RtRun *r, int64_t item, const char *verdict_json) {
  char err[512];
  if (vm_review_verdict(r->vm, item, verdict_json, err, sizeof err) < 0)
    rt_note(r->c, "warning: instance %s: review item %lld: %s", r->id, (long long)item, err);
  return stored_class(r, vm_status(r->vm), false);
}

/* ---- what a run starts with: mocks, input, params, calibrated thresholds ------------ */

Mocks *rt_mocks_parse(RtCtx *c, const char *name, const char *text, size_t len, const Module *m) {
  char err[512];
  Mocks *mk = mock_parse(name, text, len, err, sizeof err);
  if (!mk) {
    rt_fail(c, "input", "%s", err);
    return NULL;
  }
  /* a mock for an action the program does not declare is most likely a typo */
  for (size_t i = 0; i < mock_count(mk); i++) {
    const char *mname = mock_name(mk, i);
    bool known = false;
    for (uint32_t k = 0; k < m->nactions && !known; k++) known = strcmp(m->actions[k].name, mname) == 0;
    if (!known)
      rt_note(c, "warning: %s: '%s' is not an action of playbook '%s'", name, mname, m->playbook ? m->playbook : "?");
  }
  return mk;
}

/* Drop the blanks between JSON tokens in place (never inside strings), so
 * an input read from a file is stored and logged as compact text.  Only for
 * text already known to be valid JSON: blanks can separate tokens in
 * invalid text. */
static void compact_json(char *s) {
  char *out = s;
  bool in_string = false;
  for (char *p = s; *p; p++) {
    char ch = *p;
    if (in_string) {
      *out++ = ch;
      if (ch == '\\' && p[1]) *out++ = *++p;
      else if (ch == '"') in_string = false;
    } else if (ch == '"') {
      in_string = true;
      *out++ = ch;
    } else if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
      *out++ = ch;
    }
  }
  *out = 0;
}

/* Set the params on the VM; r->params gets them as kept with the instance
 * ({name: VALUE as given}) and r->params_logged as the `started` event shows
 * them (a string param as text, any other as its JSON literal).  Later wins. */
static int set_params(RtCtx *c, RtRun *r, const RtStart *s) {
  char err[512];
  const char *word = c->words.param ? c->words.param : "param";
  json_t *given = json_object();
  if (!given) return rt_oom(c);
  for (size_t i = 0; i < s->nparams; i++) {
    const char *name = s->param_names[i], *value = s->param_values[i];
    if (!vm_set_param(r->vm, name, value, err, sizeof err)) {
      json_decref(given);
      return rt_fail(c, "input", "bad %s %s: %s", word, name, err);
    }
    if (json_object_set_new(given, name, json_string(value))) {
      json_decref(given);
      return rt_oom(c);
    }
  }
  r->params = json_dumps(given, JSON_COMPACT);
  RtBuf b = {0};
  rt_buf_add(&b, "{");
  const char *name;
  json_t *v;
  bool first = true;
  json_object_foreach(given, name, v) {
    bool text = false;
    for (uint32_t g = 0; g < r->m->nglobals; g++)
      if (r->m->globals[g].kind == G_PARAM && strcmp(r->m->globals[g].name, name) == 0)
        text = r->m->globals[g].type == TY_STRING;
    char *k = rt_json_quote(name), *q = text ? rt_json_quote(json_string_value(v)) : NULL;
    rt_buf_add(&b, first ? "" : ",");
    rt_buf_add(&b, k ? k : "\"\"");
    rt_buf_add(&b, ":");
    rt_buf_add(&b, text ? (q ? q : "null") : json_string_value(v));
    first = false;
    free(k);
    free(q);
  }
  rt_buf_add(&b, "}");
  json_decref(given);
  r->params_logged = rt_buf_take(&b);
  return r->params && r->params_logged ? RT_COMPLETED : rt_oom(c);
}

/* The calibrated thresholds of the program's playbook (hitlvm calibrate
 * --apply) set on the VM, read at every run and resume; *logged (mem_alloc'd,
 * may be NULL) gets them as the `started` event records them,
 * {action: value}.  Names the program has no action for are skipped. */
static int set_calibrated(RtCtx *c, RtRun *r, char **logged) {
  StThreshold *t = NULL;
  size_t n = 0;
  if (logged) *logged = NULL;
  if (st_list_thresholds(c->st, r->m->playbook ? r->m->playbook : "", &t, &n) != ST_OK)
    return rt_store_fail(c, "reading the calibrated thresholds");
  RtBuf b = {0};
  if (logged) rt_buf_add(&b, "{");
  bool first = true;
  for (size_t i = 0; i < n; i++) {
    if (!vm_set_calibrated_threshold(r->vm, t[i].action, t[i].value) || !logged) continue;
    char *k = rt_json_quote(t[i].action);
    rt_buf_printf(&b, "%s%s:%.17g", first ? "" : ",", k ? k : "\"\"", t[i].value);
    first = false;
    free(k);
  }
  st_thresholds_free(t, n);
  if (!logged) return RT_COMPLETED;
  rt_buf_add(&b, "}");
  if (!(*logged = rt_buf_take(&b))) return rt_oom(c);
  return RT_COMPLETED;
}

/* ---- run ------------------------------------------------------------------------ */

static void new_id(char out[17]) {
  unsigned char b[8];
  randombytes_buf(b, sizeof b);
  sodium_bin2hex(out, 17, b, sizeof b);
}

int rt_run_prepare(RtCtx *c, const RtStart *s, RtRun *r) {
  char err[1024];
  memset(r, 0, sizeof *r);
  r->c = c;
  r->m = (Module *)s->m;
  r->mocks = s->mocks;
  if (sodium_init() < 0) {
    rt_run_free(r);
    return rt_fail(c, "usage", "cannot initialise libsodium");
  }
  if (s->base_dir) r->base_dir = rt_strdup(s->base_dir);   /* without it: dlopen's usual search */
  if (!bc_write(r->m, &r->bytes, &r->len)) goto oom;
  hitl_sha256(r->hash, r->bytes, r->len);
  if (s->mocks_text && !(r->mocks_text = rt_strdup(s->mocks_text))) goto oom;
  if (!(r->input = rt_strdup(s->input ? s->input : "{}"))) goto oom;
  if (!(r->vm = vm_new(r->m, &c->limits))) goto oom;
  if (!vm_set_input_json(r->vm, r->input, err, sizeof err)) {
    rt_run_free(r);
    return rt_fail(c, "input", "bad input: %s", err);
  }
  /* kept and logged without a file's layout (the text is valid JSON now) */
  if (s->compact_input) compact_json(r->input);
  if (set_params(c, r, s) != RT_COMPLETED) {
    rt_run_free(r);
    return RT_USAGE;
  }
  return RT_COMPLETED;
oom:
  rt_run_free(r);
  return rt_oom(c);
}

int rt_run_start(RtRun *r) {
  RtCtx *c = r->c;
  char *calibrated = NULL;
  if (set_calibrated(c, r, &calibrated) != RT_COMPLETED) return RT_USAGE;
  new_id(r->id);
  char *who = rt_json_quote(c->user);
  char *started = who ? rt_printf("{\"input\":%s,\"params\":%s,\"requester\":%s,\"calibrated\":%s}", r->input,
                                  r->params_logged, who, calibrated)
                      : NULL;
  free(who);
  mem_free(calibrated, 0);
  if (!started) return rt_oom(c);
  int64_t now = (int64_t)time(NULL);
  StInstance in = {0};
  in.id = r->id;
  memcpy(in.program, r->hash, 32);
  in.playbook = (char *)(r->m->playbook ? r->m->playbook : "");
  in.status = "running";
  in.starter = (char *)c->user;
  in.input = r->input;
  in.params = r->params;
  in.mocks = r->mocks_text;
  in.owner = (char *)c->owner;
  in.created = in.updated = now;
  int rc = st_begin(c->st);
  if (rc == ST_OK) {
    rc = st_put_program(c->st, r->hash, in.playbook, r->bytes, r->len);
    if (rc == ST_OK) rc = st_insert_instance(c->st, &in);
    if (rc == ST_OK) rc = st_append_event(c->st, r->id, now, "started", started);
    if (rc == ST_OK) rc = st_commit(c->st);
    if (rc != ST_OK) st_rollback(c->st);
  }
  mem_free(started, 0);
  if (rc != ST_OK) return rt_store_fail(c, "cannot start the instance");
  run_bind(r);
  return rt_segment_run(r);
}

/* ---- restoring ------------------------------------------------------------------ */

/* The instance's program into r->m: from the cache, or loaded (and cached
 * when there is room; else the run owns it). */
static bool stored_program(RtCtx *c, RtRun *r) {
  if ((r->m = cached_program(r->hash))) {
    r->cached_m = true;
    return true;
  }
  uint8_t *bytes = NULL, sum[32];
  size_t len = 0;
  if (st_get_program(c->st, r->hash, &bytes, &len) != ST_OK) {
    rt_store_fail(c, "the instance's program is missing");
    return false;
  }
  char err[512];
  hitl_sha256(sum, bytes, len);
  Module *m = memcmp(sum, r->hash, 32) == 0 ? bc_read(bytes, len, err, sizeof err) : NULL;
  if (memcmp(sum, r->hash, 32) != 0)
    rt_fail(c, "store", "store %s: the instance's program does not match its hash", c->store_path);
  else if (!m)
    rt_fail(c, "store", "store %s: the instance's program does not load: %s", c->store_path, err);
  mem_free(bytes, len);
  if (!m) return false;
  r->m = m;
  r->cached_m = cache_program(r->hash, m);
  r->own_m = !r->cached_m;
  return true;
}

static int stored_mocks(RtCtx *c, const StInstance *in, RtRun *r) {
  char err[512];
  if (!in->mocks) return RT_COMPLETED;
  if (!(r->mocks = mock_parse("the instance's mocks", in->mocks, strlen(in->mocks), err, sizeof err)))
    return rt_fail(c, "store", "store %s: %s", c->store_path, err);
  if (in->mock_state && !mock_set_state_json(r->mocks, in->mock_state, err, sizeof err))
    return rt_fail(c, "store", "store %s: the instance's mock counters: %s", c->store_path, err);
  return RT_COMPLETED;
}

/* The payload of the item a snapshot names for its pending payload
 * (mem_alloc'd into *out), from `known` when it is that item, else read.
 * RT_COMPLETED (*out NULL when the snapshot names none) or RT_USAGE. */
static int pending_payload(RtCtx *c, const StInstance *in, const uint8_t *snap, size_t len, const StItem *known,
                           char **out) {
  *out = NULL;
  int64_t item = vm_snapshot_pending_item(snap, len);
  if (item <= 0) return RT_COMPLETED;   /* carried, or not a snapshot (vm_restore says so) */
  StItem it = {0};
  const StItem *p = known && known->id == item ? known : NULL;
  if (!p) {
    if (st_get_item(c->st, item, &it) != ST_OK) return rt_store_fail(c, "the item the instance waits on");
    p = &it;
  }
  if (strcmp(p->instance, in->id) == 0 && !(*out = rt_strdup(p->payload))) {
    st_item_free(&it);
    return rt_oom(c);
  }
  st_item_free(&it);
  if (!*out)
    return rt_fail(c, "store", "store %s: instance %s waits on item %lld of another instance", c->store_path, in->id,
                   (long long)item);
  return RT_COMPLETED;
}

int rt_run_restore(RtCtx *c, const StInstance *in, RtRun *r, bool quiet) {
  return rt_run_restore_at(c, in, r, quiet, NULL);
}

int rt_run_restore_at(RtCtx *c, const StInstance *in, RtRun *r, bool quiet, const StItem *known) {
  memset(r, 0, sizeof *r);
  r->c = c;
  r->quiet = quiet;
  snprintf(r->id, sizeof r->id, "%s", in->id);
  memcpy(r->hash, in->program, 32);
  r->segment = in->segment;
  if (!stored_program(c, r)) return RT_USAGE;
  uint8_t *snap = NULL;
  size_t len = 0;
  if (st_load_snapshot(c->st, in->id, &snap, &len) != ST_OK) return rt_store_fail(c, "the instance's snapshot");
  char err[512], *payload = NULL;
  if (pending_payload(c, in, snap, len, known, &payload) != RT_COMPLETED) {
    mem_free(snap, len);
    return RT_USAGE;
  }
  r->vm = vm_restore_pending(r->m, r->hash, snap, len, payload, &c->limits, err, sizeof err);
  mem_free(snap, len);
  mem_free(payload, 0);
  if (!r->vm) return rt_fail(c, "store", "store %s: instance %s does not restore: %s", c->store_path, in->id, err);
  if (stored_mocks(c, in, r) != RT_COMPLETED) return RT_USAGE;
  if (set_calibrated(c, r, NULL) != RT_COMPLETED) return RT_USAGE;
  run_bind(r);
  return RT_COMPLETED;
}

int rt_run_fresh(RtCtx *c, const StInstance *in, RtRun *r) {
  memset(r, 0, sizeof *r);
  r->c = c;
  r->quiet = true;
  snprintf(r->id, sizeof r->id, "%s", in->id);
  memcpy(r->hash, in->program, 32);
  r->segment = in->segment;
  char err[512];
  if (!stored_program(c, r)) return RT_USAGE;
  if (!(r->vm = vm_new(r->m, &c->limits))) return rt_oom(c);
  if (!vm_set_input_json(r->vm, in->input ? in->input : "{}", err, sizeof err))
    return rt_fail(c, "store", "instance %s: its input: %s", in->id, err);
  json_t *p = json_loads(in->params ? in->params : "{}", 0, NULL);
  const char *name;
  json_t *v;
  bool ok = json_is_object(p);
  json_object_foreach(p, name, v) {
    const char *text = json_string_value(v) ? json_string_value(v) : "";
    if (ok && !vm_set_param(r->vm, name, text, err, sizeof err)) {
      ok = false;
      rt_fail(c, "store", "instance %s: param %s: %s", in->id, name, err);
    }
  }
  json_decref(p);
  if (!ok || stored_mocks(c, in, r) != RT_COMPLETED) return RT_USAGE;
  if (set_calibrated(c, r, NULL) != RT_COMPLETED) return RT_USAGE;
  run_bind(r);
  return RT_COMPLETED;
}
