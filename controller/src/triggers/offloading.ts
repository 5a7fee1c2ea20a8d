// Whether fw4 offloads flows (pure), from `nft -j list flowtables`: with `flow_offloading` fw4
// declares `flowtable ft` in its table (and `flow offload @ft` in its forward chain), with
// `flow_offloading_hw` the flowtable also carries `flags offload`. Offloaded packets skip the
// forward hook, where portrig's rules restart trigger openings' timers (keepalive.ts).
import { z } from "zod";

export type Offloading = "off" | "software" | "hardware";

const Flowtable = z.object({
	flowtable: z.object({
		family: z.string(),
		table: z.string(),
		flags: z.union([z.string(), z.array(z.string())]).optional(),
	}),
});

export function offloadingOf(listed: unknown[], table = { family: "inet", name: "fw4" }): Offloading {
	let found: Offloading = "off";
	for (const item of listed) {
		const parsed = Flowtable.safeParse(item);
		if (!parsed.success) continue;
		const f = parsed.data.flowtable;
		if (f.family !== table.family || f.table !== table.name) continue;
		const flags = f.flags === undefined ? [] : [f.flags].flat();
		if (flags.includes("offload")) return "hardware";
		found = "software";
	}
	return found;
}
