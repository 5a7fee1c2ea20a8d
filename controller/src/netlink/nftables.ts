// nf_tables change notifications (pure): the kernel multicasts every committed change of the
// ruleset to NFNLGRP_NFTABLES. portrig only needs to know when a table or a flowtable comes or
// goes: the message type, the nfgenmsg family and the table's name attribute.
import { type NetlinkMessage, parseAttributes } from "./message";

/** The nf_tables multicast group (bind() takes it as bit 1 << (7 - 1)). */
export const NFNLGRP_NFTABLES = 7;

const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG = { NEWTABLE: 0, DELTABLE: 2, NEWFLOWTABLE: 22, DELFLOWTABLE: 24 } as const;
/** NFTA_TABLE_NAME and NFTA_FLOWTABLE_TABLE are both attribute 1. */
const TABLE_NAME_ATTR = 1;

/** nfgenmsg.nfgen_family → nft's family names (NFPROTO_*). */
const FAMILIES: Record<number, string> = {
	1: "inet",
	2: "ip",
	3: "arp",
	5: "netdev",
	7: "bridge",
	10: "ip6",
};

export type NftChange = {
	op: "new" | "delete";
	/** A table itself, or a flowtable of that table. */
	object: "table" | "flowtable";
	family: string;
	table: string;
};

const KINDS = new Map<number, Pick<NftChange, "op" | "object">>([
	[NFT_MSG.NEWTABLE, { op: "new", object: "table" }],
	[NFT_MSG.DELTABLE, { op: "delete", object: "table" }],
	[NFT_MSG.NEWFLOWTABLE, { op: "new", object: "flowtable" }],
	[NFT_MSG.DELFLOWTABLE, { op: "delete", object: "flowtable" }],
]);

/** The table or flowtable change a notification reports; undefined for every other message. */
export function parseNftChange(m: NetlinkMessage): NftChange | undefined {
	if (m.type >> 8 !== NFNL_SUBSYS_NFTABLES || m.payload.byteLength < 4) return undefined;
	const kind = KINDS.get(m.type & 0xff);
	if (!kind) return undefined;
	const name = parseAttributes(m.payload.subarray(4)).get(TABLE_NAME_ATTR);
	if (!name) return undefined;
	const family = FAMILIES[m.payload[0] ?? 0] ?? `family ${m.payload[0]}`;
	return { ...kind, family, table: Buffer.from(name).toString("utf8").replace(/\0.*$/s, "") };
}
