/* test_pci.c — PCI configuration mechanism #1 through 0xCF8/0xCFC at every width, the i440FX
 * host bridge and the PIIX3 ISA bridge, absent functions, and the reset control register that
 * shares 0xCF9. Expected values were measured on QEMU 7.2 with a probe kernel. */
#include <criterion/criterion.h>

#include "test_devices_common.h"

static struct test_dev_env env;

static void pci_setup(void)
{
	test_dev_env_setup(&env);
}

static void pci_teardown(void)
{
	test_dev_env_teardown(&env);
}

TestSuite(pci, .init = pci_setup, .fini = pci_teardown);
TestSuite(reset_control, .init = pci_setup, .fini = pci_teardown);

static uint32_t address(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | reg;
}

static uint32_t config_read(unsigned dev, unsigned fn, unsigned reg)
{
	test_outl(&env, 0xCF8, address(0, dev, fn, reg));
	return test_inl(&env, 0xCFC);
}

static void config_write(unsigned dev, unsigned fn, unsigned reg, uint32_t value)
{
	test_outl(&env, 0xCF8, address(0, dev, fn, reg));
	test_outl(&env, 0xCFC, value);
}

Test(pci, host_bridge_is_an_i440fx)
{
	cr_expect_eq(config_read(0, 0, 0x00), 0x12378086);
	cr_expect_eq(config_read(0, 0, 0x04), 0x00000103, "command as SeaBIOS leaves it");
	cr_expect_eq(config_read(0, 0, 0x08), 0x06000002, "host bridge, revision 2");
	cr_expect_eq(config_read(0, 0, 0x0C), 0x00000000, "header type 0");
	cr_expect_eq(config_read(0, 0, 0x2C), 0x11001AF4, "QEMU's subsystem IDs");
	cr_expect_eq(config_read(0, 0, 0x10), 0, "no BARs");
}

Test(pci, byte_and_word_reads_at_every_data_port_offset)
{
	test_outl(&env, 0xCF8, address(0, 0, 0, 0x00));
	static const uint8_t bytes[4] = {0x86, 0x80, 0x37, 0x12};
	for (unsigned i = 0; i < 4; i++)
		cr_expect_eq(test_inb(&env, (uint16_t)(0xCFC + i)), bytes[i], "0xCFC + %u", i);
	cr_expect_eq(test_inw(&env, 0xCFC), 0x8086);
	cr_expect_eq(test_inw(&env, 0xCFE), 0x1237);
	cr_expect_eq(test_inl(&env, 0xCFD), 0, "a misaligned dword is refused, as in QEMU");
	cr_expect_eq(test_inw(&env, 0xCFD), 0);
}

Test(pci, isa_bridge_is_a_multifunction_piix3_at_device_1)
{
	cr_expect_eq(config_read(1, 0, 0x00), 0x70008086);
	cr_expect_eq(config_read(1, 0, 0x04), 0x02000103, "medium DEVSEL in the status");
	cr_expect_eq(config_read(1, 0, 0x08), 0x06010000, "ISA bridge, revision 0");
	cr_expect_eq(config_read(1, 0, 0x0C), 0x00800000, "multifunction header");
	cr_expect_eq(config_read(1, 0, 0x60), 0x0B0B0A0A, "PIRQ routing as SeaBIOS set it");
}

Test(pci, absent_functions_read_all_ones)
{
	cr_expect_eq(config_read(2, 0, 0x00), 0xFFFFFFFF);
	cr_expect_eq(config_read(31, 0, 0x00), 0xFFFFFFFF);
	cr_expect_eq(config_read(0, 1, 0x00), 0xFFFFFFFF);
	cr_expect_eq(config_read(1, 1, 0x00), 0xFFFFFFFF, "the PIIX3's IDE is not modelled");
	test_outl(&env, 0xCF8, address(1, 0, 0, 0x00));
	cr_expect_eq(test_inl(&env, 0xCFC), 0xFFFFFFFF, "bus 1");
	cr_expect_eq(test_inb(&env, 0xCFE), 0xFF);
	cr_expect_eq(test_inw(&env, 0xCFE), 0xFFFF);
	config_write(2, 0, 0x04, 0x7);
	cr_expect_eq(config_read(2, 0, 0x04), 0xFFFFFFFF);
}

Test(pci, enable_bit_clear_reads_all_ones)
{
	test_outl(&env, 0xCF8, 0x00000000);
	cr_expect_eq(test_inl(&env, 0xCFC), 0xFFFFFFFF);
	test_outl(&env, 0xCFC, 0);
	cr_expect_eq(config_read(0, 0, 0x00), 0x12378086);
}

Test(pci, reserved_address_bits_are_ignored)
{
	test_outl(&env, 0xCF8, 0x81000000);
	cr_expect_eq(test_inl(&env, 0xCFC), 0x12378086, "bits 30-24 do not select a bus");
}

Test(pci, address_register_reads_back_and_only_dword_writes_set_it)
{
	test_outl(&env, 0xCF8, 0x80001234);
	cr_expect_eq(test_inl(&env, 0xCF8), 0x80001234);
	test_outb(&env, 0xCFB, 0x01); /* Linux's pci_check_type1 does this first */
	test_outb(&env, 0xCF8, 0x55);
	test_outw(&env, 0xCFA, 0x1111);
	cr_expect_eq(test_inl(&env, 0xCF8), 0x80001234);
	/* QEMU answers any narrow read with the register's low bytes, whatever the offset. */
	cr_expect_eq(test_inb(&env, 0xCF8), 0x34);
	cr_expect_eq(test_inb(&env, 0xCFA), 0x34);
	cr_expect_eq(test_inb(&env, 0xCFB), 0x34);
	cr_expect_eq(test_inw(&env, 0xCF8), 0x1234);
	cr_expect_eq(test_inw(&env, 0xCFA), 0x1234);
	cr_expect_eq(test_inl(&env, 0xCFA), 0, "misaligned: refused");
}

Test(pci, linux_type1_probe_passes)
{
	test_outb(&env, 0xCFB, 0x01);
	uint32_t saved = test_inl(&env, 0xCF8);
	test_outl(&env, 0xCF8, 0x80000000);
	cr_expect_eq(test_inl(&env, 0xCF8), 0x80000000);
	test_outl(&env, 0xCF8, saved);
	/* pci_sanity_check: a host bridge's class, or an Intel vendor ID, on bus 0. */
	test_outl(&env, 0xCF8, address(0, 0, 0, 0x08));
	cr_expect_eq(test_inw(&env, 0xCFE), 0x0600);
}

Test(pci, command_register_keeps_only_its_writable_bits)
{
	config_write(0, 0, 0x04, 0xFFFFFFFF);
	cr_expect_eq(config_read(0, 0, 0x04), 0x00000507, "status is read-only here");
	config_write(0, 0, 0x04, 0x00000000);
	cr_expect_eq(config_read(0, 0, 0x04), 0x00000000);
	test_outl(&env, 0xCF8, address(0, 0, 0, 0x04));
	test_outb(&env, 0xCFD, 0xFF);
	cr_expect_eq(config_read(0, 0, 0x04), 0x00000500, "byte write to the high half");
	config_write(1, 0, 0x04, 0xFFFFFFFF);
	cr_expect_eq(config_read(1, 0, 0x04), 0x02000507);
}

Test(pci, read_only_header_registers_ignore_writes)
{
	config_write(0, 0, 0x00, 0);
	config_write(0, 0, 0x08, 0);
	config_write(0, 0, 0x0C, 0xFFFFFFFF);
	config_write(0, 0, 0x3C, 0xFFFFFFFF);
	cr_expect_eq(config_read(0, 0, 0x00), 0x12378086);
	cr_expect_eq(config_read(0, 0, 0x08), 0x06000002);
	cr_expect_eq(config_read(0, 0, 0x0C), 0x000000FF, "only the cache line size");
	cr_expect_eq(config_read(0, 0, 0x3C), 0x000000FF, "only the interrupt line");
}

Test(pci, device_specific_registers_are_writable)
{
	/* Linux's quirk_passive_release sets bit 1 of the PIIX3's register 0x82. */
	test_outl(&env, 0xCF8, address(0, 1, 0, 0x80));
	cr_expect_eq(test_inb(&env, 0xCFE), 0x00);
	test_outb(&env, 0xCFE, 0x02);
	cr_expect_eq(config_read(1, 0, 0x80), 0x00020000);
	config_write(0, 0, 0x58, 0xFFFFFFFF);
	cr_expect_eq(config_read(0, 0, 0x58), 0xFFFFFFFF);
}

Test(pci, low_address_bits_offset_the_register_as_in_qemu)
{
	test_outl(&env, 0xCF8, 0x80000802);
	cr_expect_eq(test_inl(&env, 0xCFC), 0x01037000, "a dword from register 2");
}

Test(reset_control, byte_at_0xcf9_is_the_reset_control_register)
{
	cr_expect_eq(test_inb(&env, 0xCF9), 0x00);
	test_outb(&env, 0xCF9, 0x02);
	cr_expect_eq(test_inb(&env, 0xCF9), 0x02, "the reset type bit is kept");
	cr_expect_not(dev_bus_reset_requested(env.bus));
	test_outb(&env, 0xCF9, 0x0A);
	cr_expect_eq(test_inb(&env, 0xCF9), 0x02, "only bit 1 is kept");
	cr_expect_not(dev_bus_reset_requested(env.bus));
	test_outb(&env, 0xCF9, 0x06);
	cr_expect(dev_bus_reset_requested(env.bus));
}

Test(reset_control, full_reset_value_0x0e_resets)
{
	test_outb(&env, 0xCF9, 0x0E);
	cr_expect(dev_bus_reset_requested(env.bus));
}

Test(reset_control, a_dword_at_0xcf8_never_reaches_it)
{
	test_outl(&env, 0xCF8, 0x80000600); /* byte 1 would be 0x06 */
	cr_expect_not(dev_bus_reset_requested(env.bus));
	cr_expect_eq(test_inb(&env, 0xCF9), 0x00);
	cr_expect_eq(test_inl(&env, 0xCF8), 0x80000600);
}
