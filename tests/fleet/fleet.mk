# tests/fleet/fleet.mk - ldprof push and ldprof fleet against a real
# clickhouse-server (tests/fleet/run.sh, docs/FLEET.md, docs/TESTING.md).
# Included by the top Makefile.

FLEET_NEEDS := $(O)/tests/integration/demo_prog $(O)/tests/integration/truth_mapped $(O)/tests/integration/truth_kill \
	$(O)/tests/integration/truth_phases $(O)/tests/hostile/h_proc

TEST_TIERS += test-fleet
.PHONY: test-fleet fleet-bench

## test-fleet: push traces into a clickhouse-server started for the test; fleet report, flame, diff equal ldprof's
test-fleet: all $(FLEET_NEEDS)
	@tests/fleet/run.sh $(O)

## fleet-bench: push ~1000 traces into a fresh clickhouse-server and time fleet report (docs/FLEET.md)
fleet-bench: all
	@scripts/fleet-bench.sh $(O)
