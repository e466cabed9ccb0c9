# SeaweedFS, the S3-compatible object store the archive's object-storage
# tests run against: `make weed` builds its `weed` binary from the Go
# module (pinned; it has replace directives, so it cannot be `go install`ed)
# into the ignored .cache/seaweedfs, once (about 6 minutes on 2 cores).
WEED_MODULE  := github.com/seaweedfs/seaweedfs
WEED_VERSION := v0.0.0-20261109003541-7506e5f91cd6
WEED_DIR     ?= .cache/seaweedfs
WEED         := $(WEED_DIR)/weed-$(WEED_VERSION)

.PHONY: weed

weed: $(WEED)

$(WEED):
	@set -e; mkdir -p $(WEED_DIR); \
	src=$$(cd "$$(mktemp -d)" && $(GO) mod download -json $(WEED_MODULE)@$(WEED_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	test -n "$$src" || { echo "weed: $(WEED_MODULE)@$(WEED_VERSION) not downloaded"; exit 1; }; \
	rm -rf $(WEED_DIR)/src; cp -r "$$src" $(WEED_DIR)/src; chmod -R u+w $(WEED_DIR)/src; \
	echo "weed: building $(WEED_MODULE)@$(WEED_VERSION) (a few minutes)"; \
	cd $(WEED_DIR)/src && $(GO) build -o $(CURDIR)/$(WEED).tmp ./weed; \
	mv $(CURDIR)/$(WEED).tmp $(CURDIR)/$(WEED); rm -rf $(CURDIR)/$(WEED_DIR)/src
