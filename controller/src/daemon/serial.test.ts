import { expect, test } from "bun:test";
import { Serial } from "./serial";

test("tasks run one at a time, in the order they were queued", async () => {
	const serial = new Serial();
	const events: string[] = [];
	const task = (name: string, ms: number) => async () => {
		events.push(`${name} start`);
		await Bun.sleep(ms);
		events.push(`${name} end`);
		return name;
	};
	const results = await Promise.all([
		serial.run(task("a", 30)),
		serial.run(task("b", 1)),
		serial.run(task("c", 10)),
	]);
	expect(results).toEqual(["a", "b", "c"]);
	expect(events).toEqual(["a start", "a end", "b start", "b end", "c start", "c end"]);
});

test("a failing task rejects its own caller only; the queue goes on", async () => {
	const serial = new Serial();
	const failed = serial.run(async () => {
		throw new Error("nft said no");
	});
	const next = serial.run(async () => "applied");
	await expect(failed).rejects.toThrow("nft said no");
	expect(await next).toBe("applied");
});
