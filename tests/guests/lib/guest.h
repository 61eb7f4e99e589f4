/*
 * guest.h — the small runtime shared by the bt86 guest test kernels.
 *
 * Every kernel is a multiboot v1 ELF loaded at 1 MiB. entry.S sets up a stack and a flat GDT
 * (code 0x08, data 0x10) and calls kmain(); when kmain returns, the kernel exits through the
 * isa-debug-exit port with code 0. Output goes to COM1, one fact per line, values in hex, so
 * that QEMU's output and bt86's can be compared byte for byte.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define MB_MAGIC_BOOT 0x2BADB002u

/* EFLAGS bits. */
#define FL_CF	 0x0001u
#define FL_PF	 0x0004u
#define FL_AF	 0x0010u
#define FL_ZF	 0x0040u
#define FL_SF	 0x0080u
#define FL_TF	 0x0100u
#define FL_IF	 0x0200u
#define FL_DF	 0x0400u
#define FL_OF	 0x0800u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* Selectors of the flat GDT that entry.S loads. */
#define SEL_CODE 0x08u
#define SEL_DATA 0x10u

/* The multiboot information structure (only the fields the kernels read). */
struct mb_info {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
};

struct mb_mmap_entry {
	uint32_t size; /* of the rest of the entry, without this field */
	uint64_t addr;
	uint64_t len;
	uint32_t type; /* 1 = available RAM */
} __attribute__((packed));

/* Each kernel defines this; magic and info are EAX and EBX as the loader left them. */
void kmain(uint32_t magic, const struct mb_info *info);

/* Enter ring 3 at eip with stack esp and the given EFLAGS, through iret with the flat user
 * selectors (user.S): never returns; ring 3 comes back through a system call or a fault. */
__attribute__((noreturn)) void enter_user(uint32_t eip, uint32_t esp, uint32_t eflags);

/* Port I/O. */
static inline void outb(uint16_t port, uint8_t val)
{
	__asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t val)
{
	__asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t val;
	__asm__ volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

/* Output on COM1 (print.c). kprintf knows %c %s %d %u %x and %llx, with a width ("%08x", "%0*x")
 * that pads hex with zeros. */
void uart_init(void);
void put_char(char c);
void put_str(const char *s);
void put_hex32(uint32_t v);
void put_hex64(uint64_t v);
void put_dec(uint32_t v);
void put_flags(uint32_t eflags, uint32_t mask);
void put_bytes(const void *p, size_t n);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

/* Leave the VM through isa-debug-exit: QEMU's status is (code << 1) | 1. */
__attribute__((noreturn)) void guest_exit(uint32_t code);

/* Freestanding helpers gcc may call on its own. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* A 32-bit FNV-1a hash, for printing checksums of memory. */
uint32_t fnv32(const void *p, size_t n);

/* Descriptor tables (desc.c). The GDT has GDT_ENTRIES slots; entries 0..2 are null, flat code
 * and flat data. gdt_set() fills a slot, gdt_load() loads GDTR to cover the first count. */
#define GDT_ENTRIES 16
void gdt_set(unsigned index, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
void gdt_load(unsigned count);
extern uint64_t gdt_table[GDT_ENTRIES];

/* IDT: every vector gets a stub that saves a struct trap_frame and calls trap_dispatch().
 * type is 0x8E (interrupt gate) or 0x8F (trap gate), ORed with DPL << 5. */
void idt_init(void);
void idt_set_gate(unsigned vector, uint32_t handler, uint16_t sel, uint8_t type);
extern uint64_t idt_table[256];
extern const uint32_t trap_stubs[256];

/* Exceptions (trap.c). */
struct trap_frame {
	uint32_t gs, fs, es, ds;
	uint32_t edi, esi, ebp, esp_pusha, ebx, edx, ecx, eax;
	uint32_t vector, error;
	uint32_t eip, cs, eflags; /* pushed by the CPU */
};

struct trap_record {
	uint32_t vector, error, eip, eflags;
};

/* A hook runs in place of the default action; it may edit the frame, and returning resumes
 * the guest with iret. */
typedef void (*trap_hook)(struct trap_frame *frame);
void trap_set_hook(unsigned vector, trap_hook hook);

/* The hook that resumes after the faulting instruction, trap_skip bytes further on. */
extern uint32_t trap_skip;
void trap_hook_skip(struct trap_frame *frame);

/* The last traps taken, oldest first; trap_count counts them all. */
#define TRAP_LOG 8
extern struct trap_record trap_log[TRAP_LOG];
extern unsigned trap_count;
extern struct trap_record trap_last;
extern struct trap_frame trap_last_frame; /* all registers at the last trap */
void trap_log_clear(void);

/* A setjmp-like recovery point: TRAP_TRY() is true on the way in; when a trap without a hook
 * arrives while a recovery point is armed, execution comes back to it with TRAP_TRY() false
 * and trap_last describing the trap. TRAP_END() disarms it on the normal path. */
struct jmp_buf {
	uint32_t ebx, esi, edi, ebp, esp, eip;
};
int guest_setjmp(struct jmp_buf *jb) __attribute__((returns_twice));
__attribute__((noreturn)) void guest_longjmp(struct jmp_buf *jb, int val);
struct jmp_buf *trap_arm(void);
void trap_disarm(void);
#define TRAP_TRY() (guest_setjmp(trap_arm()) == 0)
#define TRAP_END() trap_disarm()

/* Control registers. Under GUEST_HOST (a kernel built as a Linux i386 program to check its
 * output against the real CPU, see host.c) they are out of reach and read as 0. */
#ifdef GUEST_HOST
static inline uint32_t read_cr0(void)
{
	return 0;
}

static inline void write_cr0(uint32_t v)
{
	(void)v;
}

static inline uint32_t read_cr4(void)
{
	return 0;
}

static inline void write_cr4(uint32_t v)
{
	(void)v;
}
#else
static inline uint32_t read_cr0(void)
{
	uint32_t v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline void write_cr0(uint32_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline uint32_t read_cr4(void)
{
	uint32_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void write_cr4(uint32_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}
#endif

#endif
