/* compiler/hitlc.c — the hitlc command line (TOOLS.md §1).
 *
 * Only argument handling, printing and exit statuses live here; reading the
 * file and running the front end is cp_front (compile.h), shared with
 * hitlvm.  Exit status: 0 fine, 1 errors in the playbook (or warnings with
 * --strict), 2 usage or I/O error. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
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
  "Exit status: 0 fine, 1 errors in the playbook, 2 usage or I/O error.\n"
  "\n"
  "Not implemented yet in this version: compiling to bytecode, --disasm and\n"
  "--explain (they arrive with the VM); --check works.\n";

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

static int run_check(const Options *o) {
  char *src;
  size_t len;
  int err = cp_read_file(o->file, &src, &len);
  if (err) {
    fprintf(stderr, "hitlc: cannot read '%s': %s\n", o->file, strerror(err));
    return EXIT_USAGE;
  }
  Diags d;
  cp_front(o->file, src, len, &d, NULL);
  if (d.errors || d.warnings) diag_print(&d, stderr, isatty(STDERR_FILENO));
  int status = EXIT_OK;
  if (d.errors) {
    status = EXIT_PLAYBOOK;
  } else if (o->strict && d.warnings) {
    fprintf(stderr, "hitlc: %u warning%s treated as error%s (--strict)\n", d.warnings,
            d.warnings == 1 ? "" : "s", d.warnings == 1 ? "" : "s");
    status = EXIT_PLAYBOOK;
  }
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
    fputs("hitlc: compiling to bytecode is not implemented yet (it arrives with the VM, "
          "issue 4); use --check to check a playbook\n", stderr);
    return EXIT_USAGE;
  case MODE_DISASM:
  case MODE_EXPLAIN:
    fprintf(stderr, "hitlc: %s is not implemented yet (it arrives with the bytecode compiler); "
            "use --check to check a playbook\n", mode_flag[o.mode]);
    return EXIT_USAGE;
  }
  return EXIT_USAGE;
}
