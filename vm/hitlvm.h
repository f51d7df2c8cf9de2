/* vm/hitlvm.h — what the files of the hitlvm command line share (TOOLS.md §2,
 * docs/hitlvm.md).  Not part of the library: these files are linked into
 * bin/hitlvm only (the Makefile keeps vm/hitlvm*.c out of libhitl.a).
 *
 *   hitlvm.c       main: options, the store's location, who acts, dispatch
 *   hitlvm_run.c   run: the program, mock and input files, then rt_run_*
 *   hitlvm_desk.c  the reviewers' desk: pending, show, resume, instances,
 *                  log, expire over rt_* (vm/rt.h)
 *   hitlvm_out.c   output: messages, items and outcomes as text
 *   hitlvm_learn.c stats, calibrate, export: learning from the verdicts
 *   hitlvm_reviewers.c, hitlvm_sign.c, hitlvm_audit.c  the registry, signed
 *                  verdicts, audit verify
 *
 * What these commands do with the store (running instances, the journal,
 * deciding, expiring, recovery) is library code, vm/rt*.c; these files parse
 * options, call it and print.  No SQL here: the store is reached through
 * rt_* and st_* (vm/store.h) only.  Every command returns its exit status;
 * messages go to stderr as `hitlvm: …`. */
#ifndef HITL_HITLVM_H
#define HITL_HITLVM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "bytecode.h"
#include "rt.h"
#include "store.h"

enum { EXIT_COMPLETED = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SUSPENDED = 3 };

typedef struct Options {
  bool json, help, version, apply;
  bool set_signed, set_unsigned;      /* reviewers group G --signed | --unsigned */
  const char *command;
  const char *arg1, *arg2;            /* positional: PROGRAM, ITEM VERDICT, INSTANCE */
  const char *input, *mock, *as, *store;
  const char *status, *group, *reason, *digest, *now;
  const char *target, *min_samples;   /* calibrate */
  const char *key;                    /* reviewers add --key */
  const char *sign, *signature;       /* resume --sign KEYFILE | --signature HEX */
  char **groups;                      /* --group G..., pointing into argv (group: the first) */
  int ngroups;
  uint64_t fuel;                      /* 0 = the VM's default */
  char **params;                      /* NAME=VALUE, pointing into argv */
  int nparams;
  char **sets;                        /* --set NAME=JSON, pointing into argv */
  int nsets;
} Options;

/* One invocation: the options, the open store, who acts, where we run, and
 * the runtime's context over them (rt: its notes go to stderr, the events
 * of a run to stderr as `log:` / `step:` lines unless --json). */
typedef struct Cli {
  const Options *o;
  Store *st;
  const char *store_path;
  char user[256];                     /* --as, else the OS user */
  char owner[320];                    /* "host:pid" of this process */
  char host[256];
  RtCtx rt;
} Cli;

/* ---- hitlvm.c -------------------------------------------------------------- */
int cli_open_store(Cli *c);           /* EXIT_COMPLETED or EXIT_USAGE after a message */

/* ---- hitlvm_out.c ---------------------------------------------------------- */
#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif
int bad_input(const char *fmt, ...) CLI_PRINTF(1, 2);       /* message, EXIT_USAGE */
int store_error(Cli *c, const char *what);                  /* st_errmsg, EXIT_USAGE */
/* An rt_* refusal: its message (if any) as `hitlvm: …`, then forgotten;
 * returns status. */
int rt_error(Cli *c, int status);
void cli_note(void *user, const char *message);             /* rt's notes: `hitlvm: …` */
void cli_echo(void *user, const char *kind, const char *fields_json);   /* log: / step: lines */
/* ITEM of TOOLS.md §2 as one JSON object (no newline), and as text */
void put_item_json(FILE *out, const StItem *it);
void put_item_human(FILE *out, const StItem *it);
/* run/resume: the stop as --json's object or as text, from the stored instance */
void put_outcome(Cli *c, const char *instance);

/* ---- hitlvm_run.c ------------------------------------------------------------ */
int cmd_run(Cli *c);

/* ---- hitlvm_desk.c ------------------------------------------------------------ */
int cmd_pending(Cli *c);
int cmd_show(Cli *c);
int cmd_resume(Cli *c);
int cmd_instances(Cli *c);
int cmd_log(Cli *c);
int cmd_expire(Cli *c);
int cmd_reviewers(Cli *c);
int cmd_audit(Cli *c);                                      /* hitlvm_audit.c */
bool valid_key_hex(const char *s);                          /* 64 hex digits */

/* ---- hitlvm_sign.c: signed verdicts (docs/hitlvm.md, "Signed verdicts") ---- */
int cmd_keygen(Cli *c);
/* The canonical message a reviewer signs (malloc'd; NULL when out of memory
 * or edits is not a JSON object). */
char *verdict_message(int64_t item, const char *digest, const char *verdict, const char *edits,
                      const char *reason, const char *reviewer);
/* resume: sign (--sign) or take (--signature) the verdict's signature and
 * check it against the reviewer's registered key; the item's group may
 * require one.  NULL when fine (sig[0] = '\0' when unsigned), else why not
 * (malloc'd). */
char *verdict_signature(Cli *c, const StItem *it, const char *verdict, const char *edits, const char *reason,
                        const char *reviewer, char sig[129]);
/* audit verify: re-verify every stored signature; ST_OK with *bad set to the
 * first that fails (malloc'd message; NULL when all hold). */
int audit_signatures(Cli *c, int64_t *checked, char **bad, int64_t *bad_verdict);

/* ---- hitlvm_learn.c ----------------------------------------------------------- */
int cmd_stats(Cli *c);
int cmd_calibrate(Cli *c);
int cmd_export(Cli *c);

#endif
