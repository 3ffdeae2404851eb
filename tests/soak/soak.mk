# tests/soak/soak.mk - the soak test (issue 13), included by the top Makefile.
# docs/TESTING.md describes it. Like the hostile programs, soak_prog is
# traced, so it ignores CFLAGS (never built with sanitizers).

SOAK_OUT := $(O)/tests/soak
SOAK_CC_FLAGS := -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-builtin -Wall -Wextra -Werror -pthread
SOAK_BIN := $(SOAK_OUT)/soak_prog $(SOAK_OUT)/libsoak_lib.so

$(SOAK_OUT)/soak_prog: tests/soak/soak_prog.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(SOAK_CC_FLAGS) -o $@ $< -ldl

$(SOAK_OUT)/libsoak_lib.so: tests/soak/soak_lib.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(SOAK_CC_FLAGS) -shared -fPIC -o $@ $<

.PHONY: test-soak
TEST_TIERS += test-soak
TEST_BINS += $(SOAK_BIN)

## test-soak: a server-like program (threads, forks, execs, closefrom, signals, dlopen) traced until SIGTERM: exact per process, no hang (SOAK_SECONDS=N, default 20)
test-soak: all $(SOAK_BIN)
	@tests/soak/run.sh $(O)
