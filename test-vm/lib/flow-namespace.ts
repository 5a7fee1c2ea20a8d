// A network namespace of its own where conntrack tracks new UDP flows to FLOW_SINK and they go
// nowhere: the place to follow conntrack events without the whole lab (root needed).
//
//   const ns = FlowNamespace.create("nlev");   // named "<prefix><pid><random>", set up
//   ns.run(["conntrack", "-F"]);               // → stdout; throws on failure
//   Bun.spawn([...ns.exec, BUN, script]);      // a long-lived process in it
//   ns.remove();

/**
 * No host has this address: it is the far end of a veth pair with a fixed neighbour entry, so
 * datagrams to it leave the namespace and no ICMP answer comes back.
 */
export const FLOW_SINK = "10.99.0.2";
/** The namespace's own address, the source of its flows. */
export const FLOW_SOURCE = "10.99.0.1";

function sh(argv: string[], input?: string): string {
	const r = Bun.spawnSync(argv, { stdin: input === undefined ? "ignore" : Buffer.from(input) });
	if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
	return r.stdout.toString();
}

export class FlowNamespace {
	/** Command prefix that runs a command in the namespace. */
	readonly exec: string[];

	private constructor(readonly name: string) {
		this.exec = ["ip", "netns", "exec", name];
	}

	static create(prefix: string): FlowNamespace {
		const ns = new FlowNamespace(
			`${prefix}${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`,
		);
		sh(["ip", "netns", "add", ns.name]);
		try {
			ns.run(["ip", "link", "set", "lo", "up"]);
			ns.run(["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
			ns.run(["ip", "link", "set", "v0", "up"]);
			ns.run(["ip", "link", "set", "v1", "up"]);
			ns.run(["ip", "addr", "add", `${FLOW_SOURCE}/24`, "dev", "v0"]);
			ns.run(["ip", "neigh", "add", FLOW_SINK, "lladdr", "02:00:00:00:00:02", "dev", "v0"]);
			// Conntrack runs in a namespace only once a rule there needs it.
			ns.run(
				["nft", "-f", "-"],
				"table inet flows {\n\tchain out {\n\t\ttype filter hook output priority 0; ct state new counter\n\t}\n}\n",
			);
		} catch (e) {
			ns.remove();
			throw e;
		}
		return ns;
	}

	/** Runs argv in the namespace to its end; its stdout, or an error with its stderr. */
	run(argv: string[], input?: string): string {
		return sh([...this.exec, ...argv], input);
	}

	remove(): void {
		Bun.spawnSync(["ip", "netns", "del", this.name]);
	}
}
