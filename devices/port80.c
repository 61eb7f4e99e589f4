/* port80.c — port 0x80, where firmware and kernels write POST codes and which Linux writes to
 * as a short I/O delay (outb_p).
 *
 * Writes are ignored; reads return all ones, as on QEMU's PC machine. That is what an unowned
 * port does too; the port has its own entry so that the port map says who owns 0x80 and no
 * other device is put there by mistake.
 */
#include "devices/devices_internal.h"

static uint32_t dev_port80_read(void *dev, unsigned offset, unsigned size)
{
	(void)dev;
	(void)offset;
	(void)size;
	return 0xFF;
}

static void dev_port80_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	(void)dev;
	(void)offset;
	(void)size;
	(void)value;
}

/* A byte device in QEMU: word and dword reads are split and come back as all ones too. */
const struct dev_port_ops dev_port80_ops = {
    .name = "port80",
    .read = dev_port80_read,
    .write = dev_port80_write,
    .valid_max = 4,
    .impl_max = 1,
};
