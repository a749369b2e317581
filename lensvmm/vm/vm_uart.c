/*
 * 8250/16550A UART at 0x3f8, IRQ 4 (level, KVM_IRQ_LINE).  Output goes
 * to the console log fd; input comes from an fd the I/O thread polls.
 * Registers: RBR/THR, IER, IIR/FCR, LCR (DLAB), MCR (loopback), LSR,
 * MSR, SCR; DLL/DLM while DLAB is set.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

#define UART_RBR	0
#define UART_IER	1
#define UART_IIR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NONE	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO	0xc0
#define LCR_DLAB	0x80
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_DCD		0x80

#define RXBUF		256

struct uart {
	struct vm	*vm;
	pthread_mutex_t	 mtx;
	int		 outfd;
	int		 infd;
	int		 pollidx;
	uint8_t		 ier, lcr, mcr, scr, fcr, dll, dlm;
	int		 thri_pending;	/* THR empty interrupt owed */
	int		 irq_level;
	uint8_t		 rx[RXBUF];
	unsigned int	 rxhead, rxlen;
	uint8_t		 outbuf[256];
	size_t		 outlen;
};

static void
uart_flush(struct uart *u)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < u->outlen && u->outfd != -1) {
		n = write(u->outfd, u->outbuf + off, u->outlen - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;		/* the log is best effort */
		off += n;
	}
	u->outlen = 0;
}

static uint8_t
uart_iir(struct uart *u)
{
	uint8_t	 fifo = (u->fcr & 1) ? IIR_FIFO : 0;

	if ((u->ier & IER_RDI) && u->rxlen > 0)
		return (IIR_RDI | fifo);
	if ((u->ier & IER_THRI) && u->thri_pending)
		return (IIR_THRI | fifo);
	return (IIR_NONE | fifo);
}

static void
uart_update_irq(struct uart *u)
{
	int	 level = !(uart_iir(u) & IIR_NONE);

	if (level != u->irq_level) {
		u->irq_level = level;
		vm_irq_line(u->vm, VM_UART_IRQ, level);
	}
}

static void
uart_rx_put(struct uart *u, uint8_t c)
{
	if (u->rxlen < RXBUF) {
		u->rx[(u->rxhead + u->rxlen) % RXBUF] = c;
		u->rxlen++;
	}
}

static void
uart_in(void *arg, uint16_t off, uint8_t *data, int len)
{
	struct uart	*u = arg;
	uint8_t		 v = 0;

	(void)len;
	pthread_mutex_lock(&u->mtx);
	switch (off) {
	case UART_RBR:
		if (u->lcr & LCR_DLAB) {
			v = u->dll;
			break;
		}
		if (u->rxlen > 0) {
			v = u->rx[u->rxhead];
			u->rxhead = (u->rxhead + 1) % RXBUF;
			u->rxlen--;
			if (u->rxlen == 0 && u->infd != -1)
				vm_poll_enable(u->vm, u->pollidx, 1);
		}
		break;
	case UART_IER:
		v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR:
		v = uart_iir(u);
		if ((v & 0x0f) == IIR_THRI)
			u->thri_pending = 0;	/* reading IIR clears it */
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | (u->rxlen > 0 ? LSR_DR : 0);
		break;
	case UART_MSR:
		/* loopback: DTR->DSR RTS->CTS OUT1->RI OUT2->DCD */
		if (u->mcr & MCR_LOOP)
			v = ((u->mcr & 0x01) << 5) | ((u->mcr & 0x02) << 3) |
			    ((u->mcr & 0x04) << 4) | ((u->mcr & 0x08) << 4);
		else
			v = MSR_DCD | MSR_DSR | MSR_CTS;
		break;
	case UART_SCR:
		v = u->scr;
		break;
	}
	*data = v;
	uart_update_irq(u);
	pthread_mutex_unlock(&u->mtx);
}

static void
uart_out(void *arg, uint16_t off, const uint8_t *data, int len)
{
	struct uart	*u = arg;
	uint8_t		 v = *data;

	(void)len;
	pthread_mutex_lock(&u->mtx);
	switch (off) {
	case UART_RBR:		/* THR */
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
			break;
		}
		if (u->mcr & MCR_LOOP)
			uart_rx_put(u, v);
		else {
			u->outbuf[u->outlen++] = v;
			if (v == '\n' || u->outlen == sizeof(u->outbuf))
				uart_flush(u);
		}
		u->thri_pending = 1;
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			break;
		}
		if ((v & IER_THRI) && !(u->ier & IER_THRI))
			u->thri_pending = 1;
		u->ier = v & 0x0f;
		break;
	case UART_IIR:		/* FCR */
		u->fcr = v & 0xc9;
		if (v & 0x02) {		/* clear rx fifo */
			u->rxlen = 0;
			if (u->infd != -1)
				vm_poll_enable(u->vm, u->pollidx, 1);
		}
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default:		/* LSR, MSR: read-only */
		break;
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->mtx);
}

static void
uart_input_cb(void *arg, int fd, short revents)
{
	struct uart	*u = arg;
	uint8_t		 buf[RXBUF];
	ssize_t		 n;
	size_t		 room, i;

	(void)revents;
	pthread_mutex_lock(&u->mtx);
	room = RXBUF - u->rxlen;
	if (room == 0) {
		vm_poll_enable(u->vm, u->pollidx, 0);
		pthread_mutex_unlock(&u->mtx);
		return;
	}
	n = read(fd, buf, room);
	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			vm_poll_enable(u->vm, u->pollidx, 0);	/* EOF */
	} else {
		for (i = 0; i < (size_t)n; i++)
			uart_rx_put(u, buf[i]);
		if (u->rxlen == RXBUF)
			vm_poll_enable(u->vm, u->pollidx, 0);
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->mtx);
}

void *
uart_create(struct vm *vm, int outfd, int infd)
{
	struct uart	*u;
	struct vm_pio	 p;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		fatal("%s", __func__);
	pthread_mutex_init(&u->mtx, NULL);
	u->vm = vm;
	u->outfd = outfd;
	u->infd = infd;
	u->pollidx = -1;
	u->mcr = 0x08;		/* OUT2 */
	if (infd != -1)
		u->pollidx = vm_add_poll(vm, infd, POLLIN, uart_input_cb, u);
	memset(&p, 0, sizeof(p));
	p.base = VM_UART_PORT;
	p.len = 8;
	p.arg = u;
	p.in = uart_in;
	p.out = uart_out;
	vm_add_pio(vm, &p);
	return (u);
}

void
uart_destroy(void *arg)
{
	struct uart	*u = arg;

	uart_flush(u);
	pthread_mutex_destroy(&u->mtx);
	free(u);
}
