# promptreg — see README.md. `make run` and `make test` are the quick start.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/promptreg
ADDR    ?= 127.0.0.1:8080

.PHONY: build test lint run bench clean

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

bench: build
	scripts/bench-http.sh

clean:
	rm -rf bin .run
