/* vm/hitlvm_run.c — `hitlvm run` (docs/hitlvm.md): the program (bytecode,
 * or source compiled on the fly), the mock and input files, the params; then
 * the runtime starts the instance and runs it (vm/rt_run.c: the journal, the
 * events, storing each stop) and the outcome is printed.  The store is
 * opened only once everything given has been checked: a refused run neither
 * creates it nor writes to it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/ast.h"
#include "compiler/compile.h"
#include "hitlvm.h"
#include "mem.h"

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
static Mocks *load_mocks(Cli *c, const char *path, const Module *m, char **text) {
  size_t len;
  int e = cp_read_file(path, text, &len);
  if (e) {
    bad_input("cannot read the mocks '%s': %s", path, strerror(e));
    return NULL;
  }
  Mocks *mk = rt_mocks_parse(&c->rt, path, *text, len, m);
  if (!mk) rt_error(c, EXIT_USAGE);
  return mk;
}

/* --input JSON or @FILE as text in *owned (cp_free_text) or argv. */
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

int cmd_run(Cli *c) {
  const Options *o = c->o;
  int status = EXIT_USAGE;
  char *mock_text = NULL, *owned_input = NULL, *base_dir = NULL;
  const char **names = NULL, **values = NULL;
  size_t nsize = (size_t)o->nparams * sizeof *names;
  Mocks *mocks = NULL;
  RtRun r = {0};
  bool prepared = false;
  Module *m = load_program(o->arg1);
  if (!m) goto done;
  {
    /* `from` libraries are looked for in the playbook's folder first */
    const char *slash = strrchr(o->arg1, '/');
    size_t n = slash ? (size_t)(slash - o->arg1) : 1;
    base_dir = mem_alloc(n + 1);
    if (base_dir) {
      memcpy(base_dir, slash ? o->arg1 : ".", n);
      base_dir[n] = 0;
    }
  }
  if (o->mock && !(mocks = load_mocks(c, o->mock, m, &mock_text))) goto done;
  RtStart s = {0};
  if (!input_text(o->input, &s.input, &owned_input)) goto done;
  s.m = m;
  s.base_dir = base_dir;
  s.compact_input = owned_input != NULL;
  s.mocks = mocks;
  s.mocks_text = mock_text;
  mocks = NULL;                        /* the run has it now */
  if (o->nparams && (!(names = mem_alloc(nsize)) || !(values = mem_alloc(nsize)))) {
    mock_free(s.mocks);
    bad_input("out of memory");
    goto done;
  }
  /* NAME=VALUE split at the first '=' (argv is ours to write, C11 5.1.2.2.1) */
  for (int i = 0; i < o->nparams; i++) {
    char *eq = strchr(o->params[i], '=');
    *eq = '\0';
    names[i] = o->params[i];
    values[i] = eq + 1;
  }
  s.param_names = names;
  s.param_values = values;
  s.nparams = (size_t)o->nparams;
  prepared = rt_run_prepare(&c->rt, &s, &r) == RT_COMPLETED;
  for (int i = 0; i < o->nparams; i++) o->params[i][strlen(o->params[i])] = '=';
  if (!prepared) {
    rt_error(c, EXIT_USAGE);
    goto done;
  }
  /* everything checked: now the store */
  if (cli_open_store(c) != EXIT_COMPLETED) goto done;
  status = rt_run_start(&r);
  if (status == RT_USAGE) rt_error(c, status);
  else put_outcome(c, r.id);
done:
  rt_run_free(&r);
  mock_free(mocks);
  bc_free(m);
  mem_free(base_dir, 0);
  mem_free(names, nsize);
  mem_free(values, nsize);
  cp_free_text(mock_text);
  cp_free_text(owned_input);
  return status;
}
