/*
 * Test guest runtime: port I/O, UART output, printf, TAP, a page
 * allocator for rings and buffers, and interrupts through the IOAPIC
 * and the local APIC (vector 0x30 + GSI).
 */
#include <stdarg.h>

#include "tg.h"

#define UART		0x3f8
#define LAPIC		0xfee00000UL
#define IOAPIC		0xfec00000UL
#define IRQ_VECBASE	0x30
#define POOL_SIZE	(4 << 20)

struct testinfo	*ti = (struct testinfo *)TESTINFO_ADDR;
static int	 ntests, nfailed;
static uint8_t	 pool[POOL_SIZE] __attribute__((aligned(4096)));
static size_t	 pool_used;
static volatile uint32_t irqs[64];
static uint32_t	 seed = 0x12345678;

uint8_t tg_stack[64 * 1024] __attribute__((aligned(16)));
uint8_t *tg_stack_top = tg_stack + sizeof(tg_stack);

struct idt_gate {
	uint16_t	off0;
	uint16_t	sel;
	uint8_t		ist;
	uint8_t		type;
	uint16_t	off1;
	uint32_t	off2;
	uint32_t	zero;
} __attribute__((packed));

static struct idt_gate idt[64] __attribute__((aligned(16)));
extern const uint64_t isr_table[64];

void *
memset(void *d, int c, size_t n)
{
	uint8_t	*p = d;

	while (n-- > 0)
		*p++ = c;
	return (d);
}

void *
memcpy(void *d, const void *s, size_t n)
{
	uint8_t		*p = d;
	const uint8_t	*q = s;

	while (n-- > 0)
		*p++ = *q++;
	return (d);
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t	*p = a, *q = b;

	for (; n > 0; n--, p++, q++)
		if (*p != *q)
			return (*p - *q);
	return (0);
}

size_t
strlen(const char *s)
{
	size_t	 n = 0;

	while (s[n] != '\0')
		n++;
	return (n);
}

void
outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

uint8_t
inb(uint16_t port)
{
	uint8_t	 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return (v);
}

static void
putch(char c)
{
	while (!(inb(UART + 5) & 0x20))
		;
	outb(UART, c);
}

static void
putnum(uint64_t v, unsigned int base, int neg, int width, char pad)
{
	char	 buf[24];
	int	 n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	if (neg)
		buf[n++] = '-';
	while (n < width--)
		putch(pad);
	while (n > 0)
		putch(buf[--n]);
}

static void
vprint(const char *fmt, va_list ap)
{
	const char	*s;
	int64_t		 sv;
	int		 lng, width;
	char		 pad;

	for (; *fmt != '\0'; fmt++) {
		if (*fmt != '%') {
			putch(*fmt);
			continue;
		}
		fmt++;
		pad = ' ';
		width = 0;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		lng = 0;
		while (*fmt == 'l') {
			lng = 1;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
			sv = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			putnum(sv < 0 ? -(uint64_t)sv : (uint64_t)sv, 10,
			    sv < 0, width, pad);
			break;
		case 'u':
			putnum(lng ? va_arg(ap, uint64_t) :
			    va_arg(ap, unsigned int), 10, 0, width, pad);
			break;
		case 'x':
			putnum(lng ? va_arg(ap, uint64_t) :
			    va_arg(ap, unsigned int), 16, 0, width, pad);
			break;
		case 's':
			for (s = va_arg(ap, const char *); *s != '\0'; s++)
				putch(*s);
			break;
		case 'c':
			putch(va_arg(ap, int));
			break;
		default:
			putch(*fmt);
			break;
		}
	}
}

void
tg_printf(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
}

void
ok(int cond, const char *fmt, ...)
{
	va_list	 ap;

	ntests++;
	if (!cond)
		nfailed++;
	tg_printf("%sok %d - ", cond ? "" : "not ", ntests);
	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
	putch('\n');
}

void
diag(const char *fmt, ...)
{
	va_list	 ap;

	tg_printf("# ");
	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
	putch('\n');
}

int
tg_ntests(void)
{
	return (ntests);
}

int
tg_nfailed(void)
{
	return (nfailed);
}

/* i8042 reset: the VMM stops the VM with "reset". */
void
tg_reset(void)
{
	__asm__ volatile("cli");
	outb(0x64, 0xfe);
	for (;;)
		__asm__ volatile("hlt");
}

void
tg_finish(void)
{
	ok(1, "i8042 reset requested (last step)");
	tg_printf("1..%d\n", ntests);
	tg_reset();
}

void *
palloc(size_t n)
{
	void	*p;

	n = (n + 4095) & ~(size_t)4095;
	if (n > POOL_SIZE - pool_used) {
		tg_printf("Bail out! guest page pool exhausted\n");
		tg_reset();
	}
	p = pool + pool_used;
	pool_used += n;
	memset(p, 0, n);
	return (p);
}

uint32_t
tg_rand(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 17;
	seed ^= seed << 5;
	return (seed);
}

static void
lapic_w(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC + reg) = v;
}

static void
ioapic_w(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)IOAPIC = reg;
	*(volatile uint32_t *)(IOAPIC + 0x10) = v;
}

void
tg_isr(uint64_t vec, uint64_t err, uint64_t rip)
{
	if (vec < 32) {
		tg_printf("not ok %d - exception %u at rip %lx, error %lx\n",
		    ntests + 1, (unsigned int)vec, rip, err);
		tg_printf("Bail out! guest exception\n");
		tg_reset();
	}
	irqs[vec]++;
	lapic_w(0xb0, 0);		/* EOI */
}

void
irq_setup(void)
{
	struct {
		uint16_t	limit;
		uint64_t	base;
	} __attribute__((packed)) idtr;
	unsigned int	 i;
	uint64_t	 a;

	for (i = 0; i < 64; i++) {
		a = isr_table[i];
		idt[i].off0 = a & 0xffff;
		idt[i].sel = 0x8;
		idt[i].ist = 0;
		idt[i].type = 0x8e;
		idt[i].off1 = (a >> 16) & 0xffff;
		idt[i].off2 = a >> 32;
		idt[i].zero = 0;
	}
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint64_t)idt;
	__asm__ volatile("lidt %0" : : "m"(idtr));
	outb(0x21, 0xff);		/* mask both 8259s */
	outb(0xa1, 0xff);
	lapic_w(0xf0, 0x13f);		/* software enable, spurious 0x3f */
	lapic_w(0x80, 0);		/* task priority 0 */
	__asm__ volatile("sti");
}

/* Edge-triggered, active high, fixed delivery to APIC 0.  The uart's
 * line is level-triggered; edge here means one interrupt per rise. */
void
irq_route(uint32_t gsi)
{
	ioapic_w(0x10 + 2 * gsi + 1, 0);
	ioapic_w(0x10 + 2 * gsi, IRQ_VECBASE + gsi);
}

uint32_t
irq_count(uint32_t gsi)
{
	return (irqs[IRQ_VECBASE + gsi]);
}
