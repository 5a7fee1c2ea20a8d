// OpenWrt's x86 disk images on the host: unpack a copy of the `…-combined.img.gz` the user gave
// (the original is never written) and grow its root partition, so that portrig (about 100 MB
// installed) fits beside the stock 104 MiB root. Only ext4 images: the root file system is grown
// with resize2fs on the host; squashfs images keep a small overlay and cannot grow this way.
import { rmSync } from "node:fs";
import { z } from "zod";
import { run } from "./run";

const SECTOR = 512;

/**
 * Whether gunzip's exit is a success. OpenWrt pads its images after the gzip stream (room for
 * a signature), so gunzip warns "trailing garbage ignored" and exits 2 on a good image.
 */
export function gunzipSucceeded(code: number, stderr: string): boolean {
	return code === 0 || (code === 2 && /trailing garbage ignored/.test(stderr) && !/error/i.test(stderr));
}

/** Unpacks `gz` into `out` (raw). */
export async function unpackImage(gz: string, out: string): Promise<void> {
	const r = await run(["sh", "-c", 'gunzip -c "$0" > "$1"', gz, out], { check: false });
	if (!gunzipSucceeded(r.code, r.stderr)) {
		rmSync(out, { force: true });
		throw new Error(`${gz} is not a gzip'ed disk image: ${r.stderr.trim()}`);
	}
}

const PartitionTable = z.object({
	partitiontable: z.object({
		label: z.enum(["dos", "gpt"]),
		partitions: z.array(z.object({ node: z.string(), start: z.number(), size: z.number() })).min(2),
	}),
});
export type Partition = { start: number; size: number };

/**
 * The table's kind and its root partition (OpenWrt's second: the first holds grub and the
 * kernel), from `sfdisk -J`.
 */
export function rootPartition(sfdiskJson: string): Partition & { label: "dos" | "gpt" } {
	const parsed = PartitionTable.safeParse(JSON.parse(sfdiskJson));
	if (!parsed.success) throw new Error("the image has no partition table with a root partition (2)");
	const root = parsed.data.partitiontable.partitions[1] as Partition;
	return { label: parsed.data.partitiontable.label, start: root.start, size: root.size };
}

/** Adds `extraMiB` to the image file, its partition 2 and the ext4 file system in it. */
export async function growRootPartition(image: string, extraMiB: number): Promise<Partition> {
	await run(["truncate", "-s", `+${extraMiB}M`, image]);
	// A GPT image keeps its backup header at the end: move it to the new end first.
	const { label } = rootPartition((await run(["sfdisk", "-J", image])).stdout);
	if (label === "gpt") await run(["sfdisk", "--relocate", "gpt-bak-std", image]);
	await run(["sfdisk", "--no-reread", "--no-tell-kernel", "-N", "2", image], { input: ", +\n" });
	const root = rootPartition((await run(["sfdisk", "-J", image])).stdout);
	const part = `${image}.root`;
	try {
		const dd = (args: string[]) => run(["dd", `bs=${SECTOR}`, "status=none", ...args]);
		await dd([`if=${image}`, `of=${part}`, `skip=${root.start}`, `count=${root.size}`]);
		// e2fsck exits 1 when it corrected something: still a clean file system.
		const fsck = await run(["e2fsck", "-fp", part], { check: false });
		if (fsck.code > 1)
			throw new Error(`the root file system is not a clean ext4: ${fsck.stdout}${fsck.stderr}`);
		await run(["resize2fs", part]);
		await dd([`if=${part}`, `of=${image}`, `seek=${root.start}`, "conv=notrunc"]);
	} finally {
		rmSync(part, { force: true });
	}
	return root;
}
