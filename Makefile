# ldprof - one plain Makefile. `make list` prints the targets.
#
#   build/libldprof.so   the agent (LD_PRELOAD)
#   build/ldprof         the reporter CLI

CC      ?= cc
O       := build
# The version `ldprof --version`, the traces' agent field and the man pages say.
VERSION := 0.2
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
BASE    := -std=gnu11 $(WARN) -Iinclude -D_FORTIFY_SOURCE=2 -MMD -MP -DLDPROF_VERSION='"$(VERSION)"'
# The agent: position independent, nothing visible but what ldprof.map exports,
# TLS that never allocates. It ignores CFLAGS: a sanitizer runtime cannot be
# preloaded into arbitrary programs, so sanitizer builds keep a plain agent.
AGENT_OPT ?= -O2 -g
AGENT_CFLAGS := $(BASE) $(AGENT_OPT) -fPIC -fvisibility=hidden -ftls-model=initial-exec -fno-strict-aliasing
AGENT_LDFLAGS := -shared -Wl,--version-script=$(O)/gen/ldprof.map -Wl,--exclude-libs,ALL -Wl,-z,relro,-z,now
# zstd linked in statically (PIC on Debian) and hidden: the program never sees ZSTD_*.
ZSTD_A  ?= $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/libzstd.a /usr/lib/libzstd.a /usr/local/lib/libzstd.a))
AGENT_LIBS := $(ZSTD_A) -ldl -lpthread

REPORTER_CFLAGS := $(BASE) $(CFLAGS) -Ireporter -I$(O)/gen
# libcurl and jansson: the fleet store's HTTP client and its JSON (docs/FLEET.md).
# Linked in statically (the .a files come with the -dev packages): every
# `ldprof` run, `record` included, then skips mapping and relocating eight
# shared objects, about 1 ms (`ldprof --version`: 4.0 -> 3.0 ms). libdw's
# own needs follow it (lzma, bz2, zlib, zstd). REPORTER_STATIC=0 links them
# as shared objects.
REPORTER_STATIC ?= 1
REPORTER_LIBS_SHARED := -lzstd -ldw -lelf -ldl -lm -lprotobuf-c -lz -ljansson -pthread
ifeq ($(REPORTER_STATIC),1)
REPORTER_LIBS := -Wl,-Bstatic -ldw -lelf -lzstd -lprotobuf-c -ljansson -llzma -lbz2 -lz -Wl,-Bdynamic -ldl -lm -pthread
else
REPORTER_LIBS := $(REPORTER_LIBS_SHARED)
endif

AGENT_SRC := $(wildcard agent/*.c)
REPORTER_SRC := $(wildcard reporter/*.c reporter/*/*.c)
AGENT_OBJ := $(AGENT_SRC:%.c=$(O)/%.o)
# pprof's profile.proto, compiled to C by protoc-c at build time (the
# generated code must match the installed libprotobuf-c).
PROTO_GEN := $(O)/gen/profile.pb-c.c $(O)/gen/profile.pb-c.h
# The scripts and styles of the pictures and the HTML report are files of their
# own (reporter/render/assets/), embedded as byte arrays (render/assets.h).
ASSETS := $(wildcard reporter/render/assets/*.js reporter/render/assets/*.css)
REPORTER_OBJ := $(REPORTER_SRC:%.c=$(O)/%.o) $(O)/gen/profile.pb-c.o $(O)/gen/assets.o
# The reporter's library: everything but main.c (tests and fuzzers link it).
REPORTER_LIB_OBJ := $(filter-out $(O)/reporter/main.o,$(REPORTER_OBJ))

.PHONY: all deps deps-build demo test test-unit test-integration test-asan test-asan-run list clean

## all: build the agent and the reporter
all: $(O)/libldprof.so $(O)/ldprof

# `make V=1` shows the full commands.
Q := $(if $(V),,@)
say = $(if $(V),,@echo "  $(1)	$(2)";)

$(O)/agent/%.o: agent/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(AGENT_CFLAGS) -c $< -o $@

$(O)/reporter/%.o: reporter/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(REPORTER_CFLAGS) -c $< -o $@

$(PROTO_GEN) &: third_party/pprof/profile.proto
	@mkdir -p $(O)/gen
	$(call say,PROTOC,$<)protoc-c --c_out=$(O)/gen -Ithird_party/pprof profile.proto

$(O)/gen/profile.pb-c.o: $(O)/gen/profile.pb-c.c
	$(call say,CC,$<)$(CC) -std=gnu11 $(CFLAGS) -I$(O)/gen -c $< -o $@

$(O)/reporter/render/pprof.o: $(O)/gen/profile.pb-c.h

# asset_NAME_EXT[] = the bytes of reporter/render/assets/NAME.EXT, then a NUL.
$(O)/gen/assets.c: $(ASSETS) Makefile
	@mkdir -p $(O)/gen
	$(call say,GEN,$@){ echo '#include "render/assets.h"'; for f in $(sort $(ASSETS)); do \
		printf 'const char asset_%s[] = {' "$$(basename $$f | tr .- __)"; \
		od -An -v -tx1 $$f | tr -s ' \n' '  ' | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
		echo '0};'; done; } > $@.tmp && mv $@.tmp $@

$(O)/gen/assets.o: $(O)/gen/assets.c reporter/render/assets.h
	$(call say,CC,$<)$(CC) $(REPORTER_CFLAGS) -c $< -o $@

# The version script: the table of interposed functions, one name a line.
$(O)/gen/ldprof.map: agent/ldprof.map.in include/ldprof/entrypoints.h
	@mkdir -p $(O)/gen
	$(call say,GEN,$@)$(CC) -E -P -x c -Iinclude -DLDP_EP_TABLE_ONLY $< | sed 's/; */;\n    /g' > $@.tmp && mv $@.tmp $@

$(O)/libldprof.so: $(AGENT_OBJ) $(O)/gen/ldprof.map
	$(call say,LD,$@)$(CC) $(AGENT_CFLAGS) $(AGENT_LDFLAGS) -o $@ $(AGENT_OBJ) $(AGENT_LIBS)

$(O)/ldprof: $(REPORTER_OBJ)
	$(call say,LD,$@)$(CC) $(REPORTER_CFLAGS) -o $@ $(REPORTER_OBJ) $(REPORTER_LIBS)

## deps: install what a fresh Debian 12 machine lacks to build and test (apt, as root)
deps:
	@scripts/setup-deps.sh all

## deps-build: install only what building and the demo need
deps-build:
	@scripts/setup-deps.sh build

## demo: install what building needs, build, trace a sample scenario (load vs stream a million rows) and report
demo: deps-build
	@$(MAKE) --no-print-directory all $(O)/samples/rows
	@scripts/demo.sh $(O)

include tests/tests.mk
# Further tiers and parts, each in its own file (absent ones are skipped).
-include tests/hostile/hostile.mk
-include tests/fuzz/fuzz.mk
-include tests/fleet/fleet.mk
-include tests/soak/soak.mk
-include samples/samples.mk
-include scripts/bench.mk

# ---- install -----------------------------------------------------------------
# make install PREFIX=/usr/local [DESTDIR=...]: the command, the agent where
# `ldprof record` looks for it (PREFIX/lib/ldprof), the API header, man pages
# made by help2man from each command's --help (scripts/man.sh), and bash
# completion. make uninstall removes exactly these.
PREFIX  ?= /usr/local
BINDIR  := $(DESTDIR)$(PREFIX)/bin
LIBDIR  := $(DESTDIR)$(PREFIX)/lib/ldprof
INCDIR  := $(DESTDIR)$(PREFIX)/include
MANDIR  := $(DESTDIR)$(PREFIX)/share/man/man1
COMPDIR := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
COMMANDS := record attach detach ctl report snapshots diff check flame timeline export top dump push fleet
MAN_PAGES := $(O)/man/ldprof.1 $(COMMANDS:%=$(O)/man/ldprof-%.1)

$(MAN_PAGES) &: $(O)/ldprof scripts/man.sh
	$(call say,MAN,$(O)/man)scripts/man.sh $(O)/ldprof $(O)/man $(VERSION)

.PHONY: deps-install man install uninstall
deps-install:
	@scripts/setup-deps.sh install

## man: the man pages (build/man/), from each command's --help
man: $(MAN_PAGES)

## install: install ldprof, its agent, include/ldprof.h, man pages and bash completion under PREFIX (/usr/local)
install: deps-install
	@$(MAKE) --no-print-directory all man
	install -d $(BINDIR) $(LIBDIR) $(INCDIR) $(MANDIR) $(COMPDIR)
	install -m 755 $(O)/ldprof $(BINDIR)/ldprof
	install -m 755 $(O)/libldprof.so $(LIBDIR)/libldprof.so
	install -m 644 include/ldprof.h $(INCDIR)/ldprof.h
	install -m 644 $(MAN_PAGES) $(MANDIR)/
	install -m 644 scripts/completion.bash $(COMPDIR)/ldprof

## uninstall: remove what make install put under PREFIX
uninstall:
	rm -f $(BINDIR)/ldprof $(LIBDIR)/libldprof.so $(INCDIR)/ldprof.h $(COMPDIR)/ldprof \
		$(MAN_PAGES:$(O)/man/%=$(MANDIR)/%)
	-rmdir $(LIBDIR) 2>/dev/null

ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

## test-asan: unit and integration tests with the reporter and the agent's pure parts under ASan+UBSan
test-asan: deps
	@$(MAKE) --no-print-directory O=build-asan CFLAGS="$(ASAN_FLAGS)" test-asan-run

test-asan-run: all $(TEST_BINS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		$(MAKE) --no-print-directory -k $(TEST_TIERS)

## list: the targets and what they do
list:
	@grep -h '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## clean: remove build output
clean:
	rm -rf build build-asan

-include $(shell find $(O) -name '*.d' 2>/dev/null)
