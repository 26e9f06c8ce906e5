# bhasha — build, test, install. See README.md.
#   make            library (build/libbhasha.so, build/libbhasha.a) and CLI (build/bhasha)
#   make check      install Debian packages if missing, build, run every test
#   make demo       install, build, run the main job on bundled sample text
#   make asan       build and run the tests under AddressSanitizer + UBSan
#   make bench      benchmarks against the named peers (needs ../shared/data)
#   make fuzz       libFuzzer targets (clang) over the loaders and the text layer, FUZZ_TIME s each
#   make install PREFIX=/usr/local

VERSION  := 0.1.0
SOMAJOR  := 0
PREFIX   ?= /usr/local
BUILD    ?= build
PKG_CONFIG ?= pkg-config

PKGS     := icu-uc icu-i18n libutf8proc libxml-2.0 zlib jansson openblas sentencepiece
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
LIBS     = $(PKG_LIBS) -lsentencepiece_train -lsvm -lxgboost -lstdc++ -lpthread -lm

OPT      ?= -O2
CC       ?= cc
CXX      ?= c++
CPPFLAGS += -Iinclude -I. -DBH_VERSION=\"$(VERSION)\" -D_GNU_SOURCE
CFLAGS   ?= $(OPT) -g
CFLAGS   += -std=c11 -Wall -Wextra -Werror -fPIC $(PKG_CFLAGS) $(SAN)
CXXFLAGS ?= $(OPT) -g
CXXFLAGS += -std=c++17 -Wall -Wextra -Werror -fPIC $(PKG_CFLAGS) $(SAN)
LDFLAGS  += $(SAN)

# Library: every .c/.cc in the layer folders except the CLI's own files.
LAYERS   := core tokenizer models corpora eval ocr pipeline
CLI_SRC  := $(wildcard pipeline/cli*.c)
LIB_SRC  := $(filter-out $(CLI_SRC),$(wildcard $(addsuffix /*.c,$(LAYERS))))
LIB_CXX  := $(wildcard $(addsuffix /*.cc,$(LAYERS)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(LIB_CXX:%.cc=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC:= $(wildcard bench/*.c)
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

SONAME   := libbhasha.so.$(SOMAJOR)
STATIC   := $(BUILD)/libbhasha.a
SHARED   := $(BUILD)/libbhasha.so.$(VERSION)
CLI      := $(BUILD)/bhasha

.PHONY: all deps check tests demo asan bench fuzz install uninstall clean golden
all: $(STATIC) $(BUILD)/libbhasha.so $(CLI)

# V=1 shows the full commands.
Q        := $(if $(V),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC    $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CXX   $<")
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/libbhasha.so: $(SHARED)
	$(Q)ln -sf libbhasha.so.$(VERSION) $(BUILD)/$(SONAME)
	$(Q)ln -sf libbhasha.so.$(VERSION) $@

$(CLI): $(CLI_OBJ) $(STATIC)
	@$(if $(V),,echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LIBS)

# Optional: build/bhasha-mpi, `bhasha annotate`, `bhasha pretrain` and `bhasha finetune` as MPI
# ranks (`mpirun -np N bhasha annotate --mpi ...`, `mpirun -np N bhasha-mpi pretrain --mpi ...`).
# Built only where mpicc exists, so the library and build/bhasha never need MPI headers.
MPICC    ?= mpicc
MPI_OBJ  := $(BUILD)/obj/pipeline/cli_annotate.o $(BUILD)/obj/pipeline/cli_model.o $(BUILD)/obj/pipeline/cli_finetune.o \
            $(BUILD)/obj/pipeline/cli_util.o
ifneq ($(shell command -v $(MPICC) 2>/dev/null),)
all: $(BUILD)/bhasha-mpi
endif
$(BUILD)/bhasha-mpi: pipeline/mpi/bhasha_mpi.c pipeline/cli_dist.h pipeline/cli_annotate.h pipeline/cli_model.h \
                     pipeline/cli_finetune.h $(MPI_OBJ) $(STATIC)
	@$(if $(V),,echo "  MPICC $@")
	$(Q)OMPI_CC=$(CC) $(MPICC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(MPI_OBJ) $(STATIC) $(LIBS)

$(BUILD)/tests/%: tests/%.c $(STATIC)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(STATIC) $(LIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(STATIC)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(STATIC) $(LIBS)

tests: all $(TEST_BIN) $(BENCH_BIN)

deps:
	@sh scripts/deps.sh

check: deps
	@$(MAKE) --no-print-directory tests
	@BUILD=$(BUILD) sh tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh scripts/demo.sh

asan:
	@$(MAKE) --no-print-directory tests BUILD=build-asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
	@BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 sh tests/run.sh

bench: all $(BENCH_BIN)
	@BUILD=$(BUILD) sh bench/run.sh

# Fuzzing (clang's libFuzzer + ASan + UBSan): the library is built once more in
# build-fuzz with coverage hooks; each target in tests/fuzz/ starts from seeds made
# from the test fixtures and shipped files (tests/fuzz/run.sh) and runs FUZZ_TIME
# seconds (FUZZ_RUNS=N: N inputs from a fixed seed instead). A crash stops it and
# leaves the input in build-fuzz/crashes/.
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize=vptr,function -fno-sanitize-recover=undefined \
            -fsanitize-recover=pointer-overflow,nonnull-attribute,shift -fno-omit-frame-pointer
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TIME ?= 60
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(STATIC)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(STATIC) $(LIBS)

fuzz:
	@sh scripts/deps.sh scripts/debian-packages.txt scripts/debian-packages-fuzz.txt
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang CXX=clang++ OPT=-O1 \
	    SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/%)
	@BUILD=build-fuzz FUZZ_TIME=$(FUZZ_TIME) FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_TARGETS="$(FUZZ_TARGETS)" sh tests/fuzz/run.sh

golden:
	@sh tests/ref/golden.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/include/bhasha $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/bhasha
	install -m 644 include/bhasha.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 include/bhasha/*.h $(DESTDIR)$(PREFIX)/include/bhasha/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libbhasha.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf libbhasha.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libbhasha.so
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	[ ! -x $(BUILD)/bhasha-mpi ] || install -m 755 $(BUILD)/bhasha-mpi $(DESTDIR)$(PREFIX)/bin/
	cp -R assets/. $(DESTDIR)$(PREFIX)/share/bhasha/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@PKGS@|$(PKGS)|' \
	    bhasha.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/bhasha.pc

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/include/bhasha $(DESTDIR)$(PREFIX)/include/bhasha.h \
	    $(DESTDIR)$(PREFIX)/lib/libbhasha.* $(DESTDIR)$(PREFIX)/lib/pkgconfig/bhasha.pc \
	    $(DESTDIR)$(PREFIX)/bin/bhasha $(DESTDIR)$(PREFIX)/bin/bhasha-mpi $(DESTDIR)$(PREFIX)/share/bhasha

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
