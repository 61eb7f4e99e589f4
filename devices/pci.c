/* pci.c — PCI configuration mechanism #1 and the two functions QEMU's "pc" machine has on bus 0
 * before any option: the Intel 440FX host bridge at 00:00.0 and the PIIX3 PCI-to-ISA bridge at
 * 00:01.0 (a multifunction device; the PIIX3's IDE and power-management functions are not
 * modelled and read as absent).
 *
 * The guest writes a 32-bit address to 0xCF8 — bit 31 enable, bits 23-16 bus, 15-11 device,
 * 10-8 function, 7-2 register — and then reads or writes 1, 2 or 4 bytes of the register
 * through 0xCFC-0xCFF. Only that dword write sets the address (QEMU ignores narrower writes to
 * 0xCF8-0xCFB, so Linux's "outb(0x01, 0xCFB)" probe changes nothing); a read of any width at
 * 0xCF8, 0xCFA or 0xCFB returns the low bytes of the address as QEMU does, and 0xCF9 belongs
 * to the reset control register (reset_control.c). Like QEMU, the low two bits of the address
 * are kept and added to the data port's offset. With bit 31 clear, or for a function that is
 * not there, reads return all ones and writes are dropped.
 *
 * Each function has 256 bytes of configuration space and a mask of writable bits, measured
 * on QEMU 7.2: in the header only the command register's I/O, memory, bus-master, SERR and
 * INTx-disable bits, the cache line size and the interrupt line; everything from 0x40 on. The
 * status register's write-one-to-clear bits never get set here, so it is read-only. The
 * contents are what a guest finds under QEMU after SeaBIOS (the command registers enabled,
 * the 440FX's PAM shadowing and SMRAM bytes, the PIIX3's PIRQ routing to IRQ 10 and 11), since
 * guests are compared with QEMU; writing the 440FX's PAM or SMRAM registers changes nothing
 * else, as there is no BIOS image to shadow.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/devices_internal.h"

enum {
	DEV_PCI_ADDR_ENABLE = 0x80000000u,
	DEV_PCI_CONFIG_SIZE = 256,
	DEV_PCI_HEADER_SIZE = 0x40,
	DEV_PCI_FUNCTIONS = 2,
	DEV_PCI_DEVFN_HOST = 0x00, /* 00:00.0 */
	DEV_PCI_DEVFN_ISA = 0x08,  /* 00:01.0 */
};

struct dev_pci_function {
	uint8_t devfn;
	uint8_t config[DEV_PCI_CONFIG_SIZE];
	uint8_t wmask[DEV_PCI_CONFIG_SIZE];
};

struct dev_pci {
	uint32_t address; /* CONFIG_ADDRESS as written */
	struct dev_pci_function function[DEV_PCI_FUNCTIONS];
};

/* A non-zero register at reset: size bytes at offset, little-endian. */
struct dev_pci_init {
	uint8_t offset;
	uint8_t size;
	uint32_t value;
};

static const struct dev_pci_init dev_pci_i440fx[] = {
    {0x00, 2, 0x8086},	   /* vendor: Intel */
    {0x02, 2, 0x1237},	   /* device: 82441FX PMC */
    {0x04, 2, 0x0103},	   /* command: I/O, memory, SERR */
    {0x08, 1, 0x02},	   /* revision */
    {0x0B, 1, 0x06},	   /* class 06 00 00: host bridge */
    {0x2C, 4, 0x11001AF4}, /* subsystem: Red Hat (QEMU) 0x1100 */
    {0x57, 1, 0x10},	   /* DRAMC */
    {0x59, 4, 0x11111110}, /* PAM0-3: the BIOS area shadowed in RAM */
    {0x5D, 3, 0x331111},   /* PAM4-6 */
    {0x72, 1, 0x0A},	   /* SMRAM */
};

static const struct dev_pci_init dev_pci_piix3[] = {
    {0x00, 2, 0x8086},	   /* vendor: Intel */
    {0x02, 2, 0x7000},	   /* device: 82371SB PIIX3 ISA */
    {0x04, 2, 0x0103},	   /* command: I/O, memory, SERR */
    {0x06, 2, 0x0200},	   /* status: medium DEVSEL timing */
    {0x0A, 2, 0x0601},	   /* class 06 01 00: ISA bridge */
    {0x0E, 1, 0x80},	   /* header type 0, multifunction */
    {0x2C, 4, 0x11001AF4}, /* subsystem: Red Hat (QEMU) 0x1100 */
    {0x4C, 1, 0x4D},	   /* ISA recovery timer */
    {0x4E, 1, 0x03},	   /* X-bus chip select */
    {0x60, 4, 0x0B0B0A0A}, /* PIRQA-D routed to IRQ 10, 10, 11, 11 */
    {0x69, 1, 0x02},	   /* top of memory */
    {0x70, 1, 0x80},	   /* MBIRQ0 disabled */
    {0x76, 2, 0x0C0C},	   /* DMA channel routing */
    {0x78, 1, 0x02},	   /* PCS control */
    {0xA0, 1, 0x08},	   /* SMI control */
    {0xA8, 1, 0x0F},	   /* SMI request */
};

static void dev_pci_function_init(struct dev_pci_function *fn, uint8_t devfn,
				  const struct dev_pci_init *init, size_t count)
{
	fn->devfn = devfn;
	for (size_t i = 0; i < count; i++)
		for (unsigned b = 0; b < init[i].size; b++)
			fn->config[init[i].offset + b] = (uint8_t)(init[i].value >> (8 * b));
	fn->wmask[0x04] = 0x07; /* I/O, memory, bus master */
	fn->wmask[0x05] = 0x05; /* SERR, INTx disable */
	fn->wmask[0x0C] = 0xFF; /* cache line size */
	fn->wmask[0x3C] = 0xFF; /* interrupt line */
	memset(fn->wmask + DEV_PCI_HEADER_SIZE, 0xFF, DEV_PCI_CONFIG_SIZE - DEV_PCI_HEADER_SIZE);
}

struct dev_pci *dev_pci_create(void)
{
	struct dev_pci *pci = calloc(1, sizeof(*pci));
	if (pci == NULL)
		return NULL;
	dev_pci_function_init(&pci->function[0], DEV_PCI_DEVFN_HOST, dev_pci_i440fx,
			      sizeof(dev_pci_i440fx) / sizeof(dev_pci_i440fx[0]));
	dev_pci_function_init(&pci->function[1], DEV_PCI_DEVFN_ISA, dev_pci_piix3,
			      sizeof(dev_pci_piix3) / sizeof(dev_pci_piix3[0]));
	return pci;
}

void dev_pci_destroy(struct dev_pci *pci)
{
	free(pci);
}

/* The function the address register selects, or NULL (disabled, another bus, nobody there). */
static struct dev_pci_function *dev_pci_selected(struct dev_pci *pci)
{
	uint32_t addr = pci->address;
	if (!(addr & DEV_PCI_ADDR_ENABLE) || ((addr >> 16) & 0xFF) != 0)
		return NULL;
	uint8_t devfn = (uint8_t)(addr >> 8);
	for (unsigned i = 0; i < DEV_PCI_FUNCTIONS; i++)
		if (pci->function[i].devfn == devfn)
			return &pci->function[i];
	return NULL;
}

static uint32_t dev_pci_addr_read(void *dev, unsigned offset, unsigned size)
{
	struct dev_pci *pci = dev;
	(void)offset;
	(void)size;
	return pci->address; /* the bus keeps the low bytes, whatever the offset (QEMU) */
}

static void dev_pci_addr_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_pci *pci = dev;
	if (offset == 0 && size == 4)
		pci->address = value;
}

/* The register offset a data-port access at offset starts at (QEMU ORs the address's low
 * two bits in), and how many of its bytes lie inside the 256-byte space. */
static unsigned dev_pci_reg(const struct dev_pci *pci, unsigned offset, unsigned size,
			    unsigned *len)
{
	unsigned reg = (pci->address & 0xFF) | (offset & 3);
	*len = reg + size <= DEV_PCI_CONFIG_SIZE ? size : DEV_PCI_CONFIG_SIZE - reg;
	return reg;
}

static uint32_t dev_pci_data_read(void *dev, unsigned offset, unsigned size)
{
	struct dev_pci *pci = dev;
	struct dev_pci_function *fn = dev_pci_selected(pci);
	if (fn == NULL)
		return UINT32_MAX;
	unsigned len;
	unsigned reg = dev_pci_reg(pci, offset, size, &len);
	uint32_t value = 0;
	for (unsigned i = 0; i < len; i++)
		value |= (uint32_t)fn->config[reg + i] << (8 * i);
	return value;
}

static void dev_pci_data_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_pci *pci = dev;
	struct dev_pci_function *fn = dev_pci_selected(pci);
	if (fn == NULL)
		return;
	unsigned len;
	unsigned reg = dev_pci_reg(pci, offset, size, &len);
	for (unsigned i = 0; i < len; i++) {
		uint8_t mask = fn->wmask[reg + i];
		uint8_t byte = (uint8_t)(value >> (8 * i));
		fn->config[reg + i] = (uint8_t)((fn->config[reg + i] & ~mask) | (byte & mask));
	}
}

/* QEMU's pci-conf-idx and pci-conf-data regions: any width, aligned only. */
const struct dev_port_ops dev_pci_addr_ops = {
    .name = "pci-conf-idx",
    .read = dev_pci_addr_read,
    .write = dev_pci_addr_write,
    .valid_max = 4,
    .impl_max = 4,
};

const struct dev_port_ops dev_pci_data_ops = {
    .name = "pci-conf-data",
    .read = dev_pci_data_read,
    .write = dev_pci_data_write,
    .valid_max = 4,
    .impl_max = 4,
};
