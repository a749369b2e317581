/*
 * Split virtqueue walker; see vm_virtq.h.  The guest may change ring
 * memory while we read it, so every field is read once into a local
 * before it is checked and used.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vm_virtq.h"

static int
vq_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
vq_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return (-1);
}

/*
 * The host address of guest physical [gpa, gpa + len), or NULL when any
 * byte of it is outside guest RAM (the MMIO hole included) or when
 * gpa + len wraps.  len 0 is allowed when gpa is inside RAM or at its
 * end.
 */
void *
gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	uint64_t	 highsize;

	if (gpa + len < gpa)
		return (NULL);
	if (gpa < m->lowsize) {
		if (len > m->lowsize - gpa)
			return (NULL);
		return (m->base + gpa);
	}
	if (gpa == m->lowsize && len == 0)
		return (m->base + gpa);
	highsize = m->size - m->lowsize;
	if (highsize == 0 || gpa < GMEM_HIGH_START)
		return (NULL);
	gpa -= GMEM_HIGH_START;
	if (gpa > highsize || len > highsize - gpa)
		return (NULL);
	return (m->base + m->lowsize + gpa);
}

int
vq_size_ok(uint32_t size, uint32_t max)
{
	return (size != 0 && size <= max && size <= VQ_MAXSIZE &&
	    (size & (size - 1)) == 0);
}

static uint16_t
ld16(volatile uint16_t *p)
{
	return (__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

/*
 * Check and map the three rings of a queue the driver made ready.
 * Alignment per virtio 1.x 2.7: descriptors 16, avail 2, used 4.
 */
int
vq_start(struct virtq *vq, const struct gmem *m, char *err, size_t errlen)
{
	uint64_t	 dlen, alen, ulen;

	if (!vq_size_ok(vq->size, VQ_MAXSIZE))
		return (vq_err(err, errlen, "queue size %u is not a power of "
		    "2 in 1..%u", vq->size, VQ_MAXSIZE));
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return (vq_err(err, errlen, "misaligned ring: desc %#llx "
		    "avail %#llx used %#llx",
		    (unsigned long long)vq->desc_gpa,
		    (unsigned long long)vq->avail_gpa,
		    (unsigned long long)vq->used_gpa));
	dlen = 16ULL * vq->size;
	alen = 6 + 2ULL * vq->size;
	ulen = 6 + 8ULL * vq->size;
	vq->desc = gmem_ptr(m, vq->desc_gpa, dlen);
	vq->avail = gmem_ptr(m, vq->avail_gpa, alen);
	vq->used = gmem_ptr(m, vq->used_gpa, ulen);
	if (vq->desc == NULL || vq->avail == NULL || vq->used == NULL) {
		vq->desc = NULL;
		vq->avail = vq->used = NULL;
		return (vq_err(err, errlen, "ring outside guest memory: desc "
		    "%#llx+%llu avail %#llx+%llu used %#llx+%llu",
		    (unsigned long long)vq->desc_gpa, (unsigned long long)dlen,
		    (unsigned long long)vq->avail_gpa,
		    (unsigned long long)alen,
		    (unsigned long long)vq->used_gpa,
		    (unsigned long long)ulen));
	}
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_valid = 0;
	vq->broken = 0;
	vq->ready = 1;
	return (0);
}

/* Entries the driver made available that we have not consumed. */
int
vq_pending(struct virtq *vq)
{
	if (!vq->ready || vq->broken)
		return (0);
	return (ld16(&vq->avail[1]) != vq->last_avail);
}

static int
chain_add(struct vq_chain *c, const struct gmem *m, uint64_t addr,
    uint32_t len, int write, char *err, size_t errlen)
{
	uint8_t	*p;

	if ((p = gmem_ptr(m, addr, len)) == NULL)
		return (vq_err(err, errlen, "descriptor buffer %#llx+%u "
		    "outside guest memory", (unsigned long long)addr, len));
	if (!write && c->wlen > 0)
		return (vq_err(err, errlen, "device-readable descriptor after "
		    "a device-writable one"));
	if (c->niov >= VQ_MAXSEG)
		return (vq_err(err, errlen, "chain longer than %u segments",
		    VQ_MAXSEG));
	c->iov[c->niov].base = p;
	c->iov[c->niov].len = len;
	c->iov[c->niov].write = write;
	c->niov++;
	if (write)
		c->wlen += len;
	else
		c->rlen += len;
	return (0);
}

/* Walk an indirect table: no nesting, next within the table, no loops. */
static int
walk_indirect(struct vq_chain *c, const struct gmem *m, uint64_t addr,
    uint32_t len, char *err, size_t errlen)
{
	struct vring_desc	*tbl, d;
	uint32_t		 n, i, count = 0;

	if (len == 0 || len % sizeof(struct vring_desc) != 0)
		return (vq_err(err, errlen, "indirect table length %u is not "
		    "a non-zero multiple of 16", len));
	n = len / sizeof(struct vring_desc);
	if (n > VQ_MAXINDIRECT)
		return (vq_err(err, errlen, "indirect table of %u entries, "
		    "more than %u", n, VQ_MAXINDIRECT));
	if ((addr & 15) != 0 ||
	    (tbl = gmem_ptr(m, addr, len)) == NULL)
		return (vq_err(err, errlen, "indirect table %#llx+%u outside "
		    "guest memory or misaligned", (unsigned long long)addr,
		    len));
	i = 0;
	for (;;) {
		memcpy(&d, &tbl[i], sizeof(d));
		if (++count > n)
			return (vq_err(err, errlen, "indirect chain loops "
			    "(more than %u entries)", n));
		if (d.flags & VRING_DESC_F_INDIRECT)
			return (vq_err(err, errlen, "nested indirect table"));
		if (chain_add(c, m, d.addr, d.len,
		    (d.flags & VRING_DESC_F_WRITE) != 0, err, errlen) == -1)
			return (-1);
		if (!(d.flags & VRING_DESC_F_NEXT))
			return (0);
		if (d.next >= n)
			return (vq_err(err, errlen, "indirect next %u beyond "
			    "table of %u", d.next, n));
		i = d.next;
	}
}

/*
 * Take the next available chain.  Returns 1 with *c filled, 0 when
 * nothing is available, -1 (and vq->broken set) on a malformed ring or
 * chain.
 */
int
vq_pop(struct virtq *vq, const struct gmem *m, struct vq_chain *c,
    char *err, size_t errlen)
{
	struct vring_desc	 d;
	uint16_t		 avail_idx, head, i;
	uint32_t		 count = 0;

	if (!vq->ready || vq->broken)
		return (0);
	avail_idx = ld16(&vq->avail[1]);
	if (avail_idx == vq->last_avail)
		return (0);
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		vq->broken = 1;
		return (vq_err(err, errlen, "avail idx %u is more than the "
		    "queue size %u ahead of %u", avail_idx, vq->size,
		    vq->last_avail));
	}
	head = vq->avail[2 + (vq->last_avail & (vq->size - 1))];
	if (head >= vq->size) {
		vq->broken = 1;
		return (vq_err(err, errlen, "avail ring head %u beyond queue "
		    "size %u", head, vq->size));
	}
	memset(c, 0, offsetof(struct vq_chain, iov));
	c->head = head;
	i = head;
	for (;;) {
		memcpy(&d, &vq->desc[i], sizeof(d));
		if (++count > vq->size) {
			vq->broken = 1;
			return (vq_err(err, errlen, "descriptor chain from "
			    "head %u loops or is longer than the queue size "
			    "%u", head, vq->size));
		}
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (d.flags & VRING_DESC_F_NEXT) {
				vq->broken = 1;
				return (vq_err(err, errlen, "descriptor %u has "
				    "both INDIRECT and NEXT", i));
			}
			if (walk_indirect(c, m, d.addr, d.len, err,
			    errlen) == -1) {
				vq->broken = 1;
				return (-1);
			}
			break;
		}
		if (chain_add(c, m, d.addr, d.len,
		    (d.flags & VRING_DESC_F_WRITE) != 0, err, errlen) == -1) {
			vq->broken = 1;
			return (-1);
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= vq->size) {
			vq->broken = 1;
			return (vq_err(err, errlen, "descriptor %u: next %u "
			    "beyond queue size %u", i, d.next, vq->size));
		}
		i = d.next;
	}
	vq->last_avail++;
	if (vq->event_idx)	/* avail_event: tell us about the next one */
		__atomic_store_n(&vq->used[2 + 4 * vq->size],
		    vq->last_avail, __ATOMIC_RELEASE);
	return (1);
}

/* Put a consumed chain on the used ring. */
void
vq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	volatile uint32_t	*elem;

	if (!vq->ready || vq->broken)
		return;
	elem = (volatile uint32_t *)&vq->used[2];
	elem += 2 * (vq->used_idx & (vq->size - 1));
	elem[0] = head;
	elem[1] = len;
	vq->used_idx++;
	__atomic_store_n(&vq->used[1], vq->used_idx, __ATOMIC_RELEASE);
}

/* virtio 1.x 2.7.7.2: vring_need_event() */
int
vq_need_event(uint16_t event, uint16_t newidx, uint16_t oldidx)
{
	return ((uint16_t)(newidx - event - 1) < (uint16_t)(newidx - oldidx));
}

/* After vq_push()es: does the driver want an interrupt? */
int
vq_should_notify(struct virtq *vq)
{
	uint16_t	 old, event;
	int		 valid;

	if (!vq->ready || vq->broken)
		return (0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return (!(ld16(&vq->avail[0]) & VRING_AVAIL_F_NO_INTERRUPT));
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = 1;
	if (!valid)
		return (1);
	event = ld16(&vq->avail[2 + vq->size]);	/* used_event */
	return (vq_need_event(event, vq->used_idx, old));
}

/* Ask the driver not to notify us (polling) or to notify again. */
void
vq_disable_notify(struct virtq *vq, int disable)
{
	if (!vq->ready || vq->event_idx)
		return;
	__atomic_store_n(&vq->used[0], disable ? VRING_USED_F_NO_NOTIFY : 0,
	    __ATOMIC_RELEASE);
}

/* Copy from the chain's device-readable bytes, starting at off. */
size_t
vq_copy_from(const struct vq_chain *c, size_t off, void *buf, size_t len)
{
	unsigned int	 i;
	size_t		 done = 0, n;

	for (i = 0; i < c->niov && done < len; i++) {
		if (c->iov[i].write)
			break;
		if (off >= c->iov[i].len) {
			off -= c->iov[i].len;
			continue;
		}
		n = c->iov[i].len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)buf + done, c->iov[i].base + off, n);
		done += n;
		off = 0;
	}
	return (done);
}

/* Copy into the chain's device-writable bytes, starting at off. */
size_t
vq_copy_to(const struct vq_chain *c, size_t off, const void *buf, size_t len)
{
	unsigned int	 i;
	size_t		 done = 0, n;

	for (i = 0; i < c->niov && done < len; i++) {
		if (!c->iov[i].write)
			continue;
		if (off >= c->iov[i].len) {
			off -= c->iov[i].len;
			continue;
		}
		n = c->iov[i].len - off;
		if (n > len - done)
			n = len - done;
		memcpy(c->iov[i].base + off, (const uint8_t *)buf + done, n);
		done += n;
		off = 0;
	}
	return (done);
}
