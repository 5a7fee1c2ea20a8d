// What portrig reads of `ubus call network.interface dump` (netifd's netifd_handle_dump): per
// logical interface its name, state, devices and addresses. Unknown fields are ignored; an
// interface without a name is skipped rather than failing the whole dump.
import { z } from "../zod";

const Address = z.object({ address: z.string(), mask: z.int() });

export const NetifdInterface = z.object({
	interface: z.string(),
	up: z._default(z.boolean(), false),
	/** the device carrying layer 3 (pppoe-wan for PPPoE); present while up */
	l3_device: z.optional(z.string()),
	/** the underlying device (eth1 under pppoe-wan) */
	device: z.optional(z.string()),
	"ipv4-address": z._default(z.array(Address), []),
	"ipv6-address": z._default(z.array(Address), []),
	data: z._default(z.looseObject({ zone: z.optional(z.string()) }), {}),
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
