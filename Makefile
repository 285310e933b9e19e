# signoff: `make run` opens signoff on a demo workspace; `make test` runs
# every test. See README.md.

GO    ?= go
BIN   := bin/signoff
DEMO  ?= demo
FUZZTIME ?= 10s

.PHONY: build run test unit fuzz-short bench lint clean

build:
	$(GO) build -o $(BIN) ./cmd/signoff

# run opens the review console as the demo's risk officer, on a demo
# workspace in ./$(DEMO) (created when missing: signers, governance, the
# three demo bundles, requests and decisions).
run: build
	@[ -e $(DEMO)/keys/id_ed25519 ] || $(BIN) demo --dir $(DEMO)
	$(BIN) --home $(DEMO) review

test: lint unit fuzz-short

unit:
	$(GO) test -race -count=1 ./...

# Short fuzz runs of every parser of outside input; run longer by hand with
# `make fuzz-short FUZZTIME=10m`.
fuzz-short:
	@for f in ledger:FuzzParseLine ledger:FuzzParsePayload ledger:FuzzParseSignature ledger:FuzzDecodedKey \
		evidence:FuzzParseManifest evidence:FuzzParseLock evidence:FuzzParseCard evidence:FuzzReadPredictions \
		evidence:FuzzParseMetrics evidence:FuzzInert policy:FuzzParsePolicy policy:FuzzParseBody policy:FuzzParseDocument; do \
		pkg=$${f%%:*}; fn=$${f#*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 200x ./$$pkg/ || exit 1; \
	done

# Benchmarks print ratios to limits measured in the same run (bare ed25519
# verification, a bare fsync), never bare times.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./ledger/ ./evidence/ ./policy/ ./tui/

lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

clean:
	rm -rf bin $(DEMO)
