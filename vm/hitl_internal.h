/* vm/hitl_internal.h — what the two files of the public API share:
 * vm/hitl_api.c (programs, instances, errors) and vm/hitl_store.c (the
 * store).  Internal: nothing here is exported from libhitl.so (hidden
 * visibility; include/hitl.map keeps the exports to hitl_*). */
#ifndef HITL_INTERNAL_H
#define HITL_INTERNAL_H

#include <stdint.h>

#include "../include/hitl.h"
#include "bytecode.h"

struct hitl_error {
  const char *kind;
  const char *message;
  int64_t line;
};

struct hitl_program {
  Module *m;
  uint8_t *bytes;
  size_t len;
  uint8_t hash[32];
  char hex[65];
  char *base_dir;
};

/* A new error (malloc'd; a static "out of memory" one when there is no
 * memory for it, which hitl_error_free ignores). */
hitl_error *api_error_new(const char *kind, int64_t line, const char *msg);
/* *out = a new error with the formatted message, when out is not NULL. */
void api_set_error(hitl_error **out, const char *kind, int64_t line, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 4, 5)))
#endif
  ;
void api_no_error(hitl_error **out);   /* *out = NULL, when out is not NULL */

#endif
