/* vm/hitlvm_out.c — what hitlvm prints: messages, items and outcomes
 * (TOOLS.md §2).  The JSON forms are the runtime's (vm/rt_json.c), printed
 * with a line break; the text forms are made here. */
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hitlvm.h"
#include "mem.h"

int bad_input(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hitlvm: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return EXIT_USAGE;
}

int store_error(Cli *c, const char *what) {
  return bad_input("store %s: %s: %s", c->store_path, what, c->st ? st_errmsg(c->st) : "not open");
}

int rt_error(Cli *c, int status) {
  if (c->rt.err) bad_input("%s", c->rt.err);
  rt_clear(&c->rt);
  return status;
}

void cli_note(void *user, const char *message) {
  (void)user;
  bad_input("%s", message);
}

/* The events of a run segment as they happen: without --json, log
 * statements and step starts are echoed on stderr. */
void cli_echo(void *user, const char *kind, const char *fields_json) {
  Cli *c = user;
  if (c->o->json) return;
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

/* ---- items ------------------------------------------------------------------- */

void put_item_json(FILE *out, const StItem *it) {
  RtBuf b = {0};
  rt_item_json(&b, it);
  char *s = rt_buf_take(&b);
  fputs(s ? s : "null", out);
  mem_free(s, 0);
}

/* A JSON value as text, floats as short as still reads back the same (for
 * people).  malloc'd. */
static char *show_text(const json_t *v) {
  for (int p = 15; p <= 17; p++) {
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(p);
    char *t = json_dumps(v, flags);
    if (!t) return NULL;
    json_t *back = json_loads(t, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    bool same = back && json_equal(back, v);
    json_decref(back);
    if (same || p == 17) return t;
    free(t);
  }
  return NULL;
}

void put_item_human(FILE *out, const StItem *it) {
  json_t *p = json_loads(it->payload ? it->payload : "null", JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  const char *step = json_string_value(json_object_get(p, "step"));
  fprintf(out, "item %lld (%s, %s) of instance %s: %s\n", (long long)it->id, it->kind, it->status,
          it->instance, it->title ? it->title : "");
  if (step) fprintf(out, "  step: %s\n", step);
  json_t *shown = json_object_get(p, "show");
  if (!json_is_object(shown)) shown = p;   /* an in-doubt or routed call: its fields */
  const char *label;
  json_t *v;
  json_object_foreach(shown, label, v) {
    if (shown == p && (strcmp(label, "title") == 0 || strcmp(label, "step") == 0 || strcmp(label, "by") == 0 ||
                       strcmp(label, "quorum") == 0 || strcmp(label, "deadline") == 0 ||
                       strcmp(label, "editable") == 0))
      continue;
    char *t = show_text(v);
    fprintf(out, "  %s: %s\n", label, t ? t : "?");
    free(t);
  }
  fprintf(out, "  decided by: %s", it->by ? it->by : "anyone but the starter");
  if (it->quorum > 1) fprintf(out, ", quorum %lld", (long long)it->quorum);
  fputc('\n', out);
  json_t *ed = json_loads(it->editable ? it->editable : "[]", 0, NULL);
  if (json_array_size(ed)) {
    fputs("  editable:", out);
    size_t i;
    json_t *name;
    json_array_foreach(ed, i, name) fprintf(out, "%s %s", i ? "," : "", json_string_value(name));
    fputc('\n', out);
  }
  json_decref(ed);
  char t[32];
  rt_iso_time(it->created, t);
  fprintf(out, "  created: %s\n", t);
  if (it->deadline >= 0) {
    rt_iso_time(it->deadline, t);
    fprintf(out, "  deadline: %s", t);
    if (it->timeout_verdict >= 0)
      fprintf(out, " (then %s%s%s)", it->timeout_verdict ? "reject" : "approve",
              it->timeout_reason ? ": " : "", it->timeout_reason ? it->timeout_reason : "");
    fputc('\n', out);
  }
  if (it->digest) fprintf(out, "  digest: %s\n", it->digest);
  json_decref(p);
}

/* ---- outcomes ---------------------------------------------------------------- */

static void print_failure(const char *error_json) {
  json_t *e = json_loads(error_json ? error_json : "null", JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  const char *kind = json_string_value(json_object_get(e, "kind"));
  json_t *msg = json_object_get(e, "message"), *line = json_object_get(e, "line");
  fprintf(stderr, "error: %s: ", kind ? kind : "?");
  fwrite(json_string_value(msg) ? json_string_value(msg) : "", 1, json_string_length(msg), stderr);
  if (json_is_integer(line) && json_integer_value(line) > 0)
    fprintf(stderr, " (line %lld)", (long long)json_integer_value(line));
  fputc('\n', stderr);
  json_decref(e);
}

void put_outcome(Cli *c, const char *instance) {
  if (c->o->json) {
    char *j = NULL;
    if (rt_outcome_json(&c->rt, instance, &j) == RT_COMPLETED) printf("%s\n", j);
    else rt_clear(&c->rt);
    mem_free(j, 0);
    return;
  }
  StInstance in;
  if (st_get_instance(c->st, instance, &in) != ST_OK) return;
  StItem *items = NULL;
  size_t n = 0;
  if (rt_instance_items(&c->rt, in.id, "open", &items, &n) != ST_OK) n = 0;
  bool waits = strcmp(in.status, "suspended") == 0;
  if (strcmp(in.status, "completed") == 0 || strcmp(in.status, "reviewing") == 0) {
    printf("%s\n", in.result ? in.result : "null");
  } else if (strcmp(in.status, "failed") == 0) {
    print_failure(in.error);
  } else {
    printf("instance %s suspended, waiting for a verdict:\n", in.id);
  }
  /* what is open: the approval it waits on, and reviews of calls it made */
  if (!waits && n) printf("instance %s is %s; review items open:\n", in.id, in.status);
  for (size_t i = 0; i < n; i++) put_item_human(stdout, &items[i]);
  for (size_t i = 0; i < n; i++) {
    bool review = strcmp(items[i].kind, "review") == 0;
    printf("decide with: hitlvm resume %lld %s --as NAME%s\n", (long long)items[i].id,
           review ? "pass|flag [--reason TEXT]" : "approve|modify|reject", items[i].digest ? " --digest HEX" : "");
  }
  st_items_free(items, n);
  st_instance_free(&in);
}
