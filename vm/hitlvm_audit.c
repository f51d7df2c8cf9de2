/* vm/hitlvm_audit.c — hitlvm audit verify [INSTANCE] (issue 8, docs/SECURITY.md):
 * recompute the hash chains of the event logs (one instance's, or every
 * one's) and the store-wide chain of verdicts, and name the first bad link;
 * re-verify every stored verdict signature (of INSTANCE's items, or all)
 * against its reviewer's registered key and name the first that fails.
 * Exit 0 when every chain and signature holds, 2 when one does not (or on
 * bad input). */
#include <stdlib.h>
#include <string.h>

#include "hitlvm.h"

int cmd_audit(Cli *c) {
  const Options *o = c->o;
  if (strcmp(o->arg1, "verify") != 0) return bad_input("audit takes verify [INSTANCE], not '%s'", o->arg1);
  StAudit a;
  int rc = st_audit(c->st, o->arg2, &a);
  if (rc == ST_NOTFOUND) return bad_input("unknown instance '%s'", o->arg2);
  if (rc != ST_OK) return store_error(c, "auditing the store");
  int64_t nsig = 0, bad_id = 0;
  char *bad = NULL;
  if (audit_signatures(c, &nsig, &bad, &bad_id) != ST_OK) return store_error(c, "checking the signatures");
  bool ok = a.ok && !bad;
  if (o->json) {
    char *p = rt_json_quote(a.problem), *in = rt_json_quote(a.instance);
    printf("{\"ok\":%s,\"instances\":%lld,\"events\":%lld,\"decisions\":%lld,\"signatures\":%lld,\"first_bad\":",
           ok ? "true" : "false", (long long)a.instances, (long long)a.events, (long long)a.decisions,
           (long long)nsig);
    if (a.ok) fputs("null", stdout);
    else printf("{\"instance\":%s,\"seq\":%lld,\"problem\":%s}", a.instance[0] ? in : "null", (long long)a.seq,
                p ? p : "null");
    char *b = bad ? rt_json_quote(bad) : NULL;
    if (bad) printf(",\"bad_signature\":{\"verdict\":%lld,\"problem\":%s}}\n", (long long)bad_id, b ? b : "null");
    else puts(",\"bad_signature\":null}");
    free(b);
    free(p);
    free(in);
  } else if (ok) {
    printf("ok: %lld events in %lld instances and %lld decisions verified, %lld signatures valid\n",
           (long long)a.events, (long long)a.instances, (long long)a.decisions, (long long)nsig);
  }
  if (!a.ok && a.instance[0]) fprintf(stderr, "hitlvm: audit: instance %s: %s\n", a.instance, a.problem);
  else if (!a.ok) fprintf(stderr, "hitlvm: audit: %s\n", a.problem);
  if (bad) fprintf(stderr, "hitlvm: audit: %s\n", bad);
  free(bad);
  return ok ? EXIT_COMPLETED : EXIT_USAGE;
}
