// A classic BPF socket filter for ctnetlink event sockets (pure): the kernel hands the daemon
// only the events of connections whose original protocol and destination port fall in the
// given ranges, and drops every other event before it is queued. A router making thousands
// of new connections a second then costs the daemon nothing, and cannot overrun its buffer.
//
// The program walks the message's attributes with the kernel's netlink extensions
// (SKF_AD_NLATTR: find an attribute from offset A on; SKF_AD_NLATTR_NEST: find one inside the
// attribute at A), to CTA_TUPLE_ORIG → CTA_TUPLE_PROTO → CTA_PROTO_NUM / CTA_PROTO_DST_PORT.
// Ports are loaded big-endian, as the kernel stores them: no byte swapping.

export type PortRange = { proto: number; from: number; to: number };

// Instruction classes and fields (linux/filter.h, linux/bpf_common.h).
const LD = 0x00;
const LDX = 0x01;
const ST = 0x02;
const JMP = 0x05;
const RET = 0x06;
const MISC = 0x07;
const W = 0x00;
const H = 0x08;
const B = 0x10;
const IMM = 0x00;
const ABS = 0x20;
const IND = 0x40;
const MEM = 0x60;
const JEQ = 0x10;
const JGT = 0x20;
const JGE = 0x30;
const TAX = 0x00;

const SKF_AD_OFF = -0x1000;
const SKF_AD_NLATTR = 12;
const SKF_AD_NLATTR_NEST = 16;

/** nlmsghdr (16) + nfgenmsg (4): where the CTA_* attributes start. */
const ATTRS = 20;
const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_PROTO_NUM = 1;
const CTA_PROTO_DST_PORT = 3;

/** Jumps are 8-bit: a program longer than this cannot reach its end from its start. */
const MAX_RANGES = 40;

type Label = "accept" | "drop" | number;
type Insn = { code: number; k: number; jt?: Label; jf?: Label };

const stmt = (code: number, k = 0): Insn => ({ code, k });
const jump = (code: number, k: number, jt: Label, jf: Label): Insn => ({ code: JMP | code, k, jt, jf });

/**
 * The filter for `ranges` (merged or not), as the bytes of a sock_filter array; undefined when
 * there are too many ranges for one program (the caller then takes every event).
 */
export function conntrackPortFilter(ranges: PortRange[]): Uint8Array | undefined {
	if (ranges.length > MAX_RANGES) return undefined;
	const nlattr = (type: number, nested: boolean): Insn[] => [
		stmt(LDX | W | IMM, type),
		stmt(LD | B | ABS, (SKF_AD_OFF + (nested ? SKF_AD_NLATTR_NEST : SKF_AD_NLATTR)) >>> 0),
		jump(JEQ, 0, "drop", 0),
	];
	const prologue: Insn[] = [
		stmt(LD | W | IMM, ATTRS),
		...nlattr(CTA_TUPLE_ORIG, false),
		...nlattr(CTA_TUPLE_PROTO, true),
		stmt(ST, 0), // M[0] = offset of CTA_TUPLE_PROTO
		...nlattr(CTA_PROTO_NUM, true),
		stmt(MISC | TAX),
		stmt(LD | B | IND, 4),
		stmt(ST, 1), // M[1] = protocol number
		stmt(LD | W | MEM, 0),
		...nlattr(CTA_PROTO_DST_PORT, true),
		stmt(MISC | TAX),
		stmt(LD | H | IND, 4),
		stmt(ST, 2), // M[2] = destination port
	];
	// Each range: 5 instructions; "next" is the start of the following range (or the drop).
	const body: Insn[] = ranges.flatMap((r, i) => {
		const next = prologue.length + (i + 1) * 5;
		return [
			stmt(LD | W | MEM, 1),
			jump(JEQ, r.proto, 0, next),
			stmt(LD | W | MEM, 2),
			jump(JGE, r.from, 0, next),
			jump(JGT, r.to, next, "accept"),
		];
	});
	const program = [...prologue, ...body, stmt(RET, 0), stmt(RET, 0xffffffff)];
	const at = { drop: program.length - 2, accept: program.length - 1 };
	const out = new Uint8Array(program.length * 8);
	const dv = new DataView(out.buffer);
	program.forEach((insn, pc) => {
		// Labels: "accept"/"drop", an absolute index, or 0 meaning "the next instruction".
		const rel = (l: Label | undefined) => {
			if (l === undefined || l === 0) return 0;
			const target = typeof l === "number" ? l : at[l];
			return target - pc - 1;
		};
		dv.setUint16(pc * 8, insn.code, true);
		dv.setUint8(pc * 8 + 2, rel(insn.jt));
		dv.setUint8(pc * 8 + 3, rel(insn.jf));
		dv.setUint32(pc * 8 + 4, insn.k >>> 0, true);
	});
	return out;
}
