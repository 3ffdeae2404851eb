# tests/cli/cli.mk - the command line as a user meets it (tests/cli/run.sh,
# docs/TESTING.md): figures in the text, files and inputs, conventions.
# Included by tests/tests.mk.

TEST_TIERS += test-cli

## test-cli: the CLI as a user meets it: text figures, bad inputs, safe outputs, --version, help, install
test-cli: all $(O)/tests/integration/demo_prog $(O)/tests/integration/truth_mapped $(O)/tests/integration/truth_funcs \
		$(O)/tests/integration/truth_phases $(O)/tests/integration/deep_prog $(O)/tests/integration/asan_prog
	@tests/cli/run.sh $(O)
.PHONY: test-cli
