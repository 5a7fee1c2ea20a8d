// Names and numbers that the parts of portrig's nft table agree on: the forward and DMZ part
// (render.ts), the trigger part (triggers.ts), fw4's include file and the tests.

/** portrig owns this table and nothing else. */
export const TABLE = { family: "inet", name: "portrig" } as const;

/**
 * Conntrack mark bits. ACCEPT marks every new connection that portrig forwards (forward maps,
 * trigger openings, DMZ, IPv6 pinholes); fw4's forward chain accepts exactly those through the
 * include openwrt-feed/portrig/files/usr/share/nftables.d/chain-post/forward/30-portrig.nft.
 * LOOPBACK marks NAT-loopback connections (LAN client → router's WAN address) for masquerade.
 * The bits stay clear of the masks other OpenWrt packages use by default (mwan3 0x3f00,
 * pbr 0x00ff0000, sqm/ctinfo DSCP 0xfc000000 + 0x01000000).
 */
export const CT_MARK = { ACCEPT: 0x00004000, LOOPBACK: 0x00008000 } as const;

/**
 * Base chain priorities. On one NAT hook only the first chain that NATs a connection counts,
 * so these numbers order the claims: forwards, then trigger openings, then fw4's own redirects
 * (dstnat, -100), then the DMZ host last.
 */
export const PRIORITY = {
	forwardDnat: -110,
	triggerDnat: -105,
	dmzDnat: -90,
	loopbackSnat: 90,
	/** Before fw4's forward chain (filter, 0): marks IPv6 pinhole connections for its include. */
	pinholeFilter: -1,
	/** Trigger openings from the packet path, their refreshes and IPv6 pinholes (triggers.ts). */
	triggerFilter: -2,
} as const;

/** Sets of device names that every part matches `iifname`/`oifname` against. */
export const DEVICE_SETS = { wan: "wan_devices", lan: "lan_devices" } as const;
