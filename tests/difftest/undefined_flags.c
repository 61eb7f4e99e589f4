/* Which arithmetic flags an instruction defines and which it leaves undefined (SDM Vol. 2,
 * each instruction's "Flags Affected"), as one table plus the count rules of the shifts and
 * rotates.
 *
 * The generator uses it to keep undefined flags from being read (flow.c checks the result),
 * and the comparison masks the flags that are undefined at the point where a run ended. A flag
 * an instruction does not mention keeps whatever state (defined or not) it had.
 */
#include "difftest.h"

struct dt_fk_entry {
	const char *name;
	uint16_t def;
	uint16_t undef;
};

static const struct dt_fk_entry dt_fk_table[DT_FK_COUNT] = {
    [DT_FK_NONE] = {"none", 0, 0},
    [DT_FK_ARITH] = {"arith", DT_ARITH, 0},
    [DT_FK_LOGIC] = {"logic", DT_OF | DT_CF | DT_SF | DT_ZF | DT_PF, DT_AF},
    [DT_FK_INCDEC] = {"incdec", DT_OF | DT_SF | DT_ZF | DT_AF | DT_PF, 0},
    [DT_FK_MUL] = {"mul", DT_OF | DT_CF, DT_SF | DT_ZF | DT_AF | DT_PF},
    [DT_FK_DIV] = {"div", 0, DT_ARITH},
    /* The count-dependent kinds hold their non-zero-count effect; see dt_flag_effect. */
    [DT_FK_SHL] = {"shl/shr", DT_CF | DT_SF | DT_ZF | DT_PF | DT_OF, DT_AF},
    [DT_FK_SAR] = {"sar", DT_CF | DT_SF | DT_ZF | DT_PF | DT_OF, DT_AF},
    [DT_FK_ROT] = {"rol/ror", DT_CF | DT_OF, 0},
    [DT_FK_RC] = {"rcl/rcr", DT_CF | DT_OF, 0},
    [DT_FK_SHXD] = {"shld/shrd", DT_CF | DT_SF | DT_ZF | DT_PF | DT_OF, DT_AF},
    [DT_FK_BT] = {"bt", DT_CF, DT_OF | DT_SF | DT_AF | DT_PF},
    [DT_FK_BSF] = {"bsf/bsr", DT_ZF, DT_CF | DT_OF | DT_SF | DT_AF | DT_PF},
    [DT_FK_DAA] = {"daa/das", DT_CF | DT_AF | DT_SF | DT_ZF | DT_PF, DT_OF},
    [DT_FK_AAA] = {"aaa/aas", DT_AF | DT_CF, DT_OF | DT_SF | DT_ZF | DT_PF},
    [DT_FK_AAM] = {"aam/aad", DT_SF | DT_ZF | DT_PF, DT_OF | DT_AF | DT_CF},
    [DT_FK_SAHF] = {"sahf", DT_SF | DT_ZF | DT_AF | DT_PF | DT_CF, 0},
    [DT_FK_CARRY] = {"clc/stc/cmc", DT_CF, 0},
    [DT_FK_ALL] = {"all", DT_ARITH, 0},
    [DT_FK_ZF] = {"zf", DT_ZF, 0},
};

const char *dt_fk_name(enum dt_fk fk)
{
	return fk < DT_FK_COUNT ? dt_fk_table[fk].name : "?";
}

/* Moves a flag from defined to undefined. */
static void dt_fx_undefine(struct dt_flag_effect *fx, uint16_t flags)
{
	fx->def &= (uint16_t)~flags;
	fx->undef |= flags;
}

struct dt_flag_effect dt_flag_effect(enum dt_fk fk, unsigned size_bits, uint32_t count)
{
	DT_ASSERT(fk < DT_FK_COUNT);
	struct dt_flag_effect fx = {dt_fk_table[fk].def, dt_fk_table[fk].undef};
	/* In 32-bit mode every shift and rotate masks its count to 5 bits first; a masked count
	 * of zero leaves all flags alone. */
	uint32_t c = count & 0x1f;
	switch (fk) {
	case DT_FK_SHL:
	case DT_FK_SAR:
		if (c == 0)
			return (struct dt_flag_effect){0, 0};
		if (c != 1)
			dt_fx_undefine(&fx, DT_OF);
		/* CF is the last bit shifted out, undefined for shl/shr once every bit has gone;
		 * sar keeps shifting out copies of the sign. */
		if (fk == DT_FK_SHL && c >= size_bits)
			dt_fx_undefine(&fx, DT_CF);
		return fx;
	case DT_FK_ROT:
	case DT_FK_RC:
		if (c == 0)
			return (struct dt_flag_effect){0, 0};
		if (c != 1)
			dt_fx_undefine(&fx, DT_OF);
		return fx;
	case DT_FK_SHXD:
		if (c == 0)
			return (struct dt_flag_effect){0, 0};
		if (c > size_bits)
			return (struct dt_flag_effect){0, DT_ARITH};
		if (c != 1)
			dt_fx_undefine(&fx, DT_OF);
		return fx;
	default:
		return fx;
	}
}

uint16_t dt_cc_flags(unsigned cc)
{
	static const uint16_t flags[8] = {
	    DT_OF,		   /* o, no */
	    DT_CF,		   /* b, ae */
	    DT_ZF,		   /* e, ne */
	    DT_CF | DT_ZF,	   /* be, a */
	    DT_SF,		   /* s, ns */
	    DT_PF,		   /* p, np */
	    DT_SF | DT_OF,	   /* l, ge */
	    DT_ZF | DT_SF | DT_OF, /* le, g */
	};
	return flags[(cc >> 1) & 7];
}
