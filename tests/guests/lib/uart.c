/*
 * uart.c — COM1 output, polled, and the isa-debug-exit port.
 */
#include "guest.h"

#define COM1	 0x3F8
#define UART_THR 0 /* transmit holding register (DLAB = 0) */
#define UART_DLL 0 /* divisor latch, low byte (DLAB = 1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THRE 0x20

#define DEBUG_EXIT_PORT 0xF4

void uart_init(void)
{
	outb(COM1 + UART_IER, 0x00); /* no interrupts */
	outb(COM1 + UART_LCR, 0x80); /* DLAB on */
	outb(COM1 + UART_DLL, 0x01); /* 115200 baud */
	outb(COM1 + UART_DLM, 0x00);
	outb(COM1 + UART_LCR, 0x03); /* 8N1, DLAB off */
	outb(COM1 + UART_FCR, 0xC7); /* FIFOs on and cleared, 14-byte threshold */
	outb(COM1 + UART_MCR, 0x03); /* DTR, RTS; OUT2 off so the IRQ stays quiet */
}

void put_char(char c)
{
	while (!(inb(COM1 + UART_LSR) & LSR_THRE))
		;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void guest_exit(uint32_t code)
{
	outl(DEBUG_EXIT_PORT, code);
	/* Only reached without an isa-debug-exit device: stop here for good. */
	for (;;)
		__asm__ volatile("cli; hlt");
}
