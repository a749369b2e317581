/*
 * virtio-mmio transport, version 2 register layout (virtio 1.x 4.2.2).
 * A device model fills a vdev_ops and calls virtio_attach(); the
 * transport does feature negotiation (VIRTIO_F_VERSION_1 required), the
 * status state machine, queue setup with size checks, ioeventfd on
 * QueueNotify and irqfd for the interrupt.  All state of a device is
 * under its mutex: MMIO exits come from vCPU threads, backend work from
 * the I/O thread.
 */
#ifndef LENSVMM_VM_VIRTIO_H
#define LENSVMM_VM_VIRTIO_H

#include <pthread.h>
#include <stdint.h>

#include "vm.h"
#include "vm_virtq.h"

#define VIRTIO_MMIO_MAGIC		0x000
#define VIRTIO_MMIO_VERSION		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL	0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL	0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_AVAIL_LOW	0x090
#define VIRTIO_MMIO_QUEUE_AVAIL_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_USED_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_USED_HIGH	0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

#define VIRTIO_MMIO_MAGIC_VALUE		0x74726976	/* "virt" */
#define VIRTIO_MMIO_VENDOR		0x534e454c	/* "LENS" */

#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

#define VIRTIO_INT_USED			0x1
#define VIRTIO_INT_CONFIG		0x2

#define VIRTIO_F_RING_INDIRECT_DESC	28
#define VIRTIO_F_RING_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32

#define VIRTIO_ID_NET			1
#define VIRTIO_ID_BLOCK			2
#define VIRTIO_ID_CONSOLE		3
#define VIRTIO_ID_RNG			4

struct vdev;

struct vdev_ops {
	const char	*name;
	uint32_t	 devid;
	uint16_t	 nqueues;
	uint16_t	 qmax;
	uint32_t	 cfgsize;
	/* config space: off + len <= cfgsize checked by the transport */
	void	(*cfg_read)(struct vdev *, uint32_t off, uint8_t *, int);
	void	(*cfg_write)(struct vdev *, uint32_t off, const uint8_t *,
		    int);
	/* the driver notified queue q (device locked) */
	void	(*notify)(struct vdev *, unsigned int q);
	/* DRIVER_OK was set (device locked) */
	void	(*activate)(struct vdev *);
	/* status written 0 (device locked) */
	void	(*reset)(struct vdev *);
};

struct vdev_notify {
	struct vdev		*dev;
	unsigned int		 q;
};

struct vdev {
	struct vm		*vm;
	const struct vdev_ops	*ops;
	void			*softc;
	pthread_mutex_t		 mtx;
	unsigned int		 index;
	uint64_t		 base;
	int			 gsi;
	int			 irqfd;
	uint64_t		 host_features;
	uint64_t		 driver_features;
	uint32_t		 dfsel;
	uint32_t		 gfsel;
	uint32_t		 qsel;
	uint32_t		 status;
	uint32_t		 isr;
	uint32_t		 cfg_generation;
	struct virtq		 vq[VM_MAXQUEUES];
	int			 notifyfd[VM_MAXQUEUES];
	struct vdev_notify	 notifyarg[VM_MAXQUEUES];
	uint32_t		 queue_num[VM_MAXQUEUES];
	int			 live;		/* DRIVER_OK and not broken */
	uint64_t		 bad_chains;	/* protocol errors seen */
	unsigned int		 logged;	/* of them, logged */
};

struct vdev	*virtio_attach(struct vm *, const struct vdev_ops *,
		    uint64_t features, void *softc);
void		 virtio_detach(struct vdev *);
void		 virtio_mmio(struct vdev *, uint64_t off, uint8_t *data,
		    int len, int write);
void		 virtio_interrupt(struct vdev *, uint32_t why);
void		 virtio_queue_done(struct vdev *, unsigned int q);
void		 virtio_needs_reset(struct vdev *, unsigned int q,
		    const char *why);
int		 virtio_pop(struct vdev *, unsigned int q, struct vq_chain *);
int		 virtio_feature(const struct vdev *, unsigned int bit);

#endif
