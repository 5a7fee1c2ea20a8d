import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { growRootPartition, gunzipSucceeded, rootPartition, unpackImage } from "./disk-image";
import { run } from "./run";

const dir = mkdtempSync(join(tmpdir(), "portrig-disk-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An image laid out like OpenWrt's x86 combined ones: MBR, a boot partition, an ext4 root. */
async function openwrtLikeImage(path: string): Promise<void> {
	await run(["truncate", "-s", "48M", path]);
	await run(["sfdisk", "--no-reread", "--no-tell-kernel", path], {
		input: "label: dos\nstart=512, size=16M, type=83, bootable\nsize=24M, type=83\n",
	});
	const root = rootPartition((await run(["sfdisk", "-J", path])).stdout);
	const part = `${path}.p2`;
	await run(["truncate", "-s", `${root.size * 512}`, part]);
	await run(["mke2fs", "-q", "-t", "ext4", "-L", "rootfs", part]);
	await run([
		"dd",
		"bs=512",
		"status=none",
		`if=${part}`,
		`of=${path}`,
		`seek=${root.start}`,
		"conv=notrunc",
	]);
	rmSync(part);
}

async function rootBlocks(path: string): Promise<number> {
	const root = rootPartition((await run(["sfdisk", "-J", path])).stdout);
	const part = `${path}.check`;
	await run([
		"dd",
		"bs=512",
		"status=none",
		`if=${path}`,
		`of=${part}`,
		`skip=${root.start}`,
		`count=${root.size}`,
	]);
	try {
		await run(["e2fsck", "-fn", part]);
		const header = (await run(["dumpe2fs", "-h", part])).stdout;
		return Number(/Block count:\s+(\d+)/.exec(header)?.[1]);
	} finally {
		rmSync(part);
	}
}

describe("OpenWrt disk images", () => {
	test("gunzip's trailing-garbage warning on OpenWrt's padded images is a success, other failures are not", () => {
		expect(gunzipSucceeded(0, "")).toBe(true);
		expect(gunzipSucceeded(2, "gzip: x.img.gz: decompression OK, trailing garbage ignored\n")).toBe(true);
		expect(gunzipSucceeded(1, "gzip: x.img.gz: not in gzip format\n")).toBe(false);
		expect(gunzipSucceeded(2, "gzip: x.img.gz: unexpected end of file\n")).toBe(false);
	});

	test("an image padded after its gzip stream unpacks to the original bytes", async () => {
		const raw = join(dir, "padded.img");
		await run([
			"sh",
			"-c",
			'head -c 100000 /dev/urandom > "$0" && gzip -c "$0" > "$0.gz" && head -c 4096 /dev/zero >> "$0.gz"',
			raw,
		]);
		await unpackImage(`${raw}.gz`, join(dir, "out.img"));
		expect((await run(["cmp", raw, join(dir, "out.img")])).code).toBe(0);
		await expect(unpackImage(raw, join(dir, "bad.img"))).rejects.toThrow("is not a gzip'ed disk image");
	});

	test("growing adds the space to the root partition and its ext4 file system, which stays clean", async () => {
		const image = join(dir, "openwrt.img");
		await openwrtLikeImage(image);
		const before = await rootBlocks(image);
		await growRootPartition(image, 32);
		expect(statSync(image).size).toBe(80 * 1024 * 1024);
		const root = rootPartition((await run(["sfdisk", "-J", image])).stdout);
		expect((root.start + root.size) * 512).toBeGreaterThan(79 * 1024 * 1024);
		expect(await rootBlocks(image)).toBeGreaterThan(before + (31 * 1024 * 1024) / 4096);
	});
});
