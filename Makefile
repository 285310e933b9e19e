# signoff: `make run` opens signoff on a demo workspace; `make test` runs
# every test. See README.md.

GO    ?= go
BIN   := bin/signoff
DEMO  ?= demo
FUZZTIME ?= 5s

.PHONY: build run test unit s3gw fuzz-short bench lint clean

build:
	$(GO) build -o $(BIN) ./cmd/signoff

# run opens the review console as the demo's risk officer, on a demo
# workspace in ./$(DEMO) (created when missing: signers, governance, the
# three demo bundles, requests and decisions).
run: build
	@[ -e $(DEMO)/keys/id_ed25519 ] || $(BIN) demo --dir $(DEMO)
	$(BIN) --home $(DEMO) review

# The short fuzz runs are time-boxed, so the one-off build of the S3 test
# server runs beside them rather than before the unit tests.
test: lint
	@log=$$(mktemp); $(MAKE) --no-print-directory s3gw >$$log 2>&1 & pid=$$!; \
	$(MAKE) --no-print-directory fuzz-short; fz=$$?; \
	wait $$pid; gw=$$?; cat $$log; rm -f $$log; \
	[ $$fz = 0 ] && [ $$gw = 0 ]
	@$(MAKE) --no-print-directory unit

# The sync tests run a real S3 server, the Versity gateway, pinned in
# tools/s3/go.mod; build it first so its one-off build (a few minutes on a
# fresh machine) is not charged to one test's time limit.
s3gw:
	@echo "building the S3 test server (tools/s3: versitygw)"
	@cd tools/s3 && $(GO) tool -n versitygw >/dev/null

unit: s3gw
	$(GO) test -race -count=1 ./...

# Short fuzz runs of every parser of outside input; run longer by hand with
# `make fuzz-short FUZZTIME=10m`. A target that fails without writing a
# failing input hit Go 1.26's race at the -fuzztime deadline
# (golang/go#75804, fixed in Go 1.27) and runs again, up to four times in
# all; one that writes an input fails at once.
fuzz-short:
	@for f in ledger:FuzzParseLine ledger:FuzzParsePayload ledger:FuzzParseSignature ledger:FuzzDecodedKey \
		evidence:FuzzParseManifest evidence:FuzzParseLock evidence:FuzzParseCard evidence:FuzzReadPredictions \
		evidence:FuzzParseMetrics inert:FuzzText policy:FuzzParsePolicy policy:FuzzParseBody policy:FuzzParseDocument \
		sync:FuzzIngest sync:FuzzSyncFile; do \
		pkg=$${f%%:*}; fn=$${f#*:}; corpus=$$pkg/testdata/fuzz/$$fn; \
		before=$$(ls $$corpus 2>/dev/null | wc -l); \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		for try in 1 2 3 4; do \
			if $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 200x ./$$pkg/; then break; fi; \
			if [ "$$(ls $$corpus 2>/dev/null | wc -l)" != "$$before" ] || [ $$try = 4 ]; then exit 1; fi; \
			echo "fuzz $$pkg $$fn failed without a failing input: Go 1.26's fuzz deadline race (golang/go#75804); again"; \
		done; \
	done

# Benchmarks print ratios to limits measured in the same run (bare ed25519
# verification, a bare fsync), never bare times.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./ledger/ ./evidence/ ./policy/ ./tui/ ./sync/

lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

clean:
	rm -rf bin $(DEMO)
