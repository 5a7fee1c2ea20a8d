import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureKernel } from "./kernel";
import { type Boot, kernelStarts, probeArgs, qemuArgs } from "./qemu";

const KERNEL: Boot = {
	kind: "kernel",
	kernel: "vmlinuz",
	initrd: "initrd.cpio",
	append: "console=ttyS0 quiet",
};
const DISK: Boot = { kind: "disk", image: "openwrt.img" };

/** The value after `flag` in `args`. */
function option(args: string[], flag: string): string | undefined {
	const i = args.indexOf(flag);
	return i < 0 ? undefined : args[i + 1];
}

describe("QEMU's command line", () => {
	test("under KVM the guest's CPU is the host's without IA32_ARCH_CAPABILITIES, under TCG the emulator's richest", () => {
		const kvm = qemuArgs({ boot: KERNEL, memoryMiB: 1024, cpus: 2, kvm: true });
		expect([option(kvm, "-accel"), option(kvm, "-cpu"), option(kvm, "-smp")]).toEqual([
			"kvm",
			"host,-arch-capabilities",
			"2",
		]);
		const tcg = qemuArgs({ boot: KERNEL, memoryMiB: 1024, cpus: 1, kvm: false });
		expect([option(tcg, "-accel"), option(tcg, "-cpu")]).toEqual(["tcg", "max"]);
	});

	test("the machine has the LAN NIC first and the WAN NIC second, each on its tap", () => {
		const args = qemuArgs({ boot: DISK, memoryMiB: 1024, cpus: 2, kvm: true });
		const nics = args.filter((_, i) => args[i - 1] === "-device");
		expect(nics).toEqual([
			"virtio-net-pci,netdev=lan,mac=52:54:00:12:34:01",
			"virtio-net-pci,netdev=wan,mac=52:54:00:12:34:02",
		]);
		expect(option(args, "-drive")).toBe("file=openwrt.img,format=raw,if=virtio");
	});

	test("the KVM probe boots the kernel alone with its messages on, and no NIC", () => {
		const args = probeArgs(KERNEL, true);
		expect(option(args, "-accel")).toBe("kvm");
		expect(option(args, "-kernel")).toBe("vmlinuz");
		expect(option(args, "-append")).toBe("console=ttyS0 panic=-1");
		expect(args).not.toContain("-initrd");
		expect(args).not.toContain("-netdev");
	});

	test("the KVM probe of a disk image keeps none of its writes", () => {
		const args = probeArgs(DISK, true);
		expect(args).toContain("-snapshot");
		expect(option(args, "-drive")).toBe("file=openwrt.img,format=raw,if=virtio");
	});
});

// Real QEMU (TCG, so on any host): the probe must know a real kernel's first line, and must not
// take a guest that prints nothing for one.
describe("the probe whether a guest's kernel starts", () => {
	test("Debian's kernel booted alone prints its first line and the probe sees it", async () => {
		const kernel = await ensureKernel("6.1", () => {});
		const boot: Boot = { kind: "kernel", kernel: kernel.vmlinuz, initrd: "", append: "" };
		expect(await kernelStarts(boot, false, 50_000)).toBe(true);
	}, 60_000);

	test("a guest that never starts a kernel (a blank disk) is not taken for one", async () => {
		const dir = mkdtempSync(join(tmpdir(), "portrig-qemu-"));
		try {
			const image = join(dir, "blank.img");
			writeFileSync(image, new Uint8Array(1 << 20));
			expect(await kernelStarts({ kind: "disk", image }, false, 3000)).toBe(false);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	}, 10_000);
});
