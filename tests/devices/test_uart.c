/* test_uart.c — the COM1 16550A register model, seen through the bus as a guest sees it.
 *
 * Expected values are what QEMU 7.2's 16550A returns for the same accesses (checked with a small
 * multiboot kernel under qemu-system-i386), since guest output is compared with QEMU's.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_devices_common.h"

enum {
	COM1 = 0x3F8,
	RBR = COM1 + 0,
	THR = COM1 + 0,
	DLL = COM1 + 0,
	IER = COM1 + 1,
	DLM = COM1 + 1,
	IIR = COM1 + 2,
	FCR = COM1 + 2,
	LCR = COM1 + 3,
	MCR = COM1 + 4,
	LSR = COM1 + 5,
	MSR = COM1 + 6,
	SCR = COM1 + 7,
};

static struct test_dev_env env;

static void uart_setup(void)
{
	test_dev_env_setup(&env);
}

static void uart_teardown(void)
{
	test_dev_env_teardown(&env);
}

static uint32_t inb(uint16_t port)
{
	return dev_io_read(env.bus, port, 1);
}

static void outb(uint16_t port, uint8_t value)
{
	dev_io_write(env.bus, port, 1, value);
}

static size_t serial_output(char *buf, size_t cap)
{
	return test_dev_drain(env.serial_pipe[0], buf, cap);
}

TestSuite(uart, .init = uart_setup, .fini = uart_teardown);

Test(uart, reset_values_match_qemu)
{
	static const uint8_t expect[8] = {
	    0x00, /* RBR: nothing received */
	    0x00, /* IER */
	    0x01, /* IIR: no interrupt, FIFOs off */
	    0x00, /* LCR */
	    0x08, /* MCR: QEMU resets with OUT2 set */
	    0x60, /* LSR: THRE | TEMT */
	    0xB0, /* MSR: DCD | DSR | CTS */
	    0x00, /* SCR */
	};
	for (unsigned i = 0; i < 8; i++)
		cr_expect_eq(inb(COM1 + i), expect[i], "register %u: got %#x, want %#x", i,
			     inb(COM1 + i), expect[i]);
	/* The divisor QEMU resets to: 12, 9600 baud. */
	outb(LCR, 0x80);
	cr_expect_eq(inb(DLL), 12);
	cr_expect_eq(inb(DLM), 0);
}

Test(uart, dlab_switches_offsets_0_and_1_to_the_divisor)
{
	outb(IER, 0x05);
	outb(LCR, 0x83); /* DLAB + 8N1 */
	outb(DLL, 0x01);
	outb(DLM, 0x02);
	cr_expect_eq(inb(DLL), 0x01);
	cr_expect_eq(inb(DLM), 0x02);
	cr_expect_eq(inb(LCR), 0x83);

	outb(LCR, 0x03);
	cr_expect_eq(inb(IER), 0x05, "IER must be untouched by the DLM write");
	cr_expect_eq(inb(LCR), 0x03);
	outb(LCR, 0x83);
	cr_expect_eq(inb(DLL), 0x01, "the divisor survives clearing DLAB");
	cr_expect_eq(inb(DLM), 0x02);

	char buf[4];
	cr_expect_eq(serial_output(buf, sizeof(buf)), 0, "a DLL write must not transmit");
}

Test(uart, lsr_transmitter_always_empty_and_no_data)
{
	cr_expect_eq(inb(LSR), 0x60);
	outb(THR, 'x');
	cr_expect_eq(inb(LSR), 0x60, "transmission is immediate");
	outb(LSR, 0xFF);
	cr_expect_eq(inb(LSR), 0x60, "LSR is read-only");
	outb(MSR, 0x00);
	cr_expect_eq(inb(MSR), 0xB0, "MSR is read-only");
}

Test(uart, transmit_goes_to_the_fd_in_order)
{
	static const char text[] = "hello, \xff\x00world\n";
	for (size_t i = 0; i < sizeof(text) - 1; i++)
		outb(THR, (uint8_t)text[i]);
	char buf[64];
	size_t n = serial_output(buf, sizeof(buf));
	cr_assert_eq(n, sizeof(text) - 1);
	cr_expect_arr_eq(buf, text, n);
	cr_expect_eq(test_dev_drain(env.debugcon_pipe[0], buf, sizeof(buf)), 0,
		     "serial output must not reach the debug console");
}

Test(uart, fcr_fifo_enable_shows_in_iir_bits_6_7)
{
	outb(FCR, 0x01);
	cr_expect_eq(inb(IIR), 0xC1);
	outb(FCR, 0xC7); /* enable, clear both FIFOs, trigger 14 */
	cr_expect_eq(inb(IIR), 0xC1);
	outb(FCR, 0x00);
	cr_expect_eq(inb(IIR), 0x01);
	outb(FCR, 0xC6); /* bit 0 clear: nothing else takes either */
	cr_expect_eq(inb(IIR), 0x01);
}

Test(uart, ier_keeps_four_bits)
{
	outb(IER, 0xFF);
	cr_expect_eq(inb(IER), 0x0F);
	outb(IER, 0x00);
	cr_expect_eq(inb(IER), 0x00);
}

Test(uart, thre_interrupt_identification)
{
	outb(FCR, 0x01);
	cr_expect_eq(inb(IIR), 0xC1);
	outb(IER, 0x02); /* enabling it with THR empty raises it at once */
	cr_expect_eq(inb(IIR), 0xC2);
	cr_expect_eq(inb(IIR), 0xC1, "reading IIR acknowledges THRE");
	outb(IER, 0x0F); /* THRI was already on: no new event */
	cr_expect_eq(inb(IIR), 0xC1);
	outb(THR, 'a');
	cr_expect_eq(inb(IIR), 0xC2, "THR emptied again after the byte left");
	cr_expect_eq(inb(IIR), 0xC1);
	outb(IER, 0x00);
	outb(THR, 'b');
	cr_expect_eq(inb(IIR), 0xC1, "no THRE interrupt while it is disabled");
}

Test(uart, mcr_keeps_five_bits)
{
	outb(MCR, 0xFF);
	cr_expect_eq(inb(MCR), 0x1F);
	outb(MCR, 0x00);
	cr_expect_eq(inb(MCR), 0x00);
}

Test(uart, loopback_wires_modem_outputs_to_msr)
{
	/* Linux's 8250 probe: MCR = LOOP | OUT2 | RTS must read back MSR 0x90 in the top bits. */
	outb(MCR, 0x1A);
	cr_expect_eq(inb(MSR), 0x90);
	cr_expect_eq(inb(MCR), 0x1A);
	outb(MCR, 0x1F);
	cr_expect_eq(inb(MSR), 0xF0);
	outb(MCR, 0x14); /* LOOP | OUT1: RI */
	cr_expect_eq(inb(MSR), 0x40);
	outb(MCR, 0x00);
	cr_expect_eq(inb(MSR), 0xB0);
}

Test(uart, loopback_transmit_goes_to_the_receiver)
{
	outb(MCR, 0x10);
	outb(THR, 'x');
	char buf[4];
	cr_expect_eq(serial_output(buf, sizeof(buf)), 0, "loopback holds the line");
	cr_expect_eq(inb(LSR), 0x61, "DR set");
	outb(IER, 0x01);
	cr_expect_eq(inb(IIR), 0x04, "received-data interrupt");
	cr_expect_eq(inb(RBR), 'x');
	cr_expect_eq(inb(LSR), 0x60, "reading RBR clears DR");
	cr_expect_eq(inb(IIR), 0x01);

	outb(THR, '1');
	outb(THR, '2'); /* nobody read '1': overrun */
	outb(IER, 0x05);
	cr_expect_eq(inb(IIR), 0x06, "line-status interrupt outranks data");
	cr_expect_eq(inb(LSR), 0x63, "DR | OE");
	cr_expect_eq(inb(LSR), 0x61, "reading LSR clears OE");
	cr_expect_eq(inb(RBR), '2');

	outb(MCR, 0x00);
	outb(THR, 'y');
	cr_expect_eq(serial_output(buf, sizeof(buf)), 1);
	cr_expect_eq(buf[0], 'y');
}

Test(uart, scratch_register)
{
	outb(SCR, 0x5A);
	cr_expect_eq(inb(SCR), 0x5A);
	outb(SCR, 0xA5);
	cr_expect_eq(inb(SCR), 0xA5);
}

Test(uart, wide_accesses_split_into_consecutive_bytes)
{
	/* outw to THR writes THR with the low byte and IER with the high byte (QEMU does). */
	dev_io_write(env.bus, THR, 2, 0x4142);
	char buf[4];
	cr_assert_eq(serial_output(buf, sizeof(buf)), 1);
	cr_expect_eq(buf[0], 'B');
	cr_expect_eq(inb(IER), 0x01, "0x41 masked to the four IER bits");
	outb(IER, 0x00);
	cr_expect_eq(dev_io_read(env.bus, MCR, 2), 0x6008);
	cr_expect_eq(dev_io_read(env.bus, MCR, 4), 0x00B06008);
	/* Misaligned wide accesses are fine for the UART (QEMU allows them too). */
	cr_expect_eq(dev_io_read(env.bus, IER, 2), 0x0100);
	cr_expect_eq(dev_io_read(env.bus, IER, 4), 0x08000100);
	cr_expect_eq(dev_io_read(env.bus, IIR, 4), 0x60080001);
	outb(SCR, 0x77);
	/* Past the last register the chip's three address lines wrap around (our choice: QEMU
	 * 7.2 aborts on this access). */
	cr_expect_eq(dev_io_read(env.bus, SCR, 2), 0x0077);
}

/* A writer blocked on a full non-blocking pipe must wait for room, not lose bytes. */
struct drain_job {
	int fd;
	size_t got;
	char last;
};

static void *drain_later(void *arg)
{
	struct drain_job *job = arg;
	struct timespec pause = {.tv_nsec = 50 * 1000 * 1000};
	nanosleep(&pause, NULL);
	char buf[4096];
	/* The writer's last byte is 'Z'; read until it has arrived. */
	for (;;) {
		ssize_t n = read(job->fd, buf, sizeof(buf));
		if (n > 0) {
			job->got += (size_t)n;
			job->last = buf[n - 1];
			if (job->last == 'Z')
				break;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			break;
		} else {
			nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
		}
	}
	return NULL;
}

Test(uart, full_nonblocking_fd_waits_instead_of_dropping)
{
	int fd = env.serial_pipe[1];
	cr_assert_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	static const char fill[4096] = {0};
	size_t filled = 0;
	for (;;) {
		ssize_t n = write(fd, fill, sizeof(fill));
		if (n <= 0)
			break;
		filled += (size_t)n;
	}
	cr_assert_eq(errno, EAGAIN);

	struct drain_job job = {.fd = env.serial_pipe[0]};
	pthread_t thread;
	cr_assert_eq(pthread_create(&thread, NULL, drain_later, &job), 0);
	outb(THR, 'Z');
	pthread_join(thread, NULL);
	cr_expect_eq(job.got, filled + 1);
	cr_expect_eq(job.last, 'Z');
}

Test(uart, closed_or_absent_output_fd_is_harmless)
{
	/* Each Criterion test runs in its own process, so this does not leak into others. */
	signal(SIGPIPE, SIG_IGN);
	close(env.serial_pipe[0]);
	env.serial_pipe[0] = -1;
	outb(THR, 'a'); /* EPIPE: counted as dropped, nothing else */
	cr_expect_eq(inb(LSR), 0x60);

	struct dev_config config = {.serial_out_fd = -1, .debugcon_out_fd = -1};
	struct dev_bus *quiet = dev_bus_create(&config);
	cr_assert_not_null(quiet);
	dev_io_write(quiet, THR, 1, 'q');
	dev_io_write(quiet, 0xE9, 1, 'q');
	cr_expect_eq(dev_io_read(quiet, LSR, 1), 0x60);
	dev_bus_destroy(quiet);
}

/* ---- the receiver, its interrupts and IRQ 4 --------------------------------------------- */

TestSuite(uart_rx, .init = uart_setup, .fini = uart_teardown);

static size_t input(const char *text)
{
	return dev_serial_input(env.bus, (const uint8_t *)text, strlen(text));
}

/* Four character times of 8N1 at 9600 baud (divisor 12), as QEMU computes the timeout. */
#define TIMEOUT_9600_8N1 UINT64_C(4166666)

/* The PICs programmed with vectors 0x20 and 0x28 and the PIT's IRQ 0 masked. */
static void pic_for_uart(void)
{
	test_pic_init(&env, 0x20, 0x28);
	outb(0x21, 0x01);
}

Test(uart_rx, holding_register_takes_one_byte_at_a_time)
{
	cr_expect_eq(input("ab"), 1);
	cr_expect_eq(inb(LSR), 0x61);
	cr_expect_eq(input("b"), 0, "full until read: the host keeps the rest");
	cr_expect_eq(inb(RBR), 'a');
	cr_expect_eq(inb(LSR), 0x60);
	cr_expect_eq(input("b"), 1);
	cr_expect_eq(inb(RBR), 'b');
	cr_expect_eq(inb(RBR), 'b', "an empty holding register reads its last byte");
}

Test(uart_rx, fifo_takes_sixteen_bytes_in_order)
{
	outb(FCR, 0x01);
	cr_expect_eq(input("ABCDEFGHIJKLMNOPQRST"), 16);
	cr_expect_eq(input("Q"), 0);
	for (char c = 'A'; c <= 'P'; c++) {
		cr_expect_eq(inb(LSR) & 0x01, 0x01);
		cr_expect_eq(inb(RBR), (uint32_t)c);
	}
	cr_expect_eq(inb(LSR), 0x60);
	cr_expect_eq(inb(RBR), 0, "an empty FIFO reads 0 (QEMU)");
	cr_expect_eq(inb(LSR) & 0x02, 0, "and that is no overrun");
}

Test(uart_rx, received_data_interrupt_waits_for_the_trigger_level)
{
	outb(FCR, 0x41); /* FIFO on, trigger at 4 */
	outb(IER, 0x01);
	input("abc");
	cr_expect_eq(inb(IIR), 0xC1);
	input("d");
	cr_expect_eq(inb(IIR), 0xC4);
	cr_expect_eq(inb(RBR), 'a');
	cr_expect_eq(inb(IIR), 0xC1, "below the trigger level again");
	outb(FCR, 0x01); /* trigger at 1 (the FIFO stays on, so it is not cleared) */
	cr_expect_eq(inb(IIR), 0xC4);
}

Test(uart_rx, character_timeout_after_four_character_times)
{
	outb(LCR, 0x03);
	outb(FCR, 0xC1); /* trigger at 14 */
	outb(IER, 0x01);
	uint64_t t0 = env.now_ns;
	input("abc");
	cr_expect_eq(inb(IIR), 0xC1);
	cr_expect_eq(dev_bus_next_deadline(env.bus), t0 + TIMEOUT_9600_8N1);
	test_dev_advance(&env, TIMEOUT_9600_8N1 - 1);
	cr_expect_eq(inb(IIR), 0xC1);
	test_dev_advance(&env, 1);
	cr_expect_eq(inb(IIR), 0xCC, "character timeout");
	cr_expect_eq(inb(IIR), 0xCC, "reading IIR does not clear it");
	cr_expect_eq(inb(RBR), 'a');
	cr_expect_eq(inb(IIR), 0xC1, "reading RBR does");
	cr_expect_eq(dev_bus_next_deadline(env.bus), env.now_ns + TIMEOUT_9600_8N1,
		     "and restarts it while bytes remain");
	inb(RBR);
	inb(RBR);
	cr_expect_gt(dev_bus_next_deadline(env.bus), env.now_ns + TIMEOUT_9600_8N1,
		     "an empty FIFO stops it");
	test_dev_advance(&env, 10 * TIMEOUT_9600_8N1);
	cr_expect_eq(inb(IIR), 0xC1, "no timeout for an empty FIFO");
}

Test(uart_rx, timeout_follows_the_line_speed_and_frame)
{
	outb(LCR, 0x83);
	outb(DLL, 0x01); /* 115200 baud */
	outb(DLM, 0x00);
	outb(LCR, 0x0F); /* 8 data bits, parity, 2 stop bits: 12 bits a character */
	outb(FCR, 0xC1);
	uint64_t t0 = env.now_ns;
	input("a");
	cr_expect_eq(dev_bus_next_deadline(env.bus), t0 + 4 * 12 * TEST_DEV_NS_PER_SEC / 115200);
}

Test(uart_rx, the_timeout_is_masked_by_ier_rdi)
{
	outb(FCR, 0xC1);
	input("a");
	test_dev_advance(&env, TIMEOUT_9600_8N1);
	cr_expect_eq(inb(IIR), 0xC1);
	outb(IER, 0x01);
	cr_expect_eq(inb(IIR), 0xCC);
}

Test(uart_rx, line_status_outranks_the_timeout)
{
	outb(FCR, 0xC1);
	outb(MCR, 0x10);
	for (int i = 0; i < 17; i++)
		outb(THR, (uint8_t)('a' + i));
	test_dev_advance(&env, TIMEOUT_9600_8N1);
	outb(IER, 0x05);
	cr_expect_eq(inb(IIR), 0xC6, "RLSI first");
	cr_expect_eq(inb(LSR), 0x63, "OE");
	cr_expect_eq(inb(IIR), 0xCC);
}

Test(uart_rx, fifo_overrun_keeps_the_fifo_and_loses_the_new_byte)
{
	outb(FCR, 0x01);
	outb(MCR, 0x10);
	for (int i = 0; i < 17; i++)
		outb(THR, (uint8_t)('a' + i));
	cr_expect_eq(inb(LSR), 0x63);
	cr_expect_eq(inb(LSR), 0x61, "OE clears on read");
	for (int i = 0; i < 16; i++)
		cr_expect_eq(inb(RBR), (uint32_t)('a' + i));
	cr_expect_eq(inb(LSR), 0x60);
}

Test(uart_rx, clearing_or_switching_the_fifo_empties_the_receiver)
{
	outb(FCR, 0x01);
	input("abcde");
	outb(FCR, 0x03);
	cr_expect_eq(inb(LSR), 0x60);
	cr_expect_gt(dev_bus_next_deadline(env.bus), env.now_ns + TIMEOUT_9600_8N1,
		     "the timeout is off");
	outb(FCR, 0x00);
	input("x");
	outb(FCR, 0x01);
	cr_expect_eq(inb(LSR), 0x60, "switching the FIFOs on drops the held byte");
}

Test(uart_rx, loopback_disconnects_the_serial_input)
{
	outb(MCR, 0x10);
	cr_expect_eq(input("a"), 0);
	outb(MCR, 0x08);
	cr_expect_eq(input("a"), 1);
}

Test(uart_rx, received_data_raises_irq4_through_the_pic)
{
	pic_for_uart();
	outb(IER, 0x01);
	cr_expect_not(dev_intr_pending(env.bus));
	input("x");
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x24);
	test_pic_eoi(&env, 4);
	cr_expect_not(dev_intr_pending(env.bus), "IRQ 4 is edge-triggered on the PIC");
	cr_expect_eq(inb(RBR), 'x');
	input("y");
	cr_expect(dev_intr_pending(env.bus), "the read dropped INTR, so this is a new edge");
}

Test(uart_rx, out2_gates_irq4)
{
	pic_for_uart();
	outb(MCR, 0x00);
	outb(IER, 0x01);
	input("x");
	cr_expect_eq(inb(IIR), 0x04, "the UART wants to interrupt");
	cr_expect_not(dev_intr_pending(env.bus), "but OUT2 is off");
	outb(MCR, 0x08);
	cr_expect(dev_intr_pending(env.bus));
}

Test(uart_rx, loopback_keeps_irq4_off)
{
	pic_for_uart();
	outb(MCR, 0x18); /* loopback with OUT2 */
	outb(IER, 0x01);
	outb(THR, 'z');
	cr_expect_eq(inb(IIR), 0x04);
	cr_expect_not(dev_intr_pending(env.bus));
}

Test(uart_rx, thre_interrupt_on_irq4_acknowledged_by_iir_and_renewed_by_thr)
{
	pic_for_uart();
	outb(IER, 0x02);
	cr_assert(dev_intr_pending(env.bus), "THR is empty when THRE is enabled");
	cr_expect_eq(dev_intr_ack(env.bus), 0x24);
	test_pic_eoi(&env, 4);
	cr_expect_eq(inb(IIR), 0x02);
	cr_expect_not(dev_intr_pending(env.bus));
	outb(THR, 'a');
	cr_assert(dev_intr_pending(env.bus), "THR emptied again: a new edge");
	dev_intr_ack(env.bus);
	test_pic_eoi(&env, 4);
	outb(IER, 0x00);
	outb(THR, 'b');
	cr_expect_not(dev_intr_pending(env.bus));
	char buf[4];
	cr_expect_eq(serial_output(buf, sizeof(buf)), 2);
}

Test(uart_rx, fifo_clear_transmit_is_a_thre_event_as_in_qemu)
{
	outb(FCR, 0x01);
	outb(IER, 0x02);
	cr_expect_eq(inb(IIR), 0xC2);
	cr_expect_eq(inb(IIR), 0xC1);
	outb(FCR, 0x05);
	cr_expect_eq(inb(IIR), 0xC2);
}
