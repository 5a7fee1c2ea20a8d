// QEMU for the harness: the command line (pure), and the running machine with its serial
// console on stdin/stdout as the control channel. KVM when /dev/kvm is usable, else TCG.
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

export function qemuArgs(o: MachineOptions): string[] {
	const args = [
		"qemu-system-x86_64",
		...(o.kvm ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", "tcg", "-cpu", "max"]),
		"-m",
		String(o.memoryMiB),
		"-smp",
		String(o.cpus),
		"-nodefaults",
		"-display",
		"none",
		"-monitor",
		"none",
		"-serial",
		"stdio",
		"-no-reboot",
	];
	for (const nic of NICS)
		args.push(
			"-netdev",
			`tap,id=${nic.id},ifname=${nic.tap},script=no,downscript=no`,
			"-device",
			`virtio-net-pci,netdev=${nic.id},mac=${nic.mac}`,
		);
	if (o.boot.kind === "kernel")
		args.push("-kernel", o.boot.kernel, "-initrd", o.boot.initrd, "-append", o.boot.append);
	else args.push("-drive", `file=${o.boot.image},format=raw,if=virtio`);
	return args;
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
	const proc = Bun.spawn(["ip", "netns", "exec", ns, ...qemuArgs(o)], {
		stdin: "pipe",
		stdout: "pipe",
		stderr: "inherit",
	});
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
