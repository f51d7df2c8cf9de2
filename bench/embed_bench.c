/* bench/embed_bench.c — the cost of the embedding boundary (bench_embed in
 * bench/run.sh): action calls per second from a playbook loop through
 * hitl_* to a host callback, and to an empty C function through libffi
 * (`from`), each beside the same loop without the call.  Linked against
 * libhitl.so, as an embedder would.
 *
 *   embed_bench N TESTACTIONS_DIR      (TESTACTIONS_DIR holds libtestactions.so)
 *   embed_bench N route                (bench_route: what the rules cost a call)
 *
 * `route` times the same loop of N calls of a host-bound action with two
 * arguments (the callback does nothing but answer 1) in three playbooks:
 * no `rules` block; five rules of which the first four do not hold and the
 * fifth routes `auto`; and a `thresholds` block with `with confidence` on the
 * call and five rules that read `confidence` and `threshold`.  The three are
 * run in turn, five rounds, best of each kept, so a burst of load on the
 * machine hits them alike.
 *
 * Prints one "name value" line per figure. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <hitl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int one(void *user, const char *action, const char *args, char **result) {
  (void)user, (void)action, (void)args;
  char *r = hitl_alloc(2);
  if (!r) return 1;
  r[0] = '1';
  r[1] = 0;
  *result = r;
  return 0;
}

static hitl_program *compile(const char *src, const char *dir) {
  hitl_program *p;
  hitl_error *e;
  if (hitl_compile(src, strlen(src), "bench.hitl", dir, &p, &e) != 0) {
    fprintf(stderr, "embed_bench: %s\n", hitl_error_message(e));
    exit(1);
  }
  return p;
}

/* one run of p with input {"n": n}, in seconds; host: the actions bound to
 * the host callback */
static double once(hitl_program *p, long n, int host) {
  char input[64];
  snprintf(input, sizeof input, "{\"n\": %ld}", n);
  hitl_error *e;
  hitl_instance *in = hitl_instance_new(p, &(hitl_limits){.fuel = 0});
  if (host) hitl_bind_default(in, one, NULL);   /* never for `from` actions: a binding would win */
  double t0 = now();
  hitl_status st = hitl_start(in, input, &e);
  double t = now() - t0;
  if (st != HITL_COMPLETED) {
    fprintf(stderr, "embed_bench: %s\n", st == HITL_FAILED || st == HITL_ERROR ? hitl_error_message(e) : "suspended");
    exit(1);
  }
  hitl_instance_free(in);
  return t;
}

/* best of three runs of src, in seconds */
static double best(const char *src, const char *dir, long n, int host) {
  hitl_program *p = compile(src, dir);
  double t_best = 1e30;
  for (int run = 0; run < 3; run++) {
    double t = once(p, n, host);
    if (t < t_best) t_best = t;
  }
  hitl_program_free(p);
  return t_best;
}

#define HEAD "playbook b \"bench\"\ninput { n: int }\n"
#define LOOP(body) "let s = 0\nlet i = 0\nwhile i < n {\n  " body "\n  i = i + 1\n}\nreturn s\n"

/* the routing programs: the same action and loop, with and without rules */
#define RT_ACTION "action add(a: int, b: int) -> int\n"
#define RT_RULES                                                     \
  "rules {\n"                                                        \
  "  when action == \"wipe_disk\" -> deny \"never\"\n"                \
  "  when irreversible -> approve by \"ops\"\n"                       \
  "  when compliance == \"payments\" and args.b > 1000 -> approve\n"  \
  "  when queue > 50 and risk > 0.9 -> approve\n"                     \
  "  when action == \"add\" -> auto\n"                                \
  "}\n"
#define RT_THRESHOLDS                                                \
  "thresholds {\n  add 0.9\n  default 0.8\n}\n"                       \
  "rules {\n"                                                        \
  "  when action == \"wipe_disk\" -> deny \"never\"\n"                \
  "  when irreversible -> approve by \"ops\"\n"                       \
  "  when args.a < 0 -> deny\n"                                       \
  "  when confidence < threshold -> approve\n"                        \
  "  otherwise -> auto\n"                                             \
  "}\n"

static int route_main(long n) {
  static const char *const src[3] = {
      HEAD RT_ACTION LOOP("let r = add(i, 1)\n  s = s + r"),
      HEAD RT_ACTION RT_RULES LOOP("let r = add(i, 1)\n  s = s + r"),
      HEAD RT_ACTION RT_THRESHOLDS LOOP("let r = add(i, 1) with confidence 0.95\n  s = s + r"),
  };
  hitl_program *p[3];
  double t[3] = {1e30, 1e30, 1e30};
  for (int k = 0; k < 3; k++) p[k] = compile(src[k], ".");
  for (int round = 0; round < 5; round++)
    for (int k = 0; k < 3; k++) {
      double x = once(p[k], n, 1);
      if (x < t[k]) t[k] = x;
    }
  for (int k = 0; k < 3; k++) hitl_program_free(p[k]);
  static const char *const name[3] = {"norules", "rules5", "thresholds"};
  printf("calls %ld\n", n);
  for (int k = 0; k < 3; k++) {
    printf("%s_seconds %.4f\n", name[k], t[k]);
    printf("%s_calls_per_sec %.0f\n", name[k], n / t[k]);
    printf("%s_ns_per_call %.0f\n", name[k], t[k] / n * 1e9);
    printf("%s_ratio %.2f\n", name[k], t[k] / t[0]);
  }
  return 0;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  const char *dir = argc > 2 ? argv[2] : ".";
  if (strcmp(dir, "route") == 0) return route_main(n);
  double base = best(HEAD LOOP("s = s + 1"), dir, n, 0);
  double host = best(HEAD "action tick() -> int\n" LOOP("s = s + tick()"), dir, n, 1);
  double host2 = best(HEAD "action add(a: int, b: int) -> int\n" LOOP("s = s + add(s, 1)"), dir, n, 1);
  double ffi = best(HEAD "action zero() -> int from \"libtestactions.so\" symbol \"ta_zero\"\n"
                    LOOP("s = s + zero() + 1"), dir, n, 0);
  double ffi2 = best(HEAD "action add(a: int, b: int) -> int from \"libtestactions.so\" symbol \"ta_add\"\n"
                     LOOP("s = add(s, 1)"), dir, n, 0);
  printf("calls %ld\n", n);
  printf("loop_seconds %.4f\n", base);
  printf("host_calls_per_sec %.0f\n", n / host);
  printf("host_ns_per_call %.0f\n", (host - base) / n * 1e9);
  printf("host_2args_calls_per_sec %.0f\n", n / host2);
  printf("host_2args_ns_per_call %.0f\n", (host2 - base) / n * 1e9);
  printf("ffi_empty_calls_per_sec %.0f\n", n / ffi);
  printf("ffi_empty_ns_per_call %.0f\n", (ffi - base) / n * 1e9);
  printf("ffi_add_calls_per_sec %.0f\n", n / ffi2);
  printf("ffi_add_ns_per_call %.0f\n", (ffi2 - base) / n * 1e9);
  return 0;
}
