/* vm/hitlvm_audit.c — hitlvm audit verify [INSTANCE] (issue 8, docs/SECURITY.md):
 * recompute the hash chains of the event logs (one instance's, or every
 * one's) and the store-wide chain of verdicts, and name the first bad link.
 * Exit 0 when every chain holds, 2 when one does not (or on bad input). */
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
  if (o->json) {
    char *p = json_quote(a.problem), *in = json_quote(a.instance);
    printf("{\"ok\":%s,\"instances\":%lld,\"events\":%lld,\"decisions\":%lld,\"first_bad\":", a.ok ? "true" : "false",
           (long long)a.instances, (long long)a.events, (long long)a.decisions);
    if (a.ok) puts("null}");
    else printf("{\"instance\":%s,\"seq\":%lld,\"problem\":%s}}\n", a.instance[0] ? in : "null", (long long)a.seq,
                p ? p : "null");
    free(p);
    free(in);
  } else if (a.ok) {
    printf("ok: %lld events in %lld instances and %lld decisions verified\n", (long long)a.events,
           (long long)a.instances, (long long)a.decisions);
  }
  if (a.ok) return EXIT_COMPLETED;
  if (a.instance[0]) fprintf(stderr, "hitlvm: audit: instance %s: %s\n", a.instance, a.problem);
  else fprintf(stderr, "hitlvm: audit: %s\n", a.problem);
  return EXIT_USAGE;
}
