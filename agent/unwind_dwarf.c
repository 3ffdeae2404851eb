/*
 * unwind_dwarf.c - from x86-64 call frame information (.eh_frame) to one
 * small rule per instruction address: how to find the caller's frame.
 *
 * The rule the fast unwinder (unwind_fast.c) applies is deliberately small:
 *
 *   CFA = RSP or RBP, plus a constant
 *   RA  = *(CFA - 8)                  (the x86-64 call convention)
 *   RBP = *(CFA + k), or unchanged, or undefined
 *
 * That covers what compilers emit for ordinary functions, with or without
 * frame pointers, and the PLT's one expression. Anything else (signal
 * trampolines, stack realignment through a DWARF expression, a return
 * address kept in a register) yields LDP_UWR_UNSUPPORTED and libunwind takes
 * that capture.
 *
 * Lookup: .eh_frame_hdr's binary search table (PT_GNU_EH_FRAME) finds the
 * FDE; its CIE and the CFA program are interpreted up to the address. Every
 * read of unwind data is checked against the bounds of the PT_LOAD segment
 * that holds .eh_frame_hdr (where linkers put .eh_frame too): a malformed
 * table yields "unsupported", never a read outside the object.
 *
 * Pure: no allocation, no locks, no global state. Safe in a signal handler as
 * long as the object stays mapped (the caller's business: unwind_fast.c).
 */
#define _GNU_SOURCE
#include <link.h>
#include <string.h>

#include "agent.h"

/* DWARF register numbers on x86-64 */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

/* pointer encodings (DW_EH_PE_*) */
#define PE_OMIT 0xff
#define PE_ABSPTR 0x00
#define PE_ULEB128 0x01
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SLEB128 0x09
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_PCREL 0x10
#define PE_DATAREL 0x30
#define PE_INDIRECT 0x80

/* Bounded reader over [p, end); any overrun sets err and reads zeros. */
struct rd {
	const uint8_t *p, *end;
	int err;
};

static uint64_t rd_fixed(struct rd *r, unsigned n)
{
	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = 1;
		return 0;
	}
	uint64_t v = 0;
	memcpy(&v, r->p, n); /* little-endian host */
	r->p += n;
	return v;
}

static uint64_t rd_uleb(struct rd *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->err || r->p >= r->end)
			break;
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->err = 1;
	return 0;
}

static int64_t rd_sleb(struct rd *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->err || r->p >= r->end)
			break;
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (shift + 7 < 64 && (b & 0x40))
				v |= ~0ull << (shift + 7);
			return (int64_t)v;
		}
	}
	r->err = 1;
	return 0;
}

/* An encoded pointer. pcrel is relative to the field's own address, datarel
 * to `datarel` (the .eh_frame_hdr start). Indirect and the rarely used
 * text/func/aligned bases are refused. */
static uintptr_t rd_enc(struct rd *r, uint8_t enc, uintptr_t datarel)
{
	uintptr_t at = (uintptr_t)r->p;
	uint64_t v;
	switch (enc & 0x0f) {
	case PE_ABSPTR: v = rd_fixed(r, 8); break;
	case PE_ULEB128: v = rd_uleb(r); break;
	case PE_UDATA2: v = rd_fixed(r, 2); break;
	case PE_UDATA4: v = rd_fixed(r, 4); break;
	case PE_UDATA8: v = rd_fixed(r, 8); break;
	case PE_SLEB128: v = (uint64_t)rd_sleb(r); break;
	case PE_SDATA2: v = (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2); break;
	case PE_SDATA4: v = (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4); break;
	case PE_SDATA8: v = rd_fixed(r, 8); break;
	default: r->err = 1; return 0;
	}
	switch (enc & 0x70) {
	case 0: break;
	case PE_PCREL: v += at; break;
	case PE_DATAREL: v += datarel; break;
	default: r->err = 1; return 0;
	}
	if (enc & PE_INDIRECT)
		r->err = 1;
	return (uintptr_t)v;
}

/* ---- the CFA program ---- */

enum { HOW_SAME = 0, HOW_OFFSET, HOW_UNDEF, HOW_OTHER };

struct row {
	uint8_t cfa_reg;  /* DWARF register, or 0xff when CFA is an expression we evaluated */
	uint8_t how[2];   /* [0] RBP, [1] RA */
	int64_t cfa_off;
	int64_t off[2];
};

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	uint8_t has_z;
	const uint8_t *insns, *insns_end;
};

#define STATE_STACK 8

/* Index into row.how/off for the registers we follow, -1 for the rest. */
static int slot_of(uint64_t reg, uint64_t ra_reg)
{
	return reg == REG_RBP ? 0 : reg == ra_reg ? 1 : -1;
}

/* The PLT's CFA expression, evaluated for this rip:
 *   DW_OP_breg7 N; DW_OP_breg16 M; DW_OP_litA; DW_OP_and; DW_OP_litB; DW_OP_ge;
 *   DW_OP_litC; DW_OP_shl; DW_OP_plus
 * i.e. CFA = rsp + N + ((((rip + M) & A) >= B) << C). @return 0 if not that shape. */
static int plt_expr(const uint8_t *e, uint64_t len, uintptr_t rip, int64_t *off)
{
	struct rd r = {e, e + len, 0};
	if (rd_fixed(&r, 1) != 0x77) /* DW_OP_breg7 */
		return 0;
	int64_t n = rd_sleb(&r);
	if (rd_fixed(&r, 1) != 0x80) /* DW_OP_breg16 */
		return 0;
	int64_t m = rd_sleb(&r);
	unsigned a = (unsigned)rd_fixed(&r, 1), op_and = (unsigned)rd_fixed(&r, 1);
	unsigned b = (unsigned)rd_fixed(&r, 1), op_ge = (unsigned)rd_fixed(&r, 1);
	unsigned c = (unsigned)rd_fixed(&r, 1), op_shl = (unsigned)rd_fixed(&r, 1);
	unsigned op_plus = (unsigned)rd_fixed(&r, 1);
	if (r.err || r.p != r.end || a < 0x30 || a > 0x4f || b < 0x30 || b > 0x4f || c < 0x30 || c > 0x4f ||
	    op_and != 0x1a || op_ge != 0x2a || op_shl != 0x24 || op_plus != 0x22)
		return 0;
	uint64_t v = ((uint64_t)(rip + (uint64_t)m) & (a - 0x30)) >= (b - 0x30);
	*off = n + (int64_t)(v << (c - 0x30));
	return 1;
}

/*
 * Run CFA instructions [p, end) from row `cur`, stopping before the first
 * advance that moves past pc. init is the row after the CIE (for restore).
 * @return 0, or -1 for an instruction outside what we interpret.
 */
static int run_cfa(const struct cie *c, const uint8_t *p, const uint8_t *end, uintptr_t *loc, uintptr_t pc,
		   uintptr_t rip, struct row *cur, const struct row *init)
{
	struct row stack[STATE_STACK];
	unsigned sp = 0;
	struct rd r = {p, end, 0};
	while (r.p < r.end && !r.err) {
		uint8_t op = (uint8_t)rd_fixed(&r, 1);
		uint64_t reg, delta = 0;
		int64_t off;
		int s;
		switch (op >> 6) {
		case 1: /* DW_CFA_advance_loc */
			delta = (op & 0x3f) * c->code_align;
			goto advance;
		case 2: /* DW_CFA_offset */
			reg = op & 0x3f;
			off = (int64_t)rd_uleb(&r) * c->data_align;
			goto set_offset;
		case 3: /* DW_CFA_restore */
			reg = op & 0x3f;
			goto restore;
		default: break;
		}
		switch (op) {
		case 0x00: /* DW_CFA_nop */
			continue;
		case 0x01: /* DW_CFA_set_loc */
		{
			uintptr_t to = rd_enc(&r, c->fde_enc, 0);
			if (r.err)
				return -1;
			if (to > pc)
				return 0;
			*loc = to;
			continue;
		}
		case 0x02: delta = rd_fixed(&r, 1) * c->code_align; goto advance;
		case 0x03: delta = rd_fixed(&r, 2) * c->code_align; goto advance;
		case 0x04: delta = rd_fixed(&r, 4) * c->code_align; goto advance;
		case 0x05: /* DW_CFA_offset_extended */
			reg = rd_uleb(&r);
			off = (int64_t)rd_uleb(&r) * c->data_align;
			goto set_offset;
		case 0x11: /* DW_CFA_offset_extended_sf */
			reg = rd_uleb(&r);
			off = rd_sleb(&r) * c->data_align;
			goto set_offset;
		case 0x2f: /* DW_CFA_GNU_negative_offset_extended */
			reg = rd_uleb(&r);
			off = -(int64_t)rd_uleb(&r) * c->data_align;
			goto set_offset;
		case 0x06: /* DW_CFA_restore_extended */
			reg = rd_uleb(&r);
			goto restore;
		case 0x07: /* DW_CFA_undefined */
		case 0x08: /* DW_CFA_same_value */
			reg = rd_uleb(&r);
			if ((s = slot_of(reg, c->ra_reg)) >= 0)
				cur->how[s] = op == 0x07 ? HOW_UNDEF : HOW_SAME;
			continue;
		case 0x09: /* DW_CFA_register */
			reg = rd_uleb(&r);
			(void)rd_uleb(&r);
			if ((s = slot_of(reg, c->ra_reg)) >= 0)
				cur->how[s] = HOW_OTHER;
			continue;
		case 0x0a: /* DW_CFA_remember_state */
			if (sp >= STATE_STACK)
				return -1;
			stack[sp++] = *cur;
			continue;
		case 0x0b: /* DW_CFA_restore_state: the CFA rule is restored too (GCC relies on it) */
			if (!sp)
				return -1;
			*cur = stack[--sp];
			continue;
		case 0x0c: /* DW_CFA_def_cfa */
			cur->cfa_reg = (uint8_t)(reg = rd_uleb(&r));
			cur->cfa_off = (int64_t)rd_uleb(&r);
			if (reg > 0xfe)
				return -1;
			continue;
		case 0x12: /* DW_CFA_def_cfa_sf */
			cur->cfa_reg = (uint8_t)(reg = rd_uleb(&r));
			cur->cfa_off = rd_sleb(&r) * c->data_align;
			if (reg > 0xfe)
				return -1;
			continue;
		case 0x0d: /* DW_CFA_def_cfa_register */
			cur->cfa_reg = (uint8_t)(reg = rd_uleb(&r));
			if (reg > 0xfe)
				return -1;
			continue;
		case 0x0e: /* DW_CFA_def_cfa_offset */
			cur->cfa_off = (int64_t)rd_uleb(&r);
			continue;
		case 0x13: /* DW_CFA_def_cfa_offset_sf */
			cur->cfa_off = rd_sleb(&r) * c->data_align;
			continue;
		case 0x0f: /* DW_CFA_def_cfa_expression */
		{
			uint64_t len = rd_uleb(&r);
			if (r.err || len > (uint64_t)(r.end - r.p))
				return -1;
			int64_t o;
			if (!plt_expr(r.p, len, rip, &o))
				return -1;
			cur->cfa_reg = REG_RSP;
			cur->cfa_off = o;
			r.p += len;
			continue;
		}
		case 0x10: /* DW_CFA_expression */
		case 0x16: /* DW_CFA_val_expression */
		{
			reg = rd_uleb(&r);
			uint64_t len = rd_uleb(&r);
			if (r.err || len > (uint64_t)(r.end - r.p))
				return -1;
			r.p += len;
			if ((s = slot_of(reg, c->ra_reg)) >= 0)
				cur->how[s] = HOW_OTHER;
			continue;
		}
		case 0x14: /* DW_CFA_val_offset */
		case 0x15: /* DW_CFA_val_offset_sf */
			reg = rd_uleb(&r);
			if (op == 0x14)
				(void)rd_uleb(&r);
			else
				(void)rd_sleb(&r);
			if ((s = slot_of(reg, c->ra_reg)) >= 0)
				cur->how[s] = HOW_OTHER;
			continue;
		case 0x2e: /* DW_CFA_GNU_args_size */
			(void)rd_uleb(&r);
			continue;
		default:
			return -1;
		}
	advance:
		if (*loc + delta > pc)
			return 0;
		*loc += delta;
		continue;
	set_offset:
		if ((s = slot_of(reg, c->ra_reg)) >= 0) {
			cur->how[s] = HOW_OFFSET;
			cur->off[s] = off;
		}
		continue;
	restore:
		if ((s = slot_of(reg, c->ra_reg)) >= 0) {
			cur->how[s] = init->how[s];
			cur->off[s] = init->off[s];
		}
		continue;
	}
	return r.err ? -1 : 0;
}

static int parse_cie(struct rd *r, struct cie *c)
{
	uint64_t len = rd_fixed(r, 4);
	if (len == 0xffffffffu || len == 0 || len > (uint64_t)(r->end - r->p))
		return -1;
	const uint8_t *end = r->p + len;
	struct rd b = {r->p, end, 0};
	if (rd_fixed(&b, 4) != 0) /* CIE id */
		return -1;
	unsigned version = (unsigned)rd_fixed(&b, 1);
	if (version != 1 && version != 3)
		return -1;
	const char *aug = (const char *)b.p;
	size_t alen = strnlen(aug, (size_t)(end - b.p));
	if (alen >= (size_t)(end - b.p) || alen > 8)
		return -1;
	b.p += alen + 1;
	c->code_align = rd_uleb(&b);
	c->data_align = rd_sleb(&b);
	c->ra_reg = version == 1 ? rd_fixed(&b, 1) : rd_uleb(&b);
	c->fde_enc = PE_ABSPTR;
	c->has_z = 0;
	if (alen && aug[0] == 'z') {
		c->has_z = 1;
		uint64_t zlen = rd_uleb(&b);
		if (b.err || zlen > (uint64_t)(end - b.p))
			return -1;
		const uint8_t *zend = b.p + zlen;
		for (size_t i = 1; i < alen; i++) {
			switch (aug[i]) {
			case 'R': c->fde_enc = (uint8_t)rd_fixed(&b, 1); break;
			case 'L': (void)rd_fixed(&b, 1); break;
			case 'P':
			{
				uint8_t penc = (uint8_t)rd_fixed(&b, 1);
				(void)rd_enc(&b, (uint8_t)(penc & ~PE_INDIRECT), 0);
				break;
			}
			default: return -1; /* 'S' (signal frame) and anything unknown */
			}
		}
		if (b.err || b.p > zend)
			return -1;
		b.p = zend;
	} else if (alen) {
		return -1; /* "eh" and other pre-'z' augmentations */
	}
	if (b.err || c->code_align == 0)
		return -1;
	c->insns = b.p;
	c->insns_end = end;
	return 0;
}

/* Pack the row at pc into a rule. */
static uint64_t pack(const struct row *w)
{
	if (w->how[1] == HOW_UNDEF)
		return LDP_UWR_VALID | LDP_UWR_OUTERMOST;
	if (w->how[1] != HOW_OFFSET || w->off[1] != -8)
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	if (w->cfa_reg != REG_RSP && w->cfa_reg != REG_RBP)
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	if (w->cfa_off < LDP_UWR_CFA_MIN || w->cfa_off > LDP_UWR_CFA_MAX)
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	uint64_t flags = LDP_UWR_VALID | (w->cfa_reg == REG_RBP ? LDP_UWR_CFA_RBP : 0);
	int64_t rbp_off = 0;
	switch (w->how[0]) {
	case HOW_SAME: break;
	case HOW_UNDEF: flags |= LDP_UWR_RBP_UNDEF; break;
	case HOW_OFFSET:
		if (w->off[0] < LDP_UWR_RBP_MIN || w->off[0] > LDP_UWR_RBP_MAX || (w->off[0] & 7))
			return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
		flags |= LDP_UWR_RBP_SAVED;
		rbp_off = w->off[0];
		break;
	default: return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	}
	return ldp_uwr_make(flags, w->cfa_off, rbp_off);
}

uint64_t ldp_uw_rule(const struct ldp_uw_object *o, uintptr_t pc, uintptr_t rip)
{
	if (pc < o->text_lo || pc >= o->text_hi)
		return LDP_UWR_VALID | LDP_UWR_NOCODE;
	if (!o->hdr)
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	const uint8_t *lo = (const uint8_t *)o->ro_lo, *hi = (const uint8_t *)o->ro_hi;
	const uint8_t *hdr = (const uint8_t *)o->hdr;
	struct rd r = {hdr, hi, 0};
	uint8_t version = (uint8_t)rd_fixed(&r, 1), ptr_enc = (uint8_t)rd_fixed(&r, 1);
	uint8_t count_enc = (uint8_t)rd_fixed(&r, 1), table_enc = (uint8_t)rd_fixed(&r, 1);
	if (r.err || version != 1 || count_enc == PE_OMIT || table_enc != (PE_DATAREL | PE_SDATA4))
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	(void)rd_enc(&r, ptr_enc, o->hdr);
	uint64_t count = rd_enc(&r, count_enc, o->hdr);
	if (r.err || count == 0 || count > (uint64_t)(hi - r.p) / 8)
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	const uint8_t *table = r.p;

	/* The last entry whose initial location is <= pc. */
	uint64_t a = 0, b = count;
	while (b - a > 1) {
		uint64_t m = a + (b - a) / 2;
		int32_t loc;
		memcpy(&loc, table + m * 8, 4);
		if (o->hdr + (uintptr_t)(intptr_t)loc <= pc)
			a = m;
		else
			b = m;
	}
	int32_t loc0, fde_rel;
	memcpy(&loc0, table + a * 8, 4);
	memcpy(&fde_rel, table + a * 8 + 4, 4);
	if (o->hdr + (uintptr_t)(intptr_t)loc0 > pc)
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED; /* before the first FDE: code without CFI */
	const uint8_t *fde = hdr + fde_rel;
	if (fde < lo || fde + 8 > hi)
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;

	/* FDE: length, CIE pointer, pc_begin, pc_range, [augmentation], instructions */
	struct rd f = {fde, hi, 0};
	uint64_t flen = rd_fixed(&f, 4);
	if (flen == 0xffffffffu || flen < 4 || flen > (uint64_t)(hi - f.p))
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	const uint8_t *fend = f.p + flen;
	f.end = fend;
	const uint8_t *cie_field = f.p;
	uint32_t cie_off = (uint32_t)rd_fixed(&f, 4);
	if (cie_off == 0 || (uintptr_t)cie_off > (uintptr_t)(cie_field - lo))
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	struct cie c;
	struct rd cr = {cie_field - cie_off, hi, 0};
	if (parse_cie(&cr, &c) != 0)
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	uintptr_t begin = rd_enc(&f, c.fde_enc, 0);
	uintptr_t range = rd_enc(&f, (uint8_t)(c.fde_enc & 0x0f), 0);
	if (f.err)
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	if (pc < begin || pc - begin >= range)
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED; /* in a gap between FDEs */
	if (c.has_z) {
		uint64_t zlen = rd_uleb(&f);
		if (f.err || zlen > (uint64_t)(fend - f.p))
			return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
		f.p += zlen;
	}

	struct row init = {.cfa_reg = REG_RSP, .cfa_off = 8, .how = {HOW_SAME, HOW_OTHER}};
	uintptr_t loc = begin;
	/* The CIE's initial instructions apply from pc_begin: never stop inside them. */
	if (run_cfa(&c, c.insns, c.insns_end, &loc, UINTPTR_MAX, rip, &init, &init) != 0)
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	loc = begin;
	struct row cur = init;
	if (run_cfa(&c, f.p, fend, &loc, pc, rip, &cur, &init) != 0)
		return LDP_UWR_VALID | LDP_UWR_UNSUPPORTED;
	return pack(&cur);
}

int ldp_uw_object_init(struct ldp_uw_object *o, uintptr_t base, const void *phdr, unsigned n)
{
	const ElfW(Phdr) *ph = phdr;
	memset(o, 0, sizeof *o);
	o->text_lo = UINTPTR_MAX;
	uintptr_t hdr = 0;
	for (unsigned i = 0; i < n; i++)
		if (ph[i].p_type == PT_GNU_EH_FRAME)
			hdr = base + ph[i].p_vaddr;
	for (unsigned i = 0; i < n; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		uintptr_t lo = base + ph[i].p_vaddr, hi = lo + ph[i].p_memsz;
		if (ph[i].p_flags & PF_X) {
			if (lo < o->text_lo)
				o->text_lo = lo;
			if (hi > o->text_hi)
				o->text_hi = hi;
		}
		/* The table and .eh_frame must be readable file contents of this segment. */
		if (hdr && hdr >= lo && hdr < lo + ph[i].p_filesz && (ph[i].p_flags & PF_R)) {
			o->ro_lo = lo;
			o->ro_hi = lo + ph[i].p_filesz;
			o->hdr = hdr;
		}
	}
	if (o->text_lo >= o->text_hi)
		return -1;
	return 0;
}
