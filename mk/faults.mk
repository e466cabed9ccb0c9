# Fault harness (faults/, issue 12): a site, three region replicas and a
# centre as `kuzet run` processes under a seeded schedule of SIGKILL,
# SIGSTOP/SIGCONT, disk loss, link cuts, packet loss and delay, then the
# invariant checks. `make test` runs it at the short setting (~90 s, part of
# `go test ./...`); `make faults` runs it for FAULTS_DURATION:
#
#   make faults                        # 10 minutes
#   FAULTS_DURATION=1h make faults     # the soak
#   FAULTS_SEED=1234 make faults       # replay a schedule (same duration too)
#   FAULTS_KEEP=1 make faults          # keep the run directory even on success
#   make soak                          # the same for SOAK_DURATION (1 hour)
#
# The report (schedule, counts, violations) is printed and written to
# the run directory's report.txt.
FAULTS_DURATION ?= 10m
FAULTS_SEED     ?=
# go test's own limit; the harness refuses to start when it leaves less than
# FAULTS_DURATION plus the drain limit plus 5 minutes (raise it for soaks
# longer than about 2h45m)
FAULTS_TIMEOUT  ?= 3h

.PHONY: faults soak

# the soak: the fault harness for an hour (SOAK_DURATION), ending with
# kuzet audit verify, kuzet archive verify and the events of every origin
# compared across the tiers
SOAK_DURATION ?= 1h

soak: build
	$(MAKE) --no-print-directory faults FAULTS_DURATION=$(SOAK_DURATION)

faults: build
	FAULTS_DURATION=$(FAULTS_DURATION) FAULTS_SEED=$(FAULTS_SEED) KUZET_BIN=$(CURDIR)/$(BIN) \
		$(GO) test -count=1 -v -timeout $(FAULTS_TIMEOUT) -run '^TestFaults$$' ./faults
