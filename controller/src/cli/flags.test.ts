import { describe, expect, test } from "bun:test";
import { splitArgs } from "./flags";

const NAMES = ["config", "control-socket"];

describe("splitArgs", () => {
	test("takes `--name VALUE` and `--name=VALUE`, and keeps positionals in order", () => {
		expect(splitArgs(["status", "--config", "/tmp/a", "{}", "--control-socket=/tmp/s"], NAMES)).toEqual({
			flags: { config: "/tmp/a", "control-socket": "/tmp/s" },
			positionals: ["status", "{}"],
		});
	});

	test("a value may be empty or contain '=' and start with dashes", () => {
		expect(splitArgs(["--config=", "--control-socket", "--x=1"], NAMES).flags).toEqual({
			config: "",
			"control-socket": "--x=1",
		});
	});

	test("after `--` every word is a positional", () => {
		expect(splitArgs(["--", "--config", "x"], NAMES)).toEqual({ flags: {}, positionals: ["--config", "x"] });
	});

	test("a repeated flag: the last one counts (a wrapper's default, then the caller's)", () => {
		expect(splitArgs(["--config=a", "--config", "b"], NAMES).flags).toEqual({ config: "b" });
	});

	test("an unknown flag and a flag without a value are refused by name", () => {
		expect(() => splitArgs(["--colour", "blue"], NAMES)).toThrow("unknown option '--colour'");
		expect(() => splitArgs(["--config"], NAMES)).toThrow("option '--config' needs a value");
	});
});
