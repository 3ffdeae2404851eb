# tests/attach/attach.mk - attach/detach and run-time control (tests/attach/run.sh,
# docs/ATTACH.md). Included by tests/tests.mk.

TEST_TIERS += test-attach
ATTACH_BINS := $(O)/tests/attach/attach_prog $(O)/tests/attach/static_prog
TEST_BINS += $(ATTACH_BINS)

$(O)/tests/attach/attach_prog: tests/attach/attach_prog.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) -std=gnu11 -O0 -g -fno-builtin -Wall -Wextra -Werror -o $@ $<
$(O)/tests/attach/static_prog: tests/attach/static_prog.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) -std=gnu11 -O1 -static -Wall -Wextra -Werror -o $@ $<

## test-attach: ldprof attach/detach with gdb, ldprof ctl, --start-paused, --toggle-signal
test-attach: all $(ATTACH_BINS)
	@tests/attach/run.sh $(O)
.PHONY: test-attach
