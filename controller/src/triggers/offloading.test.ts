import { expect, test } from "bun:test";
import { offloadingOf } from "./offloading";

/** `nft list flowtables` as nft prints fw4's flowtable (templates/ruleset.uc: `counter`, and `flags offload` for hardware). */
const listing = (table: string, flags: string) =>
	[
		`table ${table} {`,
		"\tflowtable ft {",
		"\t\thook ingress priority filter",
		"\t\tdevices = { br-lan, eth1 }",
		...(flags ? [`\t\t${flags}`] : []),
		"\t\tcounter",
		"\t}",
		"}",
		"",
	].join("\n");

test("fw4's flowtable means software offloading; with flags offload, hardware", () => {
	expect(offloadingOf(listing("inet fw4", ""))).toBe("software");
	expect(offloadingOf(listing("inet fw4", "flags offload"))).toBe("hardware");
});

test("no flowtable, or only another table's, is no offloading by fw4", () => {
	expect(offloadingOf("")).toBe("off");
	expect(offloadingOf(listing("inet other", "flags offload"))).toBe("off");
	expect(offloadingOf(listing("inet other", "flags offload") + listing("inet fw4", ""))).toBe("software");
});
