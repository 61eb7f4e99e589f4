/* port61.c — port 0x61, the AT's system control port B (the PC/XT's 8255 port B).
 *
 * Bit 0 is PIT channel 2's gate and bit 1 the speaker's data enable; reads add bit 4, the DRAM
 * refresh request that toggles every 15 us on real hardware, and bit 5, channel 2's OUT, which
 * Linux polls to calibrate the TSC against the PIT. With no clock behind the refresh bit, it
 * toggles on every read, as in QEMU: code that waits for it to change sees it change.
 *
 * Bits 2 and 3 (parity and channel-check enables) and 6 and 7 (their status) read as 0: QEMU's
 * pcspk keeps only bits 0 and 1, and there are no parity or I/O channel errors to report.
 */
#include <stdlib.h>

#include "devices/devices_internal.h"

enum {
	DEV_PORT61_GATE2 = 0x01,
	DEV_PORT61_SPEAKER = 0x02,
	DEV_PORT61_REFRESH = 0x10,
	DEV_PORT61_OUT2 = 0x20,
	DEV_PORT61_PIT_CHANNEL = 2,
};

struct dev_port61 {
	struct dev_bus *bus;
	struct dev_pit *pit;
	bool speaker;
	bool refresh;
};

struct dev_port61 *dev_port61_create(struct dev_bus *bus, struct dev_pit *pit)
{
	struct dev_port61 *p61 = calloc(1, sizeof(*p61));
	if (p61 == NULL)
		return NULL;
	p61->bus = bus;
	p61->pit = pit;
	return p61;
}

void dev_port61_destroy(struct dev_port61 *p61)
{
	free(p61);
}

static uint32_t dev_port61_read(void *dev, unsigned offset, unsigned size)
{
	struct dev_port61 *p61 = dev;
	(void)offset;
	(void)size;
	p61->refresh = !p61->refresh;
	uint64_t now = dev_bus_now(p61->bus);
	uint8_t value = 0;
	if (dev_pit_gate(p61->pit, DEV_PORT61_PIT_CHANNEL))
		value |= DEV_PORT61_GATE2;
	if (p61->speaker)
		value |= DEV_PORT61_SPEAKER;
	if (p61->refresh)
		value |= DEV_PORT61_REFRESH;
	if (dev_pit_out(p61->pit, DEV_PORT61_PIT_CHANNEL, now))
		value |= DEV_PORT61_OUT2;
	return value;
}

static void dev_port61_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_port61 *p61 = dev;
	(void)offset;
	(void)size;
	p61->speaker = value & DEV_PORT61_SPEAKER;
	dev_pit_gate_set(p61->pit, DEV_PORT61_PIT_CHANNEL, value & DEV_PORT61_GATE2,
			 dev_bus_now(p61->bus));
}

/* A byte register in QEMU: wider accesses are split, and each byte is a read of the port. */
const struct dev_port_ops dev_port61_ops = {
    .name = "port61",
    .read = dev_port61_read,
    .write = dev_port61_write,
    .valid_max = 4,
    .impl_max = 1,
};
