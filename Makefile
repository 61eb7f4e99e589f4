# bt86 — the two commands the README starts with, and the longer campaigns.
#   make run    builds everything (installing Debian packages if needed), fetches Debian's i386
#               kernel and busybox, and boots them to a shell on the serial console
#   make test   the same, then the whole test suite
BUILD ?= build
ASAN_BUILD ?= build-asan
BT86 = $(BUILD)/tools/bt86

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 1800

DIFFTEST_COUNT ?= 1000000
DIFFTEST_SEED ?= $(shell date +%s)

.PHONY: all deps build guest run run-hello bench test test-unit-sanitized fuzz difftest format format-check clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

GUESTS ?= guests-cache

# Debian 12's i386 kernel and busybox, fetched with a private apt state, and an initramfs.
guest: deps
	scripts/fetch-debian-guest.sh $(GUESTS)
	scripts/build-initramfs.sh $(GUESTS)

# Boot Debian's kernel to an interactive busybox shell on the serial console (Ctrl-A x quits).
# The guest ends through the debug-exit port with value 0 on poweroff: exit status 1.
run: build guest
	$(BT86) run --kernel $(GUESTS)/vmlinuz --initrd $(GUESTS)/initramfs.cpio.gz -m 256 \
	  --append "console=ttyS0" || [ $$? -eq 1 ]

# The small multiboot demo kernel.
run-hello: build
	$(BT86) run --kernel $(BUILD)/tests/guests/hello.elf --append "console=ttyS0" || [ $$? -eq 1 ]

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer (no translated code runs).
test-unit-sanitized: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	meson test -C $(ASAN_BUILD) --suite unit --print-errorlogs

test: build guest
	meson test -C $(BUILD) --print-errorlogs --num-processes 2; \
	  status=$$?; \
	  $(MAKE) --no-print-directory test-unit-sanitized || status=1; \
	  $(MAKE) --no-print-directory format-check || status=1; \
	  scripts/test-summary.sh $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json || status=1; \
	  exit $$status

# Speed, never in the tests: bt86 against QEMU TCG and native (bench/README.md). QUICK=1 runs
# the short subset; either way bench/results/latest.{md,csv,png} are rewritten.
bench: build
	@scripts/deps.sh --bench
	BUILD=$(BUILD) bench/run.sh $(if $(QUICK),--quick)

# A long differential campaign against the real CPU (make test runs 20,000 sequences).
difftest: build
	$(BUILD)/tests/difftest/bt86-difftest --seed $(DIFFTEST_SEED) --count $(DIFFTEST_COUNT)

# Coverage-guided fuzzing of the translator with libFuzzer (clang) for FUZZ_SECONDS; new
# inputs collect in $(FUZZ_BUILD)/corpus, crashes in $(FUZZ_BUILD)/crash-*.
$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) tests/fuzz/bt86-fuzz
	mkdir -p $(FUZZ_BUILD)/corpus
	cd $(FUZZ_BUILD) && tests/fuzz/bt86-fuzz corpus ../tests/fuzz/corpus \
	  -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 -print_final_stats=1

SOURCES = $(shell git ls-files '*.c' '*.h')

format:
	clang-format -i $(SOURCES)

format-check:
	@clang-format --dry-run --Werror $(SOURCES) && echo "format: clean"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
