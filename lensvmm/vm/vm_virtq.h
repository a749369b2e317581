/*
 * Split virtqueues (virtio 1.x, section 2.7) as seen by the device: the
 * descriptor-chain walker and the used-ring writer.  Everything here is
 * pure memory work on a guest memory image, so it is unit tested and
 * fuzzed without KVM.  Every address and length the guest supplies is
 * checked against guest memory before it is used; a chain that is
 * malformed in any way makes vq_pop() fail with a reason, and the
 * caller then marks the device DEVICE_NEEDS_RESET and stops using the
 * queue (vq->broken).
 */
#ifndef LENSVMM_VM_VIRTQ_H
#define LENSVMM_VM_VIRTQ_H

#include <stddef.h>
#include <stdint.h>

#define VQ_MAXSIZE		1024	/* largest queue a device offers */
#define VQ_MAXSEG		VQ_MAXSIZE	/* iovecs in one chain */
#define VQ_MAXINDIRECT		VQ_MAXSIZE	/* entries of an indirect table */

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	1

#define GMEM_HOLE_START		0xc0000000ULL	/* MMIO hole below 4 GiB */
#define GMEM_HIGH_START		0x100000000ULL

/*
 * Guest RAM: one host mapping of `size' bytes; guest physical
 * [0, lowsize) is base[0, lowsize), [4 GiB, 4 GiB + size - lowsize) is
 * base[lowsize, size).  lowsize == size when there is no high part.
 */
struct gmem {
	uint8_t		*base;
	uint64_t	 size;
	uint64_t	 lowsize;
};

struct vring_desc {
	uint64_t	addr;
	uint32_t	len;
	uint16_t	flags;
	uint16_t	next;
};

struct vq_iov {
	uint8_t		*base;
	uint32_t	 len;
	int		 write;		/* device-writable */
};

struct vq_chain {
	uint16_t	 head;
	unsigned int	 niov;
	uint64_t	 rlen;		/* device-readable bytes */
	uint64_t	 wlen;		/* device-writable bytes */
	struct vq_iov	 iov[VQ_MAXSEG];
};

struct virtq {
	uint16_t	 size;		/* QueueNum, a power of 2 */
	uint64_t	 desc_gpa;
	uint64_t	 avail_gpa;
	uint64_t	 used_gpa;
	int		 event_idx;	/* VIRTIO_RING_F_EVENT_IDX negotiated */
	int		 ready;
	int		 broken;
	uint16_t	 last_avail;	/* next avail entry to consume */
	uint16_t	 used_idx;	/* our copy of used->idx */
	uint16_t	 signalled_used; /* used->idx at the last interrupt */
	int		 signalled_valid;
	/* host pointers, valid once vq_start() succeeded */
	struct vring_desc *desc;
	volatile uint16_t *avail;	/* flags, idx, ring[size], used_event */
	volatile uint16_t *used;	/* flags, idx, then elements */
};

void	*gmem_ptr(const struct gmem *, uint64_t gpa, uint64_t len);
int	 vq_size_ok(uint32_t size, uint32_t max);
int	 vq_start(struct virtq *, const struct gmem *, char *err, size_t);
int	 vq_pop(struct virtq *, const struct gmem *, struct vq_chain *,
	    char *err, size_t);
int	 vq_pending(struct virtq *);
void	 vq_push(struct virtq *, uint16_t head, uint32_t len);
int	 vq_should_notify(struct virtq *);
void	 vq_disable_notify(struct virtq *, int);
int	 vq_need_event(uint16_t event, uint16_t newidx, uint16_t oldidx);
size_t	 vq_copy_from(const struct vq_chain *, size_t off, void *, size_t);
size_t	 vq_copy_to(const struct vq_chain *, size_t off, const void *,
	    size_t);

#endif
