/*
 * virtio-rng (device id 4): one request queue; every device-writable
 * byte of a chain is filled from getrandom(2).
 */
#include <sys/random.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "log.h"
#include "vm.h"
#include "vm_virtio.h"

#define RNG_QSIZE	256
#define RNG_MAXREQ	(64 * 1024)	/* per chain */

static void	rng_notify(struct vdev *, unsigned int);
static void	rng_cfg_read(struct vdev *, uint32_t, uint8_t *, int);

static const struct vdev_ops rng_ops = {
	.name = "virtio-rng",
	.devid = VIRTIO_ID_RNG,
	.nqueues = 1,
	.qmax = RNG_QSIZE,
	.cfgsize = 0,
	.cfg_read = rng_cfg_read,
	.notify = rng_notify,
};

static void
rng_cfg_read(struct vdev *dev, uint32_t off, uint8_t *data, int len)
{
	(void)dev;
	(void)off;
	(void)data;
	(void)len;
}

static void
rng_notify(struct vdev *dev, unsigned int q)
{
	struct vq_chain	*c;
	unsigned int	 i;
	uint32_t	 done, n, want;
	ssize_t		 r;

	if ((c = malloc(sizeof(*c))) == NULL)
		fatal("%s", __func__);
	while (virtio_pop(dev, q, c) == 1) {
		done = 0;
		for (i = 0; i < c->niov && done < RNG_MAXREQ; i++) {
			if (!c->iov[i].write)
				continue;
			want = c->iov[i].len;
			if (want > RNG_MAXREQ - done)
				want = RNG_MAXREQ - done;
			for (n = 0; n < want; n += r) {
				r = getrandom(c->iov[i].base + n, want - n, 0);
				if (r <= 0) {
					if (r == -1 && errno == EINTR) {
						r = 0;
						continue;
					}
					log_warn("virtio-rng: getrandom");
					break;
				}
			}
			done += n;
		}
		vq_push(&dev->vq[q], c->head, done);
	}
	virtio_queue_done(dev, q);
	free(c);
}

struct vdev *
rng_create(struct vm *vm)
{
	return (virtio_attach(vm, &rng_ops, 0, NULL));
}
