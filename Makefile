# port25 build.  `make` builds the library and CLI into $(BUILD);
# `make check` installs missing Debian packages, builds and runs every test
# (plain and ASan+UBSan); `make demo` runs the demo on the bundled registry.

BUILD     ?= build
CC        ?= cc
# libcurl is loaded at run time by the verify module (its headers are needed here,
# its thirty-odd shared libraries are not, at every process start); so is
# libmicrohttpd by `port25 serve` (with GnuTLS it brings ten, some 8 ms a start).
PKGS      := sqlite3 jansson libpcap zlib libmnl libnftnl libnetfilter_log libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libcurl libmicrohttpd 2>/dev/null)
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
# The HTTP front end (src/serve/) is part of the port25 binary: `port25 serve`.
CLI_SRCS  := $(sort $(wildcard src/cli/*.c src/serve/*.c))
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TEST_HELPERS := $(sort $(filter-out $(TEST_SRCS),$(wildcard tests/unit/*.c)))
BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))
# Test helpers the benchmarks use too (tests/unit, as the tests include them).
BENCH_HELPERS := tests/unit/flowenc.c

# The schema: one .sql file per version and SQL engine, compiled in (scripts/embed-sql.sh).
SCHEMA_DIR := src/libport25/storage/schema
SCHEMA_SQL := $(sort $(wildcard $(SCHEMA_DIR)/*/*.sql))

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/schema.o
# The portal's pages (web/), compiled into the port25 binary (scripts/embed-web.sh).
WEB_FILES := $(shell find web -type f ! -name '.*' 2>/dev/null)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/web.o
TEST_HELPER_OBJS := $(TEST_HELPERS:%.c=$(BUILD)/%.o)
BENCH_HELPER_OBJS := $(BENCH_HELPERS:%.c=$(BUILD)/%.o)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

LIB       := $(BUILD)/libport25.a
CLI       := $(BUILD)/port25

# Keep object files of the test binaries between runs.
.SECONDARY:

.PHONY: all benches deps node-deps check test screenshots unit cli-tests asan tsan demo bench fuzz format clean
all: $(CLI) $(TEST_BINS)
benches: $(BENCH_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# In any build directory (the fuzz build compiles it from source too).
%/gen/schema.c: $(SCHEMA_SQL) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	scripts/embed-sql.sh $@ $(SCHEMA_DIR)

$(BUILD)/gen/schema.o: $(BUILD)/gen/schema.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gen/web.c: $(WEB_FILES) scripts/embed-web.sh
	@mkdir -p $(dir $@)
	scripts/embed-web.sh $@ web

$(BUILD)/gen/web.o: $(BUILD)/gen/web.c
	$(CC) $(CPPFLAGS) -Isrc/serve $(CFLAGS) -MMD -MP -c $< -o $@

# The OpenAPI document is compiled in (.incbin): the object depends on it.
$(BUILD)/src/libport25/api/openapi.o: docs/openapi.json

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

# The API tests' validators (tests/api/package.json, pinned by its lock file).
# The browser tests' playwright-core (tests/browser), driving Debian's chromium.
NODE_DIR := tests/api
node-deps: $(NODE_DIR)/node_modules/.package-lock.json tests/browser/node_modules/.package-lock.json
$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json $(NODE_DIR)/package.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
tests/browser/node_modules/.package-lock.json: tests/browser/package-lock.json tests/browser/package.json
	cd tests/browser && npm ci --no-audit --no-fund

# The README's test command: everything, plain build and sanitizer build.
check: deps
	$(MAKE) test
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" test
	$(MAKE) BUILD=build-o3 OPT="-O3 -march=native" all benches
	$(MAKE) tsan
	$(MAKE) fuzz-smoke

test: all node-deps
	BUILD=$(BUILD) tests/run.sh

# The README's screenshots (docs/img/portal-*.png), taken by the browser test;
# as root (network namespaces), like the test.  A plain test run writes its
# screenshots to a temporary directory instead.
screenshots: all node-deps
	PORT25_SHOTS=$(CURDIR)/docs/img PORT25=$(CURDIR)/$(BUILD)/port25 bash tests/cli/test_portal_browser.sh

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
build-fuzz/%: fuzz/%.c $(LIB_SRCS) build-fuzz/gen/schema.c
	@mkdir -p build-fuzz
	clang -std=c17 -D_GNU_SOURCE -Isrc/libport25 -g -O1 $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(LIB_SRCS) build-fuzz/gen/schema.c $(PKG_LIBS) -lm
fuzz: $(FUZZ_BINS)
fuzz-smoke: $(FUZZ_BINS)
	FUZZ_SECONDS=$${FUZZ_SECONDS:-20} tests/fuzz-smoke.sh $(FUZZ_BINS)

format:
	clang-format -i $(LIB_SRCS) $(wildcard src/libport25/*/*.h) $(CLI_SRCS) $(wildcard src/cli/*.h src/serve/*.h)

clean:
	rm -rf build build-asan build-o3 build-tsan build-bench build-fuzz

# Test and bench objects too: without their dependencies a changed header left them stale.
-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_SRCS:%.c=$(BUILD)/%.d) \
	$(TEST_HELPER_OBJS:.o=.d) $(BENCH_SRCS:%.c=$(BUILD)/%.d)
