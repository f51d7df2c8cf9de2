/* tests/ffi/testactions.c — C functions that playbooks call as `from
 * "libtestactions.so" symbol "..."` actions (built by the Makefile with
 * -shared -fPIC into the test folder): one per C type of LANGUAGE.md §5. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int64_t ta_add(int64_t a, int64_t b) { return a + b; }

int64_t ta_zero(void) { return 0; }

double ta_scale(double x, double k) { return x * k; }

int ta_not(int b) { return !b; }

/* returned strings are copied by the caller, never freed: static buffers */
static _Thread_local char buf[4096];

const char *ta_greet(const char *name) {
  snprintf(buf, sizeof buf, "hello, %s", name);
  return buf;
}

/* a map (as JSON) in, a map out: {"got": MAP, "bytes": LEN} */
const char *ta_wrap(const char *json) {
  snprintf(buf, sizeof buf, "{\"got\": %s, \"bytes\": %zu}", json, strlen(json));
  return buf;
}

/* all the types at once, in an unusual order */
double ta_mix(int flag, const char *s, int64_t n, double x) {
  return (flag ? 1000.0 : 0.0) + (double)strlen(s) * 100.0 + (double)n * 10.0 + x;
}

const char *ta_null(void) { return NULL; }
