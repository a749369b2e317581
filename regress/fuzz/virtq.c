/*
 * libFuzzer target for the split-virtqueue walker (lensvmm/vm/vm_virtq.c):
 * the input is a guest memory image plus the queue's registers.  Every
 * chain the walker returns must lie inside guest memory, within the
 * segment limit, with consistent byte counts; copies must stay inside
 * the chain; nothing may crash or read outside the image.
 *
 * Input: byte 0 = log2 of the queue size (low 4 bits) | event_idx
 * (0x10) | "high memory" layout (0x20); bytes 1-2 = last_avail; the
 * rest is guest memory (rings at fixed offsets 0x0, 0x4000, 0x5000).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lensvmm/vm/vm_virtq.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define IMAGE	(64 * 1024)

static void
check_chain(const struct gmem *m, const struct vq_chain *c,
    const uint8_t *lo, const uint8_t *hi)
{
	unsigned int	 i;
	uint64_t	 r = 0, w = 0;
	uint8_t		 buf[256];

	if (c->niov > VQ_MAXSEG)
		abort();
	for (i = 0; i < c->niov; i++) {
		if (c->iov[i].base < lo || c->iov[i].base > hi ||
		    (uint64_t)(hi - c->iov[i].base) < c->iov[i].len)
			abort();
		if (c->iov[i].write)
			w += c->iov[i].len;
		else
			r += c->iov[i].len;
	}
	if (r != c->rlen || w != c->wlen)
		abort();
	if (vq_copy_from(c, 0, buf, sizeof(buf)) > c->rlen)
		abort();
	memset(buf, 0xa5, sizeof(buf));
	if (vq_copy_to(c, c->wlen > 3 ? 3 : 0, buf, sizeof(buf)) > c->wlen)
		abort();
	(void)m;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct vq_chain	 c;
	struct virtq		 vq;
	struct gmem		 m;
	uint8_t			*ram;
	char			 err[160];
	int			 i, rv;

	if (len < 3)
		return (0);
	if ((ram = calloc(1, IMAGE)) == NULL)
		return (0);
	memcpy(ram, data + 3, len - 3 > IMAGE ? IMAGE : len - 3);
	m.base = ram;
	m.size = IMAGE;
	m.lowsize = (data[0] & 0x20) ? IMAGE / 2 : IMAGE;

	memset(&vq, 0, sizeof(vq));
	vq.size = 1U << (data[0] & 0x0f);
	vq.event_idx = (data[0] & 0x10) != 0;
	vq.desc_gpa = 0;
	vq.avail_gpa = 0x4000;
	vq.used_gpa = 0x5000;
	if (vq_start(&vq, &m, err, sizeof(err)) == 0) {
		vq.last_avail = data[1] | data[2] << 8;
		for (i = 0; i < 64; i++) {
			rv = vq_pop(&vq, &m, &c, err, sizeof(err));
			if (rv == -1) {
				if (!vq.broken || err[0] == '\0')
					abort();
				if (vq_pop(&vq, &m, &c, err, sizeof(err)) != 0)
					abort();
				break;
			}
			if (rv == 0)
				break;
			if (c.head >= vq.size)
				abort();
			check_chain(&m, &c, ram, ram + IMAGE);
			vq_push(&vq, c.head, c.wlen);
			(void)vq_should_notify(&vq);
		}
	}
	free(ram);
	return (0);
}
