import { describe, expect, test } from "bun:test";
import type { Config } from "../config/schema";
import { forwardChanged, forwardElements } from "./forwards";
import { configFromSections } from "./golden/scenario";
import { unpackElements } from "./spec";

const forward = (id: string, port: number) =>
	configFromSections({
		forwards: [{ id, src_dport: String(port), dest_ip: "192.168.1.10", dest_port: "80" }],
	}).forwards[0] as Config["forwards"][number];
const withForwards = (forwards: Config["forwards"]): Config => ({ ...configFromSections({}), forwards });

describe("a change of one forward", () => {
	test("a forward moved to another port frees its old port for the next change", () => {
		const before = withForwards([forward("a", 1000), forward("b", 2000)]);
		const a = forward("a", 1001);
		const moved = withForwards([a, forward("b", 2000)]);
		const first = forwardChanged(forwardElements(before), moved, "a", a);
		expect(first).toBeDefined();
		const c = forward("c", 1000);
		const taken = withForwards([...moved.forwards, c]);
		const second = first && forwardChanged(first, taken, "c", c);
		// Incremental (not undefined, which asks for a whole render): the old claim of a is gone.
		expect(second?.skipped).toEqual([]);
		expect(second?.changed?.id).toBe("c");
	});

	test("a forward that takes a port still claimed is refused incrementally, so a whole render decides", () => {
		const before = withForwards([forward("a", 1000)]);
		const b = forward("b", 1000);
		const clash = withForwards([forward("a", 1000), b]);
		expect(forwardChanged(forwardElements(before), clash, "b", b)).toBeUndefined();
		expect(forwardElements(clash).skipped.map((s) => s.id)).toEqual(["b"]);
	});

	test("a forward's group holds its elements packed, each with the key that deletes it", () => {
		const group = forwardElements(withForwards([forward("a", 1000)])).groups.get("a");
		expect(unpackElements(group?.elements ?? "")).toContainEqual([
			"wan4_port",
			"tcp . 1000 : 80",
			"tcp . 1000",
		]);
	});
});
