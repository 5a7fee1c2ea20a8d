// QEMU for the harness: the command line (pure), and the running machine with its serial
// console on stdin/stdout as the control channel. KVM when it runs a guest here, else TCG.
import { accessSync, constants } from "node:fs";
import { settlesWithin } from "../lib/wait";
import { TAPS } from "./network";
import { SerialConsole } from "./serial";

export type Boot =
	/** A kernel and initramfs booted directly (the stand-in). */
	| { kind: "kernel"; kernel: string; initrd: string; append: string }
	/** A disk image booted by the firmware (an OpenWrt image). */
	| { kind: "disk"; image: string };

export type MachineOptions = { boot: Boot; memoryMiB: number; cpus: number; kvm: boolean };

/** NIC 1 is the LAN port, NIC 2 the WAN port: OpenWrt's x86 images take eth0 as LAN, eth1 as WAN. */
const NICS = [
	{ id: "lan", tap: TAPS.lan, mac: "52:54:00:12:34:01" },
	{ id: "wan", tap: TAPS.wan, mac: "52:54:00:12:34:02" },
] as const;

export function kvmUsable(): boolean {
	try {
		accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
		return true;
	} catch {
		return false;
	}
}

/** The machine without NICs or a boot: accelerator, CPU, memory, the serial console on stdio. */
function machineArgs(kvm: boolean, memoryMiB: number, cpus: number): string[] {
	return [
		"qemu-system-x86_64",
		// KVM's CPU without IA32_ARCH_CAPABILITIES: under nested KVM some hosts refuse to set that
		// MSR and QEMU aborts at the first vCPU reset ("failed to set MSR 0x10a"). The guest only
		// loses a hint about which speculation mitigations it may skip.
		...(kvm ? ["-accel", "kvm", "-cpu", "host,-arch-capabilities"] : ["-accel", "tcg", "-cpu", "max"]),
		"-m",
		String(memoryMiB),
		"-smp",
		String(cpus),
		"-nodefaults",
		"-display",
		"none",
		"-monitor",
		"none",
		"-serial",
		"stdio",
		"-no-reboot",
	];
}

function bootArgs(boot: Boot): string[] {
	return boot.kind === "kernel"
		? ["-kernel", boot.kernel, "-initrd", boot.initrd, "-append", boot.append]
		: ["-drive", `file=${boot.image},format=raw,if=virtio`];
}

export function qemuArgs(o: MachineOptions): string[] {
	const args = machineArgs(o.kvm, o.memoryMiB, o.cpus);
	for (const nic of NICS)
		args.push(
			"-netdev",
			`tap,id=${nic.id},ifname=${nic.tap},script=no,downscript=no`,
			"-device",
			`virtio-net-pci,netdev=${nic.id},mac=${nic.mac}`,
		);
	return [...args, ...bootArgs(o.boot)];
}

/**
 * The probe of `kernelStarts`: the boot's kernel with its messages on (a kernel alone: without
 * an initramfs it panics and QEMU exits), or the disk image with its writes thrown away.
 */
export function probeArgs(boot: Boot, kvm: boolean): string[] {
	const probe =
		boot.kind === "kernel"
			? ["-kernel", boot.kernel, "-append", "console=ttyS0 panic=-1"]
			: ["-snapshot", ...bootArgs(boot)];
	return [...machineArgs(kvm, 256, 1), ...probe];
}

/** The kernel's first line on the console, printed as soon as it runs in long mode. */
const KERNEL_STARTED = /Linux version /;

/**
 * Whether `boot`'s kernel starts under KVM (or TCG) here: its first line within `ms`. Some hosts
 * with nested virtualization give a usable /dev/kvm on which a guest stops silently as it enters
 * long mode (nothing after the real-mode setup code, QEMU spinning), so the harness asks this
 * before it takes KVM.
 */
export async function kernelStarts(boot: Boot, kvm: boolean, ms = 15_000): Promise<boolean> {
	const probe = spawnQemu(probeArgs(boot, kvm), () => {}, "ignore");
	try {
		await probe.serial.waitFor(KERNEL_STARTED, ms);
		return true;
	} catch {
		return false;
	} finally {
		await probe.stop();
	}
}

export type Machine = {
	pid: number;
	serial: SerialConsole;
	exited: Promise<number>;
	/** Ends QEMU (by its PID): SIGTERM, SIGKILL after a grace period. */
	stop(): Promise<void>;
};

/**
 * Starts QEMU in namespace `ns` (where the taps are). `onConsole` sees every byte the guest's
 * console prints.
 */
export function startMachine(ns: string, o: MachineOptions, onConsole: (text: string) => void): Machine {
	return spawnQemu(["ip", "netns", "exec", ns, ...qemuArgs(o)], onConsole, "inherit");
}

function spawnQemu(
	command: string[],
	onConsole: (text: string) => void,
	stderr: "inherit" | "ignore",
): Machine {
	const proc = Bun.spawn(command, { stdin: "pipe", stdout: "pipe", stderr });
	const stdin = proc.stdin as import("bun").FileSink;
	const serial = new SerialConsole(
		proc.stdout as ReadableStream<Uint8Array>,
		async (text) => {
			stdin.write(text);
			await stdin.flush();
		},
		onConsole,
	);
	return {
		pid: proc.pid,
		serial,
		exited: proc.exited,
		stop: async () => {
			proc.kill(15);
			if (!(await settlesWithin(proc.exited, 5000))) {
				proc.kill(9);
				await proc.exited;
			}
		},
	};
}
