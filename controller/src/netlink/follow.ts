// Diagnostic: follows the conntrack events of the current network namespace and prints them as
// JSON lines (the lab tests and `make bench` run it inside a namespace).
//
//   bun controller/src/netlink/follow.ts [--buffer BYTES] [--ports P:FROM-TO,…] [--quiet] [--block-ms N] [--dump]
//
// Prints {"type":"ready"} once subscribed, then {"type":"entry",…} per event (none with
// --quiet) and {"type":"resync","entries":N} after an overrun. A line "stats" on stdin prints
// {"type":"stats",…}; end of stdin exits. --block-ms keeps the event loop busy for N ms after
// subscribing (to provoke an overrun); --ports passes only events of those IP protocol numbers
// and destination ports (the kernel-side filter); --dump prints one dump and exits.
import { ConntrackEvents } from "./events";

const args = process.argv.slice(2);
const option = (name: string) => {
	const i = args.indexOf(name);
	return i >= 0 ? args[i + 1] : undefined;
};
const quiet = args.includes("--quiet");
const print = (value: Record<string, unknown>) =>
	process.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? String(v) : v))}\n`);

const events = new ConntrackEvents({
	onEntry: quiet ? () => {} : (entry) => print({ type: "entry", at: performance.now(), ...entry }),
	onResync: (entries) => {
		print({ type: "resync", entries: entries.length });
	},
	...(option("--buffer") ? { receiveBuffer: Number(option("--buffer")) } : {}),
	...(option("--ports") ? { ports: parsePorts(option("--ports") ?? "") } : {}),
});

/** "17:9400-9410,6:80" → [{proto: 17, from: 9400, to: 9410}, {proto: 6, from: 80, to: 80}] */
function parsePorts(text: string) {
	return text.split(",").map((item) => {
		const [proto, ports = ""] = item.split(":");
		const [from, to = from] = ports.split("-");
		return { proto: Number(proto), from: Number(from), to: Number(to) };
	});
}

if (args.includes("--dump")) {
	for (const entry of await events.dump()) print({ type: "entry", ...entry });
	process.exit(0);
}

events.start();
print({ type: "ready" });
const block = Number(option("--block-ms") ?? 0);
if (block > 0) {
	const until = Date.now() + block;
	while (Date.now() < until) {}
}

let buffer = "";
for await (const chunk of Bun.stdin.stream()) {
	buffer += new TextDecoder().decode(chunk);
	let nl = buffer.indexOf("\n");
	while (nl >= 0) {
		if (buffer.slice(0, nl).trim() === "stats") print({ type: "stats", ...events.stats() });
		buffer = buffer.slice(nl + 1);
		nl = buffer.indexOf("\n");
	}
}
await events.stop();
process.exit(0);
