import { describe, expect, test } from "bun:test";
import { canonicalAddress, formatPrefix, parsePrefix, prefixesOverlap } from "./prefix";

describe("prefixes", () => {
	test("an IPv4 prefix with host bits set is normalised to its network", () => {
		expect(formatPrefix(parsePrefix("198.51.100.7/24"))).toBe("198.51.100.0/24");
		expect(formatPrefix(parsePrefix("203.0.113.2"))).toBe("203.0.113.2");
		expect(formatPrefix(parsePrefix("10.0.0.0/0"))).toBe("0.0.0.0/0");
	});

	test("IPv6 addresses print in RFC 5952 form", () => {
		expect(canonicalAddress("2001:0DB8:0001:0000:0000:0000:0000:0010")).toBe("2001:db8:1::10");
		expect(canonicalAddress("2001:db8::7/64")).toBe("2001:db8::/64");
		expect(canonicalAddress("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
		expect(canonicalAddress("2001:0:0:1:0:0:0:1")).toBe("2001:0:0:1::1");
		expect(canonicalAddress("::ffff:192.0.2.1")).toBe("::ffff:c000:201");
		expect(canonicalAddress("fd00::")).toBe("fd00::");
	});

	test("prefixes overlap exactly when one contains the other", () => {
		expect(prefixesOverlap(parsePrefix("198.51.100.0/24"), parsePrefix("198.51.100.9"))).toBe(true);
		expect(prefixesOverlap(parsePrefix("198.51.100.0/25"), parsePrefix("198.51.100.128/25"))).toBe(false);
		expect(prefixesOverlap(parsePrefix("0.0.0.0/0"), parsePrefix("203.0.113.2"))).toBe(true);
		expect(prefixesOverlap(parsePrefix("2001:db8::/32"), parsePrefix("2001:db8:1::10"))).toBe(true);
		expect(prefixesOverlap(parsePrefix("2001:db8::/32"), parsePrefix("198.51.100.0/24"))).toBe(false);
	});
});
