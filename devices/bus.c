/* bus.c — the port map: which device answers which guest I/O port.
 *
 * The map is a constant table of {first port, last port, device ops, device slot}; each bus
 * holds its own device instances in the slots, and the table is searched on every access.
 *
 * An access goes whole to the device that owns its first port, the way QEMU's memory core
 * dispatches port I/O, even if it runs past that device's last port. The device's ops then say
 * whether it is refused (too wide or misaligned for the device: reads give 0, writes are lost)
 * or split into byte accesses. Matching QEMU here matters because guest output is compared
 * with QEMU's; each of these cases was checked on QEMU 7.2.
 *
 * XXX: the search is linear, which is fine for the handful of ranges a PC has; if the table
 * grows past a few dozen entries, index it by port instead.
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "devices/devices_internal.h"

/* The device instances a bus owns, by slot, so that the port map can name them. */
enum dev_slot {
	DEV_SLOT_NONE, /* a stateless device: its ops get NULL */
	DEV_SLOT_COM1,
	DEV_SLOT_DEBUGCON,
	DEV_SLOT_DEBUGEXIT,
	DEV_SLOT_COUNT,
};

/* One row of the port map. */
struct dev_port_range {
	uint16_t first;
	uint16_t last;
	const struct dev_port_ops *ops;
	enum dev_slot slot;
};

/* The port map of this stage's PC, in ascending port order without overlaps. */
static const struct dev_port_range dev_port_map[] = {
    {0x0080, 0x0080, &dev_port80_ops, DEV_SLOT_NONE},
    {0x00E9, 0x00E9, &dev_debugcon_ops, DEV_SLOT_DEBUGCON},
    /* QEMU: -device isa-debug-exit,iobase=0xf4,iosize=4 */
    {0x00F4, 0x00F7, &dev_debugexit_ops, DEV_SLOT_DEBUGEXIT},
    {0x03F8, 0x03FF, &dev_uart_ops, DEV_SLOT_COM1},
};

enum {
	DEV_PORT_MAP_LEN = sizeof(dev_port_map) / sizeof(dev_port_map[0]),
};

struct dev_bus {
	void *devices[DEV_SLOT_COUNT];
	uint64_t io_count;
	struct dev_testdev *testdev;
	uint64_t mmio_count;
};

/* The guest-physical ranges devices own, as data like the port map. */
struct dev_mmio_range {
	uint32_t base;
	uint32_t size;
	const struct dev_mmio_ops *ops;
};

static const struct dev_mmio_range dev_mmio_map[] = {
    {DEV_TESTDEV_BASE, DEV_TESTDEV_SIZE, &dev_testdev_ops},
};

static const struct dev_mmio_range *dev_mmio_lookup(uint32_t phys)
{
	for (size_t i = 0; i < sizeof dev_mmio_map / sizeof dev_mmio_map[0]; i++)
		if (phys - dev_mmio_map[i].base < dev_mmio_map[i].size)
			return &dev_mmio_map[i];
	return NULL;
}

bool dev_mmio_owns(const struct dev_bus *bus, uint32_t phys)
{
	(void)bus;
	return dev_mmio_lookup(phys) != NULL;
}

/* Every MMIO range belongs to the test device so far; the map names its ops. */
static void *dev_mmio_device(struct dev_bus *bus, const struct dev_mmio_range *r)
{
	(void)r;
	return bus->testdev;
}

uint32_t dev_mmio_read(struct dev_bus *bus, uint32_t phys, unsigned size)
{
	const struct dev_mmio_range *r = dev_mmio_lookup(phys);
	DEV_ASSERT(size == 1 || size == 2 || size == 4);
	bus->mmio_count++;
	if (!r || phys - r->base + size > r->size)
		return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	return r->ops->read(dev_mmio_device(bus, r), phys - r->base, size);
}

void dev_mmio_write(struct dev_bus *bus, uint32_t phys, unsigned size, uint32_t value)
{
	const struct dev_mmio_range *r = dev_mmio_lookup(phys);
	DEV_ASSERT(size == 1 || size == 2 || size == 4);
	bus->mmio_count++;
	if (!r || phys - r->base + size > r->size)
		return;
	r->ops->write(dev_mmio_device(bus, r), phys - r->base, size, value);
}

uint64_t dev_bus_mmio_count(const struct dev_bus *bus)
{
	return bus->mmio_count;
}

/* The map is data that a later device may get wrong: check it once per bus. */
static void dev_port_map_check(void)
{
	for (unsigned i = 0; i < DEV_PORT_MAP_LEN; i++) {
		const struct dev_port_range *r = &dev_port_map[i];
		DEV_ASSERT(r->first <= r->last);
		DEV_ASSERT(i == 0 || dev_port_map[i - 1].last < r->first);
		DEV_ASSERT(r->ops->valid_max >= 1 && r->ops->valid_max <= 4);
		DEV_ASSERT(r->ops->impl_max >= 1 && r->ops->impl_max <= r->ops->valid_max);
	}
}

struct dev_bus *dev_bus_create(const struct dev_config *config)
{
	DEV_ASSERT(config != NULL);
	dev_port_map_check();
	struct dev_bus *bus = calloc(1, sizeof(*bus));
	if (bus == NULL)
		return NULL;
	bus->devices[DEV_SLOT_COM1] = dev_uart_create(config->serial_out_fd);
	bus->devices[DEV_SLOT_DEBUGCON] = dev_debugcon_create(config->debugcon_out_fd);
	bus->devices[DEV_SLOT_DEBUGEXIT] = dev_debugexit_create();
	bus->testdev = dev_testdev_create();
	if (bus->testdev == NULL) {
		dev_bus_destroy(bus);
		return NULL;
	}
	for (unsigned slot = DEV_SLOT_NONE + 1; slot < DEV_SLOT_COUNT; slot++) {
		if (bus->devices[slot] == NULL) {
			dev_bus_destroy(bus);
			return NULL;
		}
	}
	return bus;
}

void dev_bus_destroy(struct dev_bus *bus)
{
	if (bus == NULL)
		return;
	dev_uart_destroy(bus->devices[DEV_SLOT_COM1]);
	dev_debugcon_destroy(bus->devices[DEV_SLOT_DEBUGCON]);
	dev_debugexit_destroy(bus->devices[DEV_SLOT_DEBUGEXIT]);
	dev_testdev_destroy(bus->testdev);
	free(bus);
}

static const struct dev_port_range *dev_bus_lookup(uint16_t port)
{
	for (unsigned i = 0; i < DEV_PORT_MAP_LEN; i++) {
		const struct dev_port_range *r = &dev_port_map[i];
		if (port < r->first)
			break;
		if (port <= r->last)
			return r;
	}
	return NULL;
}

static uint32_t dev_size_mask(unsigned size)
{
	return size == 4 ? UINT32_MAX : (UINT32_C(1) << (8 * size)) - 1;
}

/* Whether the device takes this access at all (QEMU's memory_region_access_valid). */
static bool dev_access_valid(const struct dev_port_ops *ops, unsigned offset, unsigned size)
{
	if (size > ops->valid_max)
		return false;
	return ops->valid_unaligned || (offset & (size - 1)) == 0;
}

uint32_t dev_io_read(struct dev_bus *bus, uint16_t port, unsigned size)
{
	DEV_ASSERT(size == 1 || size == 2 || size == 4);
	bus->io_count++;
	const struct dev_port_range *r = dev_bus_lookup(port);
	if (r == NULL)
		return dev_size_mask(size);
	const struct dev_port_ops *ops = r->ops;
	void *dev = bus->devices[r->slot];
	unsigned offset = port - r->first;
	if (!dev_access_valid(ops, offset, size))
		return 0;
	if (size <= ops->impl_max)
		return ops->read(dev, offset, size) & dev_size_mask(size);
	uint32_t value = 0;
	for (unsigned i = 0; i < size; i++)
		value |= (ops->read(dev, offset + i, 1) & 0xFFu) << (8 * i);
	return value;
}

void dev_io_write(struct dev_bus *bus, uint16_t port, unsigned size, uint32_t value)
{
	DEV_ASSERT(size == 1 || size == 2 || size == 4);
	bus->io_count++;
	const struct dev_port_range *r = dev_bus_lookup(port);
	if (r == NULL)
		return;
	const struct dev_port_ops *ops = r->ops;
	void *dev = bus->devices[r->slot];
	unsigned offset = port - r->first;
	value &= dev_size_mask(size);
	if (!dev_access_valid(ops, offset, size))
		return;
	if (size <= ops->impl_max) {
		ops->write(dev, offset, size, value);
		return;
	}
	for (unsigned i = 0; i < size; i++)
		ops->write(dev, offset + i, 1, (value >> (8 * i)) & 0xFFu);
}

bool dev_bus_exit_requested(const struct dev_bus *bus, int *status)
{
	return dev_debugexit_requested(bus->devices[DEV_SLOT_DEBUGEXIT], status);
}

uint64_t dev_bus_io_count(const struct dev_bus *bus)
{
	return bus->io_count;
}

int dev_fd_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -EIO; /* cannot happen for len > 0; do not spin if it does */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* Someone gave us a non-blocking fd (a shared terminal, a pipe set
			 * O_NONBLOCK by the reader): wait for room rather than lose output. */
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		return -errno;
	}
	return 0;
}
