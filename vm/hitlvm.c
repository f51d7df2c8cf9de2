/* vm/hitlvm.c — the hitlvm command line (TOOLS.md §2, docs/hitlvm.md): the
 * options, where the store is, who acts, and which command runs.  The
 * commands live in hitlvm_run.c (run) and hitlvm_desk.c (the reviewers'
 * desk) over the runtime (vm/rt.h); see vm/hitlvm.h.  Exit status of run and resume: 0 completed, 1 the
 * playbook failed, 2 usage error or bad input, 3 suspended; of the others
 * 0 or 2. */
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hitlvm.h"
#include "mem.h"

#define HITLVM_VERSION "0.2.0"

static const char usage_text[] =
  "usage: hitlvm run PROGRAM [--input JSON|@FILE] [--param NAME=VALUE]... [--mock FILE]\n"
  "                          [--as NAME] [--fuel N]\n"
  "       hitlvm pending [--group G] [--as NAME]\n"
  "       hitlvm show ITEM\n"
  "       hitlvm resume ITEM approve|modify|reject [--reason TEXT] [--set NAME=JSON]...\n"
  "                          [--digest HEX] [--sign KEYFILE | --signature HEX] [--as NAME] [--fuel N]\n"
  "       hitlvm instances [--status S]\n"
  "       hitlvm log INSTANCE\n"
  "       hitlvm expire [--now TIME]\n"
  "       hitlvm stats\n"
  "       hitlvm calibrate [--target T] [--min-samples N] [--apply]\n"
  "       hitlvm export\n"
  "       hitlvm reviewers add NAME --group G [--group G2]... [--key PUBKEY]\n"
  "       hitlvm reviewers list | remove NAME [--group G] | group G [--signed | --unsigned]\n"
  "       hitlvm keygen NAME\n"
  "       hitlvm audit verify [INSTANCE]\n"
  "       hitlvm --version | --help\n"
  "\n"
  "Every command takes --store PATH (default $HITL_STORE, else ./.hitl/store.db,\n"
  "created on first use) and --json (machine-readable output).\n"
  "\n"
  "  run        start an instance of PROGRAM (.hbc, or .hitl compiled on the fly) and\n"
  "             run it until it completes, fails or suspends at a checkpoint\n"
  "  pending    the open items (--group G: those decided by G; --as NAME: those\n"
  "             NAME may decide: not of instances NAME started, of NAME's groups,\n"
  "             not yet voted on by NAME)\n"
  "  show       one item: title, payload, digest, who decides, quorum, deadline\n"
  "  resume     decide an item and run its instance on until it next stops;\n"
  "             modify takes --set NAME=JSON for the editable names; --digest HEX\n"
  "             refuses the verdict unless the item is exactly what you saw;\n"
  "             --sign KEYFILE signs it with your key (required by a signed group),\n"
  "             --signature HEX gives a signature made elsewhere\n"
  "  instances  the instances and their state (--status running|suspended|\n"
  "             completed|failed)\n"
  "  log        an instance's event log (JSON lines with --json)\n"
  "  expire     give timeout verdicts to items past their deadline (--now TIME:\n"
  "             Unix seconds or ISO 8601 UTC, default the clock)\n"
  "  stats      per playbook and action: calls, the share routed to people, the\n"
  "             approve / modify / reject rates, by confidence band\n"
  "  calibrate  per action, the lowest threshold at which reviewers approved at least\n"
  "             T (default 0.99) of the routed calls at or above it, from at least N\n"
  "             (default 50) decisions; --apply records it for later runs\n"
  "  export     every decision as JSON lines (context, confidence, route, verdict, edits)\n"
  "  reviewers  the reviewer registry: add NAME to groups (creating it; --key its\n"
  "             Ed25519 public key, 64 hex), list, remove NAME (or one --group);\n"
  "             group G --signed: G's verdicts must be signed (--unsigned: no longer)\n"
  "  keygen     a new Ed25519 key pair: the secret key to NAME.key (mode 0600, never\n"
  "             overwritten), the public key printed, to register with reviewers add\n"
  "  audit      verify: recompute the hash chains of the event logs and of the\n"
  "             decisions, re-verify every verdict's signature; exit 2 naming the\n"
  "             first bad link or signature\n"
  "\n"
  "options of run: --input the run's input (a JSON object, default {}); --param\n"
  "override a param (a string param takes VALUE as text, any other type a JSON\n"
  "literal); --mock action results from a JSON file, kept with the instance;\n"
  "--as who starts it (default the OS user; the starter may not decide its items);\n"
  "--fuel N the instruction budget of each run segment.\n"
  "\n"
  "Exit status of run and resume: 0 completed, 1 the playbook failed, 2 usage\n"
  "error or bad input (nothing in the store changed), 3 suspended, waiting for a\n"
  "verdict.  Other commands: 0, or 2.  See docs/hitlvm.md.\n";

/* the commands, their positional arguments and the options each takes */
enum { O_INPUT = 1, O_MOCK = 2, O_AS = 4, O_FUEL = 8, O_PARAM = 16, O_GROUP = 32, O_STATUS = 64,
       O_REASON = 128, O_SET = 256, O_DIGEST = 512, O_NOW = 1024, O_TARGET = 2048, O_MIN = 4096,
       O_KEY = 8192, O_SIGN = 16384 };
static const struct Command {
  const char *name;
  int npos;
  const char *pos;                    /* names of the positional arguments, for messages */
  int opts;
  int (*fn)(Cli *);
} commands[] = {
  {"run", 1, "PROGRAM (.hbc or .hitl)", O_INPUT | O_MOCK | O_AS | O_FUEL | O_PARAM, cmd_run},
  {"pending", 0, "", O_GROUP | O_AS, cmd_pending},
  {"show", 1, "ITEM", 0, cmd_show},
  {"resume", 2, "ITEM and a VERDICT", O_REASON | O_SET | O_DIGEST | O_AS | O_FUEL | O_SIGN,
   cmd_resume},
  {"instances", 0, "", O_STATUS, cmd_instances},
  {"log", 1, "INSTANCE", 0, cmd_log},
  {"expire", 0, "", O_NOW | O_FUEL, cmd_expire},
  {"stats", 0, "", 0, cmd_stats},
  {"calibrate", 0, "", O_TARGET | O_MIN, cmd_calibrate},
  {"export", 0, "", 0, cmd_export},
  /* reviewers add NAME | list | remove NAME: cmd_reviewers checks how many */
  {"reviewers", -2, "add NAME, list or remove NAME", O_GROUP | O_KEY, cmd_reviewers},
  {"audit", -2, "verify [INSTANCE]", 0, cmd_audit},
  {"keygen", 1, "NAME", 0, cmd_keygen},
};

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
static int parse_args(int argc, char **argv, Options *o, const struct Command **cmd) {
  const struct { const char *flag; const char **slot; int bit; } with_value[] = {
    {"--input", &o->input, O_INPUT},   {"--mock", &o->mock, O_MOCK},       {"--as", &o->as, O_AS},
    {"--store", &o->store, 0},         {"--param", NULL, O_PARAM},         {"--fuel", NULL, O_FUEL},
    {"--group", NULL, O_GROUP},        {"--status", &o->status, O_STATUS}, {"--reason", &o->reason, O_REASON},
    {"--set", NULL, O_SET},            {"--digest", &o->digest, O_DIGEST}, {"--now", &o->now, O_NOW},
    {"--target", &o->target, O_TARGET}, {"--min-samples", &o->min_samples, O_MIN},
    {"--key", &o->key, O_KEY},         {"--sign", &o->sign, O_SIGN},       {"--signature", &o->signature, O_SIGN},
  };
  int npos = 0;
  const char *first_opt[sizeof with_value / sizeof *with_value] = {0};
  bool options_done = false;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (options_done || a[0] != '-' || a[1] == '\0') {
      if (!o->command) {
        o->command = a;
        for (size_t k = 0; k < sizeof commands / sizeof *commands; k++)
          if (strcmp(a, commands[k].name) == 0) *cmd = &commands[k];
        if (!*cmd) return usage_error("unknown command '%s'", a);
      } else if (npos < abs((*cmd)->npos)) {
        *(npos++ ? &o->arg2 : &o->arg1) = a;
      } else {
        return usage_error("%s takes %s only, found '%s' too", o->command,
                           (*cmd)->npos ? (*cmd)->pos : "no arguments", a);
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
    if (strcmp(a, "--apply") == 0) { o->apply = true; continue; }
    if (strcmp(a, "--signed") == 0) { o->set_signed = true; continue; }
    if (strcmp(a, "--unsigned") == 0) { o->set_unsigned = true; continue; }

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
    if (with_value[k].bit && !first_opt[k]) first_opt[k] = flag;
    if (with_value[k].slot) {
      if (*with_value[k].slot) return usage_error("%s given twice", flag);
      *with_value[k].slot = value;
    } else if (strcmp(flag, "--param") == 0 || strcmp(flag, "--set") == 0) {
      bool set = flag[2] == 's';
      if (!strchr(value, '=') || value[0] == '=')
        return usage_error("%s takes NAME=%s, found '%s'", flag, set ? "JSON" : "VALUE", value);
      if (set) o->sets[o->nsets++] = value;
      else o->params[o->nparams++] = value;
    } else if (strcmp(flag, "--group") == 0) {
      if (!value[0]) return usage_error("%s", "--group needs a name");
      if (!o->group) o->group = value;
      o->groups[o->ngroups++] = value;
    } else if (!parse_fuel(value, &o->fuel)) {
      return usage_error("--fuel needs a positive integer, found '%s'", value);
    }
  }
  if (o->help || o->version) return -1;
  if (!o->command) return usage_error("%s", "no command");
  for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
    if (first_opt[k] && !((*cmd)->opts & with_value[k].bit))
      return usage_error("%s is not an option of %s", first_opt[k], o->command);
  if (o->apply && strcmp(o->command, "calibrate") != 0)
    return usage_error("--apply is not an option of %s", o->command);
  if ((o->set_signed || o->set_unsigned) && strcmp(o->command, "reviewers") != 0)
    return usage_error("%s is not an option of %s", o->set_signed ? "--signed" : "--unsigned", o->command);
  if (o->set_signed && o->set_unsigned) return usage_error("%s", "--signed and --unsigned together");
  if (o->sign && o->signature) return usage_error("%s", "--sign and --signature together");
  if ((*cmd)->npos > 0 && npos < (*cmd)->npos) return usage_error("%s needs %s", o->command, (*cmd)->pos);
  if ((*cmd)->npos < 0 && npos == 0) return usage_error("%s needs %s", o->command, (*cmd)->pos);
  if (o->ngroups > 1 && strcmp(o->command, "reviewers") != 0) return usage_error("%s", "--group given twice");
  if (o->as && !o->as[0]) return usage_error("%s", "--as needs a name");
  if (o->store && !o->store[0]) return usage_error("%s", "--store needs a path");
  return -1;
}

/* ---- the store and who acts ------------------------------------------------- */

int cli_open_store(Cli *c) {
  if (c->st) return EXIT_COMPLETED;
  if (rt_store_open(&c->rt, c->o->store, &c->st, &c->store_path) != RT_COMPLETED) return rt_error(c, EXIT_USAGE);
  c->rt.st = c->st;
  c->rt.store_path = c->store_path;
  return EXIT_COMPLETED;
}

static void who_acts(Cli *c) {
  const char *name = c->o->as;
  if (!name) {
    struct passwd *pw = getpwuid(getuid());
    name = pw && pw->pw_name && pw->pw_name[0] ? pw->pw_name : getenv("USER");
  }
  if (name && name[0]) snprintf(c->user, sizeof c->user, "%s", name);
  else snprintf(c->user, sizeof c->user, "uid%ld", (long)getuid());
  if (gethostname(c->host, sizeof c->host) != 0) snprintf(c->host, sizeof c->host, "localhost");
  c->host[sizeof c->host - 1] = '\0';
  snprintf(c->owner, sizeof c->owner, "%s:%ld", c->host, (long)getpid());
}

/* The runtime's context: who acts, where, the fuel, how its messages name
 * our options; notes to stderr, a run's log and step events echoed there. */
static void rt_context(Cli *c) {
  RtCtx *rt = &c->rt;
  rt->user = c->user;
  rt->owner = c->owner;
  rt->host = c->host;
  rt->limits.fuel = c->o->fuel;
  rt->words = (RtWords){"--param", "--set NAME=JSON", "--set", "--status"};
  rt->note = cli_note;
  rt->echo = cli_echo;
  rt->echo_user = c;
}

int main(int argc, char **argv) {
  Options o = {0};
  size_t vsize = (size_t)argc * sizeof(char *);
  o.params = mem_alloc(vsize);
  o.sets = mem_alloc(vsize);
  o.groups = mem_alloc(vsize);
  if (!o.params || !o.sets || !o.groups) {
    mem_free(o.params, vsize);
    mem_free(o.sets, vsize);
    mem_free(o.groups, vsize);
    fputs("hitlvm: out of memory\n", stderr);
    return EXIT_USAGE;
  }
  const struct Command *cmd = NULL;
  int status = parse_args(argc, argv, &o, &cmd);
  if (status < 0) {
    if (o.help) {
      fputs(usage_text, stdout);
      status = EXIT_COMPLETED;
    } else if (o.version) {
      puts("hitlvm " HITLVM_VERSION);
      status = EXIT_COMPLETED;
    } else {
      Cli c = {0};
      c.o = &o;
      who_acts(&c);
      rt_context(&c);
      /* run opens the store once its input is checked: bad input never creates it;
       * keygen needs none */
      status = strcmp(cmd->name, "run") == 0 || strcmp(cmd->name, "keygen") == 0 ? EXIT_COMPLETED
                                                                                    : cli_open_store(&c);
      if (status == EXIT_COMPLETED) status = cmd->fn(&c);
      if (c.st) st_close(c.st);
      rt_clear(&c.rt);
    }
  }
  mem_free(o.params, vsize);
  mem_free(o.sets, vsize);
  mem_free(o.groups, vsize);
  if (fflush(stdout) != 0 && status == EXIT_COMPLETED) status = EXIT_USAGE;
  return status;
}
