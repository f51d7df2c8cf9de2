/* compiler/hitlc.c — the hitlc command line (TOOLS.md §1).
 *
 * Only argument handling, printing and exit statuses live here; reading the
 * file and running the front end is cp_front (compile.h), shared with
 * hitlvm.  Exit status: 0 fine, 1 errors in the playbook (or warnings with
 * --strict), 2 usage or I/O error. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vm/bytecode.h"
#include "../vm/mem.h"
#include "compile.h"
#include "explain.h"
#include "front.h"

#define HITLC_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_PLAYBOOK = 1, EXIT_USAGE = 2 };

typedef enum Mode { MODE_COMPILE, MODE_CHECK, MODE_DISASM, MODE_EXPLAIN } Mode;

static const char *const mode_flag[] = {
  [MODE_COMPILE] = "compiling", [MODE_CHECK] = "--check",
  [MODE_DISASM] = "--disasm",   [MODE_EXPLAIN] = "--explain",
};

static const char usage_text[] =
  "usage: hitlc FILE.hitl [-o OUT.hbc]        compile to bytecode (default FILE.hbc)\n"
  "       hitlc --check FILE.hitl             parse and check, write nothing\n"
  "       hitlc --disasm FILE.hbc|FILE.hitl   print the bytecode listing\n"
  "       hitlc --explain [--json] FILE.hitl  every action call site and its routes\n"
  "\n"
  "options:\n"
  "  --strict     warnings are errors\n"
  "  -o OUT.hbc   where to write the bytecode\n"
  "  --json       machine-readable output (with --explain)\n"
  "  --version    print the version and exit\n"
  "  --help       print this help and exit\n"
  "\n"
  "Diagnostics go to standard error as FILE:LINE:COL: error: MESSAGE;\n"
  "colour when standard error is a terminal and NO_COLOR is not set.\n"
  "Exit status: 0 fine, 1 errors in the playbook, 2 usage or I/O error.\n";

typedef struct Options {
  Mode mode;
  bool mode_set, strict, json, help, version;
  const char *file, *out;
} Options;

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hitlc: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nTry 'hitlc --help' for more information.\n", stderr);
  return EXIT_USAGE;
}

/* Returns -1 when the options are fine, else the exit status. */
static int parse_args(int argc, char **argv, Options *o) {
  static const struct { const char *flag; Mode mode; } modes[] = {
    {"--check", MODE_CHECK}, {"--disasm", MODE_DISASM}, {"--explain", MODE_EXPLAIN},
  };
  bool options_done = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (options_done || a[0] != '-' || a[1] == '\0') {
      if (o->file) return usage_error("one input file only, found '%s' too", a);
      o->file = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      options_done = true;
      continue;
    }
    bool is_mode = false;
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
      if (strcmp(a, modes[k].flag) != 0) continue;
      if (o->mode_set && o->mode != modes[k].mode)
        return usage_error("%s cannot be combined with another command", a);
      o->mode = modes[k].mode;
      o->mode_set = is_mode = true;
    }
    if (is_mode) continue;
    if (strcmp(a, "--strict") == 0)
      o->strict = true;
    else if (strcmp(a, "--json") == 0)
      o->json = true;
    else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
      o->help = true;
    else if (strcmp(a, "--version") == 0)
      o->version = true;
    else if (strcmp(a, "-o") == 0) {
      if (i + 1 >= argc) return usage_error("%s needs a file name", a);
      o->out = argv[++i];
    } else
      return usage_error("unknown option '%s'", a);
  }
  if (o->help || o->version) return -1;
  if (!o->file) return usage_error("%s", "no input file");
  if (o->out && o->mode != MODE_COMPILE)
    return usage_error("-o goes with compiling, not with %s", mode_flag[o->mode]);
  if (o->json && o->mode != MODE_EXPLAIN)
    return usage_error("%s", "--json goes with --explain");
  return -1;
}

/* Print the diagnostics and decide the status: 1 for errors (or warnings
 * with --strict, which are then printed as errors), else 0. */
static int report(const Options *o, Diags *d) {
  unsigned promoted = 0;
  if (o->strict && d->warnings) {
    for (unsigned i = 0; i < d->n; i++)
      if (d->v[i].sev == SEV_WARNING) d->v[i].sev = SEV_ERROR;
    promoted = d->warnings;
    d->errors += d->warnings;
    d->warnings = 0;
  }
  if (d->errors || d->warnings) diag_print(d, stderr, isatty(STDERR_FILENO));
  if (promoted)
    fprintf(stderr, "hitlc: %u warning%s treated as error%s (--strict)\n", promoted,
            promoted == 1 ? "" : "s", promoted == 1 ? "" : "s");
  return d->errors ? EXIT_PLAYBOOK : EXIT_OK;
}

static int read_source(const char *file, char **src, size_t *len) {
  int err = cp_read_file(file, src, len);
  if (err) {
    fprintf(stderr, "hitlc: cannot read '%s': %s\n", file, strerror(err));
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

static int run_check(const Options *o) {
  char *src;
  size_t len;
  if (read_source(o->file, &src, &len)) return EXIT_USAGE;
  Diags d;
  cp_front(o->file, src, len, &d, NULL);
  int status = report(o, &d);
  diag_free(&d);
  cp_free_text(src);
  return status;
}

/* Compile o->file; *m is NULL unless the status is EXIT_OK. */
static int compile_file(const Options *o, Module **m) {
  *m = NULL;
  char *src;
  size_t len;
  if (read_source(o->file, &src, &len)) return EXIT_USAGE;
  Diags d;
  Module *mod = cp_compile(o->file, src, len, &d);
  int status = report(o, &d);
  if (!mod && status == EXIT_OK) status = EXIT_PLAYBOOK;   /* cannot happen: NULL has a reason */
  diag_free(&d);
  cp_free_text(src);
  if (status != EXIT_OK) {
    bc_free(mod);
    return status;
  }
  *m = mod;
  return EXIT_OK;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* FILE.hitl -> FILE.hbc beside it; any other name gets .hbc added */
static char *default_output(const char *file) {
  size_t n = strlen(file);
  if (ends_with(file, ".hitl")) n -= 5;
  char *out = malloc(n + 5);
  if (!out) return NULL;
  memcpy(out, file, n);
  memcpy(out + n, ".hbc", 5);
  return out;
}

static int write_all(int fd, const uint8_t *data, size_t len) {
  for (size_t off = 0; off < len;) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return w < 0 ? errno : EIO;
    off += (size_t)w;
  }
  return 0;
}

/* Write data to path through a temporary file in the same folder and a
 * rename, so a reader never sees half a file.  An existing path that is not
 * a regular file (a device, a pipe) is written as it is: renaming over it
 * would replace it.  Returns 0 or an errno. */
static int write_atomically(const char *path, const uint8_t *data, size_t len) {
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) return EISDIR;
    int fd = open(path, O_WRONLY);
    if (fd < 0) return errno;
    int err = write_all(fd, data, len);
    if (close(fd) != 0 && !err) err = errno;
    return err;
  }
  size_t n = strlen(path);
  char *tmp = malloc(n + 16);
  if (!tmp) return ENOMEM;
  memcpy(tmp, path, n);
  memcpy(tmp + n, ".tmp-XXXXXX", 12);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return e;
  }
  mode_t mask = umask(0);   /* mkstemp makes 0600; give the usual 0666 & ~umask */
  umask(mask);
  int err = fchmod(fd, 0666 & ~mask) == 0 ? 0 : errno;
  if (!err) err = write_all(fd, data, len);
  if (!err && fsync(fd) != 0) err = errno;
  if (close(fd) != 0 && !err) err = errno;
  if (!err && rename(tmp, path) != 0) err = errno;
  if (err) unlink(tmp);
  free(tmp);
  return err;
}

static int run_compile(const Options *o) {
  Module *m;
  int status = compile_file(o, &m);
  if (status != EXIT_OK) return status;
  char *out = o->out ? NULL : default_output(o->file);
  const char *path = o->out ? o->out : out;
  uint8_t *bytes = NULL;
  size_t len = 0;
  int err = !path ? ENOMEM : !bc_write(m, &bytes, &len) ? ENOMEM : write_atomically(path, bytes, len);
  if (err) {
    fprintf(stderr, "hitlc: cannot write '%s': %s\n", path ? path : o->file, strerror(err));
    status = EXIT_USAGE;
  }
  if (bytes) mem_free(bytes, len);
  free(out);
  bc_free(m);
  return status;
}

static bool is_bytecode(const char *file, const char *data, size_t len) {
  return ends_with(file, ".hbc") || (len >= 4 && memcmp(data, BC_MAGIC, 4) == 0);
}

static int run_disasm(const Options *o) {
  char *data;
  size_t len;
  if (read_source(o->file, &data, &len)) return EXIT_USAGE;
  Module *m = NULL;
  int status = EXIT_OK;
  if (is_bytecode(o->file, data, len)) {
    char err[256];
    m = bc_read((const uint8_t *)data, len, err, sizeof err);
    if (!m) {
      fprintf(stderr, "hitlc: cannot load '%s': %s\n", o->file, err);
      status = EXIT_USAGE;
    }
  } else {
    Diags d;
    m = cp_compile(o->file, data, len, &d);
    status = report(o, &d);
    if (!m && status == EXIT_OK) status = EXIT_PLAYBOOK;
    diag_free(&d);
  }
  cp_free_text(data);
  if (status == EXIT_OK) {
    bc_disasm(m, stdout);
    if (fflush(stdout) != 0) {
      fprintf(stderr, "hitlc: cannot write the listing: %s\n", strerror(errno));
      status = EXIT_USAGE;
    }
  }
  bc_free(m);
  return status;
}

/* --explain: the routes the rules allow at every action call site */
static int run_explain(const Options *o) {
  char *src;
  size_t len;
  if (read_source(o->file, &src, &len)) return EXIT_USAGE;
  Diags d;
  Ast *ast = NULL;
  cp_front(o->file, src, len, &d, &ast);
  int status = report(o, &d);
  if (!d.errors && ast) {
    /* the warnings were reported by cp_front; the table is made again here */
    ExReport *r = ex_analyze(ast, NULL);
    if (o->json) ex_print_json(r, stdout);
    else ex_print_table(r, stdout);
    if (fflush(stdout) != 0) {
      fprintf(stderr, "hitlc: cannot write the table: %s\n", strerror(errno));
      status = EXIT_USAGE;
    }
  }
  if (ast) ast_free(ast);
  diag_free(&d);
  cp_free_text(src);
  return status;
}

int main(int argc, char **argv) {
  Options o = {0};
  int status = parse_args(argc, argv, &o);
  if (status >= 0) return status;
  if (o.help) {
    fputs(usage_text, stdout);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (o.version) {
    puts("hitlc " HITLC_VERSION);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_USAGE;
  }
  switch (o.mode) {
  case MODE_CHECK:
    return run_check(&o);
  case MODE_COMPILE:
    return run_compile(&o);
  case MODE_DISASM:
    return run_disasm(&o);
  case MODE_EXPLAIN:
    return run_explain(&o);
  }
  return EXIT_USAGE;
}
