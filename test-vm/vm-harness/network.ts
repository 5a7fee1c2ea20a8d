// The VM's wires on the host: two tap devices for QEMU's NICs, each bridged to one host
// namespace, all in namespaces of this run ("<prefix>-switch" holds the taps, the bridges and
// QEMU; "<prefix>-wan1", "<prefix>-lan1" and "<prefix>-lan2" are the hosts). Node names and addresses are the
// lab's, so the lab's servers and probes (lib/lab.ts, adopted) run unchanged, and the lab's
// teardown removes them.
//
//   wan1 203.0.113.2 ── br-wan ── tap-wan ═ NIC 2 (eth1 / wan)  [guest router]
//   lan1 192.168.1.10 ┬─ br-lan ── tap-lan ═ NIC 1 (br-lan / lan)  203.0.113.1, 192.168.1.1
//   lan2 192.168.1.11 ┘
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
	{ node: "lan2", side: "lan", address: `${ADDR.lan2.v4}/24`, via: GUEST.lan },
] as const;

const inNs = (ns: string, argv: string[]) => run(["ip", "netns", "exec", ns, ...argv]);

/** Puts `dev` on the bridge of `side` and brings it up. */
async function plug(switchNs: string, dev: string, side: "wan" | "lan"): Promise<void> {
	await inNs(switchNs, ["ip", "link", "set", dev, "master", `br-${side}`]);
	await inNs(switchNs, ["ip", "link", "set", dev, "up"]);
}

/** Builds the wires for a run with namespace prefix `prefix`; on failure removes what it made. */
export async function wireNetwork(prefix: string): Promise<VmNetwork> {
	const lab = Lab.adopt(prefix);
	const switchNs = `${prefix}-switch`;
	try {
		for (const ns of [switchNs, ...HOSTS.map((h) => lab.ns(h.node))]) {
			await run(["ip", "netns", "add", ns]);
			await inNs(ns, ["ip", "link", "set", "lo", "up"]);
		}
		for (const side of ["wan", "lan"] as const) {
			await inNs(switchNs, ["ip", "tuntap", "add", "dev", TAPS[side], "mode", "tap"]);
			await inNs(switchNs, ["ip", "link", "add", `br-${side}`, "type", "bridge"]);
			await inNs(switchNs, ["ip", "link", "set", `br-${side}`, "up"]);
			await plug(switchNs, TAPS[side], side);
		}
		for (const host of HOSTS) {
			const ns = lab.ns(host.node);
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
			await plug(switchNs, host.node, host.side);
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
