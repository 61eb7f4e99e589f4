/* bus.c — the port map: which device answers which guest I/O port; and the PC platform's
 * glue: interrupt lines, time, console input and reset requests.
 *
 * The map is a constant table of {first port, last port, base port, device ops, device slot};
 * each bus holds its own device instances in the slots, and the table is searched on every
 * access. A device sees offsets from its base port, which is the range's first port except
 * where one device owns scattered ports (the i8042 at 0x60 and 0x64, the PCI address register
 * at 0xCF8 and 0xCFA-0xCFB around the reset control register at 0xCF9).
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
#include <time.h>
#include <unistd.h>

#include "devices/devices_internal.h"

/* The device instances a bus owns, by slot, so that the port map can name them. */
enum dev_slot {
	DEV_SLOT_NONE, /* a stateless device: its ops get NULL */
	DEV_SLOT_PIC,
	DEV_SLOT_PIT,
	DEV_SLOT_PORT61,
	DEV_SLOT_RTC,
	DEV_SLOT_I8042,
	DEV_SLOT_PORT92,
	DEV_SLOT_COM1,
	DEV_SLOT_DEBUGCON,
	DEV_SLOT_DEBUGEXIT,
	DEV_SLOT_RESET_CONTROL,
	DEV_SLOT_PCI,
	DEV_SLOT_COUNT,
};

/* One row of the port map. */
struct dev_port_range {
	uint16_t first;
	uint16_t last;
	uint16_t base; /* the port the device counts its offsets from */
	const struct dev_port_ops *ops;
	enum dev_slot slot;
};

/* The port map of QEMU's "pc" machine as the guest tests run it, in ascending port order
 * without overlaps. */
static const struct dev_port_range dev_port_map[] = {
    {0x0020, 0x0021, 0x0020, &dev_pic_master_ops, DEV_SLOT_PIC},
    {0x0040, 0x0043, 0x0040, &dev_pit_ops, DEV_SLOT_PIT},
    {0x0060, 0x0060, 0x0060, &dev_i8042_ops, DEV_SLOT_I8042},
    {0x0061, 0x0061, 0x0061, &dev_port61_ops, DEV_SLOT_PORT61},
    {0x0064, 0x0064, 0x0060, &dev_i8042_ops, DEV_SLOT_I8042},
    {0x0070, 0x0071, 0x0070, &dev_rtc_ops, DEV_SLOT_RTC},
    {0x0080, 0x0080, 0x0080, &dev_port80_ops, DEV_SLOT_NONE},
    {0x0092, 0x0092, 0x0092, &dev_port92_ops, DEV_SLOT_PORT92},
    {0x00A0, 0x00A1, 0x00A0, &dev_pic_slave_ops, DEV_SLOT_PIC},
    {0x00E9, 0x00E9, 0x00E9, &dev_debugcon_ops, DEV_SLOT_DEBUGCON},
    /* QEMU: -device isa-debug-exit,iobase=0xf4,iosize=4 */
    {0x00F4, 0x00F7, 0x00F4, &dev_debugexit_ops, DEV_SLOT_DEBUGEXIT},
    {0x03F8, 0x03FF, 0x03F8, &dev_uart_ops, DEV_SLOT_COM1},
    {0x04D0, 0x04D1, 0x04D0, &dev_pic_elcr_ops, DEV_SLOT_PIC},
    /* A dword at 0xCF8 is the PCI address; a byte at 0xCF9 is the PIIX3's reset control,
     * which QEMU lays over the address register's second byte. */
    {0x0CF8, 0x0CF8, 0x0CF8, &dev_pci_addr_ops, DEV_SLOT_PCI},
    {0x0CF9, 0x0CF9, 0x0CF9, &dev_reset_control_ops, DEV_SLOT_RESET_CONTROL},
    {0x0CFA, 0x0CFB, 0x0CF8, &dev_pci_addr_ops, DEV_SLOT_PCI},
    {0x0CFC, 0x0CFF, 0x0CFC, &dev_pci_data_ops, DEV_SLOT_PCI},
};

enum {
	DEV_PORT_MAP_LEN = sizeof(dev_port_map) / sizeof(dev_port_map[0]),
};

struct dev_bus {
	void *devices[DEV_SLOT_COUNT];
	int console_fd; /* COM1's output sink, which the console hypercall shares */
	uint64_t io_count;
	struct dev_testdev *testdev;
	uint64_t mmio_count;
	struct dev_clock clock;
	uint64_t now_floor; /* the latest time any device has been shown */
	bool reset_requested;
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
		return 0; /* unassigned physical memory reads as 0, as under QEMU */
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
		DEV_ASSERT(r->base <= r->first);
		DEV_ASSERT(i == 0 || dev_port_map[i - 1].last < r->first);
		DEV_ASSERT(r->ops->valid_max >= 1 && r->ops->valid_max <= 4);
		DEV_ASSERT(r->ops->impl_max >= 1 && r->ops->impl_max <= r->ops->valid_max);
	}
}

static uint64_t dev_host_monotonic_ns(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * DEV_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int64_t dev_host_realtime_ns(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * (int64_t)DEV_NS_PER_SEC + ts.tv_nsec;
}

struct dev_bus *dev_bus_create(const struct dev_config *config)
{
	static const struct dev_clock host_clock = {
	    .monotonic_ns = dev_host_monotonic_ns,
	    .realtime_ns = dev_host_realtime_ns,
	};
	return dev_bus_create_with_clock(config, &host_clock);
}

struct dev_bus *dev_bus_create_with_clock(const struct dev_config *config,
					  const struct dev_clock *clock)
{
	DEV_ASSERT(config != NULL);
	DEV_ASSERT(clock != NULL && clock->monotonic_ns != NULL && clock->realtime_ns != NULL);
	dev_port_map_check();
	struct dev_bus *bus = calloc(1, sizeof(*bus));
	if (bus == NULL)
		return NULL;
	bus->clock = *clock;
	uint64_t now = dev_bus_now(bus);
	int64_t realtime = clock->realtime_ns(clock->ctx);
	/* The PIC first: the others may drive interrupt lines from their first access on. */
	bus->devices[DEV_SLOT_PIC] = dev_pic_create();
	bus->devices[DEV_SLOT_PIT] = dev_pit_create(bus, now);
	if (bus->devices[DEV_SLOT_PIT] != NULL)
		bus->devices[DEV_SLOT_PORT61] = dev_port61_create(bus, bus->devices[DEV_SLOT_PIT]);
	bus->devices[DEV_SLOT_RTC] = dev_rtc_create(bus, config->ram_bytes, now, realtime);
	bus->devices[DEV_SLOT_I8042] = dev_i8042_create(bus);
	bus->devices[DEV_SLOT_PORT92] = dev_port92_create(bus);
	bus->console_fd = config->serial_out_fd;
	bus->devices[DEV_SLOT_COM1] = dev_uart_create(bus, config->serial_out_fd);
	bus->devices[DEV_SLOT_DEBUGCON] = dev_debugcon_create(config->debugcon_out_fd);
	bus->devices[DEV_SLOT_DEBUGEXIT] = dev_debugexit_create();
	bus->devices[DEV_SLOT_RESET_CONTROL] = dev_reset_control_create(bus);
	bus->devices[DEV_SLOT_PCI] = dev_pci_create();
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
	dev_pci_destroy(bus->devices[DEV_SLOT_PCI]);
	dev_reset_control_destroy(bus->devices[DEV_SLOT_RESET_CONTROL]);
	dev_debugexit_destroy(bus->devices[DEV_SLOT_DEBUGEXIT]);
	dev_debugcon_destroy(bus->devices[DEV_SLOT_DEBUGCON]);
	dev_uart_destroy(bus->devices[DEV_SLOT_COM1]);
	dev_port92_destroy(bus->devices[DEV_SLOT_PORT92]);
	dev_i8042_destroy(bus->devices[DEV_SLOT_I8042]);
	dev_rtc_destroy(bus->devices[DEV_SLOT_RTC]);
	dev_port61_destroy(bus->devices[DEV_SLOT_PORT61]);
	dev_pit_destroy(bus->devices[DEV_SLOT_PIT]);
	dev_pic_destroy(bus->devices[DEV_SLOT_PIC]);
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
	unsigned offset = port - r->base;
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
	unsigned offset = port - r->base;
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

/* ---- the PC platform -------------------------------------------------------------------- */

void dev_irq_set(struct dev_bus *bus, unsigned line, bool level)
{
	dev_pic_set_irq(bus->devices[DEV_SLOT_PIC], line, level);
}

bool dev_intr_pending(const struct dev_bus *bus)
{
	return dev_pic_intr(bus->devices[DEV_SLOT_PIC]);
}

uint8_t dev_intr_ack(struct dev_bus *bus)
{
	return dev_pic_ack(bus->devices[DEV_SLOT_PIC]);
}

uint64_t dev_bus_now(struct dev_bus *bus)
{
	uint64_t now = bus->clock.monotonic_ns(bus->clock.ctx);
	if (now > bus->now_floor)
		bus->now_floor = now;
	return bus->now_floor;
}

void dev_bus_update(struct dev_bus *bus, uint64_t now_ns)
{
	if (now_ns > bus->now_floor)
		bus->now_floor = now_ns;
	uint64_t now = bus->now_floor;
	dev_pit_update(bus->devices[DEV_SLOT_PIT], now);
	dev_rtc_update(bus->devices[DEV_SLOT_RTC], now);
	dev_uart_update(bus->devices[DEV_SLOT_COM1], now);
}

uint64_t dev_bus_next_deadline(const struct dev_bus *bus)
{
	uint64_t deadline = dev_pit_next_deadline(bus->devices[DEV_SLOT_PIT]);
	uint64_t rtc = dev_rtc_next_deadline(bus->devices[DEV_SLOT_RTC]);
	uint64_t uart = dev_uart_next_deadline(bus->devices[DEV_SLOT_COM1]);
	if (rtc < deadline)
		deadline = rtc;
	if (uart < deadline)
		deadline = uart;
	return deadline;
}

void dev_bus_timer_stats(const struct dev_bus *bus, struct dev_timer_stats *stats)
{
	dev_pit_timer_stats(bus->devices[DEV_SLOT_PIT], stats);
}

bool dev_bus_irq_masked(const struct dev_bus *bus, unsigned line)
{
	return dev_pic_masked(bus->devices[DEV_SLOT_PIC], line);
}

bool dev_bus_irq_requested(const struct dev_bus *bus, unsigned line)
{
	return dev_pic_requested(bus->devices[DEV_SLOT_PIC], line);
}

size_t dev_serial_input(struct dev_bus *bus, const uint8_t *data, size_t len)
{
	return dev_uart_input(bus->devices[DEV_SLOT_COM1], data, len, dev_bus_now(bus));
}

void dev_bus_request_reset(struct dev_bus *bus)
{
	bus->reset_requested = true;
}

void dev_console_write(struct dev_bus *bus, const void *buf, size_t len)
{
	if (bus->console_fd >= 0)
		(void)dev_fd_write_all(bus->console_fd, buf, len); /* a closed reader loses it */
}

bool dev_bus_reset_requested(const struct dev_bus *bus)
{
	return bus->reset_requested;
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
