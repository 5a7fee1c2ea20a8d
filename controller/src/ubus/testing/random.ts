// A small seeded generator (mulberry32) so property tests are repeatable: a failure names its seed.
export class Random {
	private state: number;

	constructor(readonly seed: number) {
		this.state = seed >>> 0;
	}

	/** [0, 1) */
	next(): number {
		this.state = (this.state + 0x6d2b79f5) >>> 0;
		let t = this.state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	}

	/** an integer in [min, max] */
	int(min: number, max: number): number {
		return min + Math.floor(this.next() * (max - min + 1));
	}

	pick<T>(items: readonly T[]): T {
		return items[this.int(0, items.length - 1)] as T;
	}

	bool(): boolean {
		return this.next() < 0.5;
	}

	bytes(n: number): Uint8Array {
		return Uint8Array.from({ length: n }, () => this.int(0, 255));
	}

	/** text mixing ASCII, Latin-1, CJK and astral characters; never NUL */
	text(maxLength: number): string {
		const pools = [
			[0x20, 0x7e],
			[0xa0, 0xff],
			[0x4e00, 0x4e80],
			[0x1f600, 0x1f640],
		] as const;
		let out = "";
		for (let i = this.int(0, maxLength); i > 0; i--) {
			const [lo, hi] = this.pick(pools);
			out += String.fromCodePoint(this.int(lo, hi));
		}
		return out;
	}
}
