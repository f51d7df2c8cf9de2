/* vm/hitlvm_run.c — running instances over the store: `run`, the run segment
 * that `resume` and `expire` continue, and the action journal
 * (docs/hitlvm.md).
 *
 * A segment's events are kept in memory and stored with its stop in one
 * transaction (events, item, digest, snapshot, mock counters, status), so a
 * crash mid-run loses nothing committed: the instance is still `running`
 * with its last snapshot, and recovery (hitlvm_recover.c) replays the
 * journal up to where it was.  The journal is the exception that is written as the run goes: an
 * irreversible call's intent is committed before the call, its outcome
 * after. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/ast.h"
#include "compiler/compile.h"
#include "ffi_actions.h"
#include "hitlvm.h"
#include "mem.h"
#include "pending.h"
#include "sha256.h"

static char *dup_text(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = mem_alloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* ---- events ------------------------------------------------------------------- */

void run_event(Run *r, const char *kind, const char *fields_json) {
  if (r->nev == r->capev) {
    size_t cap = r->capev ? r->capev * 2 : 16;
    Event *ev = mem_realloc(r->ev, r->capev * sizeof *ev, cap * sizeof *ev);
    if (!ev) {
      r->lost = true;
      return;
    }
    r->ev = ev;
    r->capev = cap;
  }
  Event *e = &r->ev[r->nev];
  e->kind = dup_text(kind);
  e->fields = dup_text(fields_json);
  e->at = (int64_t)time(NULL);
  if (!e->kind || !e->fields) {
    mem_free(e->kind, 0);
    mem_free(e->fields, 0);
    r->lost = true;
    return;
  }
  r->nev++;
}

/* The VM's events.  `started` is written with the instance itself (cmd_run),
 * so the VM's own is not kept twice.  Without --json, log statements and
 * step starts are echoed on stderr as they happen. */
static void on_event(void *user, const char *kind, const char *fields_json) {
  Run *r = user;
  if (strcmp(kind, "started") == 0) return;
  run_event(r, kind, fields_json);
  if (r->quiet || r->c->o->json) return;
  bool is_log = strcmp(kind, "log") == 0, is_step = strcmp(kind, "step") == 0;
  if (!is_log && !is_step) return;
  json_t *f = json_loads(fields_json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  json_t *msg = json_object_get(f, "message");
  const char *name = json_string_value(json_object_get(f, "name"));
  const char *phase = json_string_value(json_object_get(f, "phase"));
  if (is_log && json_is_string(msg)) {
    fputs("log: ", stderr);
    fwrite(json_string_value(msg), 1, json_string_length(msg), stderr);
    fputc('\n', stderr);
  } else if (is_step && name && phase && strcmp(phase, "start") == 0) {
    fprintf(stderr, "step: %s\n", name);
  }
  json_decref(f);
}

/* ---- the action journal ------------------------------------------------------- */

static int fail_with(char **result_json, const char *fmt, const char *a, const char *b) {
  char msg[512];
  snprintf(msg, sizeof msg, fmt, a, b);
  *result_json = dup_text(msg);
  return 1;
}

/* A mocked action answers from its mock; a `from` action without a mock is
 * called through libffi; anything else has no binding (mock_call says so). */
static int call_binding(Run *r, const char *action, const char *args_json, char **result_json) {
  bool mocked = false;
  for (size_t i = 0; r->mocks && i < mock_count(r->mocks) && !mocked; i++)
    mocked = strcmp(mock_name(r->mocks, i), action) == 0;
  int32_t ai = ffi_action_index(r->m, action);
  if (!mocked && ai >= 0 && r->m->actions[ai].lib) {
    if (!r->ffi && !(r->ffi = ffi_new(r->m, r->base_dir, NULL, NULL)))
      return fail_with(result_json, "not called: out of memory opening '%s'%s", action, "");
    return ffi_call_action(r->ffi, (uint32_t)ai, args_json, result_json);
  }
  return mock_call(r->mocks, action, args_json, result_json);
}

/* Every action call goes through the journal, by its index in the instance.
 * A recorded outcome is returned without calling (replay after a crash; the
 * mock's counter moves on as it did, with no call made); an intent without
 * an outcome is in doubt unless a person approved calling again. */
static int journal_call(void *user, const char *action, const char *args_json, char **result_json) {
  Run *r = user;
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
      out = fail_with(result_json, "the journal records another action at this call ('%s'), not '%s'", row.action,
                      action);
    } else if (strcmp(row.state, "done") == 0 || strcmp(row.state, "failed") == 0) {
      if (r->mocks) mock_skip(r->mocks, action);
      out = row.state[0] == 'f';
      *result_json = dup_text(row.result ? row.result : out ? "action failed" : "null");
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
    return fail_with(result_json, "not called: the journal cannot be read (%s)%s", st_errmsg(st), "");
  }
  StCall c = {r->id, (int64_t)ci.index, (char *)action, (char *)args_json, "intent", NULL, (int64_t)time(NULL)};
  if (ci.irreversible && !have_intent && st_put_call(st, &c) != ST_OK)
    return fail_with(result_json, "not called: the intent cannot be recorded (%s)%s", st_errmsg(st), "");
  if (have_intent && ci.retry) {
    /* a person approved calling it again: record which approval started the
     * retry before calling, so a crash during it cannot lead to another */
    char item[32];
    snprintf(item, sizeof item, "%lld", (long long)r->verdict_item);
    StCall retry = c;
    retry.state = "retry";
    retry.result = item;
    if (st_put_call(st, &retry) != ST_OK)
      return fail_with(result_json, "not called: the retry cannot be recorded (%s)%s", st_errmsg(st), "");
  }
  int res = call_binding(r, action, args_json, result_json);
  if (!*result_json) return res;   /* out of memory: the VM fails the run; an intent stays in doubt */
  c.state = res ? "failed" : "done";
  c.result = *result_json;
  c.at = (int64_t)time(NULL);
  if (st_put_call(st, &c) != ST_OK)
    fprintf(stderr, "hitlvm: warning: the outcome of call %llu (%s) could not be journaled: %s\n",
            (unsigned long long)ci.index, action, st_errmsg(st));
  return res;
}

/* `queue` in the rules: the approval items open in the store right now */
static int64_t open_items(void *user) {
  Run *r = user;
  int64_t n = st_count_open_items(r->c->st);
  return n < 0 ? 0 : n;
}

static void run_bind(Run *r) {
  vm_set_queue_fn(r->vm, open_items, r);
  if (r->mocks && !mock_set_witness_id(r->mocks, r->id)) r->lost = true;
  vm_bind_actions(r->vm, journal_call, r);
  vm_set_events(r->vm, on_event, r);
}

void run_free(Run *r) {
  for (size_t i = 0; i < r->nev; i++) {
    mem_free(r->ev[i].kind, 0);
    mem_free(r->ev[i].fields, 0);
  }
  mem_free(r->ev, r->capev * sizeof *r->ev);
  vm_free(r->vm);
  ffi_free(r->ffi);
  mem_free(r->base_dir, 0);
  mock_free(r->mocks);
  bc_free(r->m);
  memset(r, 0, sizeof *r);
}

/* ---- storing a stop ----------------------------------------------------------- */

/* The checkpoint event names its item and digest, known once the item is in. */
static char *checkpoint_fields(const char *fields, int64_t item, const char *digest) {
  const char *rest = strchr(fields, '{');
  rest = rest ? rest + 1 : "}";
  while (*rest == ' ' || *rest == '\n' || *rest == '\t' || *rest == '\r') rest++;
  size_t n = strlen(rest) + 128;
  char *t = mem_alloc(n);
  if (t) snprintf(t, n, "{\"item\":%lld,\"digest\":\"%s\"%s%s", (long long)item, digest, *rest == '}' ? "" : ",", rest);
  return t;
}

static int64_t payload_int(json_t *p, const char *key, int64_t dflt) {
  json_t *v = json_object_get(p, key);
  return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* The item of a suspended VM, inserted with its digest and the snapshot. */
static int store_item(Run *r, int64_t now, int64_t *item, char digest[65]) {
  Store *st = r->c->st;
  const char *payload = vm_pending_json(r->vm);
  json_t *p = json_loads(payload, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  json_t *ed = json_object_get(p, "editable");
  char *editable = json_dumps(json_is_array(ed) ? ed : json_array(), JSON_COMPACT);
  VmTimeout to;
  vm_pending_timeout(r->vm, &to);
  int64_t deadline = -1;
  const char *dl = json_string_value(json_object_get(p, "deadline"));
  if (dl && !parse_time(dl, &deadline)) deadline = -1;
  if (deadline < 0 && to.seconds >= 0) deadline = now + to.seconds;
  StItem it = {0};
  it.instance = r->id;
  it.kind = "approval";
  it.title = (char *)(json_string_value(json_object_get(p, "title")) ? json_string_value(json_object_get(p, "title")) : "");
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
  uint8_t *snap = NULL;
  size_t len = 0;
  if (rc == ST_OK) rc = vm_snapshot(r->vm, r->hash, &snap, &len) ? ST_OK : ST_ERR;
  if (rc == ST_OK) rc = st_save_snapshot(st, r->id, snap, len);
  mem_free(snap, len);
  free(editable);
  json_decref(p);
  return rc;
}

/* One transaction: the item (if suspended), the events, the instance's new
 * state.  On failure nothing is written and the instance stays `running`
 * (recovered later from its last snapshot). */
static int store_stop(Run *r, VmStatus vs) {
  Store *st = r->c->st;
  int64_t now = (int64_t)time(NULL), item = -1;
  char digest[65] = "";
  StInstance in;
  if (r->lost || st_get_instance(st, r->id, &in) != ST_OK) return ST_ERR;
  char *mstate = r->mocks ? mock_state_json(r->mocks) : NULL;
  int rc = r->mocks && !mstate ? ST_ERR : st_begin(st);
  bool began = rc == ST_OK, logged_item = false;
  if (rc == ST_OK && vs == VM_SUSPENDED) rc = store_item(r, now, &item, digest);
  for (size_t i = 0; rc == ST_OK && i < r->nev; i++) {
    Event *e = &r->ev[i];
    char *f = NULL;
    if (vs == VM_SUSPENDED && strcmp(e->kind, "checkpoint") == 0 && i + 1 == r->nev) {
      if (!(f = checkpoint_fields(e->fields, item, digest))) rc = ST_ERR;
      logged_item = true;
    }
    if (rc == ST_OK) rc = st_append_event(st, r->id, e->at, e->kind, f ? f : e->fields);
    mem_free(f, 0);
  }
  if (rc == ST_OK && vs == VM_SUSPENDED && !logged_item) {
    /* a stop the VM logged no checkpoint event for (an action in doubt) */
    size_t n = strlen(vm_pending_json(r->vm)) + 16;
    char *pf = mem_alloc(n), *f = NULL;
    if (pf) snprintf(pf, n, "{\"payload\":%s}", vm_pending_json(r->vm));
    if (pf && (f = checkpoint_fields(pf, item, digest))) rc = st_append_event(st, r->id, now, "checkpoint", f);
    else rc = ST_ERR;
    mem_free(pf, n);
    mem_free(f, 0);
  }
  if (rc == ST_OK && vs != VM_SUSPENDED) {
    rc = st_delete_snapshot(st, r->id);
    if (rc == ST_NOTFOUND) rc = ST_OK;
  }
  if (rc == ST_OK) {
    StInstance up = in;
    up.status = vs == VM_COMPLETED ? "completed" : vs == VM_FAILED ? "failed" : "suspended";
    up.result = vs == VM_COMPLETED ? (char *)vm_result_json(r->vm) : NULL;
    up.error = vs == VM_FAILED ? (char *)vm_error_json(r->vm) : NULL;
    up.mock_state = mstate;
    up.owner = NULL;
    up.updated = now;
    rc = st_update_instance(st, &up);
  }
  if (rc == ST_OK) rc = st_commit(st);
  if (rc != ST_OK && began) st_rollback(st);
  mem_free(mstate, 0);
  st_instance_free(&in);
  return rc;
}

int run_on(Run *r) {
  VmStatus vs = vm_run(r->vm);
  if (store_stop(r, vs) != ST_OK) {
    bad_input("store %s: the instance's stop could not be stored (%s); it stays running and is recovered "
              "from its last stop by the next hitlvm that looks at it",
              r->c->store_path, r->lost ? "out of memory" : st_errmsg(r->c->st));
    return EXIT_USAGE;
  }
  if (!r->quiet) {
    StInstance in;
    if (st_get_instance(r->c->st, r->id, &in) == ST_OK) {
      put_outcome(r->c, &in);
      st_instance_free(&in);
    }
  }
  return vs == VM_COMPLETED ? EXIT_COMPLETED : vs == VM_SUSPENDED ? EXIT_SUSPENDED : EXIT_FAILED;
}

/* ---- the program, its mocks and input ----------------------------------------- */

static bool ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Load PROGRAM: bytecode when it starts with the .hbc magic or is named
 * *.hbc (the loader says what is wrong with it), else source compiled on the
 * fly (diagnostics as hitlc prints them).  NULL after a message. */
static Module *load_program(const char *path) {
  char *text;
  size_t len;
  int e = cp_read_file(path, &text, &len);
  if (e) {
    bad_input("cannot read '%s': %s", path, strerror(e));
    return NULL;
  }
  Module *m;
  size_t ml = sizeof BC_MAGIC - 1;
  if ((len >= ml && memcmp(text, BC_MAGIC, ml) == 0) || ends_with(path, ".hbc")) {
    char err[512];
    m = bc_read((const uint8_t *)text, len, err, sizeof err);
    if (!m) bad_input("%s: %s", path, err);
  } else {
    Diags d;
    m = cp_compile(path, text, len, &d);
    if (d.errors || d.warnings) diag_print(&d, stderr, isatty(STDERR_FILENO));
    if (!m && !d.errors) bad_input("%s: out of memory compiling", path);
    if (m && d.errors) {             /* never run a program with errors */
      bc_free(m);
      m = NULL;
    }
    diag_free(&d);
  }
  cp_free_text(text);
  return m;
}

/* The mocks (their text is kept with the instance). */
static Mocks *load_mocks(const char *path, const Module *m, char **text) {
  size_t len;
  int e = cp_read_file(path, text, &len);
  if (e) {
    bad_input("cannot read the mocks '%s': %s", path, strerror(e));
    return NULL;
  }
  char err[512];
  Mocks *mk = mock_parse(path, *text, len, err, sizeof err);
  if (!mk) {
    bad_input("%s", err);
    return NULL;
  }
  /* a mock for an action the program does not declare is most likely a typo */
  for (size_t i = 0; i < mock_count(mk); i++) {
    const char *name = mock_name(mk, i);
    bool known = false;
    for (uint32_t k = 0; k < m->nactions && !known; k++) known = strcmp(m->actions[k].name, name) == 0;
    if (!known)
      fprintf(stderr, "hitlvm: warning: %s: '%s' is not an action of playbook '%s'\n", path, name,
              m->playbook ? m->playbook : "?");
  }
  return mk;
}

/* --input JSON or @FILE as text in *owned (cp_free_text) or argv. */
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

static bool input_text(const char *arg, const char **json, char **owned) {
  *owned = NULL;
  *json = arg ? arg : "{}";
  if (!arg || arg[0] != '@') return true;
  size_t len;
  int e = cp_read_file(arg + 1, owned, &len);
  if (e) {
    bad_input("cannot read the input '%s': %s", arg + 1, strerror(e));
    return false;
  }
  if (memchr(*owned, '\0', len)) {
    bad_input("the input '%s' is not JSON text: it holds a NUL byte", arg + 1);
    return false;
  }
  *json = *owned;
  return true;
}

/* Set the params on the VM; *stored gets them as kept with the instance
 * ({name: VALUE as given}) and *logged as the `started` event shows them
 * (a string param as text, any other as its JSON literal).  Later wins. */
static bool set_params(VM *vm, const Module *m, char **params, int n, char **stored, char **logged) {
  char err[512];
  json_t *given = json_object();
  bool ok = given != NULL;
  for (int i = 0; ok && i < n; i++) {
    char *eq = strchr(params[i], '=');
    *eq = '\0';                          /* argv is ours to write (C11 5.1.2.2.1) */
    ok = vm_set_param(vm, params[i], eq + 1, err, sizeof err);
    if (!ok) bad_input("bad --param %s: %s", params[i], err);
    else if (json_object_set_new(given, params[i], json_string(eq + 1))) ok = !bad_input("out of memory");
    *eq = '=';
  }
  *stored = ok ? json_dumps(given, JSON_COMPACT) : NULL;
  size_t cap = 3;
  const char *name;
  json_t *v;
  json_object_foreach(given, name, v) cap += 2 * strlen(name) + 2 * json_string_length(v) + 16;
  *logged = ok ? malloc(cap) : NULL;
  if (*logged) {
    size_t at = (size_t)snprintf(*logged, cap, "{");
    json_object_foreach(given, name, v) {
      bool text = false;
      for (uint32_t g = 0; g < m->nglobals; g++)
        if (m->globals[g].kind == G_PARAM && strcmp(m->globals[g].name, name) == 0)
          text = m->globals[g].type == TY_STRING;
      char *k = json_quote(name), *q = text ? json_quote(json_string_value(v)) : NULL;
      at += (size_t)snprintf(*logged + at, cap - at, "%s%s:%s", at > 1 ? "," : "", k ? k : "\"\"",
                             text ? (q ? q : "null") : json_string_value(v));
      free(k);
      free(q);
    }
    snprintf(*logged + at, cap - at, "}");
  }
  json_decref(given);
  if (ok && (!*stored || !*logged)) ok = !bad_input("out of memory");
  return ok;
}

/* The calibrated thresholds of the program's playbook (hitlvm calibrate
 * --apply) set on the VM, read at every run and resume; *logged (malloc'd,
 * may be NULL) gets them as the `started` event records them,
 * {action: value}.  Names the program has no action for are skipped. */
static int set_calibrated(Cli *c, Run *r, char **logged) {
  StThreshold *t = NULL;
  size_t n = 0;
  if (logged) *logged = NULL;
  if (st_list_thresholds(c->st, r->m->playbook ? r->m->playbook : "", &t, &n) != ST_OK)
    return store_error(c, "reading the calibrated thresholds");
  size_t cap = 3, at = 0;
  for (size_t i = 0; i < n; i++) cap += 2 * strlen(t[i].action) + 40;
  char *j = logged ? malloc(cap) : NULL;
  if (logged && !j) {
    st_thresholds_free(t, n);
    return bad_input("out of memory");
  }
  if (j) at = (size_t)snprintf(j, cap, "{");
  for (size_t i = 0; i < n; i++) {
    if (!vm_set_calibrated_threshold(r->vm, t[i].action, t[i].value) || !j) continue;
    char *k = json_quote(t[i].action);
    at += (size_t)snprintf(j + at, cap - at, "%s%s:%.17g", at > 1 ? "," : "", k ? k : "\"\"", t[i].value);
    free(k);
  }
  if (j) snprintf(j + at, cap - at, "}");
  st_thresholds_free(t, n);
  if (logged) *logged = j;
  return EXIT_COMPLETED;
}

/* ---- run ------------------------------------------------------------------------ */

static void new_id(char out[17]) {
  unsigned char b[8];
  randombytes_buf(b, sizeof b);
  sodium_bin2hex(out, 17, b, sizeof b);
}

int cmd_run(Cli *c) {
  const Options *o = c->o;
  if (sodium_init() < 0) return bad_input("cannot initialise libsodium");
  Run r = {0};
  r.c = c;
  int status = EXIT_USAGE;
  char err[1024], *mock_text = NULL, *owned_input = NULL, *params = NULL, *logged = NULL, *started = NULL,
       *calibrated = NULL;
  uint8_t *bytes = NULL;
  size_t len = 0;
  const char *input;
  if (!(r.m = load_program(o->arg1))) goto done;
  {
    /* `from` libraries are looked for in the playbook's folder first */
    const char *slash = strrchr(o->arg1, '/');
    size_t n = slash ? (size_t)(slash - o->arg1) : 1;
    r.base_dir = mem_alloc(n + 1);
    if (r.base_dir) {
      memcpy(r.base_dir, slash ? o->arg1 : ".", n);
      r.base_dir[n] = 0;
    }
  }
  if (!bc_write(r.m, &bytes, &len)) {
    bad_input("out of memory");
    goto done;
  }
  hitl_sha256(r.hash, bytes, len);
  if (o->mock && !(r.mocks = load_mocks(o->mock, r.m, &mock_text))) goto done;
  if (!input_text(o->input, &input, &owned_input)) goto done;
  VmLimits lim = {0};
  lim.fuel = o->fuel;
  if (!(r.vm = vm_new(r.m, &lim))) {
    bad_input("out of memory");
    goto done;
  }
  if (!vm_set_input_json(r.vm, input, err, sizeof err)) {
    bad_input("bad input: %s", err);
    goto done;
  }
  /* kept and logged without the file's layout (the text is valid JSON now) */
  if (owned_input) compact_json(owned_input);
  if (!set_params(r.vm, r.m, o->params, o->nparams, &params, &logged)) goto done;

  /* everything checked: now the store */
  if (cli_open_store(c) != EXIT_COMPLETED) goto done;
  if (set_calibrated(c, &r, &calibrated) != EXIT_COMPLETED) goto done;
  new_id(r.id);
  char *who = json_quote(c->user);
  size_t n = strlen(input) + strlen(logged) + strlen(calibrated) + (who ? strlen(who) : 0) + 80;
  if (!who || !(started = malloc(n))) {
    free(who);
    bad_input("out of memory");
    goto done;
  }
  snprintf(started, n, "{\"input\":%s,\"params\":%s,\"requester\":%s,\"calibrated\":%s}", input, logged, who,
           calibrated);
  free(who);
  int64_t now = (int64_t)time(NULL);
  StInstance in = {0};
  in.id = r.id;
  memcpy(in.program, r.hash, 32);
  in.playbook = (char *)(r.m->playbook ? r.m->playbook : "");
  in.status = "running";
  in.starter = c->user;
  in.input = (char *)input;
  in.params = params;
  in.mocks = mock_text;
  in.owner = c->owner;
  in.created = in.updated = now;
  int rc = st_begin(c->st);
  if (rc == ST_OK) {
    rc = st_put_program(c->st, r.hash, in.playbook, bytes, len);
    if (rc == ST_OK) rc = st_insert_instance(c->st, &in);
    if (rc == ST_OK) rc = st_append_event(c->st, r.id, now, "started", started);
    if (rc == ST_OK) rc = st_commit(c->st);
    if (rc != ST_OK) st_rollback(c->st);
  }
  if (rc != ST_OK) {
    store_error(c, "cannot start the instance");
    goto done;
  }
  run_bind(&r);
  status = run_on(&r);
done:
  run_free(&r);
  mem_free(bytes, len);
  cp_free_text(mock_text);
  cp_free_text(owned_input);
  free(params);
  free(logged);
  free(calibrated);
  free(started);
  return status;
}

/* ---- restoring ------------------------------------------------------------------ */

static Module *stored_program(Cli *c, const uint8_t hash[32]) {
  uint8_t *bytes = NULL;
  size_t len = 0;
  if (st_get_program(c->st, hash, &bytes, &len) != ST_OK) {
    store_error(c, "the instance's program is missing");
    return NULL;
  }
  char err[512];
  Module *m = bc_read(bytes, len, err, sizeof err);
  if (!m) bad_input("store %s: the instance's program does not load: %s", c->store_path, err);
  mem_free(bytes, len);
  return m;
}

static int stored_mocks(Cli *c, const StInstance *in, Run *r) {
  char err[512];
  if (!in->mocks) return EXIT_COMPLETED;
  if (!(r->mocks = mock_parse("the instance's mocks", in->mocks, strlen(in->mocks), err, sizeof err)))
    return bad_input("store %s: %s", c->store_path, err);
  if (in->mock_state && !mock_set_state_json(r->mocks, in->mock_state, err, sizeof err))
    return bad_input("store %s: the instance's mock counters: %s", c->store_path, err);
  return EXIT_COMPLETED;
}

int run_restore(Cli *c, const StInstance *in, Run *r, bool quiet) {
  memset(r, 0, sizeof *r);
  r->c = c;
  r->quiet = quiet;
  snprintf(r->id, sizeof r->id, "%s", in->id);
  memcpy(r->hash, in->program, 32);
  if (!(r->m = stored_program(c, r->hash))) return EXIT_USAGE;
  uint8_t *snap = NULL;
  size_t len = 0;
  if (st_load_snapshot(c->st, in->id, &snap, &len) != ST_OK) return store_error(c, "the instance's snapshot");
  char err[512];
  VmLimits lim = {0};
  lim.fuel = c->o->fuel;
  r->vm = vm_restore(r->m, r->hash, snap, len, &lim, err, sizeof err);
  mem_free(snap, len);
  if (!r->vm) return bad_input("store %s: instance %s does not restore: %s", c->store_path, in->id, err);
  if (stored_mocks(c, in, r) != EXIT_COMPLETED) return EXIT_USAGE;
  if (set_calibrated(c, r, NULL) != EXIT_COMPLETED) return EXIT_USAGE;
  run_bind(r);
  return EXIT_COMPLETED;
}

/* A fresh start of an instance that never stopped (recovery). */
int run_fresh(Cli *c, const StInstance *in, Run *r) {
  memset(r, 0, sizeof *r);
  r->c = c;
  r->quiet = true;
  snprintf(r->id, sizeof r->id, "%s", in->id);
  memcpy(r->hash, in->program, 32);
  char err[512];
  if (!(r->m = stored_program(c, r->hash))) return EXIT_USAGE;
  VmLimits lim = {0};
  lim.fuel = c->o->fuel;
  if (!(r->vm = vm_new(r->m, &lim))) return bad_input("out of memory");
  if (!vm_set_input_json(r->vm, in->input ? in->input : "{}", err, sizeof err))
    return bad_input("instance %s: its input: %s", in->id, err);
  json_t *p = json_loads(in->params ? in->params : "{}", 0, NULL);
  const char *name;
  json_t *v;
  bool ok = json_is_object(p);
  json_object_foreach(p, name, v) if (ok && !vm_set_param(r->vm, name, json_string_value(v) ? json_string_value(v) : "", err, sizeof err)) {
    ok = false;
    bad_input("instance %s: param %s: %s", in->id, name, err);
  }
  json_decref(p);
  if (!ok || stored_mocks(c, in, r) != EXIT_COMPLETED) return EXIT_USAGE;
  if (set_calibrated(c, r, NULL) != EXIT_COMPLETED) return EXIT_USAGE;
  run_bind(r);
  return EXIT_COMPLETED;
}
