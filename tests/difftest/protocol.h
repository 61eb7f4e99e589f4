/* bt86-difftest: the memory layout of a test sequence and the pipe protocol between the tester
 * (64-bit) and the native runner (a static 32-bit program).
 *
 * Both sides compile this header, so it holds only fixed-width fields whose layout is the same
 * in the i386 and x86-64 ABIs; the _Static_asserts pin the sizes. One request carries
 * everything a run needs and one response everything it left behind: a run is stateless, so
 * the runner survives any number of them and a sequence can be replayed alone.
 */
#ifndef BT86_DIFFTEST_PROTOCOL_H
#define BT86_DIFFTEST_PROTOCOL_H

#include <stdint.h>

/* Guest-linear (= guest-physical under bt86) regions. They are free in a static 32-bit Linux
 * process (its image starts at 0x08048000) and inside a 16 MiB bt86 guest. Memory operands are
 * only ever generated into DATA and STACK; CODE holds the sequence (which starts at dt_req.entry,
 * sometimes just before the page boundary in the middle) and is filled with hlt. */
#define DT_DATA_BASE   0x00400000u
#define DT_DATA_SIZE   0x2000u
#define DT_CODE_BASE   0x00500000u
#define DT_CODE_SIZE   0x2000u
#define DT_STACK_BASE  0x00600000u
#define DT_STACK_SIZE  0x1000u
#define DT_HLT	       0xf4u
#define DT_FXSAVE_SIZE 512u

#define DT_REQ_MAGIC  0x44545251u /* "QRTD" */
#define DT_RESP_MAGIC 0x44545253u

/* GPR order everywhere in difftest: the x86 encoding order, as in struct rt_guest_state. */
enum dt_gpr { DT_EAX, DT_ECX, DT_EDX, DT_EBX, DT_ESP, DT_EBP, DT_ESI, DT_EDI, DT_GPR_COUNT };

/* How a native run ended (dt_resp.end). */
enum dt_end {
	DT_END_HLT = 1,	   /* the #GP of a hlt at CPL 3: the normal end */
	DT_END_FAULT = 2,  /* any other fault; vector from the kernel's trap number */
	DT_END_SIGNAL = 3, /* a signal the runner did not expect (vector meaningless) */
};

struct dt_req {
	uint32_t magic;
	uint32_t eflags;
	uint32_t gpr[DT_GPR_COUNT];
	uint32_t entry; /* where the sequence starts, inside CODE */
	uint32_t reserved[5];
	uint8_t fxsave[DT_FXSAVE_SIZE]; /* 32-bit FXSAVE layout, loaded with fxrstor */
	uint8_t code[DT_CODE_SIZE];
	uint8_t data[DT_DATA_SIZE];
	uint8_t stack[DT_STACK_SIZE];
};

struct dt_resp {
	uint32_t magic;
	uint32_t end;	/* enum dt_end */
	uint32_t signo; /* host signal number */
	uint32_t si_code;
	uint32_t trapno; /* the CPU exception vector the kernel recorded */
	uint32_t error;	 /* its error code */
	uint32_t addr;	 /* si_addr */
	uint32_t eip;
	uint32_t eflags;
	uint32_t gpr[DT_GPR_COUNT];
	uint32_t reserved[7];
	uint8_t fxsave[DT_FXSAVE_SIZE];
	uint8_t code[DT_CODE_SIZE];
	uint8_t data[DT_DATA_SIZE];
	uint8_t stack[DT_STACK_SIZE];
};

_Static_assert(sizeof(struct dt_req) ==
		   4 * 16 + DT_FXSAVE_SIZE + DT_CODE_SIZE + DT_DATA_SIZE + DT_STACK_SIZE,
	       "request layout");
_Static_assert(sizeof(struct dt_resp) ==
		   4 * 24 + DT_FXSAVE_SIZE + DT_CODE_SIZE + DT_DATA_SIZE + DT_STACK_SIZE,
	       "response layout");

#endif
