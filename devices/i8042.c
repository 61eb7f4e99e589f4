/* i8042.c — the PC's keyboard controller (an Intel 8042 running IBM's firmware) with a PS/2
 * keyboard that never types and an auxiliary port with nothing plugged in.
 *
 * Port 0x64 reads the status register and takes controller commands; port 0x60 reads the
 * output buffer and takes command parameters or bytes for the keyboard. A byte for the guest
 * comes from one of three places: the controller's own answer (one byte, which a later answer
 * overwrites until it is read), the keyboard's queue, or (for the loopback command 0xD3 and
 * the "no device" error) the auxiliary side. OBF says that one of them has a byte; which one
 * is chosen when OBF is set (controller first, then the keyboard unless its interface is
 * disabled), and the byte itself is fetched when the guest reads port 0x60. This is QEMU
 * 7.2's pckbd model, checked with a probe kernel, and it is what makes sequences like "command,
 * then keyboard byte" read back in QEMU's order. A read with OBF clear returns the last byte
 * again. IRQ 1 (keyboard bytes, if the command byte enables it and the keyboard interface is
 * enabled) and IRQ 12 (auxiliary bytes, if enabled) follow OBF, so each byte is a new edge.
 *
 * The keyboard answers the commands of QEMU's PS/2 keyboard — acknowledges, identification
 * AB 83 (AB 41 when the controller translates to scan set 1), reset with a passed self-test,
 * scan-set queries — so Linux's atkbd finds an "AT Translated Set 2 keyboard" that sends
 * nothing. The auxiliary port passes the controller's loopback and interface tests, which
 * Linux's i8042 probe needs before it will register the port, but a byte sent to the device
 * (command 0xD4) comes back as 0xFE with the time-out bit set, which is what a controller
 * reports when no device clocks the byte in; psmouse then gives up at once. (QEMU has a PS/2
 * mouse there.)
 *
 * The status register's command/data bit stays set as in QEMU; there is no parity error or
 * time-out except the one above. The output port's A20 bit always reads 1: bt86 has no A20
 * gate. Pulsing output-port bit 0 (commands 0xF0-0xFE with bit 0 clear, 0xFE being the usual
 * one) or writing it as 0 asks the bus for a reset.
 *
 * The controller starts as SeaBIOS leaves it under QEMU: self-test passed (status SYS), command
 * byte 0x61 (keyboard interrupt, auxiliary port disabled, translation on).
 */
#include <stdlib.h>

#include "devices/devices_internal.h"

enum {
	DEV_I8042_DATA = 0,   /* offset of port 0x60 from the device's base */
	DEV_I8042_STATUS = 4, /* port 0x64 */

	DEV_I8042_STR_OBF = 0x01,
	DEV_I8042_STR_SYS = 0x04,      /* self-test passed */
	DEV_I8042_STR_CMD = 0x08,      /* last write was a command (always set, as in QEMU) */
	DEV_I8042_STR_UNLOCKED = 0x10, /* the keylock switch is open */
	DEV_I8042_STR_AUXDATA = 0x20,
	DEV_I8042_STR_TIMEOUT = 0x40,

	DEV_I8042_CTR_KBDINT = 0x01,
	DEV_I8042_CTR_AUXINT = 0x02,
	DEV_I8042_CTR_KBDDIS = 0x10,
	DEV_I8042_CTR_AUXDIS = 0x20,
	DEV_I8042_CTR_XLATE = 0x40,

	DEV_I8042_OUT_RESET = 0x01, /* low: the CPU is held in reset */
	DEV_I8042_OUT_A20 = 0x02,
	DEV_I8042_OUT_OBF = 0x10,
	DEV_I8042_OUT_AUXOBF = 0x20,

	/* Controller commands. */
	DEV_I8042_CMD_READ_CTR = 0x20,
	DEV_I8042_CMD_WRITE_CTR = 0x60,
	DEV_I8042_CMD_AUX_DISABLE = 0xA7,
	DEV_I8042_CMD_AUX_ENABLE = 0xA8,
	DEV_I8042_CMD_AUX_TEST = 0xA9,
	DEV_I8042_CMD_SELF_TEST = 0xAA,
	DEV_I8042_CMD_KBD_TEST = 0xAB,
	DEV_I8042_CMD_KBD_DISABLE = 0xAD,
	DEV_I8042_CMD_KBD_ENABLE = 0xAE,
	DEV_I8042_CMD_READ_INPORT = 0xC0,
	DEV_I8042_CMD_READ_OUTPORT = 0xD0,
	DEV_I8042_CMD_WRITE_OUTPORT = 0xD1,
	DEV_I8042_CMD_KBD_LOOP = 0xD2,
	DEV_I8042_CMD_AUX_LOOP = 0xD3,
	DEV_I8042_CMD_AUX_SEND = 0xD4,
	DEV_I8042_CMD_A20_OFF = 0xDD,
	DEV_I8042_CMD_A20_ON = 0xDF,
	DEV_I8042_CMD_PULSE = 0xF0, /* 0xF0-0xFF: pulse output-port bits 3-0 where clear */
	DEV_I8042_SELF_TEST_OK = 0x55,
	DEV_I8042_INPORT = 0x80, /* keyboard not inhibited */
	DEV_I8042_NO_DEVICE = 0xFE,

	/* Keyboard commands and replies. */
	DEV_KBD_SET_LEDS = 0xED,
	DEV_KBD_ECHO = 0xEE,
	DEV_KBD_SCAN_SET = 0xF0,
	DEV_KBD_GET_ID = 0xF2,
	DEV_KBD_SET_RATE = 0xF3,
	DEV_KBD_ENABLE = 0xF4,
	DEV_KBD_RESET_DISABLE = 0xF5,
	DEV_KBD_RESET_ENABLE = 0xF6,
	DEV_KBD_ALL_TYPEMATIC = 0xFA,
	DEV_KBD_RESET = 0xFF,
	DEV_KBD_ACK = 0xFA,
	DEV_KBD_RESEND = 0xFE,
	DEV_KBD_BAT_OK = 0xAA,
	DEV_KBD_ID = 0xAB,
	DEV_KBD_ID2 = 0x83,
	DEV_KBD_ID2_XLATE = 0x41, /* 0x83 as the controller's scan-set translation shows it */

	DEV_I8042_IRQ_KBD = 1,
	DEV_I8042_IRQ_AUX = 12,
	DEV_KBD_QUEUE = 16, /* QEMU's PS/2 queue */
};

/* Where the byte behind OBF comes from. */
enum dev_i8042_source {
	DEV_I8042_SRC_CTRL,
	DEV_I8042_SRC_KBD,
};

struct dev_i8042 {
	struct dev_bus *bus;
	uint8_t ctr;	   /* the controller command byte */
	uint8_t status;	   /* SYS, CMD, UNLOCKED; OBF and the source bits are computed */
	uint8_t outport;   /* as last written; OBF bits and A20 are computed when read */
	uint8_t write_cmd; /* the command whose data byte port 0x60 takes next, or 0 */
	/* The controller's own answer. */
	bool ctrl_pending;
	uint8_t ctrl_data;
	bool ctrl_aux;	   /* it reads as auxiliary data (loopback, no-device error) */
	bool ctrl_timeout; /* it is the no-device error */
	/* The output buffer. */
	bool obf;
	enum dev_i8042_source src;
	bool ob_aux;
	bool ob_timeout;
	uint8_t obdata; /* the last byte the guest read */
	/* The keyboard. */
	uint8_t kbd_queue[DEV_KBD_QUEUE];
	unsigned kbd_head, kbd_count;
	uint8_t kbd_cmd; /* command waiting for its parameter byte, or 0 */
	uint8_t scan_set;
	bool irq_kbd, irq_aux;
};

static void dev_i8042_irq_lines(struct dev_i8042 *kbc)
{
	bool kbd = false, aux = false;
	if (kbc->obf) {
		if (kbc->ob_aux)
			aux = kbc->ctr & DEV_I8042_CTR_AUXINT;
		else
			kbd =
			    (kbc->ctr & DEV_I8042_CTR_KBDINT) && !(kbc->ctr & DEV_I8042_CTR_KBDDIS);
	}
	if (kbd != kbc->irq_kbd) {
		kbc->irq_kbd = kbd;
		dev_irq_set(kbc->bus, DEV_I8042_IRQ_KBD, kbd);
	}
	if (aux != kbc->irq_aux) {
		kbc->irq_aux = aux;
		dev_irq_set(kbc->bus, DEV_I8042_IRQ_AUX, aux);
	}
}

/* If the output buffer is free and someone has a byte, give it OBF. */
static void dev_i8042_refill(struct dev_i8042 *kbc)
{
	if (!kbc->obf) {
		if (kbc->ctrl_pending) {
			kbc->obf = true;
			kbc->src = DEV_I8042_SRC_CTRL;
			kbc->ob_aux = kbc->ctrl_aux;
			kbc->ob_timeout = kbc->ctrl_timeout;
		} else if (kbc->kbd_count > 0 && !(kbc->ctr & DEV_I8042_CTR_KBDDIS)) {
			kbc->obf = true;
			kbc->src = DEV_I8042_SRC_KBD;
			kbc->ob_aux = false;
			kbc->ob_timeout = false;
		}
	}
	dev_i8042_irq_lines(kbc);
}

/* The controller answers (replacing an answer not yet read). */
static void dev_i8042_answer(struct dev_i8042 *kbc, uint8_t byte, bool aux, bool timeout)
{
	kbc->ctrl_pending = true;
	kbc->ctrl_data = byte;
	kbc->ctrl_aux = aux;
	kbc->ctrl_timeout = timeout;
	if (kbc->obf && kbc->src == DEV_I8042_SRC_CTRL) {
		kbc->ob_aux = aux; /* the read will fetch the new answer */
		kbc->ob_timeout = timeout;
	}
	dev_i8042_refill(kbc);
}

/* ---- the keyboard ----------------------------------------------------------------------- */

static void dev_kbd_send(struct dev_i8042 *kbc, uint8_t byte)
{
	if (kbc->kbd_count == DEV_KBD_QUEUE)
		return; /* a guest that never reads: the keyboard drops what does not fit */
	kbc->kbd_queue[(kbc->kbd_head + kbc->kbd_count) % DEV_KBD_QUEUE] = byte;
	kbc->kbd_count++;
}

static void dev_kbd_reset(struct dev_i8042 *kbc)
{
	kbc->scan_set = 2;
	kbc->kbd_cmd = 0;
}

/* The scan set as the keyboard reports it, through the controller's translation if on. */
static uint8_t dev_kbd_scan_set_reply(const struct dev_i8042 *kbc)
{
	static const uint8_t translated[4] = {0, 0x43, 0x41, 0x3F};
	if (kbc->ctr & DEV_I8042_CTR_XLATE)
		return translated[kbc->scan_set & 3];
	return kbc->scan_set;
}

static void dev_kbd_command(struct dev_i8042 *kbc, uint8_t byte)
{
	switch (byte) {
	case 0x00:
	case DEV_KBD_ENABLE:
	case DEV_KBD_ALL_TYPEMATIC:
		dev_kbd_send(kbc, DEV_KBD_ACK);
		break;
	case DEV_KBD_SET_LEDS:
	case DEV_KBD_SCAN_SET:
	case DEV_KBD_SET_RATE:
		kbc->kbd_cmd = byte;
		dev_kbd_send(kbc, DEV_KBD_ACK);
		break;
	case DEV_KBD_ECHO:
		dev_kbd_send(kbc, DEV_KBD_ECHO);
		break;
	case DEV_KBD_GET_ID:
		dev_kbd_send(kbc, DEV_KBD_ACK);
		dev_kbd_send(kbc, DEV_KBD_ID);
		dev_kbd_send(kbc,
			     (kbc->ctr & DEV_I8042_CTR_XLATE) ? DEV_KBD_ID2_XLATE : DEV_KBD_ID2);
		break;
	case DEV_KBD_RESET_DISABLE:
	case DEV_KBD_RESET_ENABLE:
		dev_kbd_reset(kbc);
		dev_kbd_send(kbc, DEV_KBD_ACK);
		break;
	case DEV_KBD_RESET:
		dev_kbd_reset(kbc);
		dev_kbd_send(kbc, DEV_KBD_ACK);
		dev_kbd_send(kbc, DEV_KBD_BAT_OK);
		break;
	default: /* QEMU's keyboard asks for everything else again */
		dev_kbd_send(kbc, DEV_KBD_RESEND);
		break;
	}
}

/* A byte from the host to the keyboard: a command, or the parameter of the last one. */
static void dev_kbd_write(struct dev_i8042 *kbc, uint8_t byte)
{
	uint8_t cmd = kbc->kbd_cmd;
	kbc->kbd_cmd = 0;
	switch (cmd) {
	case 0:
		dev_kbd_command(kbc, byte);
		break;
	case DEV_KBD_SCAN_SET:
		if (byte == 0) {
			dev_kbd_send(kbc, DEV_KBD_ACK);
			dev_kbd_send(kbc, dev_kbd_scan_set_reply(kbc));
		} else if (byte <= 3) {
			kbc->scan_set = byte;
			dev_kbd_send(kbc, DEV_KBD_ACK);
		} else {
			dev_kbd_send(kbc, DEV_KBD_RESEND);
		}
		break;
	default: /* the LED state and the typematic rate: nothing to show or repeat */
		dev_kbd_send(kbc, DEV_KBD_ACK);
		break;
	}
}

/* ---- the controller --------------------------------------------------------------------- */

struct dev_i8042 *dev_i8042_create(struct dev_bus *bus)
{
	struct dev_i8042 *kbc = calloc(1, sizeof(*kbc));
	if (kbc == NULL)
		return NULL;
	kbc->bus = bus;
	kbc->status = DEV_I8042_STR_SYS | DEV_I8042_STR_CMD | DEV_I8042_STR_UNLOCKED;
	kbc->ctr = DEV_I8042_CTR_XLATE | DEV_I8042_CTR_AUXDIS | DEV_I8042_CTR_KBDINT;
	kbc->outport = 0xCF; /* QEMU: not in reset, A20 on, the unused bits high */
	dev_kbd_reset(kbc);
	return kbc;
}

void dev_i8042_destroy(struct dev_i8042 *kbc)
{
	free(kbc);
}

static uint8_t dev_i8042_outport(const struct dev_i8042 *kbc)
{
	uint8_t v = (kbc->outport | DEV_I8042_OUT_A20) &
		    (uint8_t) ~(DEV_I8042_OUT_OBF | DEV_I8042_OUT_AUXOBF);
	if (kbc->obf)
		v |= kbc->ob_aux ? DEV_I8042_OUT_OBF | DEV_I8042_OUT_AUXOBF : DEV_I8042_OUT_OBF;
	return v;
}

static void dev_i8042_write_outport(struct dev_i8042 *kbc, uint8_t value)
{
	kbc->outport = value;
	if (!(value & DEV_I8042_OUT_RESET))
		dev_bus_request_reset(kbc->bus);
}

static void dev_i8042_command(struct dev_i8042 *kbc, uint8_t cmd)
{
	if (cmd >= DEV_I8042_CMD_PULSE) {
		if (!(cmd & DEV_I8042_OUT_RESET)) /* pulsing bit 0 resets the CPU */
			dev_bus_request_reset(kbc->bus);
		return;
	}
	switch (cmd) {
	case DEV_I8042_CMD_READ_CTR:
		dev_i8042_answer(kbc, kbc->ctr, false, false);
		break;
	case DEV_I8042_CMD_WRITE_CTR:
	case DEV_I8042_CMD_WRITE_OUTPORT:
	case DEV_I8042_CMD_KBD_LOOP:
	case DEV_I8042_CMD_AUX_LOOP:
	case DEV_I8042_CMD_AUX_SEND:
		kbc->write_cmd = cmd;
		break;
	case DEV_I8042_CMD_AUX_DISABLE:
		kbc->ctr |= DEV_I8042_CTR_AUXDIS;
		break;
	case DEV_I8042_CMD_AUX_ENABLE:
		kbc->ctr &= (uint8_t)~DEV_I8042_CTR_AUXDIS;
		break;
	case DEV_I8042_CMD_AUX_TEST:
	case DEV_I8042_CMD_KBD_TEST:
		dev_i8042_answer(kbc, 0x00, false, false); /* no clock or data line stuck */
		break;
	case DEV_I8042_CMD_SELF_TEST:
		kbc->status |= DEV_I8042_STR_SYS;
		dev_i8042_answer(kbc, DEV_I8042_SELF_TEST_OK, false, false);
		break;
	case DEV_I8042_CMD_KBD_DISABLE:
		kbc->ctr |= DEV_I8042_CTR_KBDDIS;
		dev_i8042_refill(kbc);
		break;
	case DEV_I8042_CMD_KBD_ENABLE:
		kbc->ctr &= (uint8_t)~DEV_I8042_CTR_KBDDIS;
		dev_i8042_refill(kbc);
		break;
	case DEV_I8042_CMD_READ_INPORT:
		dev_i8042_answer(kbc, DEV_I8042_INPORT, false, false);
		break;
	case DEV_I8042_CMD_READ_OUTPORT:
		dev_i8042_answer(kbc, dev_i8042_outport(kbc), false, false);
		break;
	case DEV_I8042_CMD_A20_OFF:
		kbc->outport &= (uint8_t)~DEV_I8042_OUT_A20;
		break;
	case DEV_I8042_CMD_A20_ON:
		kbc->outport |= DEV_I8042_OUT_A20;
		break;
	default: /* QEMU ignores the rest (0xA1 version, RAM reads 0x21-0x3F, ...) */
		break;
	}
}

static void dev_i8042_write_data(struct dev_i8042 *kbc, uint8_t value)
{
	uint8_t cmd = kbc->write_cmd;
	kbc->write_cmd = 0;
	switch (cmd) {
	case 0:
		/* Sending to the keyboard enables its interface again (QEMU 7.2 does). */
		kbc->ctr &= (uint8_t)~DEV_I8042_CTR_KBDDIS;
		dev_kbd_write(kbc, value);
		dev_i8042_refill(kbc);
		break;
	case DEV_I8042_CMD_WRITE_CTR:
		kbc->ctr = value;
		dev_i8042_refill(kbc);
		break;
	case DEV_I8042_CMD_WRITE_OUTPORT:
		dev_i8042_write_outport(kbc, value);
		break;
	case DEV_I8042_CMD_KBD_LOOP:
		dev_i8042_answer(kbc, value, false, false);
		break;
	case DEV_I8042_CMD_AUX_LOOP:
		dev_i8042_answer(kbc, value, true, false);
		break;
	default: /* DEV_I8042_CMD_AUX_SEND: nobody takes the byte */
		kbc->ctr &= (uint8_t)~DEV_I8042_CTR_AUXDIS;
		dev_i8042_answer(kbc, DEV_I8042_NO_DEVICE, true, true);
		break;
	}
}

static uint8_t dev_i8042_read_data(struct dev_i8042 *kbc)
{
	if (!kbc->obf)
		return kbc->obdata;
	kbc->obf = false;
	dev_i8042_irq_lines(kbc); /* the lines drop, so the next byte is a new edge */
	if (kbc->src == DEV_I8042_SRC_CTRL) {
		kbc->obdata = kbc->ctrl_data;
		kbc->ctrl_pending = false;
	} else if (kbc->kbd_count > 0) {
		kbc->obdata = kbc->kbd_queue[kbc->kbd_head];
		kbc->kbd_head = (kbc->kbd_head + 1) % DEV_KBD_QUEUE;
		kbc->kbd_count--;
	}
	dev_i8042_refill(kbc);
	return kbc->obdata;
}

static uint8_t dev_i8042_read_status(const struct dev_i8042 *kbc)
{
	uint8_t status = kbc->status;
	if (kbc->obf) {
		status |= DEV_I8042_STR_OBF;
		if (kbc->ob_aux)
			status |= DEV_I8042_STR_AUXDATA;
		if (kbc->ob_timeout)
			status |= DEV_I8042_STR_TIMEOUT;
	}
	return status;
}

/* QEMU's two one-byte regions ignore the offset, so a split word access reads the same port
 * twice; offsets below 4 are the data port here, the rest the status port. */
static uint32_t dev_i8042_read(void *dev, unsigned offset, unsigned size)
{
	struct dev_i8042 *kbc = dev;
	(void)size;
	if (offset < DEV_I8042_STATUS)
		return dev_i8042_read_data(kbc);
	return dev_i8042_read_status(kbc);
}

static void dev_i8042_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_i8042 *kbc = dev;
	(void)size;
	if (offset < DEV_I8042_STATUS)
		dev_i8042_write_data(kbc, (uint8_t)value);
	else
		dev_i8042_command(kbc, (uint8_t)value);
}

const struct dev_port_ops dev_i8042_ops = {
    .name = "i8042",
    .read = dev_i8042_read,
    .write = dev_i8042_write,
    .valid_max = 4,
    .impl_max = 1,
};
