// A test client run inside a lab node: `bun prober.ts tcp|udp ADDRESS PORT TIMEOUT_MS`.
// Connects (TCP) or sends one datagram (UDP) and prints the first line that comes back, exit 0.
// Nothing within TIMEOUT_MS, a refusal or an unreachable network: prints why on stderr, exit 1.
import dgram from "node:dgram";

const [proto, address, portText, timeoutText] = process.argv.slice(2);
const port = Number(portText);
const timeoutMs = Number(timeoutText);
if ((proto !== "tcp" && proto !== "udp") || !address || !(port > 0) || !(timeoutMs > 0)) {
	console.error("usage: prober.ts tcp|udp ADDRESS PORT TIMEOUT_MS");
	process.exit(2);
}

function answered(text: string): never {
	console.log(text.split("\n")[0]);
	process.exit(0);
}

function failed(why: string): never {
	console.error(why);
	process.exit(1);
}

setTimeout(() => failed("timeout"), timeoutMs);

if (proto === "udp") {
	const socket = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
	socket.on("message", (data) => answered(data.toString()));
	// ICMP port unreachable arrives as an error on a connected socket.
	socket.on("error", (e) => failed(e.message));
	socket.connect(port, address, () => socket.send("probe\n"));
} else {
	let received = "";
	try {
		await Bun.connect({
			hostname: address,
			port,
			socket: {
				data: (_socket, data) => {
					received += data.toString();
					if (received.includes("\n")) answered(received);
				},
				close: () => failed(received ? `closed after '${received}'` : "closed without an answer"),
				error: (_socket, e) => failed(e.message),
			},
		});
	} catch (e) {
		failed(e instanceof Error ? e.message : String(e));
	}
}
