/* Offsets into struct tr_frame that emitted code and translator/entry.S depend on. Kept as
 * plain #defines so the assembler can include this file; translator.h pins each one with
 * _Static_assert against the struct. */
#ifndef BT86_TR_FRAME_OFFSETS_H
#define BT86_TR_FRAME_OFFSETS_H

#define TRF_GPR		0x000 /* 8 x u32: eax ecx edx ebx esp ebp esi edi */
#define TRF_ESP		0x010
#define TRF_RFLAGS	0x020 /* u64: host RFLAGS at exit (guest arithmetic flags and DF) */
#define TRF_HOST_RSP	0x028 /* u64: host stack pointer of the dispatcher */
#define TRF_WINDOW	0x030 /* u64: host address of guest linear address 0 (= GS base) */
#define TRF_EXIT	0x038 /* u64: the exit record of the last exit */
#define TRF_TARGET	0x040 /* u32: guest eip an indirect branch missed on */
#define TRF_JC_SALT	0x044 /* u32: minus the current mode, added to jump-cache tags */
#define TRF_EXIT_COMMON 0x048 /* u64: address of tr_exit_common */
#define TRF_IBL		0x050 /* u64: address of tr_ibl (indirect-branch lookup) */
#define TRF_SEG_BASE	0x058 /* 6 x u32: segment bases ES CS SS DS FS GS (disp8 reach) */
#define TRF_IND_EXIT	0x070 /* struct tr_exit: the record for indirect misses */
#define TRF_FPU		0x0c0 /* 512 bytes, fxsave64 image of the guest x87/MMX/SSE state */
#define TRF_JC		0x2c0 /* jump cache: TR_JC_ENTRIES x {u32 tag, u32 meta, u64 host} */

#define TR_JC_INDEX_BITS 18
#define TR_JC_ENTRIES	 (1 << TR_JC_INDEX_BITS)

#endif
