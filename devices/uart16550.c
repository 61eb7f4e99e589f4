/* uart16550.c — a National Semiconductor 16550A UART, as a PC's COM port.
 *
 * Transmit only for now: every byte written to THR leaves at once through write(2) on the
 * configured fd, so the transmitter is always empty (LSR THRE and TEMT set) and a polling
 * driver never waits. Everything else is the register model a driver probes and programs —
 * divisor latch behind LCR.DLAB, IER, IIR with the interrupt identification and the FIFO bits,
 * FCR, MCR with loopback, LSR, MSR, scratch — with the reset values and quirks QEMU's 16550A
 * shows, since guest output is compared with QEMU's.
 *
 * In loopback mode (MCR bit 4) a transmitted byte goes to the receiver instead of the line, as
 * on the chip; the receiver is a single holding register until real input arrives.
 *
 * XXX: receive from the host, the 16-byte FIFOs and the IRQ 4 line come with a later issue. The
 * state for them is laid out already: rbr/lsr hold the receiver, fcr the FIFO configuration,
 * and dev_uart_iir_id() computes the pending interrupt that will drive the line.
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
};

struct dev_uart {
	int out_fd;
	uint16_t divisor; /* DLM:DLL; kept for the guest, the host side has no baud rate */
	uint8_t ier;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t fcr; /* write-only on the chip: FIFO enable, DMA mode, RX trigger level */
	uint8_t scr;
	uint8_t rbr;	     /* receiver holding register (XXX: becomes the RX FIFO) */
	uint8_t lsr_rx;	     /* the receiver's LSR bits: DR and the error bits */
	bool thri_pending;   /* THR emptied since the guest last acknowledged it */
	uint64_t tx_dropped; /* bytes the host fd refused (XXX: report once stats can) */
};

struct dev_uart *dev_uart_create(int out_fd)
{
	struct dev_uart *uart = calloc(1, sizeof(*uart));
	if (uart == NULL)
		return NULL;
	uart->out_fd = out_fd;
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

/* The interrupt identification (IIR bits 0-3) in the chip's priority order. */
static uint8_t dev_uart_iir_id(const struct dev_uart *uart)
{
	if ((uart->ier & DEV_UART_IER_RLSI) && (uart->lsr_rx & DEV_UART_LSR_ERRORS))
		return DEV_UART_IIR_RLSI;
	if ((uart->ier & DEV_UART_IER_RDI) && (uart->lsr_rx & DEV_UART_LSR_DR))
		return DEV_UART_IIR_RDI;
	if ((uart->ier & DEV_UART_IER_THRI) && uart->thri_pending)
		return DEV_UART_IIR_THRI;
	/* The modem lines never change on their own and loopback reports no deltas (as in
	 * QEMU), so there is never a modem-status interrupt. */
	return DEV_UART_IIR_NONE;
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

static void dev_uart_receive(struct dev_uart *uart, uint8_t byte)
{
	if (uart->lsr_rx & DEV_UART_LSR_DR)
		uart->lsr_rx |= DEV_UART_LSR_OE;
	uart->rbr = byte;
	uart->lsr_rx |= DEV_UART_LSR_DR;
}

static void dev_uart_transmit(struct dev_uart *uart, uint8_t byte)
{
	if (uart->mcr & DEV_UART_MCR_LOOP)
		dev_uart_receive(uart, byte);
	else if (uart->out_fd >= 0 && dev_fd_write_all(uart->out_fd, &byte, 1) < 0)
		uart->tx_dropped++;
	/* The byte left at once, so THR is empty again: that is a new THRE event. */
	uart->thri_pending = true;
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
		uart->lsr_rx &= (uint8_t)~DEV_UART_LSR_DR;
		return uart->rbr;
	case DEV_UART_IER:
		if (dlab)
			return uart->divisor >> 8;
		return uart->ier;
	case DEV_UART_IIR_FCR: {
		uint8_t id = dev_uart_iir_id(uart);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if (id == DEV_UART_IIR_THRI)
			uart->thri_pending = false;
		return id | ((uart->fcr & DEV_UART_FCR_ENABLE) ? DEV_UART_IIR_FIFO : 0);
	}
	case DEV_UART_LCR:
		return uart->lcr;
	case DEV_UART_MCR:
		return uart->mcr;
	case DEV_UART_LSR: {
		uint8_t lsr = uart->lsr_rx | DEV_UART_LSR_THRE | DEV_UART_LSR_TEMT;
		uart->lsr_rx &= (uint8_t)~DEV_UART_LSR_ERRORS;
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
	/* Switching the FIFOs on or off, or the clear bit, empties the receiver. */
	if (((fcr ^ uart->fcr) & DEV_UART_FCR_ENABLE) ||
	    ((value & DEV_UART_FCR_ENABLE) && (value & DEV_UART_FCR_CLEAR_RX)))
		uart->lsr_rx &= (uint8_t)~DEV_UART_LSR_DR;
	/* DEV_UART_FCR_CLEAR_TX: the transmitter is always empty. */
	uart->fcr = fcr;
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
