# tests/pictures/pictures.mk - pictures and exports checked by the programs
# that read them (tests/pictures/run.sh, docs/TESTING.md). Included by
# tests/tests.mk.

TEST_TIERS += test-pictures

## test-pictures: flame graphs, timeline, HTML report and exports, read by Chromium, go tool pprof, ms_print, DHAT
test-pictures: all $(O)/tests/integration/demo_prog $(O)/tests/integration/phase_threads
	@tests/pictures/run.sh $(O)

## pictures: regenerate the README's pictures (docs/img/) from demo_prog
pictures: all $(O)/tests/integration/demo_prog
	@scripts/pictures.sh $(O)

## screenshots: the README's screenshots (docs/img/*.png) of the pictures as headless Chromium draws them
screenshots: all $(O)/tests/integration/demo_prog $(O)/tests/integration/phase_threads
	@scripts/screenshots.sh $(O)
.PHONY: test-pictures pictures screenshots
