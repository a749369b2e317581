/*
 * virtio-mmio transport; see vm_virtio.h.
 */
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"
#include "vm_virtio.h"

static void	 virtio_reset(struct vdev *);
static void	 virtio_notify_cb(void *, int, short);

#define VIRTIO_MAXLOG	8	/* protocol errors logged per device */

int
virtio_feature(const struct vdev *dev, unsigned int bit)
{
	return ((dev->driver_features >> bit) & 1);
}

struct vdev *
virtio_attach(struct vm *vm, const struct vdev_ops *ops, uint64_t features,
    void *softc)
{
	struct vdev		*dev;
	struct kvm_irqfd	 irqfd;
	struct kvm_ioeventfd	 ioev;
	unsigned int		 q;

	if (vm->ndev >= VM_MAXDEVS || ops->nqueues > VM_MAXQUEUES)
		fatalx("%s: too many devices or queues", ops->name);
	if ((dev = calloc(1, sizeof(*dev))) == NULL)
		fatal("%s", __func__);
	dev->vm = vm;
	dev->ops = ops;
	dev->softc = softc;
	dev->index = vm->ndev;
	dev->base = VM_MMIO_BASE + VM_MMIO_SIZE * dev->index;
	dev->gsi = VM_MMIO_GSI + dev->index;
	dev->host_features = features | (1ULL << VIRTIO_F_VERSION_1) |
	    (1ULL << VIRTIO_F_RING_EVENT_IDX) |
	    (1ULL << VIRTIO_F_RING_INDIRECT_DESC);
	pthread_mutex_init(&dev->mtx, NULL);

	dev->irqfd = -1;
	if (vm->vm_fd != -1) {
		if ((dev->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
			fatal("%s: eventfd", ops->name);
		memset(&irqfd, 0, sizeof(irqfd));
		irqfd.fd = dev->irqfd;
		irqfd.gsi = dev->gsi;
		if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) == -1)
			fatal("%s: KVM_IRQFD gsi %d", ops->name, dev->gsi);
	}
	for (q = 0; q < VM_MAXQUEUES; q++)
		dev->notifyfd[q] = -1;
	for (q = 0; q < ops->nqueues && vm->vm_fd != -1; q++) {
		if ((dev->notifyfd[q] = eventfd(0,
		    EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
			fatal("%s: eventfd", ops->name);
		memset(&ioev, 0, sizeof(ioev));
		ioev.addr = dev->base + VIRTIO_MMIO_QUEUE_NOTIFY;
		ioev.len = 4;
		ioev.datamatch = q;
		ioev.fd = dev->notifyfd[q];
		ioev.flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &ioev) == -1)
			fatal("%s: KVM_IOEVENTFD queue %u", ops->name, q);
		dev->notifyarg[q].dev = dev;
		dev->notifyarg[q].q = q;
		vm_add_poll(vm, dev->notifyfd[q], POLLIN, virtio_notify_cb,
		    &dev->notifyarg[q]);
	}
	vm->dev[vm->ndev++] = dev;
	return (dev);
}

void
virtio_detach(struct vdev *dev)
{
	unsigned int	 q;

	for (q = 0; q < VM_MAXQUEUES; q++)
		if (dev->notifyfd[q] != -1)
			close(dev->notifyfd[q]);
	if (dev->irqfd != -1)
		close(dev->irqfd);
	pthread_mutex_destroy(&dev->mtx);
	free(dev->softc);
	free(dev);
}

static void
virtio_notify_cb(void *arg, int fd, short revents)
{
	struct vdev_notify	*na = arg;
	struct vdev		*dev = na->dev;
	uint64_t		 v;

	(void)revents;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("%s: notify eventfd", dev->ops->name);
	pthread_mutex_lock(&dev->mtx);
	if (dev->live && dev->vq[na->q].ready && !dev->vq[na->q].broken)
		dev->ops->notify(dev, na->q);
	pthread_mutex_unlock(&dev->mtx);
}

/* Raise the device's interrupt (device locked). */
void
virtio_interrupt(struct vdev *dev, uint32_t why)
{
	uint64_t	 one = 1;

	dev->isr |= why;
	if (dev->irqfd != -1) {
		if (write(dev->irqfd, &one, sizeof(one)) == -1 &&
		    errno != EAGAIN)
			log_warn("%s: irqfd", dev->ops->name);
	}
}

/* After used-ring updates on queue q: interrupt if the driver wants it. */
void
virtio_queue_done(struct vdev *dev, unsigned int q)
{
	if (vq_should_notify(&dev->vq[q]))
		virtio_interrupt(dev, VIRTIO_INT_USED);
}

/*
 * The driver broke the protocol: stop using the queue, set
 * DEVICE_NEEDS_RESET and tell the driver with a config interrupt
 * (virtio 1.x 2.1.2).  Only a reset brings the device back.
 */
void
virtio_needs_reset(struct vdev *dev, unsigned int q, const char *why)
{
	unsigned int	 i;

	dev->bad_chains++;
	if (!(dev->status & VIRTIO_STATUS_NEEDS_RESET)) {
		/* a guest can repeat this forever: log the first few */
		if (dev->logged < VIRTIO_MAXLOG)
			log_warnx("%s: queue %u: %s; device needs reset%s",
			    dev->ops->name, q, why,
			    dev->logged + 1 == VIRTIO_MAXLOG ?
			    " (further reports suppressed)" : "");
		dev->logged++;
	}
	for (i = 0; i < dev->ops->nqueues; i++)
		dev->vq[i].broken = 1;
	dev->live = 0;
	dev->status |= VIRTIO_STATUS_NEEDS_RESET;
	virtio_interrupt(dev, VIRTIO_INT_CONFIG);
}

/* vq_pop with the failure handling every device wants. */
int
virtio_pop(struct vdev *dev, unsigned int q, struct vq_chain *c)
{
	char	 err[160];
	int	 rv;

	if (!dev->live || q >= dev->ops->nqueues)
		return (0);
	rv = vq_pop(&dev->vq[q], &dev->vm->mem, c, err, sizeof(err));
	if (rv == -1) {
		virtio_needs_reset(dev, q, err);
		return (0);
	}
	return (rv);
}

static void
virtio_reset(struct vdev *dev)
{
	unsigned int	 q;

	if (dev->ops->reset != NULL)
		dev->ops->reset(dev);
	for (q = 0; q < VM_MAXQUEUES; q++) {
		memset(&dev->vq[q], 0, sizeof(dev->vq[q]));
		dev->queue_num[q] = 0;
	}
	dev->driver_features = 0;
	dev->dfsel = dev->gfsel = dev->qsel = 0;
	dev->status = 0;
	dev->isr = 0;
	dev->live = 0;
}

static void
virtio_set_status(struct vdev *dev, uint32_t val)
{
	uint32_t	 old = dev->status, set;
	uint64_t	 want;
	unsigned int	 q;

	if (val == 0) {
		virtio_reset(dev);
		return;
	}
	val &= 0xff & ~VIRTIO_STATUS_NEEDS_RESET;	/* device-only bit */
	if (old & VIRTIO_STATUS_NEEDS_RESET) {
		/* only FAILED or a reset are accepted now */
		dev->status |= val & VIRTIO_STATUS_FAILED;
		return;
	}
	if ((val & old) != (old & ~VIRTIO_STATUS_NEEDS_RESET)) {
		log_debug("%s: driver cleared status bits (%#x -> %#x), "
		    "ignored", dev->ops->name, old, val);
		return;
	}
	set = val & ~old;
	if (set & VIRTIO_STATUS_FEATURES_OK) {
		want = dev->driver_features;
		if (!(old & VIRTIO_STATUS_DRIVER) ||
		    (want & ~dev->host_features) != 0 ||
		    !(want & (1ULL << VIRTIO_F_VERSION_1))) {
			log_debug("%s: features %#llx not accepted (offered "
			    "%#llx, VERSION_1 required)", dev->ops->name,
			    (unsigned long long)want,
			    (unsigned long long)dev->host_features);
			val &= ~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if ((set & VIRTIO_STATUS_DRIVER_OK) &&
	    !(val & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_needs_reset(dev, 0, "DRIVER_OK without FEATURES_OK");
		return;
	}
	dev->status = val | (old & VIRTIO_STATUS_NEEDS_RESET);
	if (set & VIRTIO_STATUS_FEATURES_OK && val & VIRTIO_STATUS_FEATURES_OK)
		for (q = 0; q < VM_MAXQUEUES; q++)
			dev->vq[q].event_idx =
			    virtio_feature(dev, VIRTIO_F_RING_EVENT_IDX);
	if ((set & VIRTIO_STATUS_DRIVER_OK) && !(val & VIRTIO_STATUS_FAILED)) {
		dev->live = 1;
		if (dev->ops->activate != NULL)
			dev->ops->activate(dev);
	}
	if (val & VIRTIO_STATUS_FAILED)
		dev->live = 0;
}

static void
virtio_queue_ready(struct vdev *dev, uint32_t val)
{
	struct virtq	*vq;
	char		 err[160];
	uint32_t	 q = dev->qsel;

	if (q >= dev->ops->nqueues)
		return;
	vq = &dev->vq[q];
	if (val == 0) {
		vq->ready = 0;
		return;
	}
	if (vq->ready)
		return;
	if (!(dev->status & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_needs_reset(dev, q, "QueueReady before FEATURES_OK");
		return;
	}
	if (!vq_size_ok(dev->queue_num[q], dev->ops->qmax)) {
		snprintf(err, sizeof(err), "QueueNum %u is not a power of 2 "
		    "in 1..%u", dev->queue_num[q], dev->ops->qmax);
		virtio_needs_reset(dev, q, err);
		return;
	}
	vq->size = dev->queue_num[q];
	vq->event_idx = virtio_feature(dev, VIRTIO_F_RING_EVENT_IDX);
	if (vq_start(vq, &dev->vm->mem, err, sizeof(err)) == -1) {
		virtio_needs_reset(dev, q, err);
		return;
	}
}

static void
set_half(uint64_t *v, int high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*v = (*v & ~0xffffffffULL) | val;
}

static uint32_t
reg_read(struct vdev *dev, uint64_t off)
{
	uint32_t	 q = dev->qsel;

	switch (off) {
	case VIRTIO_MMIO_MAGIC:
		return (VIRTIO_MMIO_MAGIC_VALUE);
	case VIRTIO_MMIO_VERSION:
		return (2);
	case VIRTIO_MMIO_DEVICE_ID:
		return (dev->ops->devid);
	case VIRTIO_MMIO_VENDOR_ID:
		return (VIRTIO_MMIO_VENDOR);
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (dev->dfsel > 1)
			return (0);
		return (dev->host_features >> (32 * dev->dfsel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return (q < dev->ops->nqueues ? dev->ops->qmax : 0);
	case VIRTIO_MMIO_QUEUE_READY:
		return (q < dev->ops->nqueues ? dev->vq[q].ready : 0);
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return (dev->isr);
	case VIRTIO_MMIO_STATUS:
		return (dev->status);
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return (dev->cfg_generation);
	case VIRTIO_MMIO_QUEUE_NUM:
		return (q < dev->ops->nqueues ? dev->queue_num[q] : 0);
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (q >= dev->ops->nqueues)
			return (0);
		return (dev->vq[q].desc_gpa >>
		    (off == VIRTIO_MMIO_QUEUE_DESC_HIGH ? 32 : 0));
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (q >= dev->ops->nqueues)
			return (0);
		return (dev->vq[q].avail_gpa >>
		    (off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH ? 32 : 0));
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (q >= dev->ops->nqueues)
			return (0);
		return (dev->vq[q].used_gpa >>
		    (off == VIRTIO_MMIO_QUEUE_USED_HIGH ? 32 : 0));
	default:
		return (0);
	}
}

static void
reg_write(struct vdev *dev, uint64_t off, uint32_t val)
{
	uint32_t	 q = dev->qsel;
	struct virtq	*vq = q < dev->ops->nqueues ? &dev->vq[q] : NULL;
	int		 setup;

	/* queue registers only while the queue is not ready */
	setup = vq != NULL && !vq->ready;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		dev->dfsel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		dev->gfsel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (dev->gfsel > 1 || !(dev->status & VIRTIO_STATUS_DRIVER) ||
		    (dev->status & VIRTIO_STATUS_FEATURES_OK))
			break;
		set_half(&dev->driver_features, dev->gfsel, val);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		dev->qsel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (setup)
			dev->queue_num[q] = val;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		virtio_queue_ready(dev, val);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/*
		 * KVM's ioeventfd takes every valid notify; device work
		 * stays in the I/O thread (the vCPU threads' seccomp
		 * filter has no disk or network I/O).  Without KVM (the
		 * fuzzer) the device runs here.
		 */
		if (val >= dev->ops->nqueues)
			break;
		if (dev->notifyfd[val] != -1) {
			uint64_t one = 1;

			if (write(dev->notifyfd[val], &one,
			    sizeof(one)) == -1 && errno != EAGAIN)
				log_warn("%s: notify eventfd", dev->ops->name);
		} else if (dev->live && dev->vq[val].ready &&
		    !dev->vq[val].broken)
			dev->ops->notify(dev, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		dev->isr &= ~val;
		break;
	case VIRTIO_MMIO_STATUS:
		virtio_set_status(dev, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (setup)
			set_half(&vq->desc_gpa,
			    off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (setup)
			set_half(&vq->avail_gpa,
			    off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (setup)
			set_half(&vq->used_gpa,
			    off == VIRTIO_MMIO_QUEUE_USED_HIGH, val);
		break;
	default:
		break;		/* read-only or unknown: ignored */
	}
}

/*
 * An MMIO access at offset off of the device's window, from a vCPU.
 * Registers take aligned 32-bit accesses only; config space any width
 * inside the device's config size.  Anything else reads as zero and is
 * ignored on write.
 */
void
virtio_mmio(struct vdev *dev, uint64_t off, uint8_t *data, int len, int write)
{
	uint32_t	 val;

	pthread_mutex_lock(&dev->mtx);
	if (off >= VIRTIO_MMIO_CONFIG) {
		off -= VIRTIO_MMIO_CONFIG;
		if (len <= 0 || len > 8 || off >= dev->ops->cfgsize ||
		    (uint64_t)len > dev->ops->cfgsize - off) {
			if (!write)
				memset(data, 0, len);
		} else if (write) {
			if (dev->ops->cfg_write != NULL)
				dev->ops->cfg_write(dev, off, data, len);
		} else
			dev->ops->cfg_read(dev, off, data, len);
		pthread_mutex_unlock(&dev->mtx);
		return;
	}
	if (len != 4 || (off & 3) != 0) {
		if (!write)
			memset(data, 0, len);
		pthread_mutex_unlock(&dev->mtx);
		return;
	}
	if (write) {
		memcpy(&val, data, 4);
		reg_write(dev, off, val);
	} else {
		val = reg_read(dev, off);
		memcpy(data, &val, 4);
	}
	pthread_mutex_unlock(&dev->mtx);
}
