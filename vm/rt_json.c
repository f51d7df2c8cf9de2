/* vm/rt_json.c — text for the runtime (vm/rt.h): refusals and notes, a
 * string builder, times, and the JSON shapes of TOOLS.md §2 that `hitlvm
 * --json` prints and the store API returns.  JSON values the VM made
 * (payloads, results, errors, event fields) are copied as the VM wrote them,
 * never re-encoded, so a float reads the same in the store, the log and the
 * output. */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "rt.h"

/* ---- refusals and notes ------------------------------------------------------ */

static char *vformat(const char *fmt, va_list ap) {
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  char *s = n >= 0 ? mem_alloc((size_t)n + 1) : NULL;
  if (s) vsnprintf(s, (size_t)n + 1, fmt, again);
  va_end(again);
  return s;
}

char *rt_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  return s;
}

char *rt_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = mem_alloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static char oom_text[] = "out of memory";

static void set_err(RtCtx *c, const char *kind, char *msg) {
  rt_clear(c);
  c->err = msg ? msg : oom_text;
  c->err_kind = msg ? kind : "memory";
}

int rt_fail(RtCtx *c, const char *kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_err(c, kind, vformat(fmt, ap));
  va_end(ap);
  return RT_USAGE;
}

int rt_store_fail(RtCtx *c, const char *what) {
  return rt_fail(c, "store", "store %s: %s: %s", c->store_path ? c->store_path : "?", what,
                 c->st ? st_errmsg(c->st) : "not open");
}

int rt_oom(RtCtx *c) {
  set_err(c, "memory", NULL);
  return RT_USAGE;
}

void rt_clear(RtCtx *c) {
  if (c->err != oom_text) mem_free(c->err, 0);
  c->err = NULL;
  c->err_kind = NULL;
}

void rt_note(RtCtx *c, const char *fmt, ...) {
  if (!c->note) return;
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  c->note(c->note_user, s ? s : oom_text);
  mem_free(s, 0);
}

void rt_fail_to_note(RtCtx *c) {
  if (c->err && c->note) c->note(c->note_user, c->err);
  rt_clear(c);
}

/* ---- the string builder -------------------------------------------------------- */

static bool grow(RtBuf *b, size_t more) {
  if (b->oom) return false;
  if (b->len + more + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + more + 1) {
    if (cap > SIZE_MAX / 2) {
      b->oom = true;
      return false;
    }
    cap *= 2;
  }
  char *s = mem_realloc(b->s, b->cap, cap);
  if (!s) {
    b->oom = true;
    return false;
  }
  b->s = s;
  b->cap = cap;
  return true;
}

void rt_buf_addn(RtBuf *b, const char *text, size_t n) {
  if (!grow(b, n)) return;
  memcpy(b->s + b->len, text, n);
  b->len += n;
  b->s[b->len] = '\0';
}

void rt_buf_add(RtBuf *b, const char *text) { rt_buf_addn(b, text, strlen(text)); }

void rt_buf_printf(RtBuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  if (!s) b->oom = true;
  else rt_buf_add(b, s);
  mem_free(s, 0);
}

void rt_buf_quoted(RtBuf *b, const char *s) {
  if (!s) {
    rt_buf_add(b, "null");
    return;
  }
  char *q = rt_json_quote(s);
  rt_buf_add(b, q ? q : "null");
  free(q);
}

char *rt_buf_take(RtBuf *b) {
  char *s = NULL;
  if (!b->oom) s = b->s ? b->s : rt_strdup("");
  else mem_free(b->s, b->cap);
  memset(b, 0, sizeof *b);
  return s;
}

void rt_buf_free(RtBuf *b) {
  mem_free(b->s, b->cap);
  memset(b, 0, sizeof *b);
}

/* ---- times --------------------------------------------------------------------- */

void rt_iso_time(int64_t t, char out[32]) {
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
bool rt_parse_time(const char *s, int64_t *out) {
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

char *rt_json_quote(const char *s) {
  json_t *j = json_string(s ? s : "");
  char *t = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  json_decref(j);
  return t;
}

/* ---- the shapes of TOOLS.md §2 ---------------------------------------------------- */

void rt_item_json(RtBuf *b, const StItem *it) {
  char created[32], deadline[32];
  rt_iso_time(it->created, created);
  rt_buf_printf(b, "{\"id\":%lld,\"instance\":", (long long)it->id);
  rt_buf_quoted(b, it->instance);
  rt_buf_add(b, ",\"kind\":");
  rt_buf_quoted(b, it->kind);
  rt_buf_add(b, ",\"title\":");
  rt_buf_quoted(b, it->title);
  rt_buf_add(b, ",\"payload\":");
  rt_buf_add(b, it->payload ? it->payload : "null");
  rt_buf_add(b, ",\"digest\":");
  rt_buf_quoted(b, it->digest);
  rt_buf_add(b, ",\"by\":");
  rt_buf_quoted(b, it->by);
  rt_buf_printf(b, ",\"quorum\":%lld,\"editable\":", (long long)it->quorum);
  rt_buf_add(b, it->editable ? it->editable : "[]");
  rt_buf_printf(b, ",\"created\":\"%s\",\"deadline\":", created);
  if (it->deadline >= 0) {
    rt_iso_time(it->deadline, deadline);
    rt_buf_printf(b, "\"%s\"", deadline);
  } else {
    rt_buf_add(b, "null");
  }
  rt_buf_add(b, "}");
}

int rt_count_approvals(const StVerdict *v, size_t n) {
  int k = 0;
  for (size_t i = 0; i < n; i++) k += strcmp(v[i].verdict, "approve") == 0;
  return k;
}

void rt_show_json(RtBuf *b, const StItem *it, const StVerdict *v, size_t n) {
  rt_item_json(b, it);
  if (!b->oom && b->len) b->s[--b->len] = '\0';   /* without its closing brace */
  rt_buf_add(b, ",\"votes\":[");
  for (size_t i = 0; i < n; i++) {
    char at[32];
    rt_iso_time(v[i].at, at);
    rt_buf_add(b, i ? ",{\"reviewer\":" : "{\"reviewer\":");
    rt_buf_quoted(b, v[i].reviewer);
    rt_buf_printf(b, ",\"verdict\":\"%s\",\"at\":\"%s\"}", v[i].verdict, at);
  }
  rt_buf_printf(b, "],\"approvals\":%d,\"status\":\"%s\"}", rt_count_approvals(v, n), it->status);
}

int rt_outcome_json(RtCtx *c, const char *instance, char **out) {
  *out = NULL;
  StInstance in;
  int rc = st_get_instance(c->st, instance, &in);
  if (rc == ST_NOTFOUND) return rt_fail(c, "usage", "unknown instance '%s'", instance);
  if (rc != ST_OK) return rt_store_fail(c, "reading the instance");
  StItem *items = NULL;
  size_t n = 0;
  /* every item still open: an approval it waits on, reviews of its calls */
  if (rt_instance_items(c, in.id, "open", &items, &n) != ST_OK) n = 0;
  RtBuf b = {0};
  rt_buf_printf(&b, "{\"instance\":\"%s\",\"status\":\"%s\"", in.id, in.status);
  bool ended = strcmp(in.status, "completed") == 0 || strcmp(in.status, "reviewing") == 0;
  if (in.result && ended) rt_buf_printf(&b, ",\"result\":%s", in.result);
  if (in.error && strcmp(in.status, "failed") == 0) rt_buf_printf(&b, ",\"error\":%s", in.error);
  rt_buf_add(&b, ",\"pending\":[");
  for (size_t i = 0; i < n; i++) {
    if (i) rt_buf_add(&b, ",");
    rt_item_json(&b, &items[i]);
  }
  rt_buf_add(&b, "]}");
  if (items) st_items_free(items, n);
  st_instance_free(&in);
  *out = rt_buf_take(&b);
  return *out ? RT_COMPLETED : rt_oom(c);
}

void rt_instance_json(RtBuf *b, const StInstance *in) {
  char created[32], updated[32];
  rt_iso_time(in->created, created);
  rt_iso_time(in->updated, updated);
  rt_buf_printf(b, "{\"id\":\"%s\",\"playbook\":", in->id);
  rt_buf_quoted(b, in->playbook);
  rt_buf_printf(b, ",\"status\":\"%s\",\"starter\":", in->status);
  rt_buf_quoted(b, in->starter);
  rt_buf_printf(b, ",\"created\":\"%s\",\"updated\":\"%s\"}", created, updated);
}

/* JSON text on one line: raw line breaks and tabs in valid JSON text are
 * whitespace between tokens (inside strings they are escaped). */
static void add_one_line(RtBuf *b, const char *s) {
  size_t from = b->len;
  rt_buf_add(b, s);
  if (b->oom) return;
  for (size_t i = from; i < b->len; i++)
    if (b->s[i] == '\n' || b->s[i] == '\r' || b->s[i] == '\t') b->s[i] = ' ';
}

void rt_event_json(RtBuf *b, const StEvent *e) {
  char at[32];
  rt_iso_time(e->at, at);
  const char *rest = strchr(e->fields, '{');
  rest = rest ? rest + 1 : "}";
  while (isspace((unsigned char)*rest)) rest++;
  rt_buf_printf(b, "{\"seq\":%lld,\"at\":\"%s\",\"kind\":\"%s\"%s", (long long)e->seq, at, e->kind,
                *rest == '}' ? "" : ",");
  add_one_line(b, rest);
}
