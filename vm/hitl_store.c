/* vm/hitl_store.c — the store in the public API (include/hitl.h,
 * hitl_store_*): open a store and do what `hitlvm` does with it.
 *
 * A handle is an open store plus what the host gives every call: its
 * bindings by action name, its mocks for the instances it starts, limits,
 * and the callbacks for notes and events.  Each call makes a runtime context
 * (vm/rt.h: who acts, owner "host:pid", this host) and calls the same rt_*
 * functions the command line does, so an instance started here can be
 * resumed by hitlvm and the other way round; results are the JSON of
 * TOOLS.md §2 `--json`, refusals a hitl_error with the runtime's kind. */
#include "../include/hitl.h"

#include <jansson.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hitl_internal.h"
#include "mem.h"
#include "mock.h"
#include "rt.h"

struct hitl_store {
  Store *st;
  char *path;
  RtBinding *binds;
  size_t nbinds, capbinds;
  hitl_action_fn dflt;
  void *dflt_user;
  char *mocks;                        /* the mocks' text for the instances started next, or NULL */
  VmLimits limits;
  hitl_note_fn note;
  void *note_user;
  hitl_event_fn event;
  void *event_user;
};

/* ---- one call's context ------------------------------------------------------- */

typedef struct Call {
  hitl_store *s;
  RtCtx c;
  char *user;
  char host[256];
  char owner[300];
  char *last_note;                    /* expire: why the last item could not be expired */
} Call;

static void on_note(void *user, const char *message) {
  Call *k = user;
  mem_free(k->last_note, 0);
  k->last_note = rt_strdup(message);
  if (k->s->note) k->s->note(k->s->note_user, message);
}

static void on_echo(void *user, const char *kind, const char *fields_json) {
  Call *k = user;
  if (k->s->event) k->s->event(k->s->event_user, kind, fields_json);
}

/* The operating-system user, as hitlvm takes it without --as (malloc'd). */
static char *os_user(void) {
  long n = sysconf(_SC_GETPW_R_SIZE_MAX);
  size_t size = n > 0 ? (size_t)n : 16384;
  char *buf = malloc(size), *name = NULL;
  struct passwd pw, *found = NULL;
  if (buf && getpwuid_r(getuid(), &pw, buf, size, &found) == 0 && found && found->pw_name && found->pw_name[0])
    name = hitl_strdup(found->pw_name);
  free(buf);
  if (!name && getenv("USER") && getenv("USER")[0]) name = hitl_strdup(getenv("USER"));
  if (!name && (name = malloc(32))) snprintf(name, 32, "uid%ld", (long)getuid());
  return name;
}

/* The context of one call acting as `as` (NULL: the operating-system user). */
static int call_begin(hitl_store *s, const char *as, Call *k, hitl_error **error) {
  memset(k, 0, sizeof *k);
  k->s = s;
  if (!s || !s->st) {
    api_set_error(error, "usage", 0, "no store");
    return -1;
  }
  if (as && !as[0]) {
    api_set_error(error, "usage", 0, "who acts needs a name (as is empty)");
    return -1;
  }
  if (!(k->user = as ? hitl_strdup(as) : os_user())) {
    api_set_error(error, "memory", 0, "out of memory");
    return -1;
  }
  if (gethostname(k->host, sizeof k->host) != 0) snprintf(k->host, sizeof k->host, "localhost");
  k->host[sizeof k->host - 1] = '\0';
  snprintf(k->owner, sizeof k->owner, "%s:%ld", k->host, (long)getpid());
  RtCtx *c = &k->c;
  c->st = s->st;
  c->store_path = s->path;
  c->user = k->user;
  c->owner = k->owner;
  c->host = k->host;
  c->limits = s->limits;
  c->binds = s->binds;
  c->nbinds = s->nbinds;
  c->dflt = s->dflt;
  c->dflt_user = s->dflt_user;
  c->note = on_note;
  c->note_user = k;
  c->echo = on_echo;
  c->echo_user = k;
  api_no_error(error);
  return 0;
}

/* The runtime's refusal as *error; HITL_EXIT_REFUSED. */
static int refused(Call *k, hitl_error **error) {
  api_set_error(error, k->c.err_kind ? k->c.err_kind : "store", 0, "%s", k->c.err ? k->c.err : "refused");
  rt_clear(&k->c);
  return HITL_EXIT_REFUSED;
}

static void call_end(Call *k) {
  rt_clear(&k->c);
  free(k->user);
  mem_free(k->last_note, 0);
}

/* A JSON text built by the runtime, handed to the caller (NULL: out of memory). */
static int hand_out(Call *k, char *text, char **out, hitl_error **error) {
  *out = text;
  if (text) return HITL_EXIT_COMPLETED;
  rt_oom(&k->c);
  return refused(k, error);
}

/* After a failed run: the playbook's error from the outcome's "error". */
static void playbook_error(const char *outcome, hitl_error **error) {
  if (!error) return;
  json_t *o = outcome ? json_loads(outcome, 0, NULL) : NULL;
  json_t *e = json_object_get(o, "error");
  const char *kind = json_string_value(json_object_get(e, "kind"));
  const char *msg = json_string_value(json_object_get(e, "message"));
  json_t *line = json_object_get(e, "line");
  *error = api_error_new(kind ? kind : "failed", json_is_integer(line) ? (int64_t)json_integer_value(line) : 0,
                         msg ? msg : "the playbook failed");
  json_decref(o);
}

/* run / resume: the outcome object, *error for a failed playbook. */
static int outcome_of(Call *k, const char *instance, int cls, char **out, hitl_error **error) {
  if (rt_outcome_json(&k->c, instance, out) != RT_COMPLETED) rt_clear(&k->c);
  if (cls == RT_FAILED) playbook_error(*out, error);
  return cls;
}

/* ---- the handle --------------------------------------------------------------- */

int hitl_store_open(const char *path, hitl_store **store, hitl_error **error) {
  *store = NULL;
  hitl_store *s = mem_calloc(sizeof *s);
  if (!s) {
    api_set_error(error, "memory", 0, "out of memory");
    return -1;
  }
  RtCtx c = {0};
  const char *used = NULL;
  if (rt_store_open(&c, path, &s->st, &used) != RT_COMPLETED) {
    api_set_error(error, c.err_kind ? c.err_kind : "store", 0, "%s", c.err ? c.err : "cannot open the store");
    rt_clear(&c);
    mem_free(s, sizeof *s);
    return -1;
  }
  if (!(s->path = hitl_strdup(used))) {
    hitl_store_close(s);
    api_set_error(error, "memory", 0, "out of memory");
    return -1;
  }
  *store = s;
  api_no_error(error);
  return 0;
}

void hitl_store_close(hitl_store *s) {
  if (!s) return;
  if (s->st) st_close(s->st);
  for (size_t i = 0; i < s->nbinds; i++) free(s->binds[i].action);
  mem_free(s->binds, s->capbinds * sizeof *s->binds);
  free(s->path);
  free(s->mocks);
  mem_free(s, sizeof *s);
}

int hitl_store_bind(hitl_store *s, const char *action, hitl_action_fn fn, void *user) {
  if (!s || !action || !action[0]) return -1;
  for (size_t i = 0; i < s->nbinds; i++) {
    if (strcmp(s->binds[i].action, action) != 0) continue;
    if (fn) {
      s->binds[i].fn = fn;
      s->binds[i].user = user;
    } else {
      free(s->binds[i].action);
      s->binds[i] = s->binds[--s->nbinds];
    }
    return 0;
  }
  if (!fn) return 0;
  if (s->nbinds == s->capbinds) {
    size_t cap = s->capbinds ? 2 * s->capbinds : 8;
    RtBinding *b = mem_realloc(s->binds, s->capbinds * sizeof *b, cap * sizeof *b);
    if (!b) return -1;
    s->binds = b;
    s->capbinds = cap;
  }
  char *name = hitl_strdup(action);
  if (!name) return -1;
  s->binds[s->nbinds++] = (RtBinding){name, fn, user};
  return 0;
}

void hitl_store_bind_default(hitl_store *s, hitl_action_fn fn, void *user) {
  if (!s) return;
  s->dflt = fn;
  s->dflt_user = fn ? user : NULL;
}

int hitl_store_bind_mocks(hitl_store *s, const char *mocks_json, hitl_error **error) {
  if (!s) {
    api_set_error(error, "usage", 0, "no store");
    return -1;
  }
  char *text = NULL;
  if (mocks_json) {
    char err[512];
    Mocks *mk = mock_parse("mocks", mocks_json, strlen(mocks_json), err, sizeof err);
    if (!mk) {
      api_set_error(error, "input", 0, "%s", err);
      return -1;
    }
    mock_free(mk);
    if (!(text = hitl_strdup(mocks_json))) {
      api_set_error(error, "memory", 0, "out of memory");
      return -1;
    }
  }
  free(s->mocks);
  s->mocks = text;
  api_no_error(error);
  return 0;
}

void hitl_store_set_limits(hitl_store *s, const hitl_limits *l) {
  if (!s) return;
  memset(&s->limits, 0, sizeof s->limits);
  if (!l) return;
  s->limits.fuel = l->fuel;
  s->limits.heap_bytes = l->heap_bytes;
  s->limits.max_depth = l->max_depth;
  s->limits.max_string = l->max_string;
  s->limits.max_list = l->max_list;
}

void hitl_store_on_event(hitl_store *s, hitl_event_fn fn, void *user) {
  if (!s) return;
  s->event = fn;
  s->event_user = fn ? user : NULL;
}

void hitl_store_on_note(hitl_store *s, hitl_note_fn fn, void *user) {
  if (!s) return;
  s->note = fn;
  s->note_user = fn ? user : NULL;
}

/* ---- run, resume, outcome ----------------------------------------------------------- */

/* params_json {name: value} as hitlvm's --param NAME=VALUE: a JSON string
 * gives VALUE's text, any other value its JSON text.  The texts live in
 * *keep (json_decref) and *dumps (free each, then the array). */
static bool params_of(Call *k, const char *params_json, json_t **keep, RtStart *st, char ***dumps) {
  *keep = NULL;
  *dumps = NULL;
  if (!params_json) return true;
  json_error_t je;
  json_t *p = json_loads(params_json, JSON_REJECT_DUPLICATES, &je);
  if (!json_is_object(p)) {
    json_decref(p);
    if (p) rt_fail(&k->c, "input", "params must be a JSON object {name: value}");
    else rt_fail(&k->c, "input", "params: malformed JSON: %s", je.text);
    return false;
  }
  *keep = p;
  size_t n = json_object_size(p), i = 0;
  const char **names = mem_calloc((n ? n : 1) * sizeof *names);
  const char **values = mem_calloc((n ? n : 1) * sizeof *values);
  char **d = mem_calloc((n + 1) * sizeof *d);
  st->param_names = names;
  st->param_values = values;
  *dumps = d;
  if (!names || !values || !d) {
    rt_oom(&k->c);
    return false;
  }
  const char *name;
  json_t *v;
  json_object_foreach(p, name, v) {
    names[i] = name;
    if (json_is_string(v)) {
      values[i] = json_string_value(v);
    } else if ((d[i] = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT))) {
      values[i] = d[i];
    } else {
      rt_oom(&k->c);
      return false;
    }
    i++;
  }
  st->nparams = n;
  return true;
}

static void params_free(json_t *keep, RtStart *st, char **dumps) {
  for (size_t i = 0; dumps && i < st->nparams; i++) free(dumps[i]);
  mem_free(dumps, 0);
  mem_free((void *)st->param_names, 0);
  mem_free((void *)st->param_values, 0);
  json_decref(keep);
}

int hitl_store_run(hitl_store *s, const hitl_program *program, const char *input_json, const char *params_json,
                   const char *as, char **outcome_json, hitl_error **error) {
  *outcome_json = NULL;
  Call k;
  if (call_begin(s, as, &k, error) != 0) {
    call_end(&k);
    return HITL_EXIT_REFUSED;
  }
  if (!program) {
    call_end(&k);
    api_set_error(error, "usage", 0, "hitl_store_run: no program");
    return HITL_EXIT_REFUSED;
  }
  RtStart st = {0};
  RtRun r = {0};
  json_t *keep = NULL;
  char **dumps = NULL;
  int cls = RT_USAGE;
  st.m = program->m;
  st.base_dir = program->base_dir;
  st.input = input_json;
  st.compact_input = true;
  st.mocks_text = s->mocks;
  if (s->mocks && !(st.mocks = rt_mocks_parse(&k.c, "mocks", s->mocks, strlen(s->mocks), program->m))) goto done;
  if (!params_of(&k, params_json, &keep, &st, &dumps)) {
    mock_free(st.mocks);
    goto done;
  }
  cls = rt_run_prepare(&k.c, &st, &r);   /* takes the mocks over */
  if (cls == RT_COMPLETED) cls = rt_run_start(&r);
  if (cls != RT_USAGE) outcome_of(&k, r.id, cls, outcome_json, error);
done:
  if (cls == RT_USAGE) refused(&k, error);
  rt_run_free(&r);
  params_free(keep, &st, dumps);
  call_end(&k);
  return cls;
}

int hitl_store_resume(hitl_store *s, int64_t item, const char *verdict, const char *reason, const char *edits_json,
                      const char *digest, const char *as, char **outcome_json, hitl_error **error) {
  *outcome_json = NULL;
  Call k;
  if (call_begin(s, as, &k, error) != 0) {
    call_end(&k);
    return HITL_EXIT_REFUSED;
  }
  StItem it = {0};
  json_t *edits = NULL;
  int cls = RT_USAGE;
  if (!verdict) {
    rt_fail(&k.c, "usage", "hitl_store_resume: no verdict");
    goto done;
  }
  if (edits_json) {
    /* the text is embedded in the verdict as given: it must be exactly one object */
    json_error_t je;
    edits = json_loads(edits_json, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(edits)) {
      if (edits) rt_fail(&k.c, "verdict", "edits must be a JSON object {name: value}");
      else rt_fail(&k.c, "verdict", "edits: malformed JSON: %s", je.text);
      goto done;
    }
    if (json_object_size(edits) == 0) edits_json = NULL;
  }
  if (rt_item_get(&k.c, item, NULL, &it) != RT_COMPLETED) goto done;
  if (rt_check_verdict(&k.c, &it, verdict, edits_json != NULL, digest, k.user) != RT_COMPLETED) goto done;
  bool sign = false;
  if (rt_signature_required(&k.c, &it, &sign) != RT_COMPLETED) goto done;
  if (sign) {
    rt_fail(&k.c, "verdict",
            "group %s requires signed verdicts, which the store API does not make: give this one with hitlvm resume "
            "--sign",
            it.by);
    goto done;
  }
  RtDecided d;
  cls = rt_decide(&k.c, &it, verdict, k.user, reason, edits_json, NULL, "decided", (int64_t)time(NULL), false, &d);
  if (cls != RT_USAGE) outcome_of(&k, d.instance, cls, outcome_json, error);
done:
  if (cls == RT_USAGE) refused(&k, error);
  json_decref(edits);
  st_item_free(&it);
  call_end(&k);
  return cls;
}

int hitl_store_outcome(hitl_store *s, const char *instance, char **outcome_json, hitl_error **error) {
  *outcome_json = NULL;
  Call k;
  int rc = HITL_EXIT_REFUSED;
  if (call_begin(s, NULL, &k, error) != 0) goto done;
  if (!instance) {
    rt_fail(&k.c, "usage", "hitl_store_outcome: no instance");
    rc = refused(&k, error);
    goto done;
  }
  rt_recover_instance(&k.c, instance);   /* if its process died */
  char *out = NULL;
  rc = rt_outcome_json(&k.c, instance, &out) == RT_COMPLETED ? HITL_EXIT_COMPLETED : refused(&k, error);
  *outcome_json = out;
done:
  call_end(&k);
  return rc;
}

/* ---- the desk's reads ----------------------------------------------------------------- */

int hitl_store_pending(hitl_store *s, const char *group, const char *as, char **items_json, hitl_error **error) {
  *items_json = NULL;
  Call k;
  int rc = HITL_EXIT_REFUSED;
  /* as: whose view (NULL: every item); the context acts as nobody in particular */
  if (call_begin(s, as, &k, error) != 0) goto done;
  StItem *v = NULL;
  size_t n = 0;
  if (rt_pending(&k.c, group, as, &v, &n) != RT_COMPLETED) {
    rc = refused(&k, error);
    goto done;
  }
  RtBuf b = {0};
  rt_buf_add(&b, "[");
  for (size_t i = 0; i < n; i++) {
    if (i) rt_buf_add(&b, ",");
    rt_item_json(&b, &v[i]);
  }
  rt_buf_add(&b, "]");
  if (v) st_items_free(v, n);
  rc = hand_out(&k, rt_buf_take(&b), items_json, error);
done:
  call_end(&k);
  return rc;
}

int hitl_store_show(hitl_store *s, int64_t item, char **item_json, hitl_error **error) {
  *item_json = NULL;
  Call k;
  int rc = HITL_EXIT_REFUSED;
  if (call_begin(s, NULL, &k, error) != 0) goto done;
  StItem it = {0};
  StVerdict *v = NULL;
  size_t n = 0;
  if (rt_show(&k.c, item, NULL, &it, &v, &n) != RT_COMPLETED) {
    rc = refused(&k, error);
    goto done;
  }
  RtBuf b = {0};
  rt_show_json(&b, &it, v, n);
  if (v) st_verdicts_free(v, n);
  st_item_free(&it);
  rc = hand_out(&k, rt_buf_take(&b), item_json, error);
done:
  call_end(&k);
  return rc;
}

int hitl_store_instances(hitl_store *s, const char *status, char **instances_json, hitl_error **error) {
  *instances_json = NULL;
  Call k;
  int rc = HITL_EXIT_REFUSED;
  if (call_begin(s, NULL, &k, error) != 0) goto done;
  StInstance *v = NULL;
  size_t n = 0;
  if (rt_instances(&k.c, status, &v, &n) != RT_COMPLETED) {
    rc = refused(&k, error);
    goto done;
  }
  RtBuf b = {0};
  rt_buf_add(&b, "[");
  for (size_t i = 0; i < n; i++) {
    if (i) rt_buf_add(&b, ",");
    rt_instance_json(&b, &v[i]);
  }
  rt_buf_add(&b, "]");
  if (v) st_instances_free(v, n);
  rc = hand_out(&k, rt_buf_take(&b), instances_json, error);
done:
  call_end(&k);
  return rc;
}

int hitl_store_log(hitl_store *s, const char *instance, char **events_json, hitl_error **error) {
  *events_json = NULL;
  Call k;
  int rc = HITL_EXIT_REFUSED;
  if (call_begin(s, NULL, &k, error) != 0) goto done;
  if (!instance) {
    rt_fail(&k.c, "usage", "hitl_store_log: no instance");
    rc = refused(&k, error);
    goto done;
  }
  StEvent *v = NULL;
  size_t n = 0;
  if (rt_log(&k.c, instance, &v, &n) != RT_COMPLETED) {
    rc = refused(&k, error);
    goto done;
  }
  RtBuf b = {0};
  rt_buf_add(&b, "[");
  for (size_t i = 0; i < n; i++) {
    if (i) rt_buf_add(&b, ",");
    rt_event_json(&b, &v[i]);
  }
  rt_buf_add(&b, "]");
  if (v) st_events_free(v, n);
  rc = hand_out(&k, rt_buf_take(&b), events_json, error);
done:
  call_end(&k);
  return rc;
}

/* ---- expire, reviewers -------------------------------------------------------------------- */

typedef struct Expired {
  RtBuf b;
  size_t n;
} Expired;

static void add_expired(void *user, const StItem *it, const char *verdict, int status) {
  Expired *e = user;
  const char *st = status == RT_COMPLETED ? "completed" : status == RT_SUSPENDED ? "suspended" : "failed";
  rt_buf_printf(&e->b, "%s{\"item\":%lld,\"instance\":\"%s\",\"verdict\":\"%s\",\"status\":\"%s\"}",
                e->n ? "," : "", (long long)it->id, it->instance, verdict, st);
  e->n++;
}

int hitl_store_expire(hitl_store *s, int64_t now, char **expired_json, hitl_error **error) {
  *expired_json = NULL;
  Call k;
  int rc = HITL_EXIT_REFUSED;
  if (call_begin(s, NULL, &k, error) != 0) goto done;
  Expired e = {{0}, 0};
  rt_buf_add(&e.b, "[");
  int cls = rt_expire(&k.c, now < 0 ? (int64_t)time(NULL) : now, add_expired, &e);
  if (cls == RT_USAGE && k.c.err) {   /* nothing was looked at */
    rt_buf_free(&e.b);
    rc = refused(&k, error);
    goto done;
  }
  rt_buf_add(&e.b, "]");
  rc = hand_out(&k, rt_buf_take(&e.b), expired_json, error);
  if (rc == HITL_EXIT_COMPLETED && cls == RT_USAGE) {
    /* some item could not be given its timeout verdict: the notes said why */
    rt_fail(&k.c, "store", "not every item past its deadline could be expired: %s",
            k.last_note ? k.last_note : "see the notes");
    rc = refused(&k, error);
  }
done:
  call_end(&k);
  return rc;
}

int hitl_store_reviewers_add(hitl_store *s, const char *name, const char *const *groups, size_t ngroups,
                             hitl_error **error) {
  Call k;
  int rc = HITL_EXIT_REFUSED;
  if (call_begin(s, NULL, &k, error) != 0) goto done;
  if (!name || (ngroups && !groups)) {
    rt_fail(&k.c, "usage", "hitl_store_reviewers_add: no name or no groups");
    rc = refused(&k, error);
    goto done;
  }
  for (size_t i = 0; i < ngroups; i++)
    if (!groups[i]) {
      rt_fail(&k.c, "usage", "hitl_store_reviewers_add: group %zu is NULL", i);
      rc = refused(&k, error);
      goto done;
    }
  rc = rt_reviewers_add(&k.c, name, groups, ngroups, NULL) == RT_COMPLETED ? HITL_EXIT_COMPLETED
                                                                            : refused(&k, error);
done:
  call_end(&k);
  return rc;
}
