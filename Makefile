# leadrotor: the two commands a newcomer needs are `make run` and `make test`.

GO         ?= go
# Extra flags for `go test`; CI passes -race.
TEST_FLAGS ?=
# How long each benchmark runs (go test -benchtime).
BENCHTIME  ?= 2s
# How long make soak drives the servers.
SOAK_DURATION ?= 2m
# How long `make fuzz` runs each fuzz target, and with how many workers (the
# reference machine has 2 cores: one worker leaves one for the coordinator).
# FUZZTIME is a duration (5m) or an execution count (3000x). Go 1.26's fuzz
# coordinator can fail a duration-bounded run with a bare "context deadline
# exceeded" at the deadline, without any failing input (go.dev/issue/75804,
# fixed in Go 1.27), so CI uses a count, which has no deadline to race.
FUZZTIME     ?= 5m
FUZZPARALLEL ?= 1
# Every fuzz target, as package:Name; `make fuzz` runs them one after another.
FUZZ_TARGETS = \
	./httpapi:FuzzCreateBody \
	./httpapi:FuzzLeadBodyAgrees \
	./httpapi:FuzzListQuery \
	./httpapi:FuzzRequestLine \
	./leads:FuzzCursor \
	./leads:FuzzLeadJSON \
	./rotation:FuzzLuaMatchesPure

.PHONY: run build test lint openapi-check bench loadtest examples fuzz soak package-check

## run: serve on the embedded default (SQLite file leadrotor.db, in-process
## rotation), with the demo account seeded and a fresh API key printed
run: build
	bin/leadrotor demo
	bin/leadrotor serve

## build: the server (bin/leadrotor) and the load generator (bin/leadbench)
build:
	$(GO) build -o bin/leadrotor ./cmd/leadrotor
	$(GO) build -o bin/leadbench ./cmd/leadbench

## test: every test; real PostgreSQL and Redis are used when they answer,
## and the closing line says which ran
test:
	$(GO) test -count=1 -timeout 20m $(TEST_FLAGS) ./...
	@$(GO) run ./internal/testbackends

## examples: the embedding program and the curl walkthrough (against a
## server on a throwaway database)
examples: build
	examples/run.sh

# staticcheck, pinned; `go run` fetches it through the module proxy once.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: gofmt check, go vet and staticcheck
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt wants to change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## package-check: the packaging without a Docker engine: the binary built
## as the Dockerfile builds it (static, CGO-free), run as an unprivileged
## user without zoneinfo on the disk, compose.yaml and the systemd unit
## validated (needs root; see docs/deploy.md)
package-check:
	scripts/package-check.sh

## openapi-check: lint httpapi/openapi.yaml with Spectral (spectral:oas,
## pinned in scripts/openapi), and require the generated Go client and the
## vendored Redoc to be what the document and npm give
openapi-check:
	GO=$(GO) scripts/openapi-check.sh

## fuzz: each fuzz target in turn for FUZZTIME; a failing input is written
## to the package's testdata/fuzz/<target>/ (keep it: it becomes a test)
fuzz:
	@for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*}; name=$${target#*:}; \
		echo "fuzz: $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -parallel=$(FUZZPARALLEL) $$pkg || exit 1; \
	done

## bench: Go benchmarks (bounded by BENCHTIME)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...

## loadtest: the load tests of docs/BENCHMARKS.md (DURATION=60s, SOAK=10m
## adds the memory soak); needs PostgreSQL, Redis and pgbench
loadtest: build
	docs/loadtest.sh

## soak: two servers under load for SOAK_DURATION (2m) while Redis is killed
## twice and a server restarted; checks that no lead is lost or left
## unassigned and that the rotation stays exact (needs PostgreSQL and Redis)
soak: build
	DURATION=$(SOAK_DURATION) scripts/soak.sh
