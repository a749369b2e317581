/*
 * virtio-console (device id 3) with VIRTIO_CONSOLE_F_MULTIPORT.
 *	port 0	the console (hvc0): output to the console log
 *	port 1	"lens.control": the lens-init framed protocol, bridged to
 *		a socketpair fd exactly like the jail backend's channel
 * Queues: 0/1 port 0 rx/tx, 2/3 control rx/tx, 4/5 port 1 rx/tx.
 * Control: the driver sends DEVICE_READY; we answer DEVICE_ADD for both
 * ports; on PORT_READY we send CONSOLE_PORT (port 0) or PORT_NAME
 * (port 1), then PORT_OPEN.  The driver's PORT_OPEN is recorded.
 */
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"
#include "vm_virtio.h"

#define CONS_QSIZE		128
#define CONS_NPORTS		2
#define CONS_F_MULTIPORT	1
#define CONS_CONTROL_NAME	"lens.control"

#define Q_RX0			0
#define Q_TX0			1
#define Q_CRX			2
#define Q_CTX			3
#define Q_RX1			4
#define Q_TX1			5

#define DEVICE_READY		0
#define DEVICE_ADD		1
#define PORT_READY		3
#define CONSOLE_PORT		4
#define PORT_OPEN		6
#define PORT_NAME		7

#define MAXPENDING		16

struct cons_ctl {
	uint32_t	id;
	uint16_t	event;
	uint16_t	value;
};

struct console {
	struct vdev	*dev;
	int		 logfd;
	int		 ctlfd;
	int		 pollidx;
	int		 guest_open[CONS_NPORTS];
	struct {
		struct cons_ctl	 msg;
		int		 named;
	}		 pending[MAXPENDING];
	unsigned int	 npending;
	struct vq_chain	 chain;
	uint8_t		 buf[64 * 1024];
};

static void	cons_notify(struct vdev *, unsigned int);
static void	cons_cfg_read(struct vdev *, uint32_t, uint8_t *, int);
static void	cons_reset(struct vdev *);

static const struct vdev_ops cons_ops = {
	.name = "virtio-console",
	.devid = VIRTIO_ID_CONSOLE,
	.nqueues = 6,
	.qmax = CONS_QSIZE,
	.cfgsize = 12,
	.cfg_read = cons_cfg_read,
	.notify = cons_notify,
	.reset = cons_reset,
};

static void
cons_cfg_read(struct vdev *dev, uint32_t off, uint8_t *data, int len)
{
	uint8_t		 cfg[12];
	uint32_t	 n = CONS_NPORTS;

	(void)dev;
	memset(cfg, 0, sizeof(cfg));
	cfg[0] = 80;			/* cols */
	cfg[2] = 25;			/* rows */
	memcpy(cfg + 4, &n, 4);		/* max_nr_ports */
	memcpy(data, cfg + off, len);
}

static void
cons_reset(struct vdev *dev)
{
	struct console	*c = dev->softc;

	c->npending = 0;
	memset(c->guest_open, 0, sizeof(c->guest_open));
	if (c->ctlfd != -1)
		vm_poll_enable(dev->vm, c->pollidx, 0);
}

static void
queue_ctl(struct console *c, uint32_t id, uint16_t event, uint16_t value,
    int named)
{
	if (c->npending >= MAXPENDING) {
		log_warnx("virtio-console: control queue full, message "
		    "dropped");
		return;
	}
	c->pending[c->npending].msg.id = id;
	c->pending[c->npending].msg.event = event;
	c->pending[c->npending].msg.value = value;
	c->pending[c->npending].named = named;
	c->npending++;
}

/* Send queued control messages while the driver has buffers. */
static void
flush_ctl(struct console *c)
{
	struct vdev	*dev = c->dev;
	struct vq_chain	*ch = &c->chain;
	uint8_t		 msg[8 + sizeof(CONS_CONTROL_NAME)];
	size_t		 len;
	int		 pushed = 0;

	while (c->npending > 0) {
		if (virtio_pop(dev, Q_CRX, ch) != 1)
			break;
		memcpy(msg, &c->pending[0].msg, 8);
		len = 8;
		if (c->pending[0].named) {
			memcpy(msg + 8, CONS_CONTROL_NAME,
			    sizeof(CONS_CONTROL_NAME) - 1);
			len += sizeof(CONS_CONTROL_NAME) - 1;
		}
		if (ch->wlen < len) {
			virtio_needs_reset(dev, Q_CRX, "control rx buffer "
			    "too small");
			return;
		}
		vq_copy_to(ch, 0, msg, len);
		vq_push(&dev->vq[Q_CRX], ch->head, len);
		pushed = 1;
		c->npending--;
		memmove(&c->pending[0], &c->pending[1],
		    c->npending * sizeof(c->pending[0]));
	}
	if (pushed)
		virtio_queue_done(dev, Q_CRX);
}

static void
handle_ctl(struct console *c, const struct cons_ctl *m)
{
	switch (m->event) {
	case DEVICE_READY:
		if (m->value != 1) {
			log_warnx("virtio-console: driver failed to set up");
			break;
		}
		queue_ctl(c, 0, DEVICE_ADD, 0, 0);
		queue_ctl(c, 1, DEVICE_ADD, 0, 0);
		break;
	case PORT_READY:
		if (m->id >= CONS_NPORTS || m->value != 1)
			break;
		if (m->id == 0)
			queue_ctl(c, 0, CONSOLE_PORT, 1, 0);
		else
			queue_ctl(c, 1, PORT_NAME, 0, 1);
		queue_ctl(c, m->id, PORT_OPEN, 1, 0);
		break;
	case PORT_OPEN:
		if (m->id < CONS_NPORTS)
			c->guest_open[m->id] = m->value != 0;
		break;
	default:
		break;		/* other events from a driver: ignored */
	}
}

static void
write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t	 n;

	while (len > 0 && fd != -1) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			struct pollfd pfd = { fd, POLLOUT, 0 };

			if (poll(&pfd, 1, 1000) <= 0)
				break;
			continue;
		}
		if (n <= 0) {
			log_warn("virtio-console: write");
			break;
		}
		p += n;
		len -= n;
	}
}

static void
drain_tx(struct console *c, unsigned int q, int fd)
{
	struct vdev	*dev = c->dev;
	struct vq_chain	*ch = &c->chain;
	size_t		 off, n;

	while (virtio_pop(dev, q, ch) == 1) {
		for (off = 0; off < ch->rlen; off += n) {
			n = vq_copy_from(ch, off, c->buf, sizeof(c->buf));
			if (n == 0)
				break;
			write_all(fd, c->buf, n);
		}
		vq_push(&dev->vq[q], ch->head, 0);
	}
	virtio_queue_done(dev, q);
}

static void
cons_notify(struct vdev *dev, unsigned int q)
{
	struct console	*c = dev->softc;
	struct cons_ctl	 m;

	switch (q) {
	case Q_TX0:
		drain_tx(c, q, c->logfd);
		break;
	case Q_TX1:
		drain_tx(c, q, c->ctlfd);
		break;
	case Q_CTX:
		while (virtio_pop(dev, q, &c->chain) == 1) {
			if (vq_copy_from(&c->chain, 0, &m, sizeof(m)) ==
			    sizeof(m))
				handle_ctl(c, &m);
			vq_push(&dev->vq[q], c->chain.head, 0);
		}
		virtio_queue_done(dev, q);
		flush_ctl(c);
		break;
	case Q_CRX:
		flush_ctl(c);
		break;
	case Q_RX1:
		if (c->ctlfd != -1)
			vm_poll_enable(dev->vm, c->pollidx, 1);
		break;
	default:
		break;		/* port 0 rx: no console input */
	}
}

/* The control socket has data: move it into port 1's rx buffers. */
static void
cons_ctlfd_cb(void *arg, int fd, short revents)
{
	struct console	*c = arg;
	struct vdev	*dev = c->dev;
	struct vq_chain	*ch = &c->chain;
	struct iovec	 iov[64];
	unsigned int	 i, n;
	ssize_t		 r;

	(void)revents;
	pthread_mutex_lock(&dev->mtx);
	if (!dev->live || !dev->vq[Q_RX1].ready ||
	    !vq_pending(&dev->vq[Q_RX1])) {
		vm_poll_enable(dev->vm, c->pollidx, 0);
		pthread_mutex_unlock(&dev->mtx);
		return;
	}
	if (virtio_pop(dev, Q_RX1, ch) != 1) {
		pthread_mutex_unlock(&dev->mtx);
		return;
	}
	for (i = n = 0; i < ch->niov && n < 64; i++)
		if (ch->iov[i].write) {
			iov[n].iov_base = ch->iov[i].base;
			iov[n++].iov_len = ch->iov[i].len;
		}
	r = n > 0 ? readv(fd, iov, n) : 0;
	if (r <= 0) {
		if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			vm_poll_enable(dev->vm, c->pollidx, 0);
			if (r == 0)
				log_debug("virtio-console: control peer "
				    "closed");
		}
		r = 0;
	}
	vq_push(&dev->vq[Q_RX1], ch->head, r);
	virtio_queue_done(dev, Q_RX1);
	pthread_mutex_unlock(&dev->mtx);
}

struct vdev *
console_create(struct vm *vm, int logfd, int ctlfd)
{
	struct console	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	c->logfd = logfd;
	c->ctlfd = ctlfd;
	c->pollidx = -1;
	c->dev = virtio_attach(vm, &cons_ops, 1ULL << CONS_F_MULTIPORT, c);
	if (ctlfd != -1) {
		c->pollidx = vm_add_poll(vm, ctlfd, POLLIN, cons_ctlfd_cb, c);
		vm_poll_enable(vm, c->pollidx, 0);
	}
	return (c->dev);
}
