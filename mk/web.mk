# Operator console (web/). `make web-deps` fetches the one third-party
# asset, hls.js, with `npm pack` (a tarball download: no install scripts
# run), checks it against mk/web.sha256 and puts dist/hls.min.js where the
# binary embeds it; it does nothing when the file already matches. Build
# after it: `go build` embeds web/static as it is, and a binary built
# without hls.js serves a console that says video needs it.
# `make web-e2e-deps` installs playwright-core (pinned by
# web/e2e/package-lock.json) for the browser test; `make web-test` runs it.
WEB_HLS_PKG    := hls.js@1.5.20
WEB_VENDOR     := web/static/vendor
WEB_SUMS       := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))/web.sha256
WEB_E2E        := web/e2e
WEB_CHROMIUM   ?= /usr/bin/chromium

.PHONY: web-deps web-e2e-deps web-test

web-deps:
	@set -e; \
	if (cd $(WEB_VENDOR) 2>/dev/null && sha256sum --status -c $(WEB_SUMS) 2>/dev/null); then \
		echo "web: $(WEB_VENDOR)/hls.min.js up to date"; exit 0; \
	fi; \
	command -v npm >/dev/null || { echo "web: npm missing: apt-get install -y npm"; exit 1; }; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "web: fetching $(WEB_HLS_PKG)"; \
	(cd "$$tmp" && npm pack --silent --ignore-scripts $(WEB_HLS_PKG) >/dev/null); \
	tar -xzf "$$tmp"/hls.js-*.tgz -C "$$tmp" package/dist/hls.min.js; \
	(cd "$$tmp"/package/dist && sha256sum -c $(WEB_SUMS)); \
	mkdir -p $(WEB_VENDOR); mv -f "$$tmp"/package/dist/hls.min.js $(WEB_VENDOR)/hls.min.js

# npm ci installs exactly the lock file's versions; playwright-core's
# install script only prints, and no browser is downloaded: the test
# drives Debian's chromium.
web-e2e-deps:
	@set -e; \
	command -v node >/dev/null && command -v npm >/dev/null || { echo "web: node/npm missing: apt-get install -y nodejs npm"; exit 1; }; \
	test -x $(WEB_CHROMIUM) || { echo "web: $(WEB_CHROMIUM) missing: apt-get install -y chromium"; exit 1; }; \
	if [ -f $(WEB_E2E)/node_modules/playwright-core/package.json ] && \
		[ "$$(node -p 'require("./$(WEB_E2E)/node_modules/playwright-core/package.json").version')" = \
		  "$$(node -p 'require("./$(WEB_E2E)/package.json").devDependencies["playwright-core"]')" ]; then \
		echo "web: $(WEB_E2E)/node_modules up to date"; exit 0; \
	fi; \
	cd $(WEB_E2E) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --silent

# The browser test against a real demo (about a minute and a half).
web-test: web-deps web-e2e-deps build
	KUZET_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run TestBrowser -v ./web
