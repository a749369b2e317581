/*
 * libFuzzer target for the virtio-mmio transport and the device models
 * (lensvmm/vm/vm_virtio.c, vm_blk.c, vm_rng.c, vm_console.c, vm_net.c)
 * without KVM: a hostile driver's register accesses and queue contents
 * against a guest memory image.  Queue notifies take the transport's
 * fallback path (no ioeventfd), so device code runs synchronously;
 * backend input (console bridge, tap) comes from socketpairs.
 *
 * Input: the first 64 KiB (or less) also initialise guest memory at 0;
 * from byte 0 on, 12-byte operations:
 *	dev (1): device index, or 0xf0 console input, 0xf1 tap frame
 *	flags (1): bit 0 write, bits 1-2 log2 width (1, 2, 4, 8)
 *	offset (2), value (8)
 * Guest memory is 1 MiB; every device is reset between inputs.
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "../../lensvmm/vm/vm.h"
#include "../../lensvmm/vm/vm_virtio.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define GMEM	(1 << 20)
#define MAXOPS	512

static struct vm	*vm;
static int		 ctl[2], tap[2];

static void
setup(void)
{
	char	 err[128];
	int	 disk, rodisk, devnull;
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 1, 2, 3 };

	log_init(0, 0);
	log_setverbose(0);
	if ((vm = calloc(1, sizeof(*vm))) == NULL)
		abort();
	vm->kvm_fd = vm->vm_fd = -1;
	pthread_mutex_init(&vm->pollmtx, NULL);
	pthread_mutex_init(&vm->stopmtx, NULL);
	pthread_cond_init(&vm->stopcond, NULL);
	if ((vm->wakefd = eventfd(0, EFD_NONBLOCK)) == -1)
		abort();
	vm->mem.base = mmap(NULL, GMEM, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->mem.base == MAP_FAILED)
		abort();
	vm->mem.size = vm->mem.lowsize = GMEM;
	if ((disk = memfd_create("vdb", 0)) == -1 ||
	    ftruncate(disk, 64 * 1024) == -1 ||
	    (rodisk = memfd_create("vda", 0)) == -1 ||
	    ftruncate(rodisk, 16 * 1024) == -1 ||
	    (devnull = open("/dev/null", O_WRONLY)) == -1)
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, ctl) == -1 ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tap) == -1)
		abort();
	if (blk_create(vm, rodisk, 1, err, sizeof(err)) == NULL ||
	    blk_create(vm, disk, 0, err, sizeof(err)) == NULL)
		abort();
	console_create(vm, devnull, ctl[0]);
	net_create(vm, tap[0], mac);
	rng_create(vm);
}

/* Run the I/O thread's callbacks once for fds that are readable. */
static void
pump(void)
{
	struct pollfd	 pfd;
	unsigned int	 i;

	for (i = 0; i < vm->npoll; i++) {
		if (!vm->poll[i].enabled)
			continue;
		pfd.fd = vm->poll[i].fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) == 1)
			vm->poll[i].cb(vm->poll[i].arg, pfd.fd, pfd.revents);
	}
}

static void
drain(int fd)
{
	char	 buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t		 buf[8];
	uint64_t	 val;
	unsigned int	 i, n, d, w;
	uint16_t	 off;
	uint32_t	 zero = 0;

	if (vm == NULL)
		setup();
	memset(vm->mem.base, 0, GMEM);
	memcpy(vm->mem.base, data, len > 65536 ? 65536 : len);
	for (d = 0; d < vm->ndev; d++)
		virtio_mmio(vm->dev[d], VIRTIO_MMIO_STATUS, (uint8_t *)&zero, 4,
		    1);
	drain(ctl[1]);
	drain(tap[1]);
	n = len / 12;
	if (n > MAXOPS)
		n = MAXOPS;
	for (i = 0; i < n; i++) {
		const uint8_t *op = data + 12 * i;

		memcpy(&off, op + 2, 2);
		memcpy(&val, op + 4, 8);
		if (op[0] == 0xf0 || op[0] == 0xf1) {
			if (write(op[0] == 0xf0 ? ctl[1] : tap[1], op + 4,
			    1 + (off & 7)) == -1)
				continue;
			pump();
			continue;
		}
		d = op[0] % vm->ndev;
		w = 1U << ((op[1] >> 1) & 3);
		memcpy(buf, &val, 8);
		virtio_mmio(vm->dev[d], off & 0x1ff, buf, w, op[1] & 1);
	}
	pump();
	return (0);
}
