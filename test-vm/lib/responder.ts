// A test server run inside a lab node: `bun responder.ts NODE tcp|udp [--bind ADDR] PORT…`.
// Listens on [::] (IPv4 and IPv6), or on ADDR only, on every PORT and answers each TCP connection and each UDP
// datagram with one line naming who answered: "NODE PROTO PORT from PEER". TCP connections then
// echo what they receive (for long-lived connection checks). Prints "ready" once all ports
// listen; runs until killed.
import dgram from "node:dgram";

const [node, proto, ...rest] = process.argv.slice(2);
const bind = rest[0] === "--bind" ? rest[1] : undefined;
const ports = rest.slice(bind === undefined ? 0 : 2).map(Number);
if (!node || (proto !== "tcp" && proto !== "udp") || ports.length === 0 || ports.some((p) => !(p > 0))) {
	console.error("usage: responder.ts NODE tcp|udp [--bind ADDR] PORT…");
	process.exit(2);
}

/** "::ffff:203.0.113.2" (an IPv4 peer on a dual-stack socket) → "203.0.113.2". */
const plain = (address: string) => address.replace(/^::ffff:(?=\d+\.)/, "");
const identity = (port: number, peer: string) => `${node} ${proto} ${port} from ${plain(peer)}\n`;

async function listenUdp(port: number): Promise<void> {
	const v4 = bind !== undefined && !bind.includes(":");
	const socket = dgram.createSocket(v4 ? { type: "udp4" } : { type: "udp6", ipv6Only: false });
	socket.on("message", (_data, rinfo) =>
		socket.send(identity(port, rinfo.address), rinfo.port, rinfo.address),
	);
	await new Promise<void>((resolve, reject) => {
		socket.once("error", reject);
		socket.bind(port, bind ?? "::", () => resolve());
	});
}

function listenTcp(port: number): void {
	Bun.listen({
		hostname: bind ?? "::",
		port,
		socket: {
			open: (socket) => {
				socket.write(identity(port, socket.remoteAddress));
			},
			data: (socket, data) => {
				socket.write(data);
			},
		},
	});
}

for (const port of ports) {
	if (proto === "udp") await listenUdp(port);
	else listenTcp(port);
}
console.log("ready");
