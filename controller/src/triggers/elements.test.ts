import { describe, expect, test } from "bun:test";
import { Transaction } from "../ruleset/transaction";
import type { TriggerSets } from "../ruleset/triggers";
import {
	addOpenings,
	deleteOpenings,
	parseIPv4Map,
	parseIPv4Owners,
	parseIPv6Set,
	strayOwners,
} from "./elements";

// Listings as nft 1.0.6 printed them (`nft -j list map|set inet portrig NAME`) for elements
// added with `timeout 600s expires 423s` etc.; nft rounds the seconds left down.
const META = `{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}`;
const MAP4 = `{"nftables": [${META}, {"map": {"family": "inet", "name": "tr_irc_4", "table": "portrig", "type": "nf_proto", "handle": 1, "map": "ipv4_addr", "flags": ["timeout"], "elem": [[{"elem": {"val": "ipv4", "timeout": 600, "expires": 422}}, "192.168.1.10"]]}}]}`;
const OWNERS4 = `{"nftables": [${META}, {"set": {"family": "inet", "name": "tr_irc_4o", "table": "portrig", "type": ["nf_proto", "ipv4_addr"], "handle": 2, "flags": ["timeout"], "elem": [{"elem": {"val": {"concat": ["ipv4", "192.168.1.10"]}, "timeout": 600, "expires": 422}}, {"elem": {"val": {"concat": ["ipv4", "192.168.1.11"]}, "timeout": 600, "expires": 422}}]}}]}`;
const MAP4R = `{"nftables": [${META}, {"map": {"family": "inet", "name": "tr_ftp_4r", "table": "portrig", "type": "ipv4_addr", "handle": 3, "map": "ipv4_addr", "flags": ["timeout"], "elem": [[{"elem": {"val": "203.0.113.2", "timeout": 120, "expires": 99}}, "192.168.1.10"], [{"elem": {"val": "203.0.113.3", "timeout": 120, "expires": 49}}, "192.168.1.11"]]}}]}`;
const SET6 = `{"nftables": [${META}, {"set": {"family": "inet", "name": "tr_irc_6", "table": "portrig", "type": "ipv6_addr", "handle": 4, "flags": ["timeout"], "elem": [{"elem": {"val": "2001:db8:1::10", "timeout": 600, "expires": 598}}]}}]}`;
const SET6R = `{"nftables": [${META}, {"set": {"family": "inet", "name": "tr_ftp_6r", "table": "portrig", "type": ["ipv6_addr", "ipv6_addr"], "handle": 5, "flags": ["timeout"], "elem": [{"elem": {"val": {"concat": ["2001:db8:ffff::2", "2001:db8:1::10"]}, "timeout": 600, "expires": 29}}]}}]}`;
const EMPTY = `{"nftables": [${META}, {"map": {"family": "inet", "name": "tr_irc_4", "table": "portrig", "type": "nf_proto", "handle": 1, "map": "ipv4_addr", "flags": ["timeout"]}}]}`;

const IRC: TriggerSets = {
	v4: { map: "tr_irc_4", keys: "tr_irc_4k", owners: "tr_irc_4o", chain: "trigger_irc_4" },
	v6: { set: "tr_irc_6" },
	remote: false,
	timeout: 600,
};
const FTP: TriggerSets = {
	v4: { map: "tr_ftp_4r", keys: "tr_ftp_4rk", owners: "tr_ftp_4ro", chain: "trigger_ftp_4r" },
	v6: { set: "tr_ftp_6r" },
	remote: true,
	timeout: 120,
};

describe("reading openings from nft listings", () => {
	test("an IPv4 opening keyed by the family: the LAN host, its timeout and the seconds left", () => {
		expect(parseIPv4Map(MAP4, IRC)).toEqual([
			{ family: 4, host: "192.168.1.10", timeout: 600, expires: 422 },
		]);
	});

	test("remote_only openings carry the remote they are for", () => {
		expect(parseIPv4Map(MAP4R, FTP)).toEqual([
			{ family: 4, host: "192.168.1.10", remote: "203.0.113.2", timeout: 120, expires: 99 },
			{ family: 4, host: "192.168.1.11", remote: "203.0.113.3", timeout: 120, expires: 49 },
		]);
	});

	test("IPv6 pinholes, per host and per remote . host", () => {
		expect(parseIPv6Set(SET6, IRC)).toEqual([
			{ family: 6, host: "2001:db8:1::10", timeout: 600, expires: 598 },
		]);
		expect(parseIPv6Set(SET6R, FTP)).toEqual([
			{ family: 6, host: "2001:db8:1::10", remote: "2001:db8:ffff::2", timeout: 600, expires: 29 },
		]);
	});

	test("a map without elements holds no opening; output that is not a listing is refused", () => {
		expect(parseIPv4Map(EMPTY, IRC)).toEqual([]);
		expect(() => parseIPv4Map(`{"nftables": [{"map": {"elem": 3}}]}`, IRC)).toThrow();
	});

	test("an owner entry without its map element is a stray (two hosts' first packets at once)", () => {
		const owners = parseIPv4Owners(OWNERS4);
		expect(owners).toEqual([
			{ key: "ipv4", host: "192.168.1.10" },
			{ key: "ipv4", host: "192.168.1.11" },
		]);
		expect(strayOwners(IRC, parseIPv4Map(MAP4, IRC), owners).script()).toBe(
			"delete element inet portrig tr_irc_4o { ipv4 . 192.168.1.11 }\n",
		);
	});
});

describe("writing openings back", () => {
	const script = (tx: Transaction) => tx.script();

	test("an IPv4 opening goes back into its map, key set and owner set with its time left", () => {
		const opening = { family: 4 as const, host: "192.168.1.10", timeout: 600, expires: 422 };
		expect(script(addOpenings(new Transaction(), IRC, [opening]))).toBe(
			"add element inet portrig tr_irc_4 { ipv4 timeout 600s expires 422s : 192.168.1.10 }\n" +
				"add element inet portrig tr_irc_4k { ipv4 timeout 600s expires 422s }\n" +
				"add element inet portrig tr_irc_4o { ipv4 . 192.168.1.10 timeout 600s expires 422s }\n",
		);
	});

	test("the time left never exceeds the timeout (the kernel refuses that with ERANGE) nor drops below 1 s", () => {
		const text = script(
			addOpenings(new Transaction(), IRC, [
				{ family: 4, host: "192.168.1.10", timeout: 60, expires: 61 },
				{ family: 4, host: "192.168.1.11", timeout: 60, expires: 0 },
			]),
		);
		expect(text).toContain("ipv4 timeout 60s expires 60s : 192.168.1.10");
		expect(text).toContain("ipv4 timeout 60s expires 1s : 192.168.1.11");
	});

	test("remote_only and IPv6 keys are rebuilt as they were read", () => {
		const text = script(
			addOpenings(new Transaction(), FTP, [...parseIPv4Map(MAP4R, FTP), ...parseIPv6Set(SET6R, FTP)]),
		);
		expect(text).toContain("203.0.113.3 timeout 120s expires 49s : 192.168.1.11");
		expect(text).toContain("2001:db8:ffff::2 . 2001:db8:1::10 timeout 600s expires 29s");
	});

	test("deleting an opening names its keys in the map, the key set, the owner set and the IPv6 set", () => {
		const tx = deleteOpenings(new Transaction(), IRC, [
			...parseIPv4Map(MAP4, IRC),
			...parseIPv6Set(SET6, IRC),
		]);
		expect(script(tx)).toBe(
			"delete element inet portrig tr_irc_4 { ipv4 }\n" +
				"delete element inet portrig tr_irc_4k { ipv4 }\n" +
				"delete element inet portrig tr_irc_4o { ipv4 . 192.168.1.10 }\n" +
				"delete element inet portrig tr_irc_6 { 2001:db8:1::10 }\n",
		);
	});
});
