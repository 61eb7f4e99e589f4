/* uart16550.c — a National Semiconductor 16550A UART, as a PC's COM port on IRQ 4.
 *
 * Every byte written to THR leaves at once through write(2) on the configured fd, so the
 * transmitter is always empty (LSR THRE and TEMT set) and a polling driver never waits.
 * Everything else is the register model a driver probes and programs — divisor latch behind
 * LCR.DLAB, IER, IIR with the interrupt identification and the FIFO bits, FCR, MCR with
 * loopback, LSR, MSR, scratch — with the reset values and quirks QEMU's 16550A shows, since
 * guest output is compared with QEMU's.
 *
 * The receiver takes bytes from the host (dev_uart_input, fed from the console) or, in
 * loopback mode (MCR bit 4), from the transmitter. With the FIFOs off it is the 16450's single
 * holding register: a second byte before the first is read overruns it. With them on it is a
 * 16-byte FIFO: the received-data interrupt waits for the trigger level FCR chose (1, 4, 8 or
 * 14 bytes), and fewer bytes left unread for four character times (at the line speed the
 * divisor and LCR give) raise the character-timeout interrupt (IIR 0x0C) instead; a byte that
 * finds the FIFO full is lost and sets OE. Input from the host is never lost: dev_uart_input
 * takes only what fits and the rest waits, as QEMU's chardev flow control does.
 *
 * The interrupt output follows IIR, level-style like the chip's INTR pin: up while any enabled
 * interrupt is pending, down when the guest acknowledges it (reading IIR for THRE, writing THR,
 * reading RBR or LSR). On a PC that pin reaches IRQ 4 only through a buffer that MCR's OUT2
 * enables, and in loopback mode OUT2 is disconnected from the pin; we gate it the same way,
 * where QEMU raises the line whatever OUT2 says. QEMU's reset value of MCR has OUT2 set, so a
 * guest that never writes MCR sees no difference.
 */
#include <stdlib.h>

#include "devices/devices_internal.h"

/* Register offsets from the base port. */
enum {
	DEV_UART_RBR_THR = 0, /* DLL when LCR.DLAB */
	DEV_UART_IER = 1,     /* DLM when LCR.DLAB */
	DEV_UART_IIR_FCR = 2,
	DEV_UART_LCR = 3,
	DEV_UART_MCR = 4,
	DEV_UART_LSR = 5,
	DEV_UART_MSR = 6,
	DEV_UART_SCR = 7,
};

enum {
	DEV_UART_IER_RDI = 0x01,  /* received data available */
	DEV_UART_IER_THRI = 0x02, /* transmitter holding register empty */
	DEV_UART_IER_RLSI = 0x04, /* receiver line status */
	DEV_UART_IER_MSI = 0x08,  /* modem status */
	DEV_UART_IER_MASK = 0x0F, /* the 16550A has no bits above these; Linux probes that */

	DEV_UART_IIR_NONE = 0x01, /* bit 0 set: no interrupt pending */
	DEV_UART_IIR_MSI = 0x00,
	DEV_UART_IIR_THRI = 0x02,
	DEV_UART_IIR_RDI = 0x04,
	DEV_UART_IIR_RLSI = 0x06,
	DEV_UART_IIR_CTI = 0x0C,  /* character timeout: RDI with bit 3 */
	DEV_UART_IIR_FIFO = 0xC0, /* both set on a 16550A with FIFOs on (0x80 alone: 16550) */

	DEV_UART_FCR_ENABLE = 0x01,
	DEV_UART_FCR_CLEAR_RX = 0x02,
	DEV_UART_FCR_CLEAR_TX = 0x04,
	DEV_UART_FCR_DMA = 0x08,
	DEV_UART_FCR_TRIGGER = 0xC0,

	DEV_UART_LCR_DLAB = 0x80,

	DEV_UART_MCR_DTR = 0x01,
	DEV_UART_MCR_RTS = 0x02,
	DEV_UART_MCR_OUT1 = 0x04,
	DEV_UART_MCR_OUT2 = 0x08,
	DEV_UART_MCR_LOOP = 0x10,
	DEV_UART_MCR_MASK = 0x1F, /* bits 5-7 read as 0 on a 16550A */

	DEV_UART_LSR_DR = 0x01,
	DEV_UART_LSR_OE = 0x02,
	DEV_UART_LSR_PE = 0x04,
	DEV_UART_LSR_FE = 0x08,
	DEV_UART_LSR_BI = 0x10,
	DEV_UART_LSR_THRE = 0x20,
	DEV_UART_LSR_TEMT = 0x40,
	DEV_UART_LSR_RXERR = 0x80,
	/* Bits cleared by reading LSR. */
	DEV_UART_LSR_ERRORS = DEV_UART_LSR_OE | DEV_UART_LSR_PE | DEV_UART_LSR_FE |
			      DEV_UART_LSR_BI | DEV_UART_LSR_RXERR,

	DEV_UART_MSR_CTS = 0x10,
	DEV_UART_MSR_DSR = 0x20,
	DEV_UART_MSR_RI = 0x40,
	DEV_UART_MSR_DCD = 0x80,

	DEV_UART_LCR_WORD = 0x03, /* data bits - 5 */
	DEV_UART_LCR_STOP = 0x04, /* two stop bits */
	DEV_UART_LCR_PARITY = 0x08,

	DEV_UART_FIFO_SIZE = 16,
	DEV_UART_IRQ = 4,
	DEV_UART_BAUD_BASE = 115200, /* 1.8432 MHz / 16 */
	DEV_UART_TIMEOUT_CHARS = 4,
};

struct dev_uart {
	struct dev_bus *bus;
	int out_fd;
	uint16_t divisor; /* DLM:DLL: sets the character time of the receive timeout */
	uint8_t ier;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t fcr; /* write-only on the chip: FIFO enable, DMA mode, RX trigger level */
	uint8_t scr;
	uint8_t rbr;			     /* the holding register, FIFOs off */
	bool rbr_full;			     /* ... and its DR */
	uint8_t rx_fifo[DEV_UART_FIFO_SIZE]; /* FIFOs on */
	unsigned rx_head, rx_count;
	uint8_t lsr_errors;	   /* OE (the only error here) until LSR is read */
	bool thri_pending;	   /* THR emptied since the guest last acknowledged it */
	bool timeout_pending;	   /* the character timeout fired and RBR has not been read */
	uint64_t timeout_deadline; /* when it fires, or UINT64_MAX */
	bool irq_level;		   /* what IRQ 4 was last driven to */
	uint64_t tx_dropped;	   /* bytes the host fd refused (XXX: report once stats can) */
};

struct dev_uart *dev_uart_create(struct dev_bus *bus, int out_fd)
{
	struct dev_uart *uart = calloc(1, sizeof(*uart));
	if (uart == NULL)
		return NULL;
	uart->bus = bus;
	uart->out_fd = out_fd;
	uart->timeout_deadline = UINT64_MAX;
	/* Reset values as QEMU's 16550A has them: 9600 baud (divisor 12 at 1.8432 MHz) and OUT2
	 * set, where the data sheet leaves the divisor undefined and clears MCR. */
	uart->divisor = 12;
	uart->mcr = DEV_UART_MCR_OUT2;
	return uart;
}

void dev_uart_destroy(struct dev_uart *uart)
{
	free(uart);
}

static bool dev_uart_fifo_on(const struct dev_uart *uart)
{
	return uart->fcr & DEV_UART_FCR_ENABLE;
}

/* LSR.DR: the receiver holds at least one byte. */
static bool dev_uart_data_ready(const struct dev_uart *uart)
{
	return dev_uart_fifo_on(uart) ? uart->rx_count > 0 : uart->rbr_full;
}

/* The receive FIFO's interrupt trigger level (FCR bits 6-7). */
static unsigned dev_uart_trigger(const struct dev_uart *uart)
{
	static const unsigned level[4] = {1, 4, 8, 14};
	return level[(uart->fcr & DEV_UART_FCR_TRIGGER) >> 6];
}

/* The interrupt identification (IIR bits 0-3) in the chip's priority order. The character
 * timeout is masked by IER.RDI, as on real chips and in QEMU. */
static uint8_t dev_uart_iir_id(const struct dev_uart *uart)
{
	if ((uart->ier & DEV_UART_IER_RLSI) && (uart->lsr_errors & DEV_UART_LSR_ERRORS))
		return DEV_UART_IIR_RLSI;
	if ((uart->ier & DEV_UART_IER_RDI) && uart->timeout_pending)
		return DEV_UART_IIR_CTI;
	if ((uart->ier & DEV_UART_IER_RDI) && dev_uart_data_ready(uart) &&
	    (!dev_uart_fifo_on(uart) || uart->rx_count >= dev_uart_trigger(uart)))
		return DEV_UART_IIR_RDI;
	if ((uart->ier & DEV_UART_IER_THRI) && uart->thri_pending)
		return DEV_UART_IIR_THRI;
	/* The modem lines never change on their own and loopback reports no deltas (as in
	 * QEMU), so there is never a modem-status interrupt. */
	return DEV_UART_IIR_NONE;
}

/* Drive IRQ 4 from INTR through the OUT2 buffer; call after anything IIR depends on. */
static void dev_uart_update_irq(struct dev_uart *uart)
{
	bool level = dev_uart_iir_id(uart) != DEV_UART_IIR_NONE &&
		     (uart->mcr & (DEV_UART_MCR_OUT2 | DEV_UART_MCR_LOOP)) == DEV_UART_MCR_OUT2;
	if (level == uart->irq_level)
		return;
	uart->irq_level = level;
	dev_irq_set(uart->bus, DEV_UART_IRQ, level);
}

/* Four character times at the programmed line speed and frame (start bit, 5-8 data bits,
 * parity, 1 or 2 stop bits), as QEMU computes them. */
static uint64_t dev_uart_timeout_ns(const struct dev_uart *uart)
{
	unsigned bits = 1 + 5 + (uart->lcr & DEV_UART_LCR_WORD) +
			((uart->lcr & DEV_UART_LCR_STOP) ? 2 : 1) +
			((uart->lcr & DEV_UART_LCR_PARITY) ? 1 : 0);
	uint64_t divisor = uart->divisor != 0 ? uart->divisor : 1;
	return DEV_UART_TIMEOUT_CHARS * bits * divisor * DEV_NS_PER_SEC / DEV_UART_BAUD_BASE;
}

static void dev_uart_clear_rx(struct dev_uart *uart)
{
	uart->rbr_full = false;
	uart->rx_count = 0;
	uart->timeout_pending = false;
	uart->timeout_deadline = UINT64_MAX;
}

static uint8_t dev_uart_msr(const struct dev_uart *uart)
{
	if (uart->mcr & DEV_UART_MCR_LOOP) {
		/* Loopback wires the modem outputs back to the inputs. */
		uint8_t msr = 0;
		if (uart->mcr & DEV_UART_MCR_RTS)
			msr |= DEV_UART_MSR_CTS;
		if (uart->mcr & DEV_UART_MCR_DTR)
			msr |= DEV_UART_MSR_DSR;
		if (uart->mcr & DEV_UART_MCR_OUT1)
			msr |= DEV_UART_MSR_RI;
		if (uart->mcr & DEV_UART_MCR_OUT2)
			msr |= DEV_UART_MSR_DCD;
		return msr;
	}
	/* The far end is a connected, ready terminal (what QEMU reports for a chardev). */
	return DEV_UART_MSR_DCD | DEV_UART_MSR_DSR | DEV_UART_MSR_CTS;
}

/* A byte reaches the receiver at now_ns. With the FIFOs off it overwrites an unread byte
 * (OE); with them on, a full FIFO keeps its contents and the byte is lost (OE). */
static void dev_uart_receive(struct dev_uart *uart, uint8_t byte, uint64_t now_ns)
{
	if (!dev_uart_fifo_on(uart)) {
		if (uart->rbr_full)
			uart->lsr_errors |= DEV_UART_LSR_OE;
		uart->rbr = byte;
		uart->rbr_full = true;
		return;
	}
	if (uart->rx_count == DEV_UART_FIFO_SIZE) {
		uart->lsr_errors |= DEV_UART_LSR_OE;
	} else {
		uart->rx_fifo[(uart->rx_head + uart->rx_count) % DEV_UART_FIFO_SIZE] = byte;
		uart->rx_count++;
	}
	uart->timeout_deadline = now_ns + dev_uart_timeout_ns(uart);
}

size_t dev_uart_input(struct dev_uart *uart, const uint8_t *data, size_t len, uint64_t now_ns)
{
	if (uart->mcr & DEV_UART_MCR_LOOP)
		return 0; /* loopback disconnects the serial input */
	size_t room;
	if (dev_uart_fifo_on(uart))
		room = DEV_UART_FIFO_SIZE - uart->rx_count;
	else
		room = uart->rbr_full ? 0 : 1;
	size_t n = len < room ? len : room;
	for (size_t i = 0; i < n; i++)
		dev_uart_receive(uart, data[i], now_ns);
	dev_uart_update_irq(uart);
	return n;
}

void dev_uart_update(struct dev_uart *uart, uint64_t now_ns)
{
	if (now_ns < uart->timeout_deadline)
		return;
	uart->timeout_deadline = UINT64_MAX;
	if (dev_uart_fifo_on(uart) && uart->rx_count > 0) {
		uart->timeout_pending = true;
		dev_uart_update_irq(uart);
	}
}

uint64_t dev_uart_next_deadline(const struct dev_uart *uart)
{
	return uart->timeout_deadline;
}

static void dev_uart_transmit(struct dev_uart *uart, uint8_t byte)
{
	/* Writing THR acknowledges THRE: INTR drops before the byte leaves, so the PIC sees a
	 * new edge when THR is empty again (QEMU does the same). */
	uart->thri_pending = false;
	dev_uart_update_irq(uart);
	if (uart->mcr & DEV_UART_MCR_LOOP)
		dev_uart_receive(uart, byte, dev_bus_now(uart->bus));
	else if (uart->out_fd >= 0 && dev_fd_write_all(uart->out_fd, &byte, 1) < 0)
		uart->tx_dropped++;
	/* The byte left at once, so THR is empty again: that is a new THRE event. */
	uart->thri_pending = true;
	dev_uart_update_irq(uart);
}

/* RBR: the next received byte. An empty FIFO reads 0 and an empty holding register its last
 * byte, as in QEMU. Reading clears the timeout and, while bytes remain, restarts it. */
static uint8_t dev_uart_read_rbr(struct dev_uart *uart)
{
	uint8_t byte;
	if (!dev_uart_fifo_on(uart)) {
		byte = uart->rbr;
		uart->rbr_full = false;
	} else if (uart->rx_count == 0) {
		byte = 0;
	} else {
		byte = uart->rx_fifo[uart->rx_head];
		uart->rx_head = (uart->rx_head + 1) % DEV_UART_FIFO_SIZE;
		uart->rx_count--;
		uart->timeout_deadline = uart->rx_count > 0
					     ? dev_bus_now(uart->bus) + dev_uart_timeout_ns(uart)
					     : UINT64_MAX;
	}
	uart->timeout_pending = false;
	dev_uart_update_irq(uart);
	return byte;
}

static uint32_t dev_uart_read(void *dev, unsigned offset, unsigned size)
{
	struct dev_uart *uart = dev;
	(void)size; /* always 1: impl_max */
	bool dlab = uart->lcr & DEV_UART_LCR_DLAB;

	/* The chip decodes three address lines, so a split access that runs past SCR wraps
	 * around. (QEMU 7.2 aborts on that access: there is no reference to follow.) */
	switch (offset & 7) {
	case DEV_UART_RBR_THR:
		if (dlab)
			return uart->divisor & 0xFF;
		return dev_uart_read_rbr(uart);
	case DEV_UART_IER:
		if (dlab)
			return uart->divisor >> 8;
		return uart->ier;
	case DEV_UART_IIR_FCR: {
		uint8_t id = dev_uart_iir_id(uart);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if (id == DEV_UART_IIR_THRI) {
			uart->thri_pending = false;
			dev_uart_update_irq(uart);
		}
		return id | (dev_uart_fifo_on(uart) ? DEV_UART_IIR_FIFO : 0);
	}
	case DEV_UART_LCR:
		return uart->lcr;
	case DEV_UART_MCR:
		return uart->mcr;
	case DEV_UART_LSR: {
		uint8_t lsr = uart->lsr_errors | DEV_UART_LSR_THRE | DEV_UART_LSR_TEMT;
		if (dev_uart_data_ready(uart))
			lsr |= DEV_UART_LSR_DR;
		uart->lsr_errors = 0;
		dev_uart_update_irq(uart);
		return lsr;
	}
	case DEV_UART_MSR:
		return dev_uart_msr(uart);
	default: /* DEV_UART_SCR */
		return uart->scr;
	}
}

static void dev_uart_write_fcr(struct dev_uart *uart, uint8_t value)
{
	/* The other FCR bits only take when bit 0 is written as 1 in the same write. */
	uint8_t fcr = 0;
	if (value & DEV_UART_FCR_ENABLE)
		fcr = value & (DEV_UART_FCR_ENABLE | DEV_UART_FCR_DMA | DEV_UART_FCR_TRIGGER);
	bool toggled = (fcr ^ uart->fcr) & DEV_UART_FCR_ENABLE;
	/* Switching the FIFOs on or off clears both, as the clear bits do. */
	if (toggled || ((value & DEV_UART_FCR_ENABLE) && (value & DEV_UART_FCR_CLEAR_RX)))
		dev_uart_clear_rx(uart);
	/* The transmitter is always empty, but clearing it is a THRE event in QEMU. */
	if (toggled || ((value & DEV_UART_FCR_ENABLE) && (value & DEV_UART_FCR_CLEAR_TX)))
		uart->thri_pending = true;
	uart->fcr = fcr;
	dev_uart_update_irq(uart);
}

static void dev_uart_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_uart *uart = dev;
	(void)size; /* always 1: impl_max */
	uint8_t byte = (uint8_t)value;
	bool dlab = uart->lcr & DEV_UART_LCR_DLAB;

	switch (offset & 7) {
	case DEV_UART_RBR_THR:
		if (dlab)
			uart->divisor = (uint16_t)((uart->divisor & 0xFF00) | byte);
		else
			dev_uart_transmit(uart, byte);
		break;
	case DEV_UART_IER: {
		if (dlab) {
			uart->divisor = (uint16_t)((uart->divisor & 0x00FF) | (byte << 8));
			break;
		}
		uint8_t old = uart->ier;
		uart->ier = byte & DEV_UART_IER_MASK;
		/* Enabling the THRE interrupt while THR is empty (it always is) raises it at
		 * once, which interrupt-driven drivers rely on to start transmitting. */
		if (!(old & DEV_UART_IER_THRI) && (uart->ier & DEV_UART_IER_THRI))
			uart->thri_pending = true;
		dev_uart_update_irq(uart);
		break;
	}
	case DEV_UART_IIR_FCR:
		dev_uart_write_fcr(uart, byte);
		break;
	case DEV_UART_LCR:
		uart->lcr = byte;
		break;
	case DEV_UART_MCR:
		uart->mcr = byte & DEV_UART_MCR_MASK;
		dev_uart_update_irq(uart); /* OUT2 and loopback gate the line */
		break;
	case DEV_UART_LSR:
	case DEV_UART_MSR:
		/* Read-only (LSR writes are a factory test mode on the chip). */
		break;
	default: /* DEV_UART_SCR */
		uart->scr = byte;
		break;
	}
}

/* Byte registers: the bus splits word and dword accesses into consecutive bytes, as QEMU does. */
const struct dev_port_ops dev_uart_ops = {
    .name = "uart16550",
    .read = dev_uart_read,
    .write = dev_uart_write,
    .valid_max = 4,
    .valid_unaligned = true,
    .impl_max = 1,
};
