/*
 * virtio-blk (device id 2) on a backing fd: IN, OUT, FLUSH, GET_ID.
 * A read-only disk offers VIRTIO_BLK_F_RO and fails writes with IOERR.
 * Every request is checked against the capacity; a request whose shape
 * is wrong (no header, no status byte) breaks the protocol and the
 * device needs a reset.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"
#include "vm_virtio.h"

#define BLK_QSIZE		256
#define BLK_SEG_MAX		(VQ_MAXSEG - 2)
#define BLK_F_SEG_MAX		2
#define BLK_F_RO		5
#define BLK_F_BLK_SIZE		6
#define BLK_F_FLUSH		9

#define BLK_T_IN		0
#define BLK_T_OUT		1
#define BLK_T_FLUSH		4
#define BLK_T_GET_ID		8
#define BLK_S_OK		0
#define BLK_S_IOERR		1
#define BLK_S_UNSUPP		2
#define BLK_ID_BYTES		20

struct blk {
	int		 fd;
	int		 ro;
	uint64_t	 capacity;	/* 512-byte sectors */
	char		 id[BLK_ID_BYTES];
	struct vq_chain	 chain;
	uint64_t	 reads, writes, errors;
};

struct blk_hdr {
	uint32_t	type;
	uint32_t	reserved;
	uint64_t	sector;
};

static void	blk_notify(struct vdev *, unsigned int);
static void	blk_cfg_read(struct vdev *, uint32_t, uint8_t *, int);

static const struct vdev_ops blk_ops = {
	.name = "virtio-blk",
	.devid = VIRTIO_ID_BLOCK,
	.nqueues = 1,
	.qmax = BLK_QSIZE,
	.cfgsize = 24,
	.cfg_read = blk_cfg_read,
	.notify = blk_notify,
};

static void
blk_cfg_read(struct vdev *dev, uint32_t off, uint8_t *data, int len)
{
	struct blk	*b = dev->softc;
	uint8_t		 cfg[24];
	uint32_t	 v;

	memset(cfg, 0, sizeof(cfg));
	memcpy(cfg, &b->capacity, 8);		/* capacity */
	v = BLK_SEG_MAX;
	memcpy(cfg + 12, &v, 4);		/* seg_max */
	v = 512;
	memcpy(cfg + 20, &v, 4);		/* blk_size */
	memcpy(data, cfg + off, len);
}

/* Data transfer between the chain's data iovecs and the disk. */
static int
blk_rw(struct blk *b, struct vq_chain *c, const struct blk_hdr *h,
    uint32_t *written)
{
	unsigned int	 i;
	uint64_t	 off, total = 0, skip = sizeof(*h);
	int		 in = h->type == BLK_T_IN;
	uint8_t		*p;
	uint32_t	 len;
	ssize_t		 n;

	/* data: readable after the header (OUT) or writable but the
	 * final status byte (IN) */
	for (i = 0; i < c->niov; i++) {
		if (c->iov[i].write != in)
			continue;
		total += c->iov[i].len;
	}
	if (in)
		total -= 1;
	else
		total -= skip;
	if (total % 512 != 0 || h->sector > b->capacity ||
	    total / 512 > b->capacity - h->sector) {
		log_debug("virtio-blk: %s of %llu bytes at sector %llu "
		    "outside %llu sectors or not whole sectors",
		    in ? "read" : "write", (unsigned long long)total,
		    (unsigned long long)h->sector,
		    (unsigned long long)b->capacity);
		return (BLK_S_IOERR);
	}
	off = h->sector * 512;
	for (i = 0; i < c->niov && total > 0; i++) {
		if (c->iov[i].write != in)
			continue;
		p = c->iov[i].base;
		len = c->iov[i].len;
		if (!in) {
			if (skip >= len) {
				skip -= len;
				continue;
			}
			p += skip;
			len -= skip;
			skip = 0;
		}
		if (len > total)
			len = total;
		while (len > 0) {
			n = in ? pread(b->fd, p, len, off) :
			    pwrite(b->fd, p, len, off);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1) {
				log_warn("virtio-blk: %s at %llu",
				    in ? "pread" : "pwrite",
				    (unsigned long long)off);
				return (BLK_S_IOERR);
			}
			if (n == 0) {
				if (!in)
					return (BLK_S_IOERR);
				memset(p, 0, len);	/* past EOF: zeros */
				n = len;
			}
			p += n;
			len -= n;
			off += n;
			total -= n;
			if (in)
				*written += n;
		}
	}
	return (BLK_S_OK);
}

static void
blk_notify(struct vdev *dev, unsigned int q)
{
	struct blk	*b = dev->softc;
	struct vq_chain	*c = &b->chain;
	struct blk_hdr	 h;
	uint32_t	 written;
	uint8_t		 status;

	while (virtio_pop(dev, q, c) == 1) {
		if (c->rlen < sizeof(h) || c->wlen < 1 ||
		    vq_copy_from(c, 0, &h, sizeof(h)) != sizeof(h)) {
			virtio_needs_reset(dev, q, "request without a 16-byte "
			    "header or a status byte");
			break;
		}
		written = 0;
		switch (h.type) {
		case BLK_T_IN:
			status = blk_rw(b, c, &h, &written);
			b->reads++;
			break;
		case BLK_T_OUT:
			if (b->ro)
				status = BLK_S_IOERR;
			else
				status = blk_rw(b, c, &h, &written);
			b->writes++;
			break;
		case BLK_T_FLUSH:
			status = BLK_S_OK;
			if (!b->ro && fdatasync(b->fd) == -1) {
				log_warn("virtio-blk: fdatasync");
				status = BLK_S_IOERR;
			}
			break;
		case BLK_T_GET_ID:
			written = vq_copy_to(c, 0, b->id,
			    c->wlen - 1 < BLK_ID_BYTES ? c->wlen - 1 :
			    BLK_ID_BYTES);
			status = BLK_S_OK;
			break;
		default:
			status = BLK_S_UNSUPP;
			break;
		}
		if (status != BLK_S_OK)
			b->errors++;
		/* the status byte is the last writable byte */
		vq_copy_to(c, c->wlen - 1, &status, 1);
		vq_push(&dev->vq[q], c->head, written + 1);
	}
	virtio_queue_done(dev, q);
}

struct vdev *
blk_create(struct vm *vm, int fd, int ro, char *err, size_t errlen)
{
	struct blk	*b;
	struct stat	 st;
	uint64_t	 features;
	static int	 n;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "fstat: %s", strerror(errno));
		return (NULL);
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "not a regular file or block device");
		return (NULL);
	}
	if (S_ISREG(st.st_mode) && st.st_size % 512 != 0) {
		snprintf(err, errlen, "size %lld is not a multiple of 512",
		    (long long)st.st_size);
		return (NULL);
	}
	if ((b = calloc(1, sizeof(*b))) == NULL)
		fatal("%s", __func__);
	b->fd = fd;
	b->ro = ro;
	b->capacity = st.st_size / 512;
	snprintf(b->id, sizeof(b->id), "lens-vd%c", 'a' + (n++ % 26));
	features = (1ULL << BLK_F_SEG_MAX) | (1ULL << BLK_F_BLK_SIZE) |
	    (1ULL << BLK_F_FLUSH);
	if (ro)
		features |= 1ULL << BLK_F_RO;
	return (virtio_attach(vm, &blk_ops, features, b));
}
