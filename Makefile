# promptreg — see README.md. `make run` and `make test` are the quick start.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/promptreg
ADDR    ?= 127.0.0.1:8080
# The admin key `make run` starts the server with: API writes need it until
# API keys exist. Local use only; set your own anywhere else.
ADMIN_KEY ?= dev-admin-key

.PHONY: build test lint run bench bench-http bench-render bench-history bench-writes bench-exec bench-http-key clean

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/promptreg

# The race detector is on: the registry, the Git store and the HTTP server
# are all concurrent. Then every fuzz target runs for a few seconds
# (scripts/fuzz-short.sh, FUZZTIME=3s each); their seed corpora already ran
# as tests.
test:
	$(GO) test -race -count=1 ./...
	GO=$(GO) scripts/fuzz-short.sh

lint: build
	$(GO) vet ./...
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(BIN) lint examples/prompts

# Serves the bundled examples the way a team runs promptreg: the server clones
# a bare repository (.run/remote.git, standing in for the Git host) into
# .run/data and pushes API writes to it; .run/prompts is a working clone to
# edit, commit and `git push` by hand. Both are made from examples/prompts on
# the first run (scripts/run-repos.sh).
run: build
	scripts/run-repos.sh examples/prompts .run
	PROMPTREG_ADMIN_KEY=$(ADMIN_KEY) $(BIN) serve --repo .run/remote.git --data .run/data --addr $(ADDR) --poll 2s --log-format text --public-read --public-metrics

# Every benchmark prints its figures beside a baseline measured in the same
# run (these machines are shared and noisy): see README.md, Performance.
bench: bench-http bench-http-key bench-render bench-history bench-writes bench-exec

# GET /v1/prompts/{name} (200 and 304) against a minimal net/http server
# answering the same bytes, from a second process on 127.0.0.1.
bench-http: build
	scripts/bench-http.sh

# The same with a stored read key on every request (the key is checked
# from memory: hash and map lookup), against the same baseline.
bench-http-key: build
	@d=$$(mktemp -d) && k=$$($(BIN) keys create --data $$d --name bench --scopes prompts:read 2>/dev/null) && \
	BENCH_SERVE_ARGS="--data $$d --public-metrics" BENCH_API_KEY=$$k scripts/bench-http.sh; s=$$?; rm -rf $$d; exit $$s

# Render throughput against Python Jinja2 on the same templates, one core.
bench-render:
	scripts/bench-render.sh

# The history index on a generated repository of P=2,000 prompts and
# C=10,000 commits: first index, restart, 100 new commits, RSS, /versions.
bench-history:
	$(GO) run ./internal/cmd/benchhistory -prompts 2000 -commits 10000

# PUT /v1/prompts/{name} round trip (request → pushed → served) against
# git commit + git push of the same change, same remote, same run; on 10
# prompts and on the generated P=2,000 × C=10,000 repository.
bench-writes:
	$(GO) test -run '^$$' -bench 'BenchmarkPut$$' -benchtime 20x -timeout 30m ./httpapi

# Executions: ingest over HTTP (batches of 100) against plain batched INSERTs
# into the same SQLite file, with GET /v1/prompts/{name} latency before and
# during it; the store's ingest against the same floor, and the cost of each
# index; analytics over 1,000,000 executions (builds a 1 GB fixture).
bench-exec:
	$(GO) run ./internal/cmd/benchexec -seconds 5
	$(GO) test -run '^$$' -bench 'BenchmarkInsertExecutions' -benchtime 300x ./sqlite
	$(GO) test -run '^$$' -bench 'BenchmarkExecutionQueries' -benchtime 5x -timeout 60m ./sqlite

clean:
	rm -rf bin .run
