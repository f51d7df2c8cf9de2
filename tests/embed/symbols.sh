#!/usr/bin/env bash
# tests/embed/symbols.sh — libhitl.so exports the public API and nothing
# else: every defined dynamic symbol begins with hitl_, each is declared in
# include/hitl.h and each function hitl.h declares is exported; the soname
# and the symlinks are the versioned ones.  LIBDIR is where make put it.
set -u
LIBDIR=${LIBDIR:-lib}
so="$LIBDIR/libhitl.so"
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; fail=$((fail + 1)); }

[ -f "$so" ] || { echo "FAIL - $so missing"; exit 1; }

exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort)
others=$(echo "$exported" | grep -v '^hitl_' || true)
if [ -z "$others" ]; then ok "every exported symbol begins with hitl_"; else bad "exported but not hitl_: $others"; fi

# function names declared in the header: "hitl_name(", not the "(*hitl_fn)" types
declared=$(sed 's/(\*hitl_[a-z_]*)//g' include/hitl.h | grep -oE '\bhitl_[a-z_]+\(' | tr -d '(' | sort -u)
extra=$(comm -23 <(echo "$exported") <(echo "$declared"))
missing=$(comm -13 <(echo "$exported") <(echo "$declared"))
if [ -z "$extra" ]; then ok "nothing exported that hitl.h does not declare"; else bad "exported, not in hitl.h: $extra"; fi
if [ -z "$missing" ]; then ok "every function of hitl.h is exported ($(echo "$declared" | wc -l))"; else bad "declared, not exported: $missing"; fi

soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$soname" = libhitl.so.0 ]; then ok "soname libhitl.so.0"; else bad "soname is '$soname'"; fi
if [ "$(readlink "$LIBDIR/libhitl.so")" = libhitl.so.0 ] && [ -f "$LIBDIR/$(readlink "$LIBDIR/libhitl.so.0")" ]; then
  ok "libhitl.so -> libhitl.so.0 -> $(readlink "$LIBDIR/libhitl.so.0")"
else
  bad "symlinks: $(ls -l "$LIBDIR"/libhitl.so*)"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
