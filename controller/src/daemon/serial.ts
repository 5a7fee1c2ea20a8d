// One at a time: mutations, reloads and restores of the config and ruleset queue here, so two
// callers never interleave a validate-write-apply sequence.
export class Serial {
	private tail: Promise<unknown> = Promise.resolve();

	run<T>(task: () => Promise<T>): Promise<T> {
		const result = this.tail.then(task, task);
		this.tail = result.catch(() => undefined);
		return result;
	}
}
