# Lens: build, install, check, bench.  GNU make.
#
#   make                  build every program into $(OBJ)/
#   make deps             install the Debian packages the build and tests need
#   make check            unit tests, the regress suite, short fuzz runs
#   make SANITIZE=1 check the same under ASan+UBSan (objects in obj-san/)
#   make bench            benchmarks, each printed beside its peer
#   make bench-deps       the peers only make bench uses (mitmproxy)
#   make guest            the microVM guest: Debian cloud kernel (pinned in
#                         lensvmm/guest/kernel.pin), initramfs, test rootfs
#   make guest-pin        move kernel.pin to the archive's current kernel
#   make regress-vm-tcg   only the guest test under QEMU TCG (also in check)
#   make regress-images-slow the image store's crash test (pulls
#                         SIGKILLed at random moments) and a Debian
#                         bookworm layer (mmdebstrap, minutes the first
#                         time) through lensvmm's unpacker: not in check
#   make regress-vm-nested the KVM tests (test guest, Linux under lensvmm)
#                         under a nested KVM in QEMU TCG where /dev/kvm is
#                         missing (Linux boots also where it is PVM):
#                         slow, not in check; fails if any of it skips
#   make install          PREFIX, DESTDIR honoured; the guest of make guest
#                         (if built) into PREFIX/share/lens/guest

PREFIX	?= /usr/local
DESTDIR	?=
SBINDIR	 = $(PREFIX)/sbin
BINDIR	 = $(PREFIX)/bin
MANDIR	 = $(PREFIX)/share/man

CC	 = gcc
FUZZCC	 = clang
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
OBJ	?= obj-san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -DLENS_SANITIZE \
	   -fno-omit-frame-pointer
else
OBJ	?= obj
SANFLAGS =
endif

# each program links only the libraries it uses: libcrypto for
# lenscredd's sandbox CAs, libssl for lensnetd's TLS interception and
# the tests (real ClientHellos in regress/unit/peek.c, TLS clients in
# the test tools)
BASE_PKGS = libseccomp libcap libsodium libevent jansson libbsd-overlay
AUDITD_PKGS = $(BASE_PKGS)
# the remote witness's TLS (lensauditd/witness.c)
AUDITD_PKGS += libssl libcrypto
LENSCTL_PKGS = libsodium jansson libbsd-overlay yaml-0.1
VMM_PKGS = $(BASE_PKGS) yaml-0.1
# image layers (lensvmm/layer.c): libarchive reads gzip, zstd and tar
VMM_PKGS += libarchive
VMM_PKGS += libcurl
# lensnetd takes the policy as a binary model: no libyaml (no root
# process parses YAML, doc/DESIGN.md, Processes)
NETD_PKGS = $(BASE_PKGS) libnftnl libmnl libssl libcrypto
CRED_PKGS = $(BASE_PKGS) libssl libcrypto
TEST_PKGS = $(NETD_PKGS) yaml-0.1 libssl libcrypto
PKGCFLAGS := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
AUDITD_LIBS  := $(shell pkg-config --libs $(AUDITD_PKGS) 2>/dev/null)
LENSCTL_LIBS := $(shell pkg-config --libs $(LENSCTL_PKGS) 2>/dev/null)
VMM_LIBS     := $(shell pkg-config --libs $(VMM_PKGS) 2>/dev/null)
NETD_LIBS    := $(shell pkg-config --libs $(NETD_PKGS) 2>/dev/null)
CRED_LIBS    := $(shell pkg-config --libs $(CRED_PKGS) 2>/dev/null)
TEST_LIBS    := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
TEST_LIBS    += $(shell pkg-config --libs libarchive 2>/dev/null)

CFLAGS	?= -O2 -g
WARN	 = -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
	   -Wmissing-prototypes -Wstrict-prototypes
ALLCFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 \
	   -fstack-protector-strong -Icommon $(PKGCFLAGS) $(CFLAGS) $(SANFLAGS)
ALLLDFLAGS = $(SANFLAGS) $(LDFLAGS)
# a program compiled and linked in one step: its depfile beside it
DEPFLAGS = -MMD -MP -MT $@ -MF $@.d
LDLIBS	 = -lpthread

DEBS	 = make gcc clang libclang-rt-14-dev pkg-config perl mandoc \
	   busybox-static bubblewrap curl nftables openssl python3 \
	   procps psmisc iproute2 util-linux passwd \
	   libseccomp-dev libcap-dev libssl-dev libnftnl-dev libmnl-dev \
	   libyaml-dev libbsd-dev libsodium-dev libevent-dev libjansson-dev \
	   python3-jsonschema python3-yaml python3-botocore \
	   dnsmasq-base bind9-dnsutils \
	   qemu-system-x86 cpio e2fsprogs erofs-utils binutils \
	   squid tinyproxy
# dnsmasq, dig: the test internet's DNS (regress/networld.sh) and the
# client; qemu and the image tools: the microVM guest (make guest) and
# the nested KVM of regress/vmkvm.sh; squid, tinyproxy: make bench's
# peers of lensnetd; python3-botocore: the SigV4 signer of
# regress/sign-botocore.t
# make bench's alone (make bench-deps; not in deps, which the test
# command installs): mitmproxy, the peer of lensnetd's TLS interception
BENCH_DEBS = mitmproxy
# image layers (libarchive) and the Debian image of regress/image-run.t
DEBS += libarchive-dev mmdebstrap
DEBS += libcurl4-openssl-dev

COMMON_SRCS = $(sort $(wildcard common/*.c))
# each program compiles only its own directory; what two programs share
# (the audit chain and its verifier for lensauditd and lensctl) is in
# common/ and comes from libcommon.a
AUDITD_SRCS  = $(sort $(wildcard lensauditd/*.c))
CRED_SRCS    = $(sort $(wildcard lenscredd/*.c))
LENSCTL_SRCS = $(sort $(wildcard lensctl/*.c))

VMM_SRCS     = $(sort $(wildcard lensvmm/*.c lensvmm/vm/*.c))
NETD_SRCS    = $(sort $(wildcard lensnetd/*.c))
INIT_SRCS    = $(sort $(wildcard lensvmm/guest/*.c))

COMMON_OBJS  = $(COMMON_SRCS:%.c=$(OBJ)/o/%.o)
VMM_OBJS     = $(VMM_SRCS:%.c=$(OBJ)/o/%.o)
NETD_OBJS    = $(NETD_SRCS:%.c=$(OBJ)/o/%.o)
# lensnetd's roles without its main, for unit tests and test tools
NETD_LIBOBJS = $(filter-out %/lensnetd.o,$(NETD_OBJS))
# the microVM monitor (lensvmm/vm/*.c) without lensvmm's main, for vmrun
VMM_LIBOBJS  = $(filter $(OBJ)/o/lensvmm/vm/%.o,$(VMM_OBJS))
AUDITD_OBJS  = $(AUDITD_SRCS:%.c=$(OBJ)/o/%.o)
CRED_OBJS    = $(CRED_SRCS:%.c=$(OBJ)/o/%.o)
LENSCTL_OBJS = $(LENSCTL_SRCS:%.c=$(OBJ)/o/%.o)
# the regress build: same sources with the test-only hooks (-DREGRESS)
AUDITD_ROBJS = $(AUDITD_SRCS:%.c=$(OBJ)/r/%.o)
CRED_ROBJS   = $(CRED_SRCS:%.c=$(OBJ)/r/%.o)
NETD_ROBJS   = $(NETD_SRCS:%.c=$(OBJ)/r/%.o)
# common's objects with the hooks (LENS_REGRESS_SIGSYS in
# common/seccomp_filter.c), for the regress builds of the daemons
COMMON_ROBJS = $(COMMON_SRCS:%.c=$(OBJ)/r/%.o)

PROGS	 = $(OBJ)/lensauditd $(OBJ)/lensctl $(OBJ)/lensvmm $(OBJ)/lensnetd \
	   $(OBJ)/lens-init $(OBJ)/lenscredd
MANS	 = $(wildcard man/*.[1-9])

UNIT_SRCS = $(sort $(wildcard regress/unit/*.c))
UNIT_BINS = $(UNIT_SRCS:regress/unit/%.c=$(OBJ)/regress/unit/%)
TOOL_SRCS = $(sort $(wildcard regress/tools/*.c))
TOOL_BINS = $(TOOL_SRCS:regress/tools/%.c=$(OBJ)/regress/tools/%)
FUZZ_SRCS = $(sort $(wildcard regress/fuzz/*.c))
# the fuzz targets are ASan+UBSan builds either way: both halves of the
# README's test command share one build (in obj/); the SANITIZE half
# runs them briefly from fresh random seeds
FUZZOBJ ?= obj
FUZZ_BINS = $(FUZZ_SRCS:regress/fuzz/%.c=$(FUZZOBJ)/fuzz/%)
FUZZ_LIBSRCS = common/log.c common/imsg.c common/canonjson.c common/chain.c \
	   common/verify.c lensauditd/chainwrite.c \
	   lensvmm/guest/request.c lensvmm/guest/vmconf.c common/seccomp_filter.c \
	   $(sort $(wildcard lensvmm/vm/*.c)) \
	   $(wildcard common/policy_*.c) common/grammar.c common/jsonstrict.c common/graphql.c \
	   lensnetd/addr.c lensnetd/attach.c \
	   lensnetd/dnswire.c common/peek.c lenscredd/seal.c common/phscan.c \
	   lenscredd/sign.c common/lensexch.c \
	   lenscredd/oauth.c
FUZZ_LIBSRCS += lensnetd/wsframe.c
FUZZ_LIBSRCS += lensnetd/llm.c
# issue 14: the image JSON parser (regress/fuzz/ocispec.c)
FUZZ_LIBSRCS += lensvmm/ocispec.c
# issue 14: the tar entry policy (regress/fuzz/tarpolicy.c)
FUZZ_LIBSRCS += lensvmm/tarpolicy.c
REGRESS_TESTS = $(sort $(wildcard regress/*.t)) $(sort $(wildcard regress/attack/*.t))
FUZZ_LIBSRCS += common/lensconf.c
# issue 20: the remote witness's lines (regress/fuzz/witness.c)
FUZZ_LIBSRCS += common/syslogwit.c
ifeq ($(SANITIZE),1)
FUZZ_SECONDS ?= 2
else
FUZZ_SECONDS ?= 10
endif

.PHONY: all deps bench-deps users install install-hooks check regress-bins bench clean \
	manlint demo \
	fuzz-long guest guest-pin regress-vm-tcg regress-vm-nested \
	regress-images-slow

all: $(PROGS)

# lensvmm's default paths of lens-init and the guest follow PREFIX
$(OBJ)/o/lensvmm/%.o: ALLCFLAGS += -DVMM_PREFIX='"$(PREFIX)"'

$(OBJ)/o/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -MMD -MP -c -o $@ $<

$(OBJ)/r/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -DREGRESS -MMD -MP -c -o $@ $<

# every program: its objects, what it uses of libcommon.a, its libraries
$(OBJ)/lensauditd: $(AUDITD_OBJS) $(OBJ)/libcommon.a
	$(CC) $(ALLLDFLAGS) -o $@ $^ $(AUDITD_LIBS) $(LDLIBS)

$(OBJ)/lenscredd: $(CRED_OBJS) $(OBJ)/libcommon.a
	$(CC) $(ALLLDFLAGS) -o $@ $^ $(CRED_LIBS) $(LDLIBS)

$(OBJ)/lensctl: $(LENSCTL_OBJS) $(OBJ)/libcommon.a
	$(CC) $(ALLLDFLAGS) -o $@ $^ $(LENSCTL_LIBS) $(LDLIBS)
# lensctl doctor asks lensvmm's own microVM probe
$(OBJ)/lensctl: $(OBJ)/o/lensvmm/probe.o

$(OBJ)/lensvmm: $(VMM_OBJS) $(OBJ)/libcommon.a
	$(CC) $(ALLLDFLAGS) -o $@ $^ $(VMM_LIBS) $(LDLIBS)

$(OBJ)/libnetd.a: $(NETD_LIBOBJS)
	rm -f $@
	ar rcs $@ $^

$(OBJ)/libvmm.a: $(VMM_LIBOBJS)
	rm -f $@
	ar rcs $@ $^

# the freestanding test guest of the microVM monitor: no libc, no
# sanitizers, a flat binary loaded at 1 MiB (lensvmm/testguest/link.ld)
TG_SRCS	 = $(sort $(wildcard lensvmm/testguest/*.c)) lensvmm/testguest/entry.S
TG_CFLAGS = -std=gnu11 $(WARN) -O2 -ffreestanding -nostdlib -static -fno-pic \
	   -fno-pie -no-pie -mno-red-zone -mgeneral-regs-only \
	   -fno-stack-protector -fno-builtin
$(OBJ)/testguest.bin: $(TG_SRCS) $(wildcard lensvmm/testguest/*.h) \
	    lensvmm/testguest/link.ld lensvmm/vm/vm_testinfo.h
	@mkdir -p $(@D)
	$(CC) $(TG_CFLAGS) -Wl,-T,lensvmm/testguest/link.ld \
	    -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
	    -o $(OBJ)/testguest.elf $(TG_SRCS)
	objcopy -O binary $(OBJ)/testguest.elf $@

$(OBJ)/lensnetd: $(NETD_OBJS) $(OBJ)/libcommon.a
	$(CC) $(ALLLDFLAGS) -o $@ $^ $(NETD_LIBS) $(LDLIBS)

# lens-init is static and self-contained: it runs inside any rootfs.
# No sanitizers (they need a dynamic runtime), no libbsd.
INIT_CFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -O2 -g \
	   -fstack-protector-strong -Icommon
$(OBJ)/lens-init: $(INIT_SRCS) common/imsg.c common/imsg.h common/pemcert.c \
	    common/lensinit_proto.h $(wildcard lensvmm/guest/*.h)
	@mkdir -p $(@D)
	$(CC) $(INIT_CFLAGS) -static -o $@ $(INIT_SRCS) common/imsg.c \
	    common/pemcert.c

# the microVM guest: kernel and modules from the pinned Debian package,
# lens-init as the initramfs's /init, a busybox rootfs as an ext4 image
GUEST	 = $(OBJ)/guest
guest: $(GUEST)/.built
$(GUEST)/.built: $(OBJ)/lens-init lensvmm/guest/mkguest.sh \
	    lensvmm/guest/kernel.pin regress/mkrootfs.sh
	bash lensvmm/guest/mkguest.sh build $(GUEST) $(OBJ)/lens-init
	touch $@

guest-pin:
	bash lensvmm/guest/mkguest.sh pin

$(OBJ)/libcommon-r.a: $(COMMON_ROBJS)
	rm -f $@
	ar rcs $@ $^

$(OBJ)/regress/lensauditd: $(AUDITD_ROBJS) $(OBJ)/libcommon-r.a
	@mkdir -p $(@D)
	$(CC) $(ALLLDFLAGS) -o $@ $^ $(AUDITD_LIBS) $(LDLIBS)

$(OBJ)/regress/lenscredd: $(CRED_ROBJS) $(OBJ)/libcommon-r.a
	@mkdir -p $(@D)
	$(CC) $(ALLLDFLAGS) -o $@ $^ $(CRED_LIBS) $(LDLIBS)

$(OBJ)/regress/lensnetd: $(NETD_ROBJS) $(OBJ)/libcommon-r.a
	@mkdir -p $(@D)
	$(CC) $(ALLLDFLAGS) -o $@ $^ $(NETD_LIBS) $(LDLIBS)

$(OBJ)/regress/lensvmm: $(VMM_OBJS) $(OBJ)/libcommon-r.a
	@mkdir -p $(@D)
	$(CC) $(ALLLDFLAGS) -o $@ $^ $(VMM_LIBS) $(LDLIBS)

$(OBJ)/libcommon.a: $(COMMON_OBJS)
	rm -f $@
	ar rcs $@ $^

# unit tests and test tools link what they use from the archives; their
# depfiles (-MMD) name every header and every source they #include
# (regress/unit/diskimg.c includes lensvmm/diskimg.c), so an edit of
# either rebuilds them (and only $< of the sources is compiled)
$(OBJ)/regress/unit/%: regress/unit/%.c $(OBJ)/o/lensauditd/chainwrite.o \
	    $(OBJ)/libnetd.a $(OBJ)/libvmm.a $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) $(DEPFLAGS) -Ilensauditd -Ilensnetd $(ALLLDFLAGS) \
	    -o $@ $< $(filter %.o %.a,$^) $(TEST_LIBS) $(LDLIBS)

$(OBJ)/regress/tools/%: regress/tools/%.c $(OBJ)/o/lensauditd/chainwrite.o \
	    $(OBJ)/libnetd.a $(OBJ)/libvmm.a $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) $(DEPFLAGS) -Ilensauditd -Ilensnetd $(ALLLDFLAGS) \
	    -o $@ $< $(filter %.o %.a,$^) $(TEST_LIBS) $(LDLIBS)

# the layer unpacker without the image child around it
$(OBJ)/regress/tools/layerunpack: $(OBJ)/o/lensvmm/layer.o \
	    $(OBJ)/o/lensvmm/tarpolicy.o

# libFuzzer targets: clang, ASan+UBSan; the parsers compiled once into
# libfuzz.a (instrumented, not linked with libFuzzer's main), each
# target linked against it (all rebuilt when any header changes)
FUZZ_HDRS = $(wildcard common/*.h lensauditd/*.h lensnetd/*.h lensvmm/*.h \
	    lensvmm/vm/*.h lensvmm/guest/*.h lenscredd/*.h)
FUZZ_CFLAGS = -g -O1 -std=gnu11 -D_GNU_SOURCE -DFUZZING -Icommon \
	    -Ilensauditd -Ilensnetd -Ilenscredd $(PKGCFLAGS)
FUZZ_OBJS = $(FUZZ_LIBSRCS:%.c=$(FUZZOBJ)/fuzzo/%.o)
$(FUZZOBJ)/fuzzo/%.o: %.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZCC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	    -c -o $@ $<
$(FUZZOBJ)/libfuzz.a: $(FUZZ_OBJS)
	rm -f $@
	$(AR) rcs $@ $(FUZZ_OBJS)
$(FUZZOBJ)/fuzz/%: regress/fuzz/%.c $(FUZZOBJ)/libfuzz.a $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZCC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
	    -o $@ $< $(FUZZOBJ)/libfuzz.a $(TEST_LIBS)

# lensnetd with test roles instead of dns.c and proxy.c (netd-routes.t)
$(OBJ)/regress/lensnetd-routes: $(OBJ)/o/lensnetd/lensnetd.o \
	    regress/netd/routes.c $(OBJ)/libnetd.a $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) $(DEPFLAGS) -Ilensnetd $(ALLLDFLAGS) -o $@ \
	    regress/netd/routes.c $(filter %.o %.a,$^) $(NETD_LIBS) $(LDLIBS)

regress-bins: all $(OBJ)/regress/lensauditd $(OBJ)/regress/lensnetd \
	    $(OBJ)/regress/lenscredd \
	    $(OBJ)/regress/lensvmm $(UNIT_BINS) $(TOOL_BINS) \
	    $(FUZZ_BINS) $(OBJ)/testguest.bin $(OBJ)/regress/lensnetd-routes

deps:
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEBS)

bench-deps:
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BENCH_DEBS)

users:
	sh etc/lens-users.sh

# Tests use private paths only: a run that leaves a trusted audit key in
# the host's /etc/lens where there was none fails (and takes it away).
check: regress-bins users manlint
	@had=0; [ -e /etc/lens/audit.pub ] && had=1; \
	OBJ=$(abspath $(OBJ)) FUZZOBJ=$(abspath $(FUZZOBJ)) \
	    FUZZ_SECONDS=$(FUZZ_SECONDS) \
	    prove -v --timer --exec '' $(UNIT_BINS) $(REGRESS_TESTS); rc=$$?; \
	if [ $$had = 0 ] && [ -e /etc/lens/audit.pub ]; then \
		echo "check: a test wrote /etc/lens/audit.pub on the host"; \
		rm -f /etc/lens/audit.pub; rc=1; \
	fi; exit $$rc

# issue 14: the image store's crash test (20 pulls SIGKILLed, ~60 s):
# slow, not in check
regress-images-slow: all users
	OBJ=$(abspath $(OBJ)) prove -v --exec '' regress/images/*.t

regress-vm-tcg: $(OBJ)/lens-init $(OBJ)/regress/tools/initdrive guest
	OBJ=$(abspath $(OBJ)) prove -v --exec '' regress/vm-guest-tcg.t

regress-vm-nested: regress-bins guest
	OBJ=$(abspath $(OBJ)) VM_NESTED=1 LENS_NO_SKIP=1 prove -v --exec '' \
	    regress/vm-testguest.t regress/vm-linux.t regress/vm-sandbox.t \
	    regress/vm-net.t

# regress/images/debian.t: a real layer, Debian bookworm by mmdebstrap
# (cached in obj/regress/bookworm.tar), through lensvmm's unpacker
regress-images-slow: $(OBJ)/regress/tools/layerunpack

fuzz-long: $(FUZZ_BINS)
	OBJ=$(abspath $(OBJ)) FUZZOBJ=$(abspath $(FUZZOBJ)) \
	    FUZZ_SECONDS=$${FUZZ_SECONDS:-600} \
	    prove -v --exec '' regress/fuzz.t

bench: all $(OBJ)/regress/lensauditd $(TOOL_BINS) $(OBJ)/testguest.bin users
	OBJ=$(abspath $(OBJ)) sh regress/bench/run.sh

demo: all $(OBJ)/regress/tools/credpeer users
	OBJ=$(abspath $(OBJ)) sh regress/demo.sh

manlint:
	mandoc -Tlint -Wwarning $(MANS)

# with DESTDIR (a package build) no users are made on the build host:
# the package's postinst (or the units' ExecStartPre) runs lens-setup
UNITS	 = lensauditd.service lenscredd.service lensnetd.service \
	   lensvmm.service lens.target
DAEMONS	 = lensauditd lenscredd lensnetd lensvmm
UNITDIR	 = $(PREFIX)/lib/systemd/system
SHAREDIR = $(PREFIX)/share/lens
install: all $(if $(DESTDIR),,users)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)/etc/init.d \
	    $(DESTDIR)$(SHAREDIR)/policy-examples $(DESTDIR)$(PREFIX)/libexec/lens
	for d in $(DAEMONS); do \
	    install -m 0555 $(OBJ)/$$d $(DESTDIR)$(SBINDIR)/$$d || exit 1; \
	    sed 's,/usr/local,$(PREFIX),g' etc/init.d/$$d \
	        >$(DESTDIR)/etc/init.d/$$d && chmod 0755 $(DESTDIR)/etc/init.d/$$d || exit 1; \
	done
	install -m 0555 $(OBJ)/lensctl $(DESTDIR)$(BINDIR)/lensctl
	install -m 0555 etc/lens-users.sh $(DESTDIR)$(SBINDIR)/lens-setup
	install -m 0555 $(OBJ)/lens-init $(DESTDIR)$(PREFIX)/libexec/lens/
	[ ! -f $(GUEST)/.built ] || { install -d $(DESTDIR)$(SHAREDIR)/guest && \
	    install -m 0444 $(GUEST)/vmlinuz $(GUEST)/initramfs.cpio \
	    $(GUEST)/kernel.release $(DESTDIR)$(SHAREDIR)/guest/; }
	for u in $(UNITS); do \
	    sed 's,/usr/local,$(PREFIX),g' etc/$$u >$(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 0444 etc/lns-policy.schema.json etc/lns-policy.yaml \
	    $(DESTDIR)$(SHAREDIR)/
	install -m 0444 etc/policy-examples/*.yaml $(DESTDIR)$(SHAREDIR)/policy-examples/
	install -d -m 0755 $(DESTDIR)/etc/lens $(DESTDIR)/var/lib/lens
	install -d -m 0750 $(DESTDIR)/var/log/lens
	[ -e $(DESTDIR)/etc/lens/lns-policy.yaml ] || install -m 0644 \
	    etc/policy-examples/minimal.yaml $(DESTDIR)/etc/lens/lns-policy.yaml
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0444 etc/lensctl.bash-completion \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/lensctl
	[ -e $(DESTDIR)/etc/lens/lens.conf ] || sed 's,/usr/local,$(PREFIX),g' \
	    etc/lens.conf >$(DESTDIR)/etc/lens/lens.conf
	for m in $(MANS); do \
	    s=$${m##*.}; install -m 0444 $$m $(DESTDIR)$(MANDIR)/man$$s/; \
	done
	$(MAKE) --no-print-directory install-hooks

# what other parts install (shell completion): add a rule
#   install-hooks:: ...
# of your own; make install runs them all after the files above
install-hooks::

clean:
	rm -rf obj obj-san

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

# approvals under stress (1025 pending, kill -9 of lensctl mid-write): slow
regress-approval-slow: regress-bins users
	OBJ=$(abspath $(OBJ)) prove -v --exec '' regress/slow/approval-stress.t
	OBJ=$(abspath $(OBJ)) prove -v --exec '' regress/slow/approval-dns-flood.t
