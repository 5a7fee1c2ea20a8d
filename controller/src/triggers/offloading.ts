// Whether fw4 offloads flows (pure), from `nft list flowtables`: with `flow_offloading` fw4
// declares `flowtable ft` in its table (and `flow offload @ft` in its forward chain), with
// `flow_offloading_hw` the flowtable also carries `flags offload`. Offloaded packets skip the
// forward hook, where portrig's rules restart trigger openings' timers (keepalive.ts). nft's
// text, not its JSON: nft's JSON output leaves flowtable flags out.
//
//   table inet fw4 {
//   	flowtable ft {
//   		hook ingress priority filter
//   		devices = { br-lan, eth1 }
//   		flags offload
//   		counter
//   	}
//   }

export type Offloading = "off" | "software" | "hardware";

export function offloadingOf(listing: string, table = "inet fw4"): Offloading {
	let inTable = false;
	let found: Offloading = "off";
	for (const line of listing.split("\n")) {
		const start = /^table (\S+ \S+) \{/.exec(line);
		if (start) inTable = start[1] === table;
		else if (!inTable) continue;
		else if (/^\s*flowtable \S+ \{/.test(line) && found === "off") found = "software";
		else if (/^\s*flags .*\boffload\b/.test(line)) found = "hardware";
	}
	return found;
}
