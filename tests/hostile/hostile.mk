# tests/hostile/hostile.mk - hostile programs and the files/environment tests,
# included by the top Makefile. docs/TESTING.md lists every scenario.
#
# The programs are traced, so they are never built with sanitizers (a
# sanitizer runtime must come first in the link order and cannot be
# preloaded behind the agent): they ignore CFLAGS, like the integration
# programs. The reporter that reads their traces is the sanitized one under
# `make test-asan`.

HOSTILE_OUT := $(O)/tests/hostile
HOSTILE_CC_FLAGS := -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-builtin -Wall -Wextra -Werror -pthread
HOSTILE_PROGS := h_threads h_proc h_dlopen h_signals h_exit h_stack h_api h_closefd h_life h_rawfork h_sigown h_fatal \
	h_nested h_alone
HOSTILE_BIN := $(HOSTILE_PROGS:%=$(HOSTILE_OUT)/%) $(HOSTILE_OUT)/h_daemon $(HOSTILE_OUT)/h_cxx \
	$(HOSTILE_OUT)/h_ownmalloc_static $(HOSTILE_OUT)/h_ownmalloc_mmap $(HOSTILE_OUT)/libhostile_dl.so \
	$(HOSTILE_OUT)/h_deepbind $(HOSTILE_OUT)/libhostile_deep.so \
	$(HOSTILE_OUT)/h_plain_static $(HOSTILE_OUT)/h_plain_spie $(HOSTILE_OUT)/h_plain_asan \
	$(HOSTILE_OUT)/h_plain_tsan $(HOSTILE_OUT)/h_reload $(HOSTILE_OUT)/libhostile_ov_a.so \
	$(HOSTILE_OUT)/libhostile_ov_b.so

# Finds libhostile_deep.so through its own RUNPATH only (dlopen searches the caller's).
$(HOSTILE_OUT)/h_deepbind: tests/hostile/h_deepbind.c tests/hostile/hostile.h $(HOSTILE_OUT)/libhostile_deep.so
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -Wl,--enable-new-dtags,-rpath,'$$ORIGIN' -o $@ $< -ldl

# Not PIE: the loader then honours a library's preferred address (h_reload).
$(HOSTILE_OUT)/h_reload: tests/hostile/h_reload.c tests/hostile/hostile.h
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -no-pie -o $@ $< -ldl

# Preferred addresses one page apart: the second lies over the first's code.
$(HOSTILE_OUT)/libhostile_ov_a.so: tests/hostile/hd_overlap.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -shared -fPIC -DOV_NAME=ov_a_alloc -Wl,-Ttext-segment=0x10000000 -o $@ $<

$(HOSTILE_OUT)/libhostile_ov_b.so: tests/hostile/hd_overlap.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -shared -fPIC -DOV_NAME=ov_b_alloc -Wl,-Ttext-segment=0x10001000 -o $@ $<

$(HOSTILE_OUT)/h_%: tests/hostile/h_%.c tests/hostile/hostile.h
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -o $@ $< -ldl

# No unwind tables: an unwinder has to walk its frames by frame pointer and
# validate addresses (libunwind 1.6 does that through a pipe: DESIGN hazard 22).
$(HOSTILE_OUT)/h_daemon: tests/hostile/h_daemon.c tests/hostile/hostile.h
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -fno-asynchronous-unwind-tables -fno-unwind-tables -o $@ $<

$(HOSTILE_OUT)/h_ownmalloc_static: tests/hostile/h_ownmalloc.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -o $@ $<

$(HOSTILE_OUT)/h_ownmalloc_mmap: tests/hostile/h_ownmalloc.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -DOWN_MMAP -o $@ $<

# Builds LD_PRELOAD cannot trace: ldprof record must say so.
$(HOSTILE_OUT)/h_plain_static: tests/hostile/h_plain.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -static -o $@ $<

$(HOSTILE_OUT)/h_plain_spie: tests/hostile/h_plain.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -static-pie -o $@ $<

$(HOSTILE_OUT)/h_plain_asan: tests/hostile/h_plain.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -fsanitize=address -o $@ $<

$(HOSTILE_OUT)/h_plain_tsan: tests/hostile/h_plain.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -fsanitize=thread -o $@ $<

$(HOSTILE_OUT)/h_cxx: tests/hostile/h_cxx.cc
	@mkdir -p $(dir $@)
	$(call say,CXX,$@)g++ -std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -pthread -o $@ $< -ldl

$(HOSTILE_OUT)/libhostile_deep.so: tests/hostile/hd_deep.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -shared -fPIC -o $@ $<

$(HOSTILE_OUT)/libhostile_dl.so: tests/hostile/hd_lib.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(HOSTILE_CC_FLAGS) -shared -fPIC -o $@ $<

.PHONY: test-hostile test-files
TEST_TIERS += test-hostile test-files
TEST_BINS += $(HOSTILE_BIN)

## test-hostile: hostile programs run bare and traced: same output and status, no hang, readable trace
test-hostile: all $(HOSTILE_BIN)
	@tests/hostile/run.sh $(O)

## test-files: trace files and settings: 0600, no symlink followed, templates, bad LDPROF_*, full disk, read-only, RLIMIT_FSIZE
test-files: all $(HOSTILE_BIN)
	@tests/hostile/files.sh $(O)
