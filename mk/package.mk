# The Debian package (packaging/): `make package` builds
# dist/kuzet_VERSION_amd64.deb with nfpm (pinned; fetched through the Go
# module proxy on first use); `make package-test` installs it on this
# machine and starts it (under systemd when it runs, else the unit's
# ExecStart as its user against a notify socket).
NFPM        ?= github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
DEB_VERSION := 0.0~git$(subst -,~,$(VERSION))

.PHONY: package package-test

package: anpr-deps build
	mkdir -p dist
	KUZET_VERSION=$(DEB_VERSION) $(GO) run $(NFPM) package --config packaging/nfpm.yaml --packager deb --target dist/kuzet_$(DEB_VERSION)_amd64.deb
	@echo dist/kuzet_$(DEB_VERSION)_amd64.deb

package-test: package
	KUZET_DEB=$(CURDIR)/dist/kuzet_$(DEB_VERSION)_amd64.deb $(GO) test -tags package -count=1 -run TestInstalledPackage -v ./packaging
