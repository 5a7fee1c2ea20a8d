import { expect, test } from "bun:test";
import { offloadingOf } from "./offloading";

const META = { metainfo: { version: "1.0.6", json_schema_version: 1 } };
const ft = (table: string, extra: Record<string, unknown> = {}) => ({
	flowtable: {
		family: "inet",
		name: "ft",
		table,
		handle: 3,
		hook: "ingress",
		prio: 0,
		dev: ["eth1", "br-lan"],
		...extra,
	},
});

test("fw4's flowtable means software offloading; with flags offload, hardware", () => {
	expect(offloadingOf([META, ft("fw4")])).toBe("software");
	expect(offloadingOf([META, ft("fw4", { flags: ["offload"] })])).toBe("hardware");
	expect(offloadingOf([META, ft("fw4", { flags: "offload" })])).toBe("hardware");
});

test("no flowtable, or only another table's, is no offloading by fw4", () => {
	expect(offloadingOf([META])).toBe("off");
	expect(offloadingOf([META, ft("other")])).toBe("off");
});
