#!/usr/bin/env bash
# A short fuzz run, part of `make test`: every fuzz target of the module
# (every `func FuzzX` in a tracked _test.go file) for FUZZTIME each
# (default 3s), one after the other (a fuzz run takes one target).
#
# The seed corpora (testdata/fuzz/FuzzX/ beside each target) already run as
# plain tests in `go test ./...`; this mutates them a little further every
# time. Each package's instrumented test binary is built once, and each run
# starts from the checked-in seeds alone, in a cache of its own removed
# afterwards: Go's shared cache ($GOCACHE/fuzz) only grows, and re-reading
# it would soon fill the few seconds (httpapi's binary, with SQLite and
# go-git instrumented, runs about 500 inputs a second). Minimising is cut
# short (200 runs) for the same reason. For a long run use
# `go test -run '^$' -fuzz '^FuzzX$' ./pkg`, which keeps what it finds.
#
# A failing input is written to the package's testdata/fuzz/FuzzX/: fix the
# bug and commit the input with the fix, as a regression seed.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-3s}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
count=0
while IFS=: read -r file name; do
  dir=$(dirname "$file")
  bin=$tmp/$(echo "$dir" | tr / _).test
  if [ ! -x "$bin" ]; then
    "$GO" test -c -fuzz . -o "$bin" "./$dir"
  fi
  log=$tmp/$name.log
  if ! (cd "$dir" && "$bin" -test.run '^$' -test.fuzz "^${name}\$" -test.fuzztime "$FUZZTIME" \
    -test.fuzzminimizetime 200x -test.fuzzcachedir "$tmp/cache/$dir") >"$log" 2>&1; then
    cat "$log"
    echo "fuzz-short: $name (./$dir) failed; the failing input is in $dir/testdata/fuzz/$name/" >&2
    exit 1
  fi
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 || true)
  printf 'fuzz-short: %-22s ./%-14s %s\n' "$name" "$dir" "${execs:-execs: ?}"
  count=$((count + 1))
done < <(git ls-files '*_test.go' | xargs grep -Ho '^func Fuzz[A-Za-z0-9_]*' | sed 's/:func /:/' | sort)
if [ "$count" -eq 0 ]; then
  echo "fuzz-short: no fuzz targets found" >&2
  exit 1
fi
echo "fuzz-short: $count targets, $FUZZTIME each, $((SECONDS - start)) s"
