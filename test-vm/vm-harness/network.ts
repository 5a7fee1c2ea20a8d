// The VM's wires on the host: two tap devices for QEMU's NICs, each bridged to one host
// namespace, all in namespaces of this run ("<prefix>-switch" holds the taps, the bridges and
// QEMU; "<prefix>-wan1" and "<prefix>-lan1" are the hosts). Node names and addresses are the
// lab's, so the lab's servers and probes (lib/lab.ts, adopted) run unchanged, and the lab's
// teardown removes them.
//
//   wan1 203.0.113.2 ── br-wan ── tap-wan ═ NIC 2 (eth1 / wan)  [guest router]
//   lan1 192.168.1.10 ── br-lan ── tap-lan ═ NIC 1 (br-lan / lan)  203.0.113.1, 192.168.1.1
import { ADDR, Lab } from "../lib/lab";
import { run } from "./run";

export const TAPS = { lan: "tap-lan", wan: "tap-wan" } as const;
/** The guest router's addresses, as the lab router's. */
export const GUEST = { wan: ADDR.router.v4, lan: ADDR.router.lan4 } as const;

export type VmNetwork = {
	lab: Lab;
	/** The namespace QEMU runs in (its taps live there). */
	switchNs: string;
};

/** The side of the guest each host sits on, and its address. */
const HOSTS = [
	{ node: "wan1", side: "wan", address: `${ADDR.wan1.v4}/24`, via: undefined },
	{ node: "lan1", side: "lan", address: `${ADDR.lan1.v4}/24`, via: GUEST.lan },
] as const;

/** Builds the wires for a run with namespace prefix `prefix`; on failure removes what it made. */
export async function wireNetwork(prefix: string): Promise<VmNetwork> {
	const lab = Lab.adopt(prefix);
	const switchNs = `${prefix}-switch`;
	const inNs = (ns: string, argv: string[]) => run(["ip", "netns", "exec", ns, ...argv]);
	try {
		for (const ns of [switchNs, ...HOSTS.map((h) => lab.ns(h.node))]) {
			await run(["ip", "netns", "add", ns]);
			await inNs(ns, ["ip", "link", "set", "lo", "up"]);
		}
		for (const host of HOSTS) {
			const bridge = `br-${host.side}`;
			const tap = TAPS[host.side];
			const ns = lab.ns(host.node);
			await inNs(switchNs, ["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
			await inNs(switchNs, ["ip", "link", "add", bridge, "type", "bridge"]);
			await inNs(switchNs, ["ip", "link", "set", bridge, "up"]);
			await run([
				"ip",
				"link",
				"add",
				"eth0",
				"netns",
				ns,
				"type",
				"veth",
				"peer",
				host.node,
				"netns",
				switchNs,
			]);
			for (const dev of [tap, host.node]) {
				await inNs(switchNs, ["ip", "link", "set", dev, "master", bridge]);
				await inNs(switchNs, ["ip", "link", "set", dev, "up"]);
			}
			await inNs(ns, ["ip", "link", "set", "eth0", "up"]);
			await inNs(ns, ["ip", "addr", "add", host.address, "dev", "eth0"]);
			if (host.via) await inNs(ns, ["ip", "route", "add", "default", "via", host.via]);
		}
	} catch (e) {
		lab.downSync();
		throw e;
	}
	return { lab, switchNs };
}
