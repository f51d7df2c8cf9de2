/* vm/hitlvm.c — the hitlvm command line (TOOLS.md §2, docs/hitlvm.md).
 *
 * Only arguments, printing and exit statuses live here: the program comes
 * from bc_read or cp_compile, mocks from mock.c, the run from vm.h.  Issue 4
 * has no store: `run` starts a fresh in-memory instance every time, and the
 * commands that need the store say so.  Exit status of `run`: 0 completed,
 * 1 the playbook failed, 2 usage error or bad input, 3 suspended. */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compiler/compile.h"
#include "bytecode.h"
#include "mem.h"
#include "mock.h"
#include "vm.h"

#define HITLVM_VERSION "0.1.0"

enum { EXIT_COMPLETED = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SUSPENDED = 3 };

static const char usage_text[] =
  "usage: hitlvm run PROGRAM [options]     run a playbook until it completes, fails or suspends\n"
  "       hitlvm --version | --help\n"
  "\n"
  "PROGRAM is bytecode (.hbc, from hitlc) or a .hitl source compiled on the fly.\n"
  "\n"
  "options of run:\n"
  "  --input JSON|@FILE   the run's input, a JSON object (default {})\n"
  "  --param NAME=VALUE   override a param (repeatable); a string param takes VALUE\n"
  "                       as text, any other type a JSON literal of that type\n"
  "  --mock FILE          action results from a JSON file (see docs/hitlvm.md)\n"
  "  --as NAME            who starts the instance\n"
  "  --fuel N             instruction budget of the run (a positive integer)\n"
  "  --json               one JSON object on stdout: instance, status, result or\n"
  "                       error, pending\n"
  "  --store PATH         the store (accepted; the store arrives with issue 5)\n"
  "\n"
  "Without --json a completed run prints its result as JSON on stdout, a failed\n"
  "one 'error: KIND: MESSAGE (line N)' on stderr, a suspended one its checkpoint;\n"
  "log statements and steps are echoed on stderr as 'log: TEXT' and 'step: NAME'.\n"
  "Exit status: 0 completed, 1 the playbook failed, 2 usage error or bad input,\n"
  "3 suspended at a checkpoint.\n"
  "\n"
  "Not in this version: pending, show, resume, instances, log, expire, stats,\n"
  "calibrate, export and reviewers need the durable store (issue 5); without it\n"
  "a suspended run cannot be resumed.\n";

/* the commands of TOOLS.md §2 that cannot exist before the store */
static const char *const store_commands[] = {
  "pending", "show", "resume", "instances", "log", "expire",
  "stats", "calibrate", "export", "reviewers",
};

typedef struct Options {
  bool json, help, version;
  const char *command, *program;
  const char *input, *mock, *as, *store;
  uint64_t fuel;                      /* 0 = the VM's default */
  char **params;                      /* NAME=VALUE, pointing into argv */
  int nparams;
} Options;

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hitlvm: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nTry 'hitlvm --help' for more information.\n", stderr);
  return EXIT_USAGE;
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int bad_input(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hitlvm: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return EXIT_USAGE;
}

/* --fuel N: decimal digits only, at least 1, no overflow. */
static bool parse_fuel(const char *s, uint64_t *out) {
  uint64_t v = 0;
  if (!*s) return false;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return v > 0;
}

/* Returns -1 when the options are fine, else the exit status. */
static int parse_args(int argc, char **argv, Options *o) {
  /* the options with a value; slot NULL: --param and --fuel, handled below */
  const struct { const char *flag; const char **slot; } with_value[] = {
    {"--input", &o->input}, {"--mock", &o->mock}, {"--as", &o->as},
    {"--store", &o->store}, {"--param", NULL},    {"--fuel", NULL},
  };
  bool options_done = false;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (options_done || a[0] != '-' || a[1] == '\0') {
      if (!o->command) {
        o->command = a;
        for (size_t k = 0; k < sizeof store_commands / sizeof *store_commands; k++)
          if (strcmp(a, store_commands[k]) == 0) return -1;   /* main reports it */
        if (strcmp(a, "run") != 0) return usage_error("unknown command '%s'", a);
      } else if (!o->program) {
        o->program = a;
      } else {
        return usage_error("one program only, found '%s' too", a);
      }
      continue;
    }
    if (strcmp(a, "--") == 0) {
      options_done = true;
      continue;
    }
    if (strcmp(a, "--json") == 0) { o->json = true; continue; }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { o->help = true; continue; }
    if (strcmp(a, "--version") == 0) { o->version = true; continue; }

    /* an option with a value: --opt VALUE or --opt=VALUE */
    size_t k = 0, nk = sizeof with_value / sizeof *with_value;
    char *value = NULL;
    for (; k < nk; k++) {
      size_t len = strlen(with_value[k].flag);
      if (strncmp(a, with_value[k].flag, len) != 0) continue;
      if (a[len] == '=') {
        value = a + len + 1;
        break;
      }
      if (a[len] == '\0') {
        if (i + 1 >= argc) return usage_error("%s needs a value", a);
        value = argv[++i];
        break;
      }
    }
    if (k == nk) return usage_error("unknown option '%s'", a);
    const char *flag = with_value[k].flag;
    if (with_value[k].slot) {
      if (*with_value[k].slot) return usage_error("%s given twice", flag);
      *with_value[k].slot = value;
    } else if (strcmp(flag, "--param") == 0) {
      if (!strchr(value, '=') || value[0] == '=')
        return usage_error("--param takes NAME=VALUE, found '%s'", value);
      o->params[o->nparams++] = value;
    } else if (!parse_fuel(value, &o->fuel)) {
      return usage_error("--fuel needs a positive integer, found '%s'", value);
    }
  }
  if (o->help || o->version) return -1;
  if (!o->command) return usage_error("%s", "no command");
  if (!o->program) return usage_error("%s", "run needs a PROGRAM (.hbc or .hitl)");
  if (o->as && !o->as[0]) return usage_error("%s", "--as needs a name");
  if (o->store) {
    struct stat st;
    if (!o->store[0]) return usage_error("%s", "--store needs a path");
    if (stat(o->store, &st) == 0 && S_ISDIR(st.st_mode))
      return usage_error("--store '%s' is a directory, not a store file", o->store);
  }
  return -1;
}

/* ---- the program ---------------------------------------------------------- */

static bool ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Bytecode when the file starts with the .hbc magic or is named *.hbc (the
 * loader then says what is wrong with it); anything else is source. */
static bool is_bytecode(const char *path, const char *text, size_t len) {
  size_t ml = sizeof BC_MAGIC - 1;
  if (len >= ml && memcmp(text, BC_MAGIC, ml) == 0) return true;
  return ends_with(path, ".hbc");
}

/* Load or compile PROGRAM; NULL after printing why (the caller exits 2). */
static Module *load_program(const char *path) {
  char *text;
  size_t len;
  int e = cp_read_file(path, &text, &len);
  if (e) {
    bad_input("cannot read '%s': %s", path, strerror(e));
    return NULL;
  }
  Module *m;
  if (is_bytecode(path, text, len)) {
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

static Mocks *load_mocks(const char *path, const Module *m) {
  char *text;
  size_t len;
  int e = cp_read_file(path, &text, &len);
  if (e) {
    bad_input("cannot read the mocks '%s': %s", path, strerror(e));
    return NULL;
  }
  char err[512];
  Mocks *mk = mock_parse(path, text, len, err, sizeof err);
  cp_free_text(text);
  if (!mk) {
    bad_input("%s", err);
    return NULL;
  }
  /* a mock for an action the program does not declare is most likely a typo */
  for (size_t i = 0; i < mock_count(mk); i++) {
    const char *name = mock_name(mk, i);
    bool known = false;
    for (uint32_t k = 0; k < m->nactions && !known; k++)
      known = strcmp(m->actions[k].name, name) == 0;
    if (!known)
      fprintf(stderr, "hitlvm: warning: %s: '%s' is not an action of playbook '%s'\n", path,
              name, m->playbook ? m->playbook : "?");
  }
  return mk;
}

/* --input JSON or @FILE, as NUL-terminated text in *owned (cp_free_text) or
 * pointing into argv.  false after printing why. */
static bool input_text(const char *arg, const char **json, char **owned) {
  *owned = NULL;
  if (!arg) {
    *json = "{}";
    return true;
  }
  if (arg[0] != '@') {
    *json = arg;
    return true;
  }
  size_t len;
  int e = cp_read_file(arg + 1, owned, &len);
  if (e) {
    bad_input("cannot read the input '%s': %s", arg + 1, strerror(e));
    return false;
  }
  if (memchr(*owned, '\0', len)) {
    bad_input("the input '%s' is not JSON text: it holds a NUL byte", arg + 1);
    cp_free_text(*owned);
    *owned = NULL;
    return false;
  }
  *json = *owned;
  return true;
}

/* ---- events --------------------------------------------------------------- */

/* Without --json, `log` and the start of each `step` are echoed on stderr;
 * other events (and everything with --json) wait for the store's log. */
static void on_event(void *user, const char *kind, const char *fields_json) {
  const Options *o = user;
  if (o->json) return;
  bool is_log = strcmp(kind, "log") == 0, is_step = strcmp(kind, "step") == 0;
  if (!is_log && !is_step) return;
  json_t *f = json_loads(fields_json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  if (!json_is_object(f)) {
    json_decref(f);
    return;
  }
  if (is_log) {
    /* {"message": TEXT} from a `log` statement; now() logs {"now": T}, not echoed */
    json_t *t = json_object_get(f, "message");
    if (json_is_string(t)) {
      fputs("log: ", stderr);
      fwrite(json_string_value(t), 1, json_string_length(t), stderr);
      fputc('\n', stderr);
    }
  } else {
    /* {"name": NAME, "phase": "start"|"end"}: the start is echoed */
    const char *name = json_string_value(json_object_get(f, "name"));
    const char *phase = json_string_value(json_object_get(f, "phase"));
    if (name && phase && strcmp(phase, "start") == 0) fprintf(stderr, "step: %s\n", name);
  }
  json_decref(f);
}

/* ---- output --------------------------------------------------------------- */

static void iso_time(time_t t, char out[32]) {
  struct tm tm;
  if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
    snprintf(out, 32, "%lld", (long long)t);
}

/* A JSON value as text, floats as short as still reads back the same (for
 * people; the --json output copies the VM's own text instead).  malloc'd. */
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

static void put_json(FILE *out, const json_t *v) {
  if (!v || json_dumpf(v, out, JSON_COMPACT | JSON_ENCODE_ANY) != 0) fputs("null", out);
}

/* The pending item of TOOLS.md §2, built from the checkpoint's payload (raw
 * text, so its values are exactly the VM's). */
static void put_item(FILE *out, const char *instance, const char *payload_text, time_t now) {
  json_t *p = json_loads(payload_text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  json_t *quorum = json_object_get(p, "quorum"), *deadline = json_object_get(p, "deadline");
  json_t *editable = json_object_get(p, "editable");
  char created[32], dl[32];
  iso_time(now, created);
  fprintf(out, "{\"id\":1,\"instance\":\"%s\",\"kind\":\"approval\",\"title\":", instance);
  put_json(out, json_object_get(p, "title"));
  fprintf(out, ",\"payload\":%s,\"digest\":null,\"by\":", payload_text);
  put_json(out, json_object_get(p, "by"));
  if (json_is_integer(quorum) && json_integer_value(quorum) > 0)
    fprintf(out, ",\"quorum\":%lld", (long long)json_integer_value(quorum));
  else
    fputs(",\"quorum\":1", out);
  fputs(",\"editable\":", out);
  if (json_is_array(editable)) put_json(out, editable);
  else fputs("[]", out);
  fprintf(out, ",\"created\":\"%s\",\"deadline\":", created);
  if (json_is_number(deadline)) {
    iso_time((time_t)json_number_value(deadline), dl);
    fprintf(out, "\"%s\"", dl);
  } else if (json_is_string(deadline)) {
    put_json(out, deadline);
  } else {
    fputs("null", out);
  }
  fputc('}', out);
  json_decref(p);
}

static void print_json(VM *vm, VmStatus st, const char *instance) {
  static const char *const names[] = {
    [VM_COMPLETED] = "completed", [VM_SUSPENDED] = "suspended", [VM_FAILED] = "failed"};
  printf("{\"instance\":\"%s\",\"status\":\"%s\"", instance, names[st]);
  if (st == VM_COMPLETED) printf(",\"result\":%s", vm_result_json(vm));
  if (st == VM_FAILED) printf(",\"error\":%s", vm_error_json(vm));
  fputs(",\"pending\":[", stdout);
  if (st == VM_SUSPENDED) put_item(stdout, instance, vm_pending_json(vm), time(NULL));
  fputs("]}\n", stdout);
}

static void print_failure(VM *vm) {
  json_t *e = json_loads(vm_error_json(vm), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  const char *kind = json_string_value(json_object_get(e, "kind"));
  json_t *msg = json_object_get(e, "message"), *line = json_object_get(e, "line");
  fprintf(stderr, "error: %s: ", kind ? kind : vm_error_kind(vm) ? vm_error_kind(vm) : "?");
  fwrite(json_string_value(msg) ? json_string_value(msg) : "", 1, json_string_length(msg), stderr);
  if (json_is_integer(line) && json_integer_value(line) > 0)
    fprintf(stderr, " (line %lld)", (long long)json_integer_value(line));
  fputc('\n', stderr);
  json_decref(e);
}

static void print_suspended(VM *vm, const char *instance) {
  json_t *p = json_loads(vm_pending_json(vm), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  const char *title = json_string_value(json_object_get(p, "title"));
  const char *step = json_string_value(json_object_get(p, "step"));
  const char *by = json_string_value(json_object_get(p, "by"));
  json_t *quorum = json_object_get(p, "quorum"), *show = json_object_get(p, "show");
  json_t *editable = json_object_get(p, "editable"), *deadline = json_object_get(p, "deadline");
  printf("suspended at a checkpoint (instance %s, item 1): %s\n", instance, title ? title : "");
  if (step) printf("  step: %s\n", step);
  const char *label;
  json_t *v;
  json_object_foreach(show, label, v) {
    char *t = show_text(v);
    printf("  %s: %s\n", label, t ? t : "?");
    free(t);
  }
  printf("  decided by: %s", by ? by : "anyone but the starter");
  if (json_is_integer(quorum) && json_integer_value(quorum) > 1)
    printf(", quorum %lld", (long long)json_integer_value(quorum));
  fputc('\n', stdout);
  if (json_array_size(editable)) {
    fputs("  editable:", stdout);
    size_t i;
    json_t *name;
    json_array_foreach(editable, i, name) printf("%s %s", i ? "," : "", json_string_value(name));
    fputc('\n', stdout);
  }
  if (json_is_number(deadline)) {
    char dl[32];
    iso_time((time_t)json_number_value(deadline), dl);
    printf("  deadline: %s\n", dl);
  } else if (json_is_string(deadline)) {
    printf("  deadline: %s\n", json_string_value(deadline));
  }
  puts("This run cannot be resumed: resume needs the durable store (issue 5).");
  json_decref(p);
}

/* ---- run ------------------------------------------------------------------ */

static int run(Options *o) {
  if (sodium_init() < 0) return bad_input("%s", "cannot initialise libsodium");
  unsigned char id_bytes[8];
  char instance[2 * sizeof id_bytes + 1];
  randombytes_buf(id_bytes, sizeof id_bytes);
  sodium_bin2hex(instance, sizeof instance, id_bytes, sizeof id_bytes);

  int status = EXIT_USAGE;
  char err[1024];
  char *owned_input = NULL;
  Mocks *mocks = NULL;
  VM *vm = NULL;
  const char *input;
  Module *m = load_program(o->program);
  if (!m) return EXIT_USAGE;
  if (o->mock && !(mocks = load_mocks(o->mock, m))) goto done;
  if (!input_text(o->input, &input, &owned_input)) goto done;

  VmLimits lim = {0};
  lim.fuel = o->fuel;
  vm = vm_new(m, &lim);
  if (!vm) {
    bad_input("%s", "out of memory");
    goto done;
  }
  vm_bind_actions(vm, mock_call, mocks);   /* without --mock: every call is unbound */
  vm_set_events(vm, on_event, o);
  if (!vm_set_input_json(vm, input, err, sizeof err)) {
    bad_input("bad input: %s", err);
    goto done;
  }
  for (int i = 0; i < o->nparams; i++) {
    char *eq = strchr(o->params[i], '=');
    *eq = '\0';                          /* argv is ours to write (C11 5.1.2.2.1) */
    bool ok = vm_set_param(vm, o->params[i], eq + 1, err, sizeof err);
    *eq = '=';
    if (!ok) {
      bad_input("bad --param %s: %s", o->params[i], err);
      goto done;
    }
  }

  VmStatus st = vm_run(vm);
  if (o->json) {
    print_json(vm, st, instance);
  } else if (st == VM_COMPLETED) {
    printf("%s\n", vm_result_json(vm));
  } else if (st == VM_FAILED) {
    print_failure(vm);
  } else {
    print_suspended(vm, instance);
  }
  status = st == VM_COMPLETED ? EXIT_COMPLETED : st == VM_SUSPENDED ? EXIT_SUSPENDED : EXIT_FAILED;

done:
  vm_free(vm);
  mock_free(mocks);
  bc_free(m);
  cp_free_text(owned_input);
  return status;
}

int main(int argc, char **argv) {
  Options o = {0};
  o.params = mem_alloc((size_t)argc * sizeof *o.params);
  if (!o.params) {
    fputs("hitlvm: out of memory\n", stderr);
    return EXIT_USAGE;
  }
  int status = parse_args(argc, argv, &o);
  if (status < 0) {
    if (o.help) {
      fputs(usage_text, stdout);
      status = EXIT_COMPLETED;
    } else if (o.version) {
      puts("hitlvm " HITLVM_VERSION);
      status = EXIT_COMPLETED;
    } else if (strcmp(o.command, "run") != 0) {
      fprintf(stderr, "hitlvm: '%s' needs the durable store, which arrives with issue 5\n",
              o.command);
      status = EXIT_USAGE;
    } else {
      status = run(&o);
    }
  }
  mem_free(o.params, (size_t)argc * sizeof *o.params);
  if (fflush(stdout) != 0 && status == EXIT_COMPLETED) status = EXIT_USAGE;
  return status;
}
