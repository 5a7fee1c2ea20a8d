// Address classification used by the config rules. Pure functions over the textual forms that
// zod has already checked (z.ipv4 / z.ipv6 / z.cidrv4 / z.cidrv6).

export type Family = 4 | 6;

export function familyOf(address: string): Family {
	return address.includes(":") ? 6 : 4;
}

function ipv4Octets(address: string): number[] {
	return address.split(".").map(Number);
}

/** RFC 1918 private ranges: the only IPv4 addresses a LAN host behind NAT can have. */
export function isPrivateIPv4(address: string): boolean {
	const [a = 0, b = 0] = ipv4Octets(address);
	return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** First 16-bit group of an IPv6 address, as a number (handles a leading "::"). */
function ipv6FirstGroup(address: string): number {
	const head = address.split(":")[0] ?? "";
	return head === "" ? 0 : Number.parseInt(head, 16);
}

/**
 * An IPv6 address a LAN host can be reached at from WAN without NAT: global unicast
 * (2000::/3) or unique local (fc00::/7). Link-local, loopback, multicast and :: are refused.
 */
export function isLanReachableIPv6(address: string): boolean {
	const g = ipv6FirstGroup(address);
	return (g & 0xe000) === 0x2000 || (g & 0xfe00) === 0xfc00;
}
