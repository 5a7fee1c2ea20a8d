// Run inside a lab node: `bun await-open.ts ADDRESS PORT TIMEOUT_MS`. Tries a TCP connection
// (10 ms each) every 2 ms until one is answered, then prints the wall-clock time (ms since the epoch) of that
// answer; exit 1 after TIMEOUT_MS. Prints "ready" first, once it is trying.
const [address = "", portText, timeoutText] = process.argv.slice(2);
const port = Number(portText);
const deadline = Date.now() + Number(timeoutText);

function attempt(): Promise<boolean> {
	return new Promise((resolve) => {
		// A SYN that fw4's syn_flood limit dropped would keep the attempt waiting: give up soon.
		const timer = setTimeout(() => resolve(false), 10);
		Bun.connect({
			hostname: address,
			port,
			socket: {
				data: (socket) => {
					clearTimeout(timer);
					resolve(true);
					socket.end();
				},
				close: () => resolve(false),
				error: () => resolve(false),
				connectError: () => resolve(false),
			},
		}).catch(() => resolve(false));
	});
}

console.log("ready");
while (Date.now() < deadline) {
	if (await attempt()) {
		console.log(Date.now());
		process.exit(0);
	}
	await Bun.sleep(2);
}
process.exit(1);

export {};
