// Load generator run inside a lab node: `bun connector.ts ADDRESS FROM_PORT TO_PORT MS CONCURRENCY`.
// CONCURRENCY workers open TCP connections for MS milliseconds, each to the next port of
// FROM..TO in turn; a connection counts once the server's first line arrived, then it closes.
// Prints one JSON line: {"connections": N, "failures": N, "ms": T}.
const [address = "", fromText, toText, msText, concurrencyText] = process.argv.slice(2);
const from = Number(fromText);
const to = Number(toText);
const duration = Number(msText);
const concurrency = Number(concurrencyText);
if (!address || !(from > 0) || !(to >= from) || !(duration > 0) || !(concurrency > 0)) {
	console.error("usage: connector.ts ADDRESS FROM_PORT TO_PORT MS CONCURRENCY");
	process.exit(2);
}

let next = from;
let connections = 0;
let failures = 0;
const deadline = performance.now() + duration;

/** One connection: resolves true once the server's first bytes came, false on any failure. */
function once(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const timer = setTimeout(() => resolve(false), 2000);
		const done = (ok: boolean) => {
			clearTimeout(timer);
			resolve(ok);
		};
		Bun.connect({
			hostname: address,
			port,
			socket: {
				data: (socket) => {
					done(true); // before end(): end() may run the close handler at once
					socket.end();
				},
				error: () => done(false),
				close: () => done(false),
				connectError: () => done(false),
			},
		}).catch(() => done(false));
	});
}

async function worker(): Promise<void> {
	while (performance.now() < deadline) {
		const port = next;
		next = next === to ? from : next + 1;
		if (await once(port)) connections++;
		else failures++;
	}
}

const start = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
console.log(JSON.stringify({ connections, failures, ms: Math.round(performance.now() - start) }));

export {};
