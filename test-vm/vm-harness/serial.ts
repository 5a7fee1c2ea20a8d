// A shell on a serial console, driven as a control channel: send a command line, read until a
// marker line that carries the command's exit code. The guest's console echoes what it is sent
// and the kernel may print on it at any time, so only the marker line is trusted: it is printed
// by the command itself, split in the command text so that the echo of the command never
// matches it.
//
//   const serial = new SerialConsole(qemu.stdout, (text) => qemu.stdin.write(text), log);
//   await serial.waitFor(/login:|# $/m, 60_000);     // anything the console prints
//   const r = await serial.run("nft list tables");   // → {code, output}; output is what it printed
//   await serial.check("ip link set eth0 up");       // throws unless exit code 0

export type SerialResult = { code: number; output: string };

export class SerialCommandError extends Error {
	constructor(
		readonly command: string,
		readonly result: SerialResult,
	) {
		super(`guest: '${command}' exited ${result.code}: ${result.output.trim().slice(-2000)}`);
	}
}

/** The marker that ends command number `n`: "@@portrig-done-N CODE". */
export function markerPattern(n: number): RegExp {
	return new RegExp(`@@portrig-done-${n} (\\d+)\\r?$`, "m");
}

/**
 * The text sent for command number `n`: `command` as typed (so `cd` and variables persist), then
 * a line printing the marker with its exit code. The quotes split the marker so its echo differs.
 */
export function commandLine(command: string, n: number): string {
	return `${command}\nprintf '%s%s %s\\n' '@@portrig-' 'done-${n}' "$?"\n`;
}

export class SerialConsole {
	/** Everything received so far, with carriage returns dropped. */
	private text = "";
	/** Where the next search for a marker or pattern starts. */
	private cursor = 0;
	private count = 0;
	private ended = false;
	private wake: (() => void) | undefined;

	constructor(
		output: ReadableStream<Uint8Array>,
		private readonly send: (text: string) => Promise<void>,
		/** Called with every chunk received (e.g. to show the console or keep a log). */
		private readonly onText: (text: string) => void = () => {},
	) {
		void this.pump(output);
	}

	private async pump(output: ReadableStream<Uint8Array>): Promise<void> {
		const decoder = new TextDecoder();
		try {
			for await (const chunk of output) {
				const text = decoder.decode(chunk, { stream: true });
				this.onText(text);
				this.text += text.replaceAll("\r", "");
				this.wake?.();
			}
		} finally {
			this.ended = true;
			this.wake?.();
		}
	}

	/** All the console printed so far. */
	transcript(): string {
		return this.text;
	}

	/**
	 * Resolves to the match once text received after the last consumed position matches
	 * `pattern`; consumes up to the end of the match. Rejects after `ms` or when the console ends.
	 */
	async waitFor(pattern: RegExp, ms: number): Promise<RegExpExecArray> {
		const deadline = Date.now() + ms;
		const flags = pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`;
		const re = new RegExp(pattern.source, flags);
		for (;;) {
			re.lastIndex = this.cursor;
			const m = re.exec(this.text);
			if (m) {
				this.cursor = m.index + m[0].length;
				return m;
			}
			const left = deadline - Date.now();
			if (this.ended) throw new Error(`console closed while waiting for ${pattern}`);
			if (left <= 0)
				throw new Error(
					`timed out after ${ms} ms waiting for ${pattern}; the console's last words:\n${this.text.slice(-1500)}`,
				);
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, left);
				this.wake = () => {
					clearTimeout(timer);
					resolve();
				};
			});
			this.wake = undefined;
		}
	}

	/** Turns the guest shell's echo and prompts off, so that output is only what commands print. */
	async quiet(): Promise<void> {
		await this.check("stty -echo; PS1=''; PS2=''");
	}

	/** Sends raw text (no marker), e.g. the Enter that activates an OpenWrt console. */
	async write(text: string): Promise<void> {
		await this.send(text);
	}

	/** Runs one shell command line in the guest; its exit code and what the console printed meanwhile. */
	async run(command: string, ms = 60_000): Promise<SerialResult> {
		if (command.includes("@@portrig-done-")) throw new Error("a command may not contain the marker");
		const n = ++this.count;
		const start = this.text.length;
		this.cursor = Math.max(this.cursor, start);
		await this.send(commandLine(command, n));
		const m = await this.waitFor(markerPattern(n), ms);
		const output = this.text.slice(start, m.index);
		return { code: Number(m[1]), output };
	}

	/** run(), throwing SerialCommandError unless the exit code is 0; resolves to the output. */
	async check(command: string, ms = 60_000): Promise<string> {
		const r = await this.run(command, ms);
		if (r.code !== 0) throw new SerialCommandError(command, r);
		return r.output;
	}
}
