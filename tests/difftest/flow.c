/* Laying a sequence out in memory, and the data flow of its undefined flags.
 *
 * Instructions refer to each other only through labels, so the shrinker can drop any of them
 * and re-assemble. The flag analysis walks the real control flow (forward branches, the
 * bounded backward loops, calls to local targets whose ret is modelled as a jump back to the
 * call's return label) to a fixed point: a flag is undefined before an instruction if it is
 * undefined on any path to it. A sequence is valid only if no instruction may read an
 * undefined flag; then the final state depends only on defined behaviour, except for the
 * flags masked at the end.
 */
#include <string.h>

#include "difftest.h"

int dt_seq_label_target(const struct dt_seq *seq, int label)
{
	DT_ASSERT(label >= 0 && label < seq->n_labels);
	int i = seq->label_at[label];
	while (i < seq->n_insns && seq->insn[i].dropped)
		i++;
	return i;
}

int dt_seq_live_count(const struct dt_seq *seq)
{
	int n = 0;
	for (int i = 0; i < seq->n_insns; i++)
		n += !seq->insn[i].dropped;
	return n;
}

int dt_seq_insn_at(const struct dt_seq *seq, uint32_t eip)
{
	for (int i = 0; i <= seq->n_insns; i++)
		if ((i == seq->n_insns || !seq->insn[i].dropped) && seq->insn_addr[i] == eip)
			return i;
	return -1;
}

bool dt_seq_assemble(struct dt_seq *seq)
{
	uint32_t addr = seq->code_base;
	for (int i = 0; i < seq->n_insns; i++) {
		seq->insn_addr[i] = addr;
		if (!seq->insn[i].dropped)
			addr += seq->insn[i].len;
	}
	seq->insn_addr[seq->n_insns] = addr;
	if (addr + 1 - DT_CODE_BASE > DT_CODE_SIZE)
		return false;

	memset(seq->code, DT_HLT, sizeof seq->code);
	for (int i = 0; i < seq->n_insns; i++) {
		const struct dt_insn *in = &seq->insn[i];
		if (in->dropped)
			continue;
		uint8_t *p = seq->code + (seq->insn_addr[i] - DT_CODE_BASE);
		memcpy(p, in->bytes, in->len);
		if (in->fix == DT_FIX_NONE)
			continue;
		uint32_t target = seq->insn_addr[dt_seq_label_target(seq, in->label)];
		uint32_t end = seq->insn_addr[i] + in->len;
		int64_t rel = (int64_t)target - (int64_t)end;
		uint32_t v;
		switch (in->fix) {
		case DT_FIX_REL8:
			if (rel < -128 || rel > 127)
				return false;
			p[in->fix_at] = (uint8_t)(int8_t)rel;
			break;
		case DT_FIX_REL32:
			v = (uint32_t)rel;
			memcpy(p + in->fix_at, &v, 4);
			break;
		case DT_FIX_ABS32:
			v = target + (uint32_t)(int32_t)in->fix_add;
			memcpy(p + in->fix_at, &v, 4);
			break;
		default:
			DT_ASSERT(!"unknown fix-up");
		}
	}
	seq->code_len = addr + 1 - seq->code_base;
	return true;
}

static int dt_next_live(const struct dt_seq *seq, int i)
{
	i++;
	while (i < seq->n_insns && seq->insn[i].dropped)
		i++;
	return i;
}

/* Merge a path's undefined set into instruction s. Returns true if that changed anything. */
static bool dt_merge(uint16_t *in, bool *reach, int s, uint16_t undef)
{
	if (!reach[s]) {
		reach[s] = true;
		in[s] = undef;
		return true;
	}
	if ((in[s] | undef) == in[s])
		return false;
	in[s] |= undef;
	return true;
}

bool dt_seq_analyze(struct dt_seq *seq, int *bad)
{
	int n = seq->n_insns;
	uint16_t in[DT_MAX_INSNS + 1];
	bool reach[DT_MAX_INSNS + 1];
	memset(in, 0, sizeof in);
	memset(reach, 0, sizeof reach);
	/* The initial flags are random but defined. */
	int first = 0;
	while (first < n && seq->insn[first].dropped)
		first++;
	reach[first] = true;

	/* Forward edges settle within one pass; each extra pass carries the backward ones. */
	bool changed = true;
	for (int pass = 0; changed; pass++) {
		DT_ASSERT(pass < 4 * DT_MAX_INSNS);
		changed = false;
		for (int i = first; i < n; i = dt_next_live(seq, i)) {
			if (!reach[i])
				continue;
			const struct dt_insn *in_i = &seq->insn[i];
			uint16_t out = (uint16_t)((in[i] & ~in_i->fx.def) | in_i->fx.undef);
			if (in_i->flow != DT_FLOW_JUMP)
				changed |= dt_merge(in, reach, dt_next_live(seq, i), out);
			if (in_i->flow != DT_FLOW_NEXT)
				changed |=
				    dt_merge(in, reach, dt_seq_label_target(seq, in_i->label), out);
		}
	}

	bool ok = true;
	for (int i = 0; i <= n; i++) {
		seq->undef_before[i] = 0;
		if (i < n && seq->insn[i].dropped)
			continue;
		seq->undef_before[i] = in[i];
		if (i < n && reach[i] && (seq->insn[i].flags_read & in[i]) && ok) {
			ok = false;
			if (bad)
				*bad = i;
		}
	}
	/* A dropped instruction stands for the next live one (same address). */
	for (int i = n - 1; i >= 0; i--)
		if (seq->insn[i].dropped)
			seq->undef_before[i] = seq->undef_before[dt_next_live(seq, i)];
	return ok;
}
