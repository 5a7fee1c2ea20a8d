// The ports the router itself serves: TCP listening sockets and bound UDP sockets on any
// address but loopback (a socket on a wildcard or WAN address is reachable from WAN; one on a
// LAN address is kept out too, which only errs on the side of the router). The DMZ never
// takes these. Read from /proc/net/{tcp,tcp6,udp,udp6} of the router's network namespace.
import { readFile } from "node:fs/promises";
import type { Protocol } from "../config/schema";
import { byProtoPort, type RouterPort } from "./render";

const FILES = ["tcp", "tcp6", "udp", "udp6"] as const;
const TCP_LISTEN = "0A";
const UDP_UNCONNECTED = "07";

/**
 * Whether a /proc/net address (hex, 32-bit words in host byte order: little-endian on every
 * target Bun runs on) is loopback: 127/8, ::1 or ::ffff:127/104.
 */
function isLoopback(hex: string): boolean {
	if (hex.length === 8) return hex.slice(6, 8) === "7F";
	const words = hex.match(/.{8}/g) ?? [];
	if (words.slice(0, 3).every((w) => w === "00000000") && words[3] === "01000000") return true;
	return (
		words[0] === "00000000" &&
		words[1] === "00000000" &&
		words[2] === "FFFF0000" &&
		(words[3] ?? "").endsWith("7F")
	);
}

/** Parses one /proc/net/{tcp,tcp6,udp,udp6} file. */
export function parseProcNet(file: (typeof FILES)[number], text: string): RouterPort[] {
	const proto: Protocol = file.startsWith("tcp") ? "tcp" : "udp";
	const wanted = proto === "tcp" ? TCP_LISTEN : UDP_UNCONNECTED;
	const out: RouterPort[] = [];
	for (const line of text.split("\n").slice(1)) {
		const [, local, , state] = line.trim().split(/\s+/);
		if (!local || state !== wanted) continue;
		const [addr = "", portHex = ""] = local.split(":");
		const port = Number.parseInt(portHex, 16);
		if (port > 0 && !isLoopback(addr)) out.push({ proto, port });
	}
	return out;
}

/** Sorted, without duplicates. */
export function uniquePorts(ports: RouterPort[]): RouterPort[] {
	const seen = new Map(ports.map((p) => [`${p.proto} ${p.port}`, p]));
	return [...seen.values()].sort(byProtoPort);
}

/**
 * The router's served ports. With a command prefix (a test's `ip netns exec NS`), the files are
 * read by `cat` inside that namespace; without, directly.
 */
export async function discoverRouterPorts(prefix: string[] = []): Promise<RouterPort[]> {
	const texts = prefix.length
		? await Promise.all(
				FILES.map(async (f) => {
					const proc = Bun.spawn([...prefix, "cat", `/proc/net/${f}`], { stdout: "pipe", stderr: "ignore" });
					return new Response(proc.stdout).text();
				}),
			)
		: await Promise.all(FILES.map((f) => readFile(`/proc/net/${f}`, "utf8").catch(() => "")));
	return uniquePorts(FILES.flatMap((f, i) => parseProcNet(f, texts[i] ?? "")));
}
