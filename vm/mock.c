/* vm/mock.c — mock action bindings: parse a mock file once into the JSON
 * texts each call returns, then hand them out in order.
 *
 * jansson reads the file; everything kept afterwards (names, result texts)
 * is copied into mem_alloc'd memory so the results travel to the VM the way
 * a VmActionFn must return them.  Nothing here knows about the interpreter. */
#include "mock.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"

typedef struct Mock {
  char *name;
  bool is_error;             /* every call fails with texts[0] as the message */
  char **texts;              /* results as JSON text (or the one error message) */
  size_t ntexts, texts_cap;  /* filled, allocated */
  unsigned long calls;
} Mock;

struct Mocks {
  Mock *v;                   /* in the file's order */
  size_t n, cap;             /* filled, allocated */
  Mock **by_name;            /* the entries of v sorted by name, for lookup */
  char *witness_id;          /* the first field of a witness line; NULL = the pid */
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void set_err(char *err, size_t n, const char *fmt, ...) {
  if (!err || n == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, n, fmt, ap);
  va_end(ap);
}

static char *copy_text(const char *s, size_t len) {
  char *p = mem_alloc(len + 1);
  if (!p) return NULL;
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

static char *copy_str(const char *s) { return copy_text(s, strlen(s)); }

/* A JSON value as compact text in mem_alloc'd memory. */
static char *dump_value(const json_t *v) {
  char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!t) return NULL;
  char *p = copy_str(t);
  free(t);
  return p;
}

static const char *type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "a list";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a float";
  case JSON_TRUE: case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "a value";
}

static void mock_clear(Mock *m) {
  for (size_t i = 0; i < m->ntexts; i++) mem_free(m->texts[i], 0);
  mem_free(m->texts, m->texts_cap * sizeof *m->texts);
  mem_free(m->name, 0);
}

void mock_free(Mocks *mk) {
  if (!mk) return;
  for (size_t i = 0; i < mk->n; i++) mock_clear(&mk->v[i]);
  mem_free(mk->v, mk->cap * sizeof *mk->v);
  mem_free(mk->by_name, mk->cap * sizeof *mk->by_name);
  mem_free(mk->witness_id, 0);
  mem_free(mk, sizeof *mk);
}

/* Fill m from one entry of the file.  false with a message in err. */
static bool mock_fill(Mock *m, const char *file, const char *action, json_t *v, char *err,
                      size_t n) {
  const char *oom = "out of memory reading the mocks";
  json_t *results = NULL, *error = NULL;
  if (json_is_object(v) && json_object_size(v) == 1) {
    results = json_object_get(v, "results");
    error = json_object_get(v, "error");
  }
  if (error) {
    if (!json_is_string(error)) {
      set_err(err, n,
              "%s: mock for '%s': \"error\" must be a string (the message), found %s; "
              "to mock a result that is this object, write {\"results\": [VALUE]}",
              file, action, type_name(error));
      return false;
    }
    m->is_error = true;
    m->texts = mem_alloc(sizeof *m->texts);
    if (!m->texts) return set_err(err, n, "%s", oom), false;
    m->texts_cap = 1;
    m->texts[0] = copy_text(json_string_value(error), json_string_length(error));
    if (!m->texts[0]) return set_err(err, n, "%s", oom), false;
    m->ntexts = 1;
    return true;
  }
  if (results) {
    if (!json_is_array(results) || json_array_size(results) == 0) {
      set_err(err, n,
              "%s: mock for '%s': \"results\" must be a non-empty list (one result per call, "
              "the last repeating), found %s; to mock a result that is this object, write "
              "{\"results\": [VALUE]}",
              file, action, json_is_array(results) ? "an empty list" : type_name(results));
      return false;
    }
    size_t count = json_array_size(results);
    if (count > SIZE_MAX / sizeof *m->texts) return set_err(err, n, "%s", oom), false;
    m->texts = mem_alloc(count * sizeof *m->texts);
    if (!m->texts) return set_err(err, n, "%s", oom), false;
    m->texts_cap = count;
    for (size_t i = 0; i < count; i++) {
      m->texts[i] = dump_value(json_array_get(results, i));
      if (!m->texts[i]) return set_err(err, n, "%s", oom), false;
      m->ntexts = i + 1;
    }
    return true;
  }
  m->texts = mem_alloc(sizeof *m->texts);
  if (!m->texts) return set_err(err, n, "%s", oom), false;
  m->texts_cap = 1;
  m->texts[0] = dump_value(v);
  if (!m->texts[0]) return set_err(err, n, "%s", oom), false;
  m->ntexts = 1;
  return true;
}

static int by_name_cmp(const void *a, const void *b) {
  return strcmp((*(Mock *const *)a)->name, (*(Mock *const *)b)->name);
}

Mocks *mock_parse(const char *name, const char *text, size_t len, char *err, size_t n) {
  const char *oom = "out of memory reading the mocks";
  if (!name) name = "mocks";
  const char *nul = memchr(text, '\0', len);
  if (nul) {
    set_err(err, n, "%s: malformed JSON: a NUL byte at offset %zu", name, (size_t)(nul - text));
    return NULL;
  }
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
  if (!root) {
    set_err(err, n, "%s:%d:%d: malformed JSON: %s", name, je.line, je.column, je.text);
    return NULL;
  }
  if (!json_is_object(root)) {
    set_err(err, n, "%s: expected a JSON object from action name to mock, found %s", name,
            type_name(root));
    json_decref(root);
    return NULL;
  }
  Mocks *mk = mem_alloc(sizeof *mk);
  if (!mk) {
    set_err(err, n, "%s", oom);
    json_decref(root);
    return NULL;
  }
  memset(mk, 0, sizeof *mk);
  size_t count = json_object_size(root);
  if (count) {
    if (count > SIZE_MAX / sizeof *mk->v) goto oom;
    mk->v = mem_alloc(count * sizeof *mk->v);
    mk->by_name = mem_alloc(count * sizeof *mk->by_name);
    if (!mk->v || !mk->by_name) {
      mem_free(mk->v, 0);
      mem_free(mk->by_name, 0);
      mk->v = NULL;
      mk->by_name = NULL;
      goto oom;
    }
    memset(mk->v, 0, count * sizeof *mk->v);
    mk->cap = count;
  }
  const char *key;
  json_t *value;
  json_object_foreach(root, key, value) {
    Mock *m = &mk->v[mk->n];
    mk->by_name[mk->n] = m;
    mk->n++;                 /* counted at once, so mock_free sees a half-filled entry */
    m->name = copy_str(key);
    if (!m->name) goto oom;
    if (!mock_fill(m, name, key, value, err, n)) goto fail;
  }
  if (mk->n) qsort(mk->by_name, mk->n, sizeof *mk->by_name, by_name_cmp);
  json_decref(root);
  return mk;
oom:
  set_err(err, n, "%s", oom);
fail:
  json_decref(root);
  mock_free(mk);
  return NULL;
}

static Mock *find(const Mocks *mk, const char *action) {
  if (!mk || !action) return NULL;
  size_t lo = 0, hi = mk->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    Mock *m = mk->by_name[mid];
    int c = strcmp(action, m->name);
    if (c == 0) return m;
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return NULL;
}

/* ---- test hooks (docs/hitlvm.md, "Test hooks") ------------------------------ */

bool mock_set_witness_id(Mocks *mk, const char *id) {
  if (!mk) return false;
  char *copy = id ? copy_str(id) : NULL;
  if (id && !copy) return false;
  mem_free(mk->witness_id, 0);
  mk->witness_id = copy;
  return true;
}

/* HITL_WITNESS=FILE: one line "ID ACTION ARGS" per call actually made,
 * written with one write() on an O_APPEND descriptor (whole lines even with
 * several processes appending) and fsync'd before the call returns, so a
 * process killed after this point has left its record.  ARGS has any line
 * break replaced by a space.  Best effort: a failure is reported on stderr
 * and the call goes on.  HITL_ACTION_DELAY_US=N then sleeps N µs, widening
 * the window between a journal's intent and outcome for crash tests. */
static void witness(const Mocks *mk, const char *action, const char *args_json) {
  const char *path = getenv("HITL_WITNESS");
  if (path && *path) {
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    const char *id = mk && mk->witness_id ? mk->witness_id : pid;
    const char *args = args_json ? args_json : "null";
    size_t len = strlen(id) + strlen(action) + strlen(args) + 3;
    char *line = mem_alloc(len + 1);
    int fd = line ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
    if (fd >= 0) {
      snprintf(line, len + 1, "%s %s %s\n", id, action, args);
      for (char *c = line; c < line + len - 1; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
      ssize_t w;
      do w = write(fd, line, len);
      while (w < 0 && errno == EINTR);
      if (w != (ssize_t)len || fsync(fd) != 0)
        fprintf(stderr, "hitl: warning: HITL_WITNESS %s: %s\n", path, w < 0 ? strerror(errno) : "short write");
      close(fd);
    } else {
      fprintf(stderr, "hitl: warning: HITL_WITNESS %s: %s\n", path, line ? strerror(errno) : "out of memory");
    }
    mem_free(line, line ? len + 1 : 0);
  }
  const char *delay = getenv("HITL_ACTION_DELAY_US");
  long us = delay ? strtol(delay, NULL, 10) : 0;
  if (us > 0) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
  }
}

void mock_skip(Mocks *mk, const char *action) {
  Mock *m = find(mk, action);
  if (m && m->calls < ULONG_MAX) m->calls++;
}

int mock_call(void *user, const char *action, const char *args_json, char **result_json) {
  Mock *m = find(user, action);
  if (m) witness(user, action, args_json);
  if (!m) {
    const char *a = action ? action : "";
    size_t len = strlen(a) + sizeof "no binding for action ''";
    char *msg = mem_alloc(len);
    if (msg) snprintf(msg, len, "no binding for action '%s'", a);
    *result_json = msg;
    return 1;
  }
  size_t i = m->calls < m->ntexts ? (size_t)m->calls : m->ntexts - 1;
  if (m->calls < ULONG_MAX) m->calls++;
  *result_json = copy_str(m->texts[i]);
  if (m->is_error) return 1;
  return *result_json ? 0 : 1;   /* out of memory: a failed call with no message */
}

size_t mock_count(const Mocks *mk) { return mk ? mk->n : 0; }

const char *mock_name(const Mocks *mk, size_t i) {
  return mk && i < mk->n ? mk->v[i].name : NULL;
}

unsigned long mock_calls(const Mocks *mk, const char *action) {
  const Mock *m = find(mk, action);
  return m ? m->calls : 0;
}

char *mock_state_json(const Mocks *mk) {
  json_t *o = json_object();
  if (!o) return NULL;
  for (size_t i = 0; mk && i < mk->n; i++) {
    if (mk->v[i].calls == 0) continue;
    json_t *c = json_integer((json_int_t)mk->v[i].calls);
    if (!c || json_object_set_new(o, mk->v[i].name, c) != 0) {
      json_decref(o);
      return NULL;
    }
  }
  char *text = dump_value(o);
  json_decref(o);
  return text;
}

bool mock_set_state_json(Mocks *mk, const char *json, char *err, size_t n) {
  json_error_t je;
  json_t *root = json_loads(json ? json : "", JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
  if (!root) {
    set_err(err, n, "mock state: malformed JSON: %s", je.text);
    return false;
  }
  bool ok = json_is_object(root);
  if (!ok) set_err(err, n, "mock state: expected an object, found %s", type_name(root));
  const char *key;
  json_t *value;
  if (ok) {
    json_object_foreach(root, key, value) {
      if (!find(mk, key)) {
        set_err(err, n, "mock state: '%s' has no mock", key);
        ok = false;
        break;
      }
      if (!json_is_integer(value) || json_integer_value(value) < 0) {
        set_err(err, n, "mock state: the count for '%s' must be a non-negative integer", key);
        ok = false;
        break;
      }
    }
  }
  if (ok) {
    for (size_t i = 0; i < mk->n; i++) mk->v[i].calls = 0;
    json_object_foreach(root, key, value) {
      json_int_t c = json_integer_value(value);
      find(mk, key)->calls = (unsigned long long)c > ULONG_MAX ? ULONG_MAX : (unsigned long)c;
    }
  }
  json_decref(root);
  return ok;
}
