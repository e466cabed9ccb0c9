# Kuzet build. `make run` starts the demo; `make test` runs every test.
GO          ?= go
BIN         := bin/kuzet
VERSION     := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_FLAGS  ?= -count=1 -timeout 25m
BENCH_N     ?= 1,10,50,100
# the concurrent core also runs under the race detector in make test
RACE_PKGS   := ./event ./replicate ./federation ./site ./archive/... ./plateapi ./api ./config ./plates ./auth ./audit ./restream ./topology ./alarm ./internal/webhook ./netaddr ./seals/... ./plugin
BENCH_WINDOW ?= 30s

.PHONY: all deps build run test race lint fuzz bench clean

all: build

# Component makefiles (model and runtime downloads, ...).
-include mk/*.mk

# deps fetches Go modules, the plate-recognition runtime and models
# (mk/anpr.mk), builds SeaweedFS for the object-storage tests
# (mk/seaweedfs.mk, once), and checks the tools tests need (ffmpeg, ffprobe).
deps: anpr-deps weed
	$(GO) mod download
	@command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || \
		{ echo "ffmpeg/ffprobe missing: apt-get install -y ffmpeg"; exit 1; }

build: web-deps
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/node

run: anpr-deps build
	cd sdk && $(GO) build -o ../bin/colorchange ./examples/colorchange
	./$(BIN) demo -plugin bin/colorchange

test: deps web-e2e-deps build
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || \
		{ echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	KUZET_BIN=$(CURDIR)/$(BIN) $(GO) test $(TEST_FLAGS) ./...
	cd sdk && $(GO) vet ./... && $(GO) test $(TEST_FLAGS) ./...
	node --test sdk/examples/node/
	$(GO) test -race $(TEST_FLAGS) $(RACE_PKGS)

race: build
	KUZET_BIN=$(CURDIR)/$(BIN) $(GO) test -race $(TEST_FLAGS) ./...

lint:
	gofmt -l .
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Short fuzz runs of every parser; FUZZTIME=10m for a longer one.
FUZZTIME ?= 20s
fuzz:
	$(GO) test ./archive -run '^$$' -fuzz FuzzScanLayout -fuzztime $(FUZZTIME)
	$(GO) test ./config -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./testcam -run '^$$' -fuzz FuzzParseAnnexB -fuzztime $(FUZZTIME)
	$(GO) test ./federation -run '^$$' -fuzz FuzzReadFrame -fuzztime $(FUZZTIME)
	$(GO) test ./federation -run '^$$' -fuzz FuzzDecodeUnit -fuzztime $(FUZZTIME)
	$(GO) test ./anpr -run '^$$' -fuzz FuzzParseTruth -fuzztime $(FUZZTIME)
	$(GO) test ./plates/camevents -run '^$$' -fuzz FuzzParseGeneric -fuzztime $(FUZZTIME)
	$(GO) test ./seals -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./onvif -run '^$$' -fuzz FuzzParseProbeMatches -fuzztime $(FUZZTIME)
	$(GO) test ./onvif -run '^$$' -fuzz FuzzReadEnvelope -fuzztime $(FUZZTIME)
	$(GO) test ./plates/camevents -run '^$$' -fuzz FuzzParseISAPI -fuzztime $(FUZZTIME)
	$(GO) test ./plates/camevents -run '^$$' -fuzz FuzzParseDahua -fuzztime $(FUZZTIME)
	$(GO) test ./archive/playback -run '^$$' -fuzz FuzzScanFile -fuzztime $(FUZZTIME)
	$(GO) test ./evidence -run '^$$' -fuzz FuzzParseManifest -fuzztime $(FUZZTIME)
	$(GO) test ./checkpoint -run '^$$' -fuzz FuzzReaderMessage -fuzztime $(FUZZTIME)
	$(GO) test ./archive/sftpd -run '^$$' -fuzz FuzzRelPath -fuzztime $(FUZZTIME)
	$(GO) test ./archive/sftpd -run '^$$' -fuzz FuzzSubsystemName -fuzztime $(FUZZTIME)
	$(GO) test ./archive/sftpd -run '^$$' -fuzz FuzzParseArgon2id -fuzztime $(FUZZTIME)
	$(GO) test ./archive/sftppush -run '^$$' -fuzz FuzzParseKnownHostKey -fuzztime $(FUZZTIME)
	$(GO) test ./live -run '^$$' -fuzz FuzzParseFile -fuzztime $(FUZZTIME)
	$(GO) test ./live -run '^$$' -fuzz FuzzParseDirectives -fuzztime $(FUZZTIME)
	$(GO) test ./live -run '^$$' -fuzz FuzzMuxerUnits -fuzztime $(FUZZTIME)
	$(GO) test ./media -run '^$$' -fuzz FuzzJPEGSize -fuzztime $(FUZZTIME)
	$(GO) test ./media -run '^$$' -fuzz FuzzMPEG4 -fuzztime $(FUZZTIME)
	$(GO) test ./record -run '^$$' -fuzz FuzzParseWindow -fuzztime $(FUZZTIME)
	$(GO) test ./topology -run '^$$' -fuzz FuzzDecodeCommand -fuzztime $(FUZZTIME)
	$(GO) test ./topology -run '^$$' -fuzz FuzzDecodeSnapshot -fuzztime $(FUZZTIME)
	$(GO) test ./topology -run '^$$' -fuzz FuzzParseSlice -fuzztime $(FUZZTIME)
	$(GO) test ./topology -run '^$$' -fuzz FuzzForwardRequest -fuzztime $(FUZZTIME)
	$(GO) test ./alarm -run '^$$' -fuzz FuzzParseFilter -fuzztime $(FUZZTIME)
	$(GO) test ./alarm -run '^$$' -fuzz FuzzOperatorBody -fuzztime $(FUZZTIME)
	$(GO) test ./alarm -run '^$$' -fuzz FuzzApplyPayload -fuzztime $(FUZZTIME)
	$(GO) test ./tamper -run '^$$' -fuzz FuzzDecodeState -fuzztime $(FUZZTIME)
	$(GO) test ./web -run '^$$' -fuzz FuzzAssetName -fuzztime $(FUZZTIME)
	$(GO) test ./auth -run '^$$' -fuzz FuzzParsePHC -fuzztime $(FUZZTIME)
	$(GO) test ./audit -run '^$$' -fuzz FuzzVerify -fuzztime $(FUZZTIME)
	$(GO) test ./plugin -run '^$$' -fuzz FuzzPost -fuzztime $(FUZZTIME)
	cd sdk && $(GO) test ./plugin -run '^$$' -fuzz FuzzFrameStream -fuzztime $(FUZZTIME)

# Records N cameras from a local RTSP source and compares with ffmpeg;
# then federation links: replay against the caps, alarm latency under
# saturation, parent cost per link; then plate reading in the video path
# (ms per 720p frame and passes read, against scanning every frame);
# then a parent tier's archive in a SeaweedFS bucket against the disk;
# then a site's ingest without and with analytics plugins.
bench: build anpr-deps web-e2e-deps weed
	$(GO) run ./bench/record -kuzet $(BIN) -n $(BENCH_N) -window $(BENCH_WINDOW)
	$(GO) run ./bench/federation
	$(GO) run ./bench/live
	$(GO) run ./bench/topology
	$(GO) run ./bench/anprvideo
	$(GO) run ./bench/glass -kuzet $(BIN)
	$(GO) run ./bench/national
	$(GO) test -run '^$$' -bench BenchmarkStoreTier -benchtime 1x ./archive/playback
	$(GO) run ./bench/plugins -kuzet $(BIN)

clean:
	rm -rf bin
