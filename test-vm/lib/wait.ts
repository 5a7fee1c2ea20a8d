// Bounded waits for the lab tests: poll a condition until it holds, or give a promise a deadline.

/** Polls `check` every `pollMs` until it holds; resolves to the ms that took, throws after `ms`. */
export async function waitFor(
	what: string,
	check: () => Promise<boolean>,
	ms = 10_000,
	pollMs = 50,
): Promise<number> {
	const start = performance.now();
	while (!(await check())) {
		if (performance.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
		await Bun.sleep(pollMs);
	}
	return performance.now() - start;
}

/** True once `promise` settles, false if `ms` pass first; the timer is cleared either way so it
 * keeps no process alive. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
	let timer: Timer | undefined;
	const late = new Promise<boolean>((resolve) => {
		timer = setTimeout(() => resolve(false), ms);
	});
	try {
		return await Promise.race([
			promise.then(
				() => true,
				() => true,
			),
			late,
		]);
	} finally {
		clearTimeout(timer);
	}
}
