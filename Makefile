# caas-devops: one top-level GNU Makefile (like git's).
#   make                      build the three executables
#   make test                 start the test environment, run every test (the README's command)
#   make demo [SAMPLE=tweet]  the PetClinic (or Tweet, hello-web) pipeline on the local swarm
#   make SANITIZE=address,undefined test    the same under ASan + UBSan (also: make asan)
#   make install PREFIX=/usr DESTDIR=/tmp/pkg
#   make fuzz FUZZ_TIME=60    run each libFuzzer target (tests/fuzz) for FUZZ_TIME seconds
all:

PREFIX ?= /usr/local
prefix ?= $(PREFIX)
bindir ?= $(prefix)/bin
datadir ?= $(prefix)/share/caas-devops
mandir ?= $(prefix)/share/man
bashcompdir ?= $(prefix)/share/bash-completion/completions
VERSION = 0.9.0

CC ?= cc
CFLAGS ?= -O2 -g
PKGS = libgit2 libarchive libcurl jansson yaml-0.1 openssl uuid sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -D_DEFAULT_SOURCE -D_GNU_SOURCE -DCS_HAVE_SQLITE3 -Ilib -DCS_DATADIR='"$(datadir)"'
ALL_CFLAGS = -std=c17 -pthread $(CFLAGS) $(PKG_CFLAGS)
LDLIBS += $(PKG_LIBS) -pthread

-include config.mak

# The warning set is always on: a warning is a build failure here (CI and users alike).
ALL_CFLAGS += -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wvla -Wwrite-strings \
	-Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers

ifdef SANITIZE
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:.c=.o)
LIB = lib/libcs.a

BR_OBJ := $(patsubst %.c,%.o,$(sort $(wildcard build-runner/*.c)))
VAL_OBJ := $(patsubst %.c,%.o,$(sort $(wildcard validator/*.c)))
DEP_OBJ := $(patsubst %.c,%.o,$(sort $(wildcard deployer/*.c)))

PROGRAMS =
ifneq ($(BR_OBJ),)
PROGRAMS += build-runner/caas-build-runner
endif
ifneq ($(VAL_OBJ),)
PROGRAMS += validator/caas-validator
endif
ifneq ($(DEP_OBJ),)
PROGRAMS += deployer/caas-deployer
endif

# Test inputs live in the repository: real-world Compose files and manifests (tests/data/corpus,
# origins and licenses in its SOURCES.md) and the project's own seed-era files. Absolute and
# resolved: the loader reports resolved paths.
CORPUS_DIR := $(realpath $(CURDIR)/tests/data/corpus)
SEED_DIR := $(realpath $(CURDIR)/tests/data/seed-style)

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:.c=)

# Man pages and bash completions are generated from each tool's option table (lib/opts.c).
MAN_PAGES := $(addsuffix .1,$(PROGRAMS))
COMPLETIONS := $(addsuffix .bash-completion,$(PROGRAMS))

all: $(PROGRAMS) man
man: $(MAN_PAGES) $(COMPLETIONS)

%.1: %
	$(QUIET_GEN)./$< --help-man >$@+ && mv $@+ $@
%.bash-completion: %
	$(QUIET_GEN)./$< --help-completion >$@+ && mv $@+ $@

ifndef V
QUIET_CC = @echo '   ' CC $@;
QUIET_LINK = @echo '   ' LINK $@;
QUIET_GEN = @echo '   ' GEN $@;
endif

%.o: %.c $(wildcard lib/*.h) $(wildcard */*.h) Makefile
	$(QUIET_CC)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The data directory is compiled into lib/filch.o: a change of PREFIX or datadir (as in
# `make && make install PREFIX=/usr`) rebuilds it. The stamp only changes when the value does.
DATADIR_STAMP = lib/.datadir
$(DATADIR_STAMP): FORCE
	@echo '$(datadir)' | cmp -s - $@ || echo '$(datadir)' >$@
lib/filch.o: $(DATADIR_STAMP)
FORCE:
lib/opts.o: CPPFLAGS += -DCS_VERSION='"$(VERSION)"'

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

build-runner/caas-build-runner: $(BR_OBJ) $(LIB)
	$(QUIET_LINK)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
validator/caas-validator: $(VAL_OBJ) $(LIB)
	$(QUIET_LINK)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
deployer/caas-deployer: $(DEP_OBJ) $(LIB)
	$(QUIET_LINK)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests may use a tool's internal modules: link the tool objects but not its main.o.
TOOL_OBJ_NOMAIN := $(filter-out %/main.o,$(BR_OBJ) $(VAL_OBJ) $(DEP_OBJ))
tests/unit/test_%: tests/unit/test_%.c tests/unit/test.h tests/unit/deploy_helpers.h $(TOOL_OBJ_NOMAIN) $(LIB)
	$(QUIET_LINK)$(CC) $(CPPFLAGS) -I. -DCORPUS_DIR='"$(CORPUS_DIR)"' -DSEED_DIR='"$(SEED_DIR)"' $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(TOOL_OBJ_NOMAIN) $(LIB) $(LDLIBS)

.PHONY: all test check-unit check-integration test-env check-valgrind check-valgrind-integration style install clean asan demo bench \
	fuzz fuzz-build fuzz-smoke

# The README's test command: installs and starts what the tests need, then runs everything.
test: test-env
	@$(MAKE) --no-print-directory all
	@tests/run-all.sh

test-env:
	@tests/env/setup.sh

check-unit: all $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

check-integration: all
	@tests/run-integration.sh

check-valgrind: all $(UNIT_BIN)
	@VALGRIND=1 tests/run-unit.sh $(UNIT_BIN)

# Integration tests with the tools under valgrind memcheck (test-lib.sh, CAAS_TEST_VALGRIND):
# any memcheck error or definite leak fails the file. One file per tool by default.
VALGRIND_TESTS ?= t1020-build-runner-push t2010-validator-static t3000-deployer-swarm
check-valgrind-integration: all
	@CAAS_TEST_VALGRIND=1 tests/run-integration.sh $(VALGRIND_TESTS)

asan:
	$(MAKE) clean
	$(MAKE) SANITIZE=address,undefined test

# make demo [SAMPLE=petclinic|tweet|hello-web]: a sample's pipeline end to end (samples/demo.sh).
# Recursive make: on a fresh machine the -dev packages (and pkg-config) come with test-env,
# after this Makefile's pkg-config calls were evaluated.
SAMPLE ?= petclinic
demo:
	@CAAS_SETUP_K8S=0 tests/env/setup.sh
	@$(MAKE) --no-print-directory all
	@samples/demo.sh '$(SAMPLE)'

# libFuzzer targets (tests/fuzz/fuzz_<name>.c), one per parser of untrusted input. Built with
# clang into build/fuzz, lib/ and deployer/ objects included, so the gcc build above is untouched.
FUZZ_CC ?= clang
FUZZ_DIR = build/fuzz
FUZZ_TIME ?= 60
FUZZ_CFLAGS ?= -O1 -g
FUZZ_ALL_CFLAGS = -std=c17 -pthread $(FUZZ_CFLAGS) $(PKG_CFLAGS) -Wall -Wextra -Werror \
	-Wno-missing-field-initializers -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRC))
FUZZ_OBJ := $(addprefix $(FUZZ_DIR)/,$(LIB_OBJ) $(filter-out deployer/main.o,$(DEP_OBJ)))

$(FUZZ_DIR)/%.o: %.c $(wildcard lib/*.h) $(wildcard */*.h) Makefile
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_ALL_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJ)
	$(QUIET_LINK)$(FUZZ_CC) $(CPPFLAGS) -Ideployer $(FUZZ_ALL_CFLAGS) -fsanitize=fuzzer \
		-o $@ $< $(FUZZ_OBJ) $(LDLIBS)

fuzz-build: $(FUZZ_BIN)
.SECONDARY: $(FUZZ_OBJ)

# FUZZ_TIME seconds per target; new inputs go to build/fuzz/corpus, crashes to build/fuzz/crashes.
fuzz: fuzz-build
	@tests/fuzz/run.sh --time $(FUZZ_TIME) $(FUZZ_TARGETS)

# The short run make test does: the seed corpus, then a few seconds of fuzzing per target.
fuzz-smoke: fuzz-build
	@tests/fuzz/run.sh --smoke $(FUZZ_TARGETS)

style:
	@! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|gmtime|localtime|system)\(' \
		lib/*.c build-runner/*.c validator/*.c deployer/*.c 2>/dev/null | grep -v '^\s*/\*' \
		|| { echo 'banned function used (see STYLE.md section 4)'; exit 1; }
	@clang-format --dry-run -Werror lib/*.[ch] build-runner/*.[ch] validator/*.[ch] deployer/*.[ch] \
		tests/unit/*.[ch] tests/fuzz/*.[ch]

install: all
	install -d '$(DESTDIR)$(bindir)' '$(DESTDIR)$(datadir)/policies'
	install -m 755 $(PROGRAMS) '$(DESTDIR)$(bindir)'
	install -d '$(DESTDIR)$(mandir)/man1' '$(DESTDIR)$(bashcompdir)'
	install -m 644 $(MAN_PAGES) '$(DESTDIR)$(mandir)/man1'
	for p in $(PROGRAMS); do \
		install -m 644 $$p.bash-completion "$(DESTDIR)$(bashcompdir)/$$(basename $$p)" || exit; \
	done
	if [ -d validator/policies ]; then install -m 644 validator/policies/*.json '$(DESTDIR)$(datadir)/policies'; fi

clean:
	rm -f lib/*.o $(LIB) $(DATADIR_STAMP) build-runner/*.o validator/*.o deployer/*.o \
		build-runner/caas-build-runner validator/caas-validator deployer/caas-deployer $(UNIT_BIN) \
		$(MAN_PAGES) $(COMPLETIONS)
	rm -rf $(FUZZ_DIR)
