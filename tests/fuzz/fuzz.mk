# libFuzzer harnesses (tests/fuzz/): `make fuzz FUZZ_SECONDS=N` builds the
# library with clang, -fsanitize=fuzzer-no-link,address,undefined into
# build/fuzz (apart from every other build) and runs each harness for N
# seconds on its seeds and dictionary; a crash, leak or timeout fails.
# `make fuzz-build` only builds. FUZZ_ONLY="fuzz_html fuzz_config" runs some.

FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 30
FUZZ_ONLY    ?=
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_NAMES   := $(filter-out fuzz_common,$(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BINS     = $(patsubst %,$(BUILD)/fuzzers/%,$(FUZZ_NAMES))

.PHONY: fuzz fuzz-build fuzz-harnesses
fuzz: fuzz-build
	@sh tests/fuzz/run.sh "$(FUZZ_BUILD)" "$(FUZZ_SECONDS)" $(FUZZ_ONLY)

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) BIN=$(FUZZ_BUILD)/bin \
	  CC=clang OPT=-O1 SAN_FLAGS="$(FUZZ_SAN)" fuzz-harnesses $(FUZZ_BUILD)/bin/penmark

fuzz-harnesses: $(FUZZ_BINS)

# Linked with -fsanitize=fuzzer: libFuzzer's main drives the harness.
$(BUILD)/fuzzers/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/fuzz_common.o $(LIBA) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(subst fuzzer-no-link,fuzzer,$(SAN_FLAGS)) $(LDFLAGS) -o $@ $< \
	  $(BUILD)/tests/fuzz/fuzz_common.o $(LIBA) $(LIBS)
