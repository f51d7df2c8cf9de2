#!/usr/bin/env bash
# tests/embed/install.sh — what `make install PREFIX=...` put in PREFIX is
# usable the way a user would use it: pkg-config finds hitl.pc, the C
# example (bindings/examples/embed.c) builds against the installed header
# and shared library with `pkg-config --cflags --libs hitl` and runs, and
# the installed tools run.  Called by `make test-embed` after the install.
set -u
: "${PREFIX:?}" "${WORK:?}"
CC=${CC:-cc}
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; fail=$((fail + 1)); }

for f in bin/hitlc bin/hitlvm lib/libhitl.a lib/libhitl.so lib/libhitl.so.0 include/hitl.h lib/pkgconfig/hitl.pc; do
  if [ -e "$PREFIX/$f" ]; then ok "installed $f"; else bad "missing $f"; fi
done

export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
want=$(sed -n 's/^#define HITL_VERSION_STRING "\(.*\)"/\1/p' include/hitl.h)
if [ "$(pkg-config --modversion hitl)" = "$want" ]; then ok "pkg-config --modversion hitl = $want"; else bad "pkg-config --modversion: $(pkg-config --modversion hitl 2>&1)"; fi

flags=$(pkg-config --cflags --libs hitl)
if $CC -std=c11 -Wall -Wextra -Werror bindings/examples/embed.c $flags -o "$WORK/embed" 2>"$WORK/cc.err"; then
  ok "embed.c builds with: $flags"
else
  bad "embed.c does not build: $(cat "$WORK/cc.err")"
fi
if readelf -d "$WORK/embed" 2>/dev/null | grep -q 'NEEDED.*libhitl.so.0'; then ok "embed needs libhitl.so.0 (the soname)"; else bad "embed does not link libhitl.so.0"; fi

out=$(LD_LIBRARY_PATH="$PREFIX/lib" "$WORK/embed" 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q '^result: {"refunded":99.5,"receipt":"R-1"}$' && echo "$out" | grep -q "^hitl $want$"; then
  ok "embed runs: suspends, snapshots, restores, resumes"
else
  bad "embed (exit $rc): $out"
fi

# the static library with the private dependencies
if $CC -std=c11 bindings/examples/embed.c $(pkg-config --cflags hitl) "$PREFIX/lib/libhitl.a" \
     $(pkg-config --libs-only-l --static hitl | sed 's/-lhitl//') -o "$WORK/embed-static" 2>"$WORK/cc.err" &&
   "$WORK/embed-static" >/dev/null 2>&1; then
  ok "embed links statically with libhitl.a and Libs.private"
else
  bad "static link: $(cat "$WORK/cc.err")"
fi

if "$PREFIX/bin/hitlc" --version >/dev/null 2>&1; then ok "installed hitlc runs"; else bad "installed hitlc"; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
