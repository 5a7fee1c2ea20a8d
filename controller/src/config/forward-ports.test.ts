import { describe, expect, test } from "bun:test";
import {
	checkChange,
	checkDocument,
	checkSingle,
	type DocumentResult,
	formatProblem,
	isError,
	loadDocument,
	type ValidResult,
} from "./load";
import type { UciDocument } from "./uci";

const FILE = "/etc/config/portrig";

/** A small deterministic generator (mulberry32): the same changes on every run. */
function random(seed: number) {
	let a = seed;
	const next = () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const int = (n: number) => Math.floor(next() * n);
	const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
	return { int, pick, chance: (p: number) => next() < p };
}

type Random = ReturnType<typeof random>;

// Few ports, protocols, sources and names: changes collide often.
const range = (r: Random) => {
	const from = 1 + r.int(40);
	return r.chance(0.6) ? String(from) : `${from}-${from + r.int(5)}`;
};
const forwardValues = (r: Random): Record<string, string | string[]> => ({
	proto: r.pick(["tcp", "udp", "tcp udp"]),
	src_dport: range(r),
	dest_ip: r.chance(0.9) ? `192.168.1.${1 + r.int(5)}` : `2001:db8::${1 + r.int(5)}`,
	src_ip: r.chance(0.6)
		? []
		: [r.pick(["198.51.100.0/24", "198.51.100.7", "203.0.113.0/24", "2001:db8:ffff::/64"])],
	enabled: r.chance(0.8) ? "1" : "0",
});
const triggerValues = (r: Random): Record<string, string | string[]> => ({
	name: r.pick(["A", "B", "C", "D", "E", "F"]),
	trigger_port: "7000",
	open_proto: r.pick(["tcp", "udp", "tcp udp"]),
	open_port: Array.from({ length: 1 + r.int(2) }, () => range(r)),
	enabled: r.chance(0.8) ? "1" : "0",
});

function set(document: UciDocument, id: string, values: Record<string, string | string[]>): UciDocument {
	let doc = document;
	for (const [option, value] of Object.entries(values))
		doc = typeof value === "string" ? doc.setOption(id, option, value) : doc.setList(id, option, value);
	return doc;
}

/** What a check says: its errors (in a stable order) and its config. */
const verdict = (result: DocumentResult) => ({
	errors: result.problems.filter(isError).map(formatProblem).sort(),
	config: result.config,
});

describe("checking one change through the port index", () => {
	test("gives what the whole check gives, on random configs and changes", () => {
		for (const seed of [1, 2, 3, 4, 5]) {
			const r = random(seed);
			let state = loadDocument(
				"config globals 'globals'\n\toption wan_zone 'wan'\n\toption lan_zone 'lan'\n\nconfig dmz 'dmz'\n",
				FILE,
			) as ValidResult;
			let n = 0;
			let accepted = 0;
			for (let step = 0; step < 300; step++) {
				const doc = state.document;
				const forwards = state.config.forwards.map((f) => f.id);
				const triggers = state.config.triggers.map((t) => t.id);
				const kind = r.int(10);
				let document: UciDocument;
				let fast: DocumentResult;
				if (kind < 3 || (kind < 5 && !forwards.length)) {
					const id = `f${n++}`;
					document = doc.addSection("forward", id, forwardValues(r)).document;
					fast = checkChange(document, FILE, state, { type: "forward", id });
				} else if (kind < 5) {
					const id = r.pick(forwards);
					const all = forwardValues(r);
					const some = Object.fromEntries(Object.entries(all).filter(() => r.chance(0.5)));
					document = set(doc, id, some);
					fast = checkChange(document, FILE, state, { type: "forward", id });
				} else if (kind < 6 || (kind < 8 && !triggers.length)) {
					const id = `t${n++}`;
					document = doc.addSection("trigger", id, triggerValues(r)).document;
					fast = checkChange(document, FILE, state, { type: "trigger", id });
				} else if (kind < 8) {
					const id = r.pick(triggers);
					const all = triggerValues(r);
					const some = Object.fromEntries(Object.entries(all).filter(() => r.chance(0.5)));
					document = set(doc, id, some);
					fast = checkChange(document, FILE, state, { type: "trigger", id });
				} else if (kind < 9 && forwards.length + triggers.length > 0) {
					const type = triggers.length && (r.chance(0.3) || !forwards.length) ? "trigger" : "forward";
					const id = r.pick(type === "trigger" ? triggers : forwards);
					document = doc.deleteSection(id);
					fast = checkChange(document, FILE, state, { type, id });
				} else if (r.chance(0.5)) {
					document = set(doc, "dmz", {
						enabled: r.pick(["0", "1"]),
						dest_ip: r.chance(0.7) ? "192.168.1.50" : "",
					});
					fast = checkSingle(document, FILE, state, "dmz", "dmz");
				} else {
					document = set(doc, "globals", {
						reflection: r.pick(["0", "1"]),
						lan_zone: [r.pick(["lan", "wan", "guest"])],
					});
					fast = checkSingle(document, FILE, state, "globals", "globals");
				}
				const whole = checkDocument(document, FILE);
				expect(verdict(fast), `seed ${seed}, step ${step}`).toEqual(verdict(whole));
				if (fast.config) {
					fast.take?.();
					state = fast as ValidResult;
					accepted++;
				}
			}
			// Both outcomes happen often enough for the comparison to mean something.
			expect(accepted).toBeGreaterThan(60);
			expect(accepted).toBeLessThan(270);
		}
	});
});
