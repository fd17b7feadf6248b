# hookd's everyday commands. The README's first two are `make run` and
# `make test`; .ci/run calls `make test`.

GO ?= go
GOLANGCI_LINT ?= $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
# hookbench scenario for `make bench`: single, fanout, latency or publish.
SCENARIO ?= single
# Version stamped into the binary by `make build`.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

.PHONY: run test lint bench build vet fmt clean ts-client

## run: hookd dev on 127.0.0.1:8080 with its own Postgres under ./.hookd
run:
	$(GO) run ./cmd/hookd dev

## test: every test, against a throwaway Postgres (or TEST_DATABASE_URL)
test:
	$(GO) test -count=1 -p 2 -timeout 20m ./...

## lint: golangci-lint with .golangci.yaml (depguard holds the import graph)
lint:
	$(GOLANGCI_LINT) run

## bench: the load tool against a fresh hookd dev (SCENARIO=single|fanout|latency|publish)
bench:
	$(GO) run ./cmd/hookbench --start --scenario $(SCENARIO)

## build: bin/hookd
build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/hookd ./cmd/hookd

## ts-client: regenerate the TypeScript client's types from api/openapi.json, then type-check it
ts-client:
	cd api/client-ts && npm ci --no-audit --no-fund && npm run gen && npm run check

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.hookd/*')

clean:
	rm -rf bin
