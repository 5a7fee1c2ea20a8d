// What portrig reads of `ubus call network.interface dump` (netifd's netifd_handle_dump): per
// logical interface its name, state, devices and addresses. Unknown fields are ignored; an
// interface without a name is skipped rather than failing the whole dump.
import { z } from "zod";

const Address = z.object({ address: z.string(), mask: z.number().int() });

export const NetifdInterface = z.object({
	interface: z.string(),
	up: z.boolean().default(false),
	/** the device carrying layer 3 (pppoe-wan for PPPoE); present while up */
	l3_device: z.string().optional(),
	/** the underlying device (eth1 under pppoe-wan) */
	device: z.string().optional(),
	"ipv4-address": z.array(Address).default([]),
	"ipv6-address": z.array(Address).default([]),
	data: z.object({ zone: z.string().optional() }).loose().default({}),
});
export type NetifdInterface = z.infer<typeof NetifdInterface>;

/** The dump's reply → its interfaces; a reply without an `interface` array is an error. */
export function parseDump(reply: unknown): NetifdInterface[] {
	const shape = z.object({ interface: z.array(z.unknown()) }).parse(reply);
	return shape.interface.flatMap((entry) => {
		const parsed = NetifdInterface.safeParse(entry);
		return parsed.success ? [parsed.data] : [];
	});
}
