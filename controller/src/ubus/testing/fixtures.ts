// The captured ubusd traffic (controller/test/fixtures/ubus/frames.jsonl), for tests.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "../../zod";

const FILE = join(import.meta.dir, "../../../test/fixtures/ubus/frames.jsonl");

/** The fixture's reference decoding of a blobmsg value: wire type, value, name. */
export type ReferenceTyped = { type: string; value: unknown; name?: string };

const CapturedFrame = z.object({
	scenario: z.string(),
	conn: z.int(),
	dir: z.enum(["client->ubusd", "ubusd->client"]),
	bytes: z.int(),
	hex: z.string().check(z.regex(/^([0-9a-f]{2})*$/)),
	decoded: z.object({
		version: z.int(),
		type: z.string(),
		seq: z.int(),
		peer: z.int(),
		attrs: z.record(z.string(), z.unknown()),
	}),
});
export type CapturedFrame = z.infer<typeof CapturedFrame> & { index: number; frame: Uint8Array };

export function capturedFrames(): CapturedFrame[] {
	return readFileSync(FILE, "utf8")
		.split("\n")
		.filter((line) => line.trim())
		.map((line, index) => {
			const parsed = CapturedFrame.parse(JSON.parse(line));
			return { ...parsed, index, frame: Uint8Array.from(Buffer.from(parsed.hex, "hex")) };
		});
}

/** The frames of one scenario and direction, in captured order. */
export function framesOf(scenario: string, dir: CapturedFrame["dir"]): CapturedFrame[] {
	return capturedFrames().filter((f) => f.scenario === scenario && f.dir === dir);
}
