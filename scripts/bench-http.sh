#!/usr/bin/env bash
# bench-http.sh — the HTTP benchmark behind `make bench`.
#
# Starts `promptreg serve` on examples/prompts, fetches GET /v1/prompts/$BENCH_PROMPT
# once (body bytes, ETag, headers), starts internal/cmd/baseline — a minimal net/http
# server answering those exact bytes and headers from memory — and load-tests both
# with internal/cmd/loadgen from a separate process over 127.0.0.1:
#
#   200  GET /v1/prompts/{name}                              (full response)
#   304  GET /v1/prompts/{name} + If-None-Match: <its ETag>  (revalidation)
#
# Each run measures both servers at once: loadgen interleaves them in short slices
# (A, B, A, B…, every $BENCH_SLICE), so both see the same machine conditions. On a shared
# 2-CPU machine, runs of one server one after the other differ by up to ±30%; two
# identical servers interleaved every 50ms come out within about ±4% of each other per
# run. Runs are repeated $BENCH_ROUNDS times, the order of the two flipping every round;
# the table shows medians, and "vs baseline" is the median of the per-run ratios.
#
# Reading the ratio: the server and loadgen share the CPUs, so a throughput ratio is
# gentler than the CPU cost ratio behind it (measured here: a server spending 1.5x the
# baseline's CPU per request shows about 0.84x; 2.6x shows about 0.59x).
# Target: promptreg >= $BENCH_TARGET x baseline (reported; enforced with BENCH_STRICT=1).
#
# Usage: scripts/bench-http.sh [--self-test]
#   --self-test  benchmark the baseline against a second baseline instead of promptreg:
#                checks the harness itself (ratios should be ~1.00x); needs no cmd/promptreg.
#
# Environment (defaults in brackets):
#   BENCH_PROMPT [support/welcome]  prompt name to fetch
#   BENCH_CONNS [32]  BENCH_WARMUP [1s]  BENCH_ROUNDS [5]  BENCH_SLICE [50ms]
#   BENCH_DURATION [4s]  measured time of one run, shared by the two servers
#   BENCH_TARGET [0.8]  BENCH_STRICT [0]   exit 1 when a ratio is below the target
#   BENCH_PIN [0]        1: pin servers to the first half of the CPUs and loadgen to the
#                        second half with taskset. Off by default: on 2 shared CPUs, one
#                        CPU per side measured noisier than letting the OS arbitrate.
#   BENCH_SERVER_PROCS, BENCH_CLIENT_PROCS  GOMAXPROCS of the servers / of loadgen
#                        [all CPUs available to that side]. Unpinned, both sides share all
#                        CPUs and the OS arbitrates; both servers get identical settings.
#   BENCH_SERVE_ARGS     extra arguments for `promptreg serve` (e.g. --public-read)
#   BENCH_API_KEY        sent as "Authorization: Bearer KEY" if reads need a key
#   PROMPTREG_BIN        use this promptreg binary instead of building ./cmd/promptreg
#   BENCH_KEEP [0]       1: keep the temporary directory (logs, bodies, raw results)
set -euo pipefail

self_test=0
case "${1:-}" in
"") ;;
--self-test) self_test=1 ;;
-h | --help)
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
	exit 0
	;;
*)
	echo "usage: $0 [--self-test]" >&2
	exit 2
	;;
esac

prompt=${BENCH_PROMPT:-support/welcome}
conns=${BENCH_CONNS:-32}
duration=${BENCH_DURATION:-4s}
slice=${BENCH_SLICE:-50ms}
warmup=${BENCH_WARMUP:-1s}
rounds=${BENCH_ROUNDS:-5}
target=${BENCH_TARGET:-0.8}
strict=${BENCH_STRICT:-0}
pin=${BENCH_PIN:-0}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

die() {
	echo "bench: $*" >&2
	exit 1
}
log() { echo "bench: $*" >&2; }

[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive integer, got '$rounds'"
command -v curl >/dev/null || die "curl is required"
command -v go >/dev/null || die "go is required"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/promptreg-bench.XXXXXX")
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then
		log "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- CPU placement -------------------------------------------------------------------
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
server_run=()
client_run=()
server_cpus=$ncpu
client_cpus=$ncpu
placement="unpinned, servers and loadgen share $ncpu CPUs"
if [[ $pin == 1 ]]; then
	command -v taskset >/dev/null || die "BENCH_PIN=1 needs taskset"
	((ncpu >= 2)) || die "BENCH_PIN=1 needs at least 2 CPUs"
	half=$((ncpu / 2))
	server_cpus=$half
	client_cpus=$((ncpu - half))
	server_run=(taskset -c "0-$((half - 1))")
	client_run=(taskset -c "$half-$((ncpu - 1))")
	placement="pinned: servers on CPUs 0-$((half - 1)), loadgen on CPUs $half-$((ncpu - 1))"
fi
server_procs=${BENCH_SERVER_PROCS:-$server_cpus}
client_procs=${BENCH_CLIENT_PROCS:-$client_cpus}

# --- build ---------------------------------------------------------------------------
bin=$tmp/bin
mkdir -p "$bin"
log "building loadgen and baseline"
go build -o "$bin/" ./internal/cmd/loadgen ./internal/cmd/baseline ||
	die "building internal/cmd/loadgen and internal/cmd/baseline failed"
if ((self_test == 0)); then
	if [[ -n ${PROMPTREG_BIN:-} ]]; then
		[[ -x $PROMPTREG_BIN ]] || die "PROMPTREG_BIN=$PROMPTREG_BIN is not executable"
		cp "$PROMPTREG_BIN" "$bin/promptreg"
	else
		log "building ./cmd/promptreg"
		go build -o "$bin/promptreg" ./cmd/promptreg ||
			die "building ./cmd/promptreg failed (use --self-test to check the harness alone)"
	fi
fi

# --- helpers -------------------------------------------------------------------------

# port_is_free PORT: nothing accepts connections on 127.0.0.1:PORT.
port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# header_value FILE NAME: the value of the first NAME header in a curl -D dump.
header_value() {
	grep -i "^$2:" "$1" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^[[:space:]]*//;s/[[:space:]]*$//' || true
}

# start_promptreg: starts the server on a free port and waits for /readyz; sets pr_url.
start_promptreg() {
	local attempt port pid deadline
	for attempt in 1 2 3; do
		port=$((20000 + RANDOM % 40000))
		port_is_free "$port" || continue
		log "starting promptreg on 127.0.0.1:$port (repo and data in $tmp)"
		# shellcheck disable=SC2086 # BENCH_SERVE_ARGS is a list of words
		GOMAXPROCS=$server_procs "${server_run[@]}" "$bin/promptreg" serve \
			--repo "$tmp/repo" --seed examples/prompts --data "$tmp/data" \
			--addr "127.0.0.1:$port" ${BENCH_SERVE_ARGS:-} \
			>"$tmp/promptreg.out" 2>"$tmp/promptreg.log" &
		pid=$!
		pids+=("$pid")
		deadline=$((SECONDS + 30))
		while ((SECONDS < deadline)); do
			if ! kill -0 "$pid" 2>/dev/null; then
				if grep -qi "address already in use" "$tmp/promptreg.log"; then
					continue 2 # lost a race for the port: try another one
				fi
				echo "--- last lines of the promptreg log:" >&2
				tail -n 20 "$tmp/promptreg.log" >&2
				die "promptreg exited before it was ready"
			fi
			if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/readyz" 2>/dev/null; then
				pr_url="http://127.0.0.1:$port"
				return 0
			fi
			sleep 0.2
		done
		echo "--- last lines of the promptreg log:" >&2
		tail -n 20 "$tmp/promptreg.log" >&2
		die "promptreg was not ready (GET /readyz = 200) within 30s"
	done
	die "could not find a free port for promptreg"
}

# start_baseline NAME BODY ETAG CONTENT-TYPE CACHE-CONTROL [-H header]...: starts a
# baseline server on port 0 and sets baseline_url once it listens. (Not run in $(…):
# the pid must be recorded in this shell for the exit trap.)
start_baseline() {
	local name=$1 body=$2 etag=$3 ctype=$4 cc=$5 pid addr i
	shift 5
	GOMAXPROCS=$server_procs "${server_run[@]}" "$bin/baseline" -addr 127.0.0.1:0 \
		-body "$body" -etag "$etag" -content-type "$ctype" -cache-control "$cc" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.log" &
	pid=$!
	pids+=("$pid")
	for i in $(seq 100); do
		addr=$(sed -n 's/^listening on //p' "$tmp/$name.out")
		if [[ -n $addr ]]; then
			baseline_url="http://$addr"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/$name.log" >&2
	die "$name did not start"
}

# --- servers and the reference response ----------------------------------------------
path="/v1/prompts/$prompt"
auth=()
[[ -n ${BENCH_API_KEY:-} ]] && auth=(-H "Authorization: Bearer $BENCH_API_KEY")

if ((self_test == 1)); then
	b_label="baseline#2"
	body=$tmp/body
	# Any realistic bytes will do: the prompt's source file stands in for its JSON.
	src=$(ls "examples/prompts/$prompt".{prompt,jinja,j2} 2>/dev/null | head -n 1 || true)
	[[ -n $src ]] || die "no file for prompt $prompt under examples/prompts"
	cp "$src" "$body"
	etag="\"$(sha256sum "$body" | cut -d' ' -f1)\""
	ctype="application/json"
	cc="no-cache"
	start_baseline baseline "$body" "$etag" "$ctype" "$cc"
	a_url=$baseline_url
	start_baseline baseline2 "$body" "$etag" "$ctype" "$cc"
	b_url=$baseline_url
else
	b_label="promptreg"
	start_promptreg
	b_url=$pr_url
	body=$tmp/body
	status=$(curl -sS -D "$tmp/headers" -o "$body" -w '%{http_code}' "${auth[@]}" "$b_url$path") ||
		die "GET $b_url$path failed"
	case $status in
	200) ;;
	401 | 403)
		die "GET $path answered $status: reads need a key here; rerun with BENCH_SERVE_ARGS=--public-read, or BENCH_SERVE_ARGS='--admin-key K' BENCH_API_KEY=K"
		;;
	*)
		head -c 500 "$body" >&2
		echo >&2
		die "GET $path answered $status, want 200"
		;;
	esac
	etag=$(header_value "$tmp/headers" etag)
	ctype=$(header_value "$tmp/headers" content-type)
	cc=$(header_value "$tmp/headers" cache-control)
	[[ -n $etag ]] || die "GET $path has no ETag header"
	if grep -qi '^transfer-encoding:[[:space:]]*chunked' "$tmp/headers"; then
		log "note: promptreg answers with Transfer-Encoding: chunked (no Content-Length)"
	fi
	# Every other end-to-end header goes to the baseline too, so both servers write
	# the same bytes: X-Promptreg-*, Vary, X-Request-Id...
	extra=()
	while IFS= read -r line; do
		line=${line%$'\r'}
		name=${line%%:*}
		[[ $line == *:* && -n $name ]] || continue
		case ${name,,} in
		date | content-length | content-type | etag | cache-control | transfer-encoding | connection | keep-alive | content-encoding) ;;
		*) extra+=(-H "$line") ;;
		esac
	done < <(tail -n +2 "$tmp/headers")
	start_baseline baseline "$body" "$etag" "$ctype" "$cc" "${extra[@]}"
	a_url=$baseline_url

	status=$(curl -sS -o /dev/null -w '%{http_code}' "${auth[@]}" -H "If-None-Match: $etag" "$b_url$path")
	[[ $status == 304 ]] || die "promptreg answered $status to If-None-Match with its own ETag $etag, want 304"
fi

# Both servers must put the same body on the wire, or the comparison is meaningless.
curl -sS -o "$tmp/body.a" "$a_url$path" || die "GET $a_url$path failed"
cmp -s "$body" "$tmp/body.a" || die "the baseline's body differs from the reference body"

# --- load ----------------------------------------------------------------------------
results=$tmp/results
mkdir -p "$results"

# run_pair STATUS FIRST SECOND: one loadgen run over both servers (labels "a" and "b",
# FIRST's slices first); appends each one's JSON line to results/LABEL-STATUS.
run_pair() {
	local status=$1 first=$2 second=$3 url label out line
	local -A urls=([a]=$a_url [b]=$b_url) names=([a]=baseline [b]=$b_label)
	local args=(-url "${urls[$first]}$path" -url "${urls[$second]}$path" -slice "$slice"
		-c "$conns" -d "$duration" -warmup "$warmup" -expect "$status" -json "${auth[@]}")
	[[ $status == 304 ]] && args+=(-H "If-None-Match: $etag")
	if ! out=$(GOMAXPROCS=$client_procs "${client_run[@]}" "$bin/loadgen" "${args[@]}" 2>"$tmp/loadgen.err"); then
		cat "$tmp/loadgen.err" >&2
		die "loadgen failed ($status)"
	fi
	for label in a b; do
		line=$(grep -F "\"url\":\"${urls[$label]}$path\"" <<<"$out") || die "no result for ${urls[$label]} in: $out"
		echo "$line" >>"$results/$label-$status"
		log "$(awk -v n="${names[$label]}" -v s="$status" -v r="$(field rps <<<"$line")" \
			-v p50="$(field p50_us <<<"$line")" -v p99="$(field p99_us <<<"$line")" \
			'BEGIN{printf "  %-11s %s %9.0f req/s  p50 %6.3fms  p99 %6.3fms", n, s, r, p50/1000, p99/1000}')"
	done
}

# field NAME: a numeric field of one of loadgen's one-line JSON objects on stdin.
field() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p"; }

log "$placement; GOMAXPROCS servers=$server_procs loadgen=$client_procs"
log "$rounds rounds x (200, 304): baseline and $b_label interleaved every $slice, $conns connections, $warmup warm-up + $duration each"
for round in $(seq "$rounds"); do
	log "round $round/$rounds"
	for status in 200 304; do
		if ((round % 2 == 1)); then
			run_pair "$status" a b
		else
			run_pair "$status" b a
		fi
	done
done

# --- report --------------------------------------------------------------------------

# column LABEL STATUS FIELD: that field of every run, one per line, in run order.
column() { field "$3" <"$results/$1-$2"; }

# median: the median of the numbers on stdin (the upper one of an even count; with
# 2 runs that is the better req/s). lower_median: the lower one (the better latency).
median() { sort -g | awk '{v[NR]=$1} END{print v[int(NR/2)+1]}'; }
lower_median() { sort -g | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }
# mid_median: the textbook median (the mean of the two middle numbers of an even count).
mid_median() { sort -g | awk '{v[NR]=$1} END{print (v[int((NR+1)/2)] + v[int(NR/2)+1]) / 2}'; }

bytes=$(wc -c <"$body" | tr -d ' ')
echo
echo "GET $path ($bytes-byte body, ETag $etag)"
echo "$rounds runs of $warmup warm-up + $duration, baseline and $b_label interleaved every $slice, $conns connections;"
echo "$placement, GOMAXPROCS servers=$server_procs loadgen=$client_procs; medians of the runs"
echo
printf '%-16s %10s %10s %10s %12s\n' case req/s p50 p99 "vs baseline"
below=0
verdicts=()
for status in 200 304; do
	for label in a b; do
		rps=$(column "$label" "$status" rps | median)
		p50=$(column "$label" "$status" p50_us | lower_median)
		p99=$(column "$label" "$status" p99_us | lower_median)
		if [[ $label == a ]]; then
			name=baseline
			ratio=1
		else
			name=$b_label
			ratio=$(paste -d' ' <(column b "$status" rps) <(column a "$status" rps) |
				awk '{print $1/$2}' | mid_median)
			ok=$(awk -v r="$ratio" -v t="$target" 'BEGIN{print (r >= t) ? "ok" : "BELOW TARGET"}')
			[[ $ok == ok ]] || below=1
			verdicts+=("$(printf '%s: %.2fx baseline (target >= %.2fx): %s' "$status" "$ratio" "$target" "$ok")")
		fi
		awk -v c="$name $status" -v rps="$rps" -v p50="$p50" -v p99="$p99" -v r="$ratio" \
			'BEGIN{printf "%-16s %10.0f %8.3fms %8.3fms %11.2fx\n", c, rps, p50/1000, p99/1000, r}'
	done
done
echo
printf '%s\n' "${verdicts[@]}"
echo "(vs baseline = median over runs of $b_label req/s / baseline req/s within the same run)"

if [[ $strict == 1 && $below == 1 ]]; then
	exit 1
fi
