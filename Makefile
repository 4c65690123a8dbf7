# promptreg — see README.md. `make run` and `make test` are the quick start.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/promptreg
ADDR    ?= 127.0.0.1:8080

.PHONY: build test lint run bench bench-http bench-render bench-history clean

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/promptreg

# The race detector is on: the registry, the Git store and the HTTP server
# are all concurrent.
test:
	$(GO) test -race -count=1 ./...

lint: build
	$(GO) vet ./...
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(BIN) lint examples/prompts

# Serves the bundled examples: on first start the server turns
# examples/prompts into a Git repository at .run/prompts (commit into it to
# see the server pick changes up) and clones it into .run/data.
run: build
	$(BIN) serve --repo .run/prompts --seed examples/prompts --data .run/data --addr $(ADDR) --poll 2s --log-format text

# Every benchmark prints its figures beside a baseline measured in the same
# run (these machines are shared and noisy): see README.md, Performance.
bench: bench-http bench-render bench-history

# GET /v1/prompts/{name} (200 and 304) against a minimal net/http server
# answering the same bytes, from a second process on 127.0.0.1.
bench-http: build
	scripts/bench-http.sh

# Render throughput against Python Jinja2 on the same templates, one core.
bench-render:
	scripts/bench-render.sh

# The history index on a generated repository of P=2,000 prompts and
# C=10,000 commits: first index, restart, 100 new commits, RSS, /versions.
bench-history:
	$(GO) run ./internal/cmd/benchhistory -prompts 2000 -commits 10000

clean:
	rm -rf bin .run
