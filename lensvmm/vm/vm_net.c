/*
 * virtio-net (device id 1) on a tap fd opened with IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR (vnet header size 12, the virtio 1.x virtio_net_hdr with
 * num_buffers).  Features: MAC and STATUS; no offloads, so the header
 * the guest sends is reset to "no checksum, no GSO" before it reaches
 * the tap, and received frames carry num_buffers = 1.
 */
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <linux/if_tun.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"
#include "vm_virtio.h"

#define NET_QSIZE		256
#define NET_F_MAC		5
#define NET_F_STATUS		16
#define NET_S_LINK_UP		1
#define NET_HDR_LEN		12
#define NET_FRAME_MAX		(NET_HDR_LEN + 65550)
#define Q_RX			0
#define Q_TX			1

struct net {
	struct vdev	*dev;
	int		 tapfd;
	int		 pollidx;
	uint8_t		 mac[6];
	struct vq_chain	 chain;
	uint8_t		 buf[NET_FRAME_MAX];
	uint64_t	 rx_frames, tx_frames, rx_dropped;
};

static void	net_notify(struct vdev *, unsigned int);
static void	net_cfg_read(struct vdev *, uint32_t, uint8_t *, int);
static void	net_reset(struct vdev *);

static const struct vdev_ops net_ops = {
	.name = "virtio-net",
	.devid = VIRTIO_ID_NET,
	.nqueues = 2,
	.qmax = NET_QSIZE,
	.cfgsize = 8,
	.cfg_read = net_cfg_read,
	.notify = net_notify,
	.reset = net_reset,
};

static void
net_cfg_read(struct vdev *dev, uint32_t off, uint8_t *data, int len)
{
	struct net	*n = dev->softc;
	uint8_t		 cfg[8];

	memcpy(cfg, n->mac, 6);
	cfg[6] = NET_S_LINK_UP;
	cfg[7] = 0;
	memcpy(data, cfg + off, len);
}

static void
net_reset(struct vdev *dev)
{
	struct net	*n = dev->softc;

	vm_poll_enable(dev->vm, n->pollidx, 0);
}

static void
net_tx(struct net *n)
{
	struct vdev	*dev = n->dev;
	struct vq_chain	*c = &n->chain;
	size_t		 len;
	ssize_t		 w;

	while (virtio_pop(dev, Q_TX, c) == 1) {
		if (c->rlen < NET_HDR_LEN || c->rlen > NET_FRAME_MAX) {
			virtio_needs_reset(dev, Q_TX, "tx chain shorter than "
			    "the header or longer than a frame");
			return;
		}
		len = vq_copy_from(c, 0, n->buf, c->rlen);
		memset(n->buf, 0, NET_HDR_LEN);	/* no offloads offered */
		do
			w = write(n->tapfd, n->buf, len);
		while (w == -1 && errno == EINTR);
		if (w == -1)
			log_debug("virtio-net: tap write: %s",
			    strerror(errno));
		else
			n->tx_frames++;
		vq_push(&dev->vq[Q_TX], c->head, 0);
	}
	virtio_queue_done(dev, Q_TX);
}

/* Frames from the tap into rx buffers, while the driver has some. */
static void
net_tap_cb(void *arg, int fd, short revents)
{
	struct net	*n = arg;
	struct vdev	*dev = n->dev;
	struct vq_chain	*c = &n->chain;
	ssize_t		 r;
	uint16_t	 one = 1;
	int		 pushed = 0, budget = 64;

	(void)revents;
	pthread_mutex_lock(&dev->mtx);
	while (budget-- > 0) {
		if (!dev->live || !vq_pending(&dev->vq[Q_RX])) {
			vm_poll_enable(dev->vm, n->pollidx, 0);
			break;
		}
		r = read(fd, n->buf, sizeof(n->buf));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (r < NET_HDR_LEN)
			continue;
		if (virtio_pop(dev, Q_RX, c) != 1)
			break;
		if (c->wlen < (uint64_t)r) {
			n->rx_dropped++;	/* buffer too small */
			vq_push(&dev->vq[Q_RX], c->head, 0);
			pushed = 1;
			continue;
		}
		memset(n->buf, 0, NET_HDR_LEN);
		memcpy(n->buf + 10, &one, 2);		/* num_buffers */
		vq_copy_to(c, 0, n->buf, r);
		vq_push(&dev->vq[Q_RX], c->head, r);
		n->rx_frames++;
		pushed = 1;
	}
	if (pushed)
		virtio_queue_done(dev, Q_RX);
	pthread_mutex_unlock(&dev->mtx);
}

static void
net_notify(struct vdev *dev, unsigned int q)
{
	struct net	*n = dev->softc;

	if (q == Q_TX)
		net_tx(n);
	else if (q == Q_RX)
		vm_poll_enable(dev->vm, n->pollidx, 1);
}

struct vdev *
net_create(struct vm *vm, int tapfd, const uint8_t mac[6])
{
	struct net	*n;
	int		 hdr = NET_HDR_LEN, fl;

	if (ioctl(tapfd, TUNSETVNETHDRSZ, &hdr) == -1)
		log_warn("virtio-net: TUNSETVNETHDRSZ");
	/*
	 * net_tap_cb reads until the tap is empty: a blocking read would
	 * stop the io thread, with the device's lock held, at the first
	 * frame it does not have (lensnetd hands over a blocking tap)
	 */
	if ((fl = fcntl(tapfd, F_GETFL)) == -1 ||
	    fcntl(tapfd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("virtio-net: O_NONBLOCK on the tap");
	if ((n = calloc(1, sizeof(*n))) == NULL)
		fatal("%s", __func__);
	n->tapfd = tapfd;
	memcpy(n->mac, mac, 6);
	n->pollidx = vm_add_poll(vm, tapfd, POLLIN, net_tap_cb, n);
	vm_poll_enable(vm, n->pollidx, 0);
	n->dev = virtio_attach(vm, &net_ops, (1ULL << NET_F_MAC) |
	    (1ULL << NET_F_STATUS), n);
	return (n->dev);
}
