/*
 * Just enough of the i8042 keyboard controller for a guest to reset
 * the machine: command 0xfe on port 0x64 pulses the reset line and the
 * VM stops with "reset".  Status reads say "no data, input buffer
 * empty"; data reads return 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vm.h"

#define I8042_DATA	0x60
#define I8042_CMD	0x64
#define I8042_RESET	0xfe

struct i8042 {
	struct vm	*vm;
};

static void
i8042_in(void *arg, uint16_t off, uint8_t *data, int len)
{
	(void)arg;
	(void)off;
	(void)len;
	*data = 0;
}

static void
i8042_out(void *arg, uint16_t off, const uint8_t *data, int len)
{
	struct i8042	*k = arg;

	(void)len;
	if (off == I8042_CMD - I8042_DATA && *data == I8042_RESET)
		vm_request_stop(k->vm, VM_STOP_RESET, "reset by the guest "
		    "(i8042 command 0xfe)");
}

void *
i8042_create(struct vm *vm)
{
	struct i8042	*k;
	struct vm_pio	 p;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		fatal("%s", __func__);
	k->vm = vm;
	memset(&p, 0, sizeof(p));
	p.base = I8042_DATA;
	p.len = 5;		/* 0x60..0x64 */
	p.arg = k;
	p.in = i8042_in;
	p.out = i8042_out;
	vm_add_pio(vm, &p);
	return (k);
}

void
i8042_destroy(void *k)
{
	free(k);
}
