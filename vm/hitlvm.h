/* vm/hitlvm.h — what the files of the hitlvm command line share (TOOLS.md §2,
 * docs/hitlvm.md).  Not part of the library: these files are linked into
 * bin/hitlvm only (the Makefile keeps vm/hitlvm*.c out of libhitl.a).
 *
 *   hitlvm.c       main: options, the store's location, who acts, dispatch
 *   hitlvm_run.c   run, and the run segment resume and expire continue: the
 *                  action journal, storing each stop
 *   hitlvm_recover.c  instances whose process died
 *   hitlvm_desk.c  the reviewers' desk: pending, show, resume's checks,
 *                  instances, log, expire
 *   hitlvm_out.c   output: times, items, outcomes, messages
 *   hitlvm_learn.c stats, calibrate, export: learning from the verdicts
 *
 * No SQL here: the store is reached through st_* (vm/store.h) only.  Every
 * command returns its exit status; messages go to stderr as `hitlvm: …`. */
#ifndef HITL_HITLVM_H
#define HITL_HITLVM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "bytecode.h"
#include "mock.h"
#include "store.h"
#include "vm.h"

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

/* One invocation: the options, the open store, who acts, where we run. */
typedef struct Cli {
  const Options *o;
  Store *st;
  const char *store_path;
  char user[256];                     /* --as, else the OS user */
  char owner[320];                    /* "host:pid" of this process */
  char host[256];
  const char *sig;                    /* resume: the verdict's signature (128 hex), or NULL */
} Cli;

/* ---- hitlvm.c -------------------------------------------------------------- */
int cli_open_store(Cli *c);           /* EXIT_COMPLETED or EXIT_USAGE after a message */

/* ---- hitlvm_out.c ---------------------------------------------------------- */
#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
/* ---- hitlvm_learn.c ----------------------------------------------------------- */
int cmd_stats(Cli *c);
int cmd_calibrate(Cli *c);
int cmd_export(Cli *c);

#endif
int bad_input(const char *fmt, ...) CLI_PRINTF(1, 2);       /* message, EXIT_USAGE */
int store_error(Cli *c, const char *what);                  /* st_errmsg, EXIT_USAGE */
void iso_time(int64_t t, char out[32]);
bool parse_time(const char *s, int64_t *out);               /* Unix seconds or ISO 8601 UTC */
char *json_quote(const char *s);                            /* a JSON string literal; malloc'd */
/* ITEM of TOOLS.md §2 as one JSON object (no newline) */
void put_item_json(FILE *out, const StItem *it);
void put_item_human(FILE *out, const StItem *it);
/* run/resume: the stop as --json's object or as text, from the stored instance */
void put_outcome(Cli *c, const StInstance *in);

/* ---- hitlvm_run.c ------------------------------------------------------------ */
/* One run segment of an instance: its VM, mocks and the events it logs,
 * kept in memory until the stop is stored in one transaction. */
typedef struct Event { char *kind, *fields; int64_t at; } Event;
typedef struct Run {
  Cli *c;
  char id[64];                        /* the instance */
  Module *m;
  VM *vm;
  Mocks *mocks;
  struct Ffi *ffi;                    /* `from` actions through libffi */
  int64_t verdict_item;               /* the item whose verdict this segment applies, 0 = none */
  char *base_dir;                     /* the playbook's folder (run only), for `from` libraries */
  uint8_t hash[32];                   /* the program's */
  Event *ev;
  size_t nev, capev;
  bool lost;                          /* an event could not be kept (out of memory) */
  bool quiet;                         /* no echo, no outcome printed */
} Run;

int cmd_run(Cli *c);
/* A suspended instance's VM from its snapshot, its mocks as they were left,
 * the journal and the event collector bound.  EXIT_USAGE after a message. */
int run_restore(Cli *c, const StInstance *in, Run *r, bool quiet);
/* A fresh start of an instance that never stopped (recovery). */
int run_fresh(Cli *c, const StInstance *in, Run *r);
void run_event(Run *r, const char *kind, const char *fields_json);
/* vm_run, then store the stop in one transaction (events, item, snapshot,
 * status) and print it unless quiet; the exit status of run/resume. */
int run_on(Run *r);
void run_free(Run *r);
/* ---- hitlvm_recover.c -------------------------------------------------------- */
/* Recovery of instances left `running` by a dead process (docs/hitlvm.md). */
bool owner_is_dead(const Cli *c, const char *owner);
void recover_instance(Cli *c, const char *id);
void recover_all(Cli *c);
/* An instance's items with that status (NULL = any), ordered by id. */
int instance_items(Cli *c, const char *instance, const char *status, StItem **out, size_t *n);

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
/* The verdict vm_resume is given for an item, from its verdict rows (the
 * last is the deciding one; an approval lists every approving reviewer, so
 * a quorum's approvers are all named).  malloc'd. */
char *votes_verdict_json(const StVerdict *v, size_t n);
/* The verdict object vm_resume takes (malloc'd). */
char *verdict_json(const char *kind, const char *reviewer, const char *reason, const char *edits, int64_t at);
/* Claim an open item with a verdict and run its instance on (resume, expire). */
int decide(Cli *c, StItem *it, const char *verdict, const char *reviewer, const char *reason,
           const char *edits, const char *item_status, int64_t at, bool quiet);
/* What keeps NAME from deciding the item (a message, malloc'd), or NULL if
 * NAME may: the starter, not in the item's group, already voted. */
char *may_not_decide(Cli *c, const StItem *it, const char *name);

/* ---- hitlvm_learn.c ----------------------------------------------------------- */
int cmd_stats(Cli *c);
int cmd_calibrate(Cli *c);
int cmd_export(Cli *c);

#endif
