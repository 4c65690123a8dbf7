#!/usr/bin/env bash
# Render throughput of render/jinja against Python Jinja2 on the same three
# templates and data (render/jinja/testdata/bench), both pinned to one core,
# alternated ROUNDS times; prints the best ns/op of each and the ratio
# (Jinja2 time / Go time: above 1.0 the Go renderer is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-3}
pin=()
if command -v taskset >/dev/null 2>&1; then pin=(taskset -c 0); fi
if ! python3 -c 'import jinja2' 2>/dev/null; then
  echo "bench-render: python3 with jinja2 is needed for the baseline (pip install jinja2)" >&2
  exit 1
fi
go test -c -o /tmp/promptreg-jinja.test ./render/jinja/ >/dev/null
declare -A gobest pybest
for r in $(seq 1 "$ROUNDS"); do
  while read -r name ns; do
    shape=${name#BenchmarkRender/}; shape=${shape%%-*}
    if [[ -z "${gobest[$shape]:-}" ]] || (( $(printf '%.0f' "$ns") < $(printf '%.0f' "${gobest[$shape]}") )); then gobest[$shape]=$ns; fi
  done < <(cd render/jinja && "${pin[@]}" /tmp/promptreg-jinja.test -test.run '^$' -test.bench '^BenchmarkRender$' -test.benchtime 1s | awk '/^BenchmarkRender\//{print $1, $3}')
  while read -r name ns; do
    shape=${name#BenchmarkRender/}
    if [[ -z "${pybest[$shape]:-}" ]] || (( $(printf '%.0f' "$ns") < $(printf '%.0f' "${pybest[$shape]}") )); then pybest[$shape]=$ns; fi
  done < <("${pin[@]}" python3 render/jinja/testdata/bench_jinja2.py --seconds 1 | awk '/^BenchmarkRender\//{print $1, $3}')
done
printf '\nRender, one core, best of %d rounds (limits on: 1 MiB output, 1 s, range 10k)\n' "$ROUNDS"
printf '%-8s %14s %14s %10s\n' shape "promptreg ns" "Jinja2 ns" "ratio"
for shape in short loop system; do
  g=${gobest[$shape]:-0}; p=${pybest[$shape]:-0}
  ratio=$(awk -v g="$g" -v p="$p" 'BEGIN{ if (g > 0) printf "%.2fx", p/g; else print "n/a" }')
  printf '%-8s %14.0f %14.0f %10s\n' "$shape" "$g" "$p" "$ratio"
done
echo "(ratio = Jinja2 time / promptreg time; target >= 1.0x on every shape)"
