// Run inside a lab node: `bun await-open.ts ADDRESS`. For each line `PORT TIMEOUT_MS` read from
// stdin it prints "ready" once it is trying, then starts a TCP connection attempt (10 ms each)
// every 2 ms until one is answered and prints the wall-clock time (ms since the epoch) of that answer, or
// "timeout" after TIMEOUT_MS. One process serves every trial, so no process start competes
// with the change being timed.
const [address = ""] = process.argv.slice(2);

function attempt(port: number): Promise<boolean> {
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

/**
 * A new attempt every 2 ms, each on its own: fw4's syn_flood limit drops most SYNs to the
 * router's closed ports, and a dropped attempt must not hold up the next one.
 */
function awaitOpen(port: number, timeoutMs: number): Promise<string> {
	const deadline = Date.now() + timeoutMs;
	console.log("ready");
	return new Promise((resolve) => {
		let done = false;
		const finish = (result: string) => {
			if (done) return;
			done = true;
			clearInterval(timer);
			resolve(result);
		};
		const timer = setInterval(() => {
			if (Date.now() >= deadline) finish("timeout");
			else void attempt(port).then((answered) => answered && finish(String(Date.now())));
		}, 2);
	});
}

for await (const line of console) {
	const [port, timeoutMs] = line.trim().split(/\s+/).map(Number);
	if (port) console.log(await awaitOpen(port, timeoutMs ?? 30_000));
}

export {};
