// ctnetlink (pure): conntrack entries as the kernel sends them in events and dump replies, and
// the dump request. Layout: nlmsghdr, nfgenmsg {family, version, res_id}, then CTA_* attributes
// (include/uapi/linux/netfilter/nfnetlink_conntrack.h); numbers inside are big-endian.
import { formatAddress, parsePrefix } from "../ruleset/prefix";
import {
	be16,
	be32,
	be64,
	encodeAttribute,
	encodeMessage,
	NetlinkFormatError,
	type NetlinkMessage,
	NLM_F,
	parseAttributes,
} from "./message";

const NFNL_SUBSYS_CTNETLINK = 1;
export const CT_MSG = {
	NEW: (NFNL_SUBSYS_CTNETLINK << 8) | 0,
	GET: (NFNL_SUBSYS_CTNETLINK << 8) | 1,
	DELETE: (NFNL_SUBSYS_CTNETLINK << 8) | 2,
} as const;

/** Multicast groups (NFNLGRP_CONNTRACK_*): bind() takes them as bits 1 << (group - 1). */
export const CT_GROUP = { NEW: 1, UPDATE: 2, DESTROY: 3 } as const;

const CTA = {
	TUPLE_ORIG: 1,
	TUPLE_REPLY: 2,
	STATUS: 3,
	PROTOINFO: 4,
	TIMEOUT: 7,
	MARK: 8,
	ID: 12,
	ZONE: 18,
	MARK_MASK: 21,
	FILTER: 25,
};
/** CTA_FILTER_ORIG_FLAGS and its bits (CTA_FILTER_FLAG_CTA_IP_SRC, …_CTA_PROTO_NUM). */
const CTA_FILTER_ORIG_FLAGS = 1;
const FILTER_FLAG = { IP_SRC: 1 << 0, PROTO_NUM: 1 << 3 };
const NLA_F_NESTED = 0x8000;
const CTA_TUPLE = { IP: 1, PROTO: 2 };
const CTA_IP = { V4_SRC: 1, V4_DST: 2, V6_SRC: 3, V6_DST: 4 };
const CTA_PROTO = { NUM: 1, SRC_PORT: 2, DST_PORT: 3 };
const CTA_PROTOINFO_TCP = 1;
const CTA_PROTOINFO_TCP_STATE = 1;
const COUNTERS = { ORIG: 9, REPLY: 10 };
const CTA_COUNTERS_BYTES = 2;

const AF = { INET: 2, INET6: 10 } as const;

/** IPS_* status bits that portrig looks at. */
export const CT_STATUS = {
	SEEN_REPLY: 0x2,
	ASSURED: 0x4,
	CONFIRMED: 0x8,
	SRC_NAT: 0x10,
	DST_NAT: 0x20,
	DYING: 0x200,
	/** In a flowtable (fw4's flow offloading): its packets skip the forward hook. */
	OFFLOAD: 0x4000,
} as const;

export const TCP_STATES = [
	"none",
	"syn_sent",
	"syn_recv",
	"established",
	"fin_wait",
	"close_wait",
	"last_ack",
	"time_wait",
	"close",
	"syn_sent2",
] as const;

export type Tuple = {
	src: string;
	dst: string;
	/** IP protocol number: 6 tcp, 17 udp, 1 icmp, 58 icmpv6 … */
	proto: number;
	/** Only for protocols with ports. */
	sport?: number;
	dport?: number;
};

/** "new": the kernel created the entry; "update": it changed (or a dump reply); "destroy": gone. */
export type ConntrackKind = "new" | "update" | "destroy";

export type ConntrackEntry = {
	kind: ConntrackKind;
	family: "ipv4" | "ipv6";
	orig: Tuple;
	reply: Tuple;
	/** The kernel's id of the entry (stable for its life; pairs a NEW with its DESTROY). */
	id?: number;
	status?: number;
	mark?: number;
	/** Seconds until the entry times out (not in DESTROY events). */
	timeout?: number;
	zone?: number;
	tcpState?: (typeof TCP_STATES)[number];
	/** Byte counters, when nf_conntrack_acct is on. */
	bytes?: { orig: bigint; reply: bigint };
};

function address(bytes: Uint8Array): string {
	if (bytes.byteLength === 4) return Array.from(bytes).join(".");
	if (bytes.byteLength === 16) return formatAddress(6, BigInt(`0x${Buffer.from(bytes).toString("hex")}`));
	throw new NetlinkFormatError(`an address of ${bytes.byteLength} bytes`);
}

function parseTuple(bytes: Uint8Array | undefined, what: string): Tuple {
	if (!bytes) throw new NetlinkFormatError(`conntrack message without ${what}`);
	const attrs = parseAttributes(bytes);
	const ip = parseAttributes(attrs.get(CTA_TUPLE.IP) ?? new Uint8Array());
	const src = ip.get(CTA_IP.V4_SRC) ?? ip.get(CTA_IP.V6_SRC);
	const dst = ip.get(CTA_IP.V4_DST) ?? ip.get(CTA_IP.V6_DST);
	const proto = parseAttributes(attrs.get(CTA_TUPLE.PROTO) ?? new Uint8Array());
	const num = proto.get(CTA_PROTO.NUM);
	if (!src || !dst || !num) throw new NetlinkFormatError(`${what} without addresses or protocol`);
	const tuple: Tuple = { src: address(src), dst: address(dst), proto: num[0] ?? 0 };
	const sport = proto.get(CTA_PROTO.SRC_PORT);
	const dport = proto.get(CTA_PROTO.DST_PORT);
	if (sport) tuple.sport = be16(sport);
	if (dport) tuple.dport = be16(dport);
	return tuple;
}

function counterBytes(bytes: Uint8Array | undefined): bigint | undefined {
	const b = bytes && parseAttributes(bytes).get(CTA_COUNTERS_BYTES);
	return b ? be64(b) : undefined;
}

/** Whether a message is a ctnetlink entry message (NEW or DELETE). */
export function isConntrackMessage(m: NetlinkMessage): boolean {
	return m.type === CT_MSG.NEW || m.type === CT_MSG.DELETE;
}

/** One ctnetlink NEW/DELETE message → the entry it describes. */
export function parseConntrack(m: NetlinkMessage): ConntrackEntry {
	if (!isConntrackMessage(m))
		throw new NetlinkFormatError(`message type 0x${m.type.toString(16)} is not ctnetlink`);
	if (m.payload.byteLength < 4) throw new NetlinkFormatError("ctnetlink message without nfgenmsg");
	const nfFamily = m.payload[0];
	if (nfFamily !== AF.INET && nfFamily !== AF.INET6)
		throw new NetlinkFormatError(`conntrack entry of address family ${nfFamily}`);
	const attrs = parseAttributes(m.payload.subarray(4));
	const kind: ConntrackKind =
		m.type === CT_MSG.DELETE ? "destroy" : m.flags & NLM_F.CREATE ? "new" : "update";
	const entry: ConntrackEntry = {
		kind,
		family: nfFamily === AF.INET ? "ipv4" : "ipv6",
		orig: parseTuple(attrs.get(CTA.TUPLE_ORIG), "CTA_TUPLE_ORIG"),
		reply: parseTuple(attrs.get(CTA.TUPLE_REPLY), "CTA_TUPLE_REPLY"),
	};
	const u32 = (type: number) => {
		const b = attrs.get(type);
		return b ? be32(b) : undefined;
	};
	const id = u32(CTA.ID);
	if (id !== undefined) entry.id = id;
	const status = u32(CTA.STATUS);
	if (status !== undefined) entry.status = status;
	const mark = u32(CTA.MARK);
	if (mark !== undefined) entry.mark = mark;
	const timeout = u32(CTA.TIMEOUT);
	if (timeout !== undefined) entry.timeout = timeout;
	const zone = attrs.get(CTA.ZONE);
	if (zone) entry.zone = be16(zone);
	const protoinfo = attrs.get(CTA.PROTOINFO);
	const tcp = protoinfo && parseAttributes(protoinfo).get(CTA_PROTOINFO_TCP);
	const state = tcp && parseAttributes(tcp).get(CTA_PROTOINFO_TCP_STATE);
	if (state) entry.tcpState = TCP_STATES[state[0] ?? 0] ?? "none";
	const orig = counterBytes(attrs.get(COUNTERS.ORIG));
	const reply = counterBytes(attrs.get(COUNTERS.REPLY));
	if (orig !== undefined && reply !== undefined) entry.bytes = { orig, reply };
	return entry;
}

/** Only entries whose conntrack mark has these bits: (mark & mask) === value. */
export type MarkFilter = { value: number; mask: number };

const be32Bytes = (n: number) => {
	const b = new Uint8Array(4);
	new DataView(b.buffer).setUint32(0, n >>> 0, false);
	return b;
};

/** Only entries whose original direction comes from this address with this IP protocol. */
export type OriginFilter = { family: "ipv4" | "ipv6"; src: string; proto: number };

const u32Bytes = (n: number) => {
	const b = new Uint8Array(4);
	new DataView(b.buffer).setUint32(0, n >>> 0, true);
	return b;
};

function addressBytes(family: OriginFilter["family"], address: string): Uint8Array {
	const digits = family === "ipv4" ? 8 : 32;
	return new Uint8Array(Buffer.from(parsePrefix(address).network.toString(16).padStart(digits, "0"), "hex"));
}

/** CTA_FILTER + CTA_TUPLE_ORIG: the kernel (5.8 and later) compares the source and protocol. */
function originAttributes(origin: OriginFilter): Uint8Array[] {
	const nested = (type: number, ...children: Uint8Array[]) =>
		encodeAttribute(type | NLA_F_NESTED, Buffer.concat(children));
	const ip = encodeAttribute(
		origin.family === "ipv4" ? CTA_IP.V4_SRC : CTA_IP.V6_SRC,
		addressBytes(origin.family, origin.src),
	);
	return [
		nested(
			CTA.FILTER,
			encodeAttribute(CTA_FILTER_ORIG_FLAGS, u32Bytes(FILTER_FLAG.IP_SRC | FILTER_FLAG.PROTO_NUM)),
		),
		nested(
			CTA.TUPLE_ORIG,
			nested(CTA_TUPLE.IP, ip),
			nested(CTA_TUPLE.PROTO, encodeAttribute(CTA_PROTO.NUM, new Uint8Array([origin.proto]))),
		),
	];
}

/**
 * IPCTNL_MSG_CT_GET with NLM_F_DUMP: every entry of every family (AF_UNSPEC) in the namespace;
 * with `mark` only those the kernel finds marked so (CTA_MARK + CTA_MARK_MASK), with `origin`
 * only that family's entries from that source and protocol. The kernel skips the others before
 * copying them out.
 */
export function dumpRequest(seq: number, mark?: MarkFilter, origin?: OriginFilter): Uint8Array {
	// nfgenmsg: family (AF_UNSPEC: all), version NFNETLINK_V0, res_id 0
	const nfgenmsg = new Uint8Array([origin ? (origin.family === "ipv4" ? AF.INET : AF.INET6) : 0, 0, 0, 0]);
	const attrs = [
		...(mark
			? [
					encodeAttribute(CTA.MARK, be32Bytes(mark.value)),
					encodeAttribute(CTA.MARK_MASK, be32Bytes(mark.mask)),
				]
			: []),
		...(origin ? originAttributes(origin) : []),
	];
	return encodeMessage(CT_MSG.GET, NLM_F.REQUEST | NLM_F.DUMP, seq, Buffer.concat([nfgenmsg, ...attrs]));
}
