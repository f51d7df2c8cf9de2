/* vm/hitlvm_out.c — what hitlvm prints: messages, times, items and outcomes
 * (TOOLS.md §2).  JSON values the VM made (payloads, results, errors) are
 * copied as the VM wrote them, never re-encoded, so a float reads the same
 * in the store, the log and the output. */
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

/* ---- times ------------------------------------------------------------------- */

void iso_time(int64_t t, char out[32]) {
  struct tm tm;
  time_t tt = (time_t)t;
  if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
    snprintf(out, 32, "%lld", (long long)t);
}

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, int64_t *out) {
  int64_t v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

/* Unix seconds (digits, optionally negative) or YYYY-MM-DDTHH:MM:SS with Z
 * or +00:00 (or no zone: UTC), as TOOLS.md §2 writes times. */
bool parse_time(const char *s, int64_t *out) {
  const char *p = s + (*s == '-');
  if (*p >= '0' && *p <= '9' && strspn(p, "0123456789") == strlen(p)) {
    if (strlen(p) > 15) return false;
    int64_t v;
    if (!digits(p, (int)strlen(p), &v)) return false;
    *out = *s == '-' ? -v : v;
    return true;
  }
  int64_t y, mo, d, h, mi, se;
  if (strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
      !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2, &h) ||
      s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
    return false;
  const char *z = s + 19;
  if (strcmp(z, "") != 0 && strcmp(z, "Z") != 0 && strcmp(z, "z") != 0 && strcmp(z, "+00:00") != 0)
    return false;
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return false;
  *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
  return true;
}

char *json_quote(const char *s) {
  json_t *j = json_string(s ? s : "");
  char *t = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  json_decref(j);
  return t;
}

static void put_quoted(FILE *out, const char *s) {
  if (!s) {
    fputs("null", out);
    return;
  }
  char *q = json_quote(s);
  fputs(q ? q : "null", out);
  free(q);
}

/* ---- items ------------------------------------------------------------------- */

void put_item_json(FILE *out, const StItem *it) {
  char created[32], deadline[32];
  iso_time(it->created, created);
  fprintf(out, "{\"id\":%lld,\"instance\":", (long long)it->id);
  put_quoted(out, it->instance);
  fputs(",\"kind\":", out);
  put_quoted(out, it->kind);
  fputs(",\"title\":", out);
  put_quoted(out, it->title);
  fprintf(out, ",\"payload\":%s,\"digest\":", it->payload ? it->payload : "null");
  put_quoted(out, it->digest);
  fputs(",\"by\":", out);
  put_quoted(out, it->by);
  fprintf(out, ",\"quorum\":%lld,\"editable\":%s,\"created\":\"%s\",\"deadline\":", (long long)it->quorum,
          it->editable ? it->editable : "[]", created);
  if (it->deadline >= 0) {
    iso_time(it->deadline, deadline);
    fprintf(out, "\"%s\"", deadline);
  } else {
    fputs("null", out);
  }
  fputc('}', out);
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
  iso_time(it->created, t);
  fprintf(out, "  created: %s\n", t);
  if (it->deadline >= 0) {
    iso_time(it->deadline, t);
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

void put_outcome(Cli *c, const StInstance *in) {
  StItem *items = NULL;
  size_t n = 0;
  bool suspended = strcmp(in->status, "suspended") == 0;
  if (suspended && instance_items(c, in->id, "open", &items, &n) != ST_OK) n = 0;
  if (c->o->json) {
    printf("{\"instance\":\"%s\",\"status\":\"%s\"", in->id, in->status);
    if (in->result && strcmp(in->status, "completed") == 0) printf(",\"result\":%s", in->result);
    if (in->error && strcmp(in->status, "failed") == 0) printf(",\"error\":%s", in->error);
    fputs(",\"pending\":[", stdout);
    for (size_t i = 0; i < n; i++) {
      if (i) fputc(',', stdout);
      put_item_json(stdout, &items[i]);
    }
    fputs("]}\n", stdout);
  } else if (strcmp(in->status, "completed") == 0) {
    printf("%s\n", in->result ? in->result : "null");
  } else if (strcmp(in->status, "failed") == 0) {
    print_failure(in->error);
  } else {
    printf("instance %s suspended, waiting for a verdict:\n", in->id);
    for (size_t i = 0; i < n; i++) put_item_human(stdout, &items[i]);
    for (size_t i = 0; i < n; i++)
      printf("decide with: hitlvm resume %lld approve|modify|reject --as NAME%s\n", (long long)items[i].id,
             items[i].digest ? " --digest HEX" : "");
  }
  st_items_free(items, n);
}
