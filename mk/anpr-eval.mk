# Plate-recognition evaluation: `make anpr-eval` renders the
# synthetic corpus on the held-out seed (every country group of
# `kuzet anpr synth --country all`) and reads it together with the real
# photo sets in ../shared/anpr-dev (used in place, never copied), printing
# one table: set, images, exact, within one edit, found, ms per image;
# then the same groups as vehicles driving through a camera's view, read
# frame after frame as a node does (`kuzet anpr passes`), with the
# calibration of the passes' confidence.
#
# Seeds: ANPR_TUNE_SEED (1) is the one to tune on; ANPR_HELDOUT_SEED (2) is
# held out: report on it, never tune on it.
ANPR_TUNE_SEED    ?= 1
ANPR_HELDOUT_SEED ?= 2
ANPR_EVAL_N       ?= 40
ANPR_PASSES_N     ?= 20
ANPR_EVAL_SEED    ?= $(ANPR_HELDOUT_SEED)
ANPR_EVAL_DIR     ?= .cache/anpr-eval/seed$(ANPR_EVAL_SEED)-n$(ANPR_EVAL_N)
ANPR_DEV          ?= ../shared/anpr-dev
# the countries a camera at a Kazakh border crossing prefers
ANPR_SITE         ?= KZ,RU
ANPR_GROUPS       := kz ru by central-asia caucasus mn-cn tr ua-md eu-north eu-west eu-east
# the corpus is drawn again when the generator or the grammars change
ANPR_SYNTH_SRC    := $(wildcard anpr/synth*.go) anpr/grammar.go

# Per grammar: every country's plates on their own, ANPR_GRAMMAR_N scenes
# each on the held-out seed, one table row per grammar (the unit of the
# goal of 99 % exact on every grammar; 40 scenes a group leave 7 to 40 a
# country, too few to tell 99 % from 95 %).
ANPR_GRAMMAR_N    ?= 100
ANPR_GRAMMAR_DIR  ?= .cache/anpr-eval/seed$(ANPR_EVAL_SEED)-each-n$(ANPR_GRAMMAR_N)

.PHONY: anpr-eval anpr-eval-grammars

anpr-eval: anpr-deps $(ANPR_EVAL_DIR)/done
	$(GO) build -o $(BIN) ./cmd/node
	@sets="$(foreach g,$(ANPR_GROUPS),$(ANPR_EVAL_DIR)/$(g)@$(ANPR_SITE))"; \
	if [ -d $(ANPR_DEV)/br ]; then sets="$$sets $(ANPR_DEV)/br@BR"; else echo "anpr-eval: $(ANPR_DEV)/br missing, BR row left out" >&2; fi; \
	if [ -d $(ANPR_DEV)/us ]; then sets="$$sets $(ANPR_DEV)/us"; else echo "anpr-eval: $(ANPR_DEV)/us missing, US row left out" >&2; fi; \
	echo "seed $(ANPR_EVAL_SEED), $(ANPR_EVAL_N) scenes per group"; \
	./$(BIN) anpr eval --table $$sets
	@echo; echo "video: vehicles driving through a camera's view, read frame by frame"
	./$(BIN) anpr passes --country all --n $(ANPR_PASSES_N) --seed $(ANPR_EVAL_SEED) --countries $(ANPR_SITE)

$(ANPR_EVAL_DIR)/done: $(ANPR_SYNTH_SRC)
	$(GO) build -o $(BIN) ./cmd/node
	rm -rf $(ANPR_EVAL_DIR)
	./$(BIN) anpr synth $(ANPR_EVAL_DIR) --country all --n $(ANPR_EVAL_N) --seed $(ANPR_EVAL_SEED) >/dev/null
	touch $@

anpr-eval-grammars: anpr-deps $(ANPR_GRAMMAR_DIR)/done
	$(GO) build -o $(BIN) ./cmd/node
	@sets=""; for d in $(ANPR_GRAMMAR_DIR)/*/; do sets="$$sets $${d%/}@$(ANPR_SITE)"; done; \
	echo "seed $(ANPR_EVAL_SEED), $(ANPR_GRAMMAR_N) scenes per grammar"; \
	./$(BIN) anpr eval --table $$sets

$(ANPR_GRAMMAR_DIR)/done: $(ANPR_SYNTH_SRC)
	$(GO) build -o $(BIN) ./cmd/node
	rm -rf $(ANPR_GRAMMAR_DIR)
	./$(BIN) anpr synth $(ANPR_GRAMMAR_DIR) --country each --n $(ANPR_GRAMMAR_N) --seed $(ANPR_EVAL_SEED) >/dev/null
	touch $@
