# port25 build.  `make` builds the library and CLI into $(BUILD);
# `make check` installs missing Debian packages, builds and runs every test
# (plain and ASan+UBSan); `make demo` runs the demo on the bundled registry.

BUILD     ?= build
CC        ?= cc
# libcurl is loaded at run time by the verify module (its headers are needed here,
# its thirty-odd shared libraries are not, at every process start).
PKGS      := sqlite3 jansson libpcap zlib libmnl libnftnl libnetfilter_log
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libcurl 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS  := $(shell pkg-config --libs cmocka 2>/dev/null)

OPT       ?= -O2
SAN       ?=
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS  += -D_GNU_SOURCE -Isrc/libport25
CFLAGS    += -std=c17 $(OPT) -g $(WARN) $(PKG_CFLAGS) $(SAN)
LDFLAGS   += $(SAN)
LDLIBS    += $(PKG_LIBS) -lm

LIB_SRCS  := $(sort $(wildcard src/libport25/*/*.c))
CLI_SRCS  := $(sort $(wildcard src/cli/*.c))
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TEST_HELPERS := $(sort $(filter-out $(TEST_SRCS),$(wildcard tests/unit/*.c)))
BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))
# Test helpers the benchmarks use too (tests/unit, as the tests include them).
BENCH_HELPERS := tests/unit/flowenc.c

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_HELPER_OBJS := $(TEST_HELPERS:%.c=$(BUILD)/%.o)
BENCH_HELPER_OBJS := $(BENCH_HELPERS:%.c=$(BUILD)/%.o)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

LIB       := $(BUILD)/libport25.a
CLI       := $(BUILD)/port25

# Keep object files of the test binaries between runs.
.SECONDARY:

.PHONY: all benches deps check test unit cli-tests asan tsan demo bench fuzz format clean
all: $(CLI) $(TEST_BINS)
benches: $(BENCH_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(CLI): $(CLI_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TEST_HELPER_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_HELPER_OBJS) $(LIB) $(LDLIBS) $(TEST_LIBS)

$(BUILD)/bench/%.o: CPPFLAGS += -Itests/unit
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BENCH_HELPER_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(BENCH_HELPER_OBJS) $(LIB) $(LDLIBS)

deps:
	@scripts/install-deps.sh

# The README's test command: everything, plain build and sanitizer build.
check: deps
	$(MAKE) test
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" test
	$(MAKE) BUILD=build-o3 OPT="-O3 -march=native" all benches
	$(MAKE) tsan
	$(MAKE) fuzz-smoke

test: all
	BUILD=$(BUILD) tests/run.sh

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" test

# The threaded code under ThreadSanitizer: the analyzer's decode thread, and
# watch's UDP syslog intake thread with its queue (test_watch's udp tests).
TSAN_FLAGS := -fsanitize=thread -fno-sanitize-recover=all
tsan:
	$(MAKE) BUILD=build-tsan OPT=-O1 SAN="$(TSAN_FLAGS)" build-tsan/tests/test_analyze build-tsan/tests/test_watch
	TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/test_analyze
	TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/test_watch

# deps runs first and alone: the pkg-config flags above are computed when make reads this
# file, so the build that needs them is a sub-make started after the -dev packages exist.
demo: deps
	$(MAKE) all
	BUILD=$(BUILD) scripts/demo.sh

bench: deps
	@scripts/install-deps.sh bench
	$(MAKE) BUILD=build-bench OPT="-O3 -march=native" $(patsubst $(BUILD)/%,build-bench/%,$(BENCH_BINS)) build-bench/port25
	BUILD=build-bench bench/run.sh

# libFuzzer targets (clang); fuzz-smoke runs each for a bounded time.
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=build-fuzz/%)
build-fuzz/%: fuzz/%.c $(LIB_SRCS)
	@mkdir -p build-fuzz
	clang -std=c17 -D_GNU_SOURCE -Isrc/libport25 -g -O1 $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(LIB_SRCS) $(PKG_LIBS) -lm
fuzz: $(FUZZ_BINS)
fuzz-smoke: $(FUZZ_BINS)
	FUZZ_SECONDS=$${FUZZ_SECONDS:-20} tests/fuzz-smoke.sh $(FUZZ_BINS)

format:
	clang-format -i $(LIB_SRCS) $(wildcard src/libport25/*/*.h) $(CLI_SRCS) $(wildcard src/cli/*.h)

clean:
	rm -rf build build-asan build-o3 build-tsan build-bench build-fuzz

# Test and bench objects too: without their dependencies a changed header left them stale.
-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_SRCS:%.c=$(BUILD)/%.d) \
	$(TEST_HELPER_OBJS:.o=.d) $(BENCH_SRCS:%.c=$(BUILD)/%.d)
