// test-vm/vm: portrig in a QEMU virtual machine, smoke-tested from the host. See docs/vm.md.
//
//   test-vm/vm                          stand-in guest (Debian kernel 6.1), fw4's stock ruleset
//   test-vm/vm --kernel 6.12            the same on Debian's 6.12 kernel
//   test-vm/vm --offload                fw4's ruleset with flow offloading (test-vm/fw4/offload.nft)
//   test-vm/vm --image openwrt-…-x86-64-generic-ext4-combined.img.gz   a real OpenWrt image
//   test-vm/vm --tcg                    QEMU's emulator even where KVM works (the slow path)
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO } from "../lib/lab";
import type { GuestRouter } from "./guest";
import { CACHE, KERNELS, type KernelSeries } from "./kernel";
import { wireNetwork } from "./network";
import { openwrtBoot, openwrtRouter } from "./openwrt";
import { kernelStarts, kvmUsable, type Machine, type MachineOptions, startMachine } from "./qemu";
import {
	type Check,
	offloadChecks,
	offloadKeepAliveChecks,
	runChecks,
	smokeChecks,
	smokeConfig,
	startServers,
} from "./smoke";
import { standinBoot, standinRouter } from "./standin";

const USAGE = "usage: test-vm/vm [--kernel 6.1|6.12] [--offload] [--image FILE.img.gz] [--tcg]";

function say(line: string): void {
	console.log(`vm: ${line}`);
}

type Options = { kernel: KernelSeries; offload: boolean; image?: string; tcg: boolean };

function parse(argv: string[]): Options {
	const { values } = parseArgs({
		args: argv,
		options: {
			kernel: { type: "string", default: "6.1" },
			offload: { type: "boolean", default: false },
			image: { type: "string" },
			tcg: { type: "boolean", default: false },
		},
		strict: true,
		allowPositionals: false,
	});
	if (!(values.kernel in KERNELS))
		throw new Error(`--kernel must be one of ${Object.keys(KERNELS).join(", ")}, not '${values.kernel}'`);
	if (values.image && values.offload)
		throw new Error("--offload is for the stand-in: on an image, turn flow_offloading on in its firewall");
	return {
		kernel: values.kernel as KernelSeries,
		offload: values.offload ?? false,
		image: values.image,
		tcg: values.tcg ?? false,
	};
}

function checksFor(o: Options, lab: Parameters<typeof smokeChecks>[0], guest: GuestRouter): Check[] {
	if (!o.offload) return smokeChecks(lab, guest);
	return [...offloadChecks(lab, guest), ...offloadKeepAliveChecks(lab, guest)];
}

/** portrigd's log in the guest (a file on the stand-in, syslog on OpenWrt), when the guest still answers. */
async function showDaemonLog(machine: Machine): Promise<void> {
	const r = await machine.serial
		.run("cat /tmp/portrigd.log 2>/dev/null || logread -e portrig", 20_000)
		.catch(() => undefined);
	if (r) console.log(`vm: portrigd's log in the guest:\n${r.output}`);
}

/** portrig's table with its elements, and the conntrack table: read after a failed check. */
async function guestState(machine: Machine): Promise<string | undefined> {
	const r = await machine.serial
		.run("nft list table inet portrig; conntrack -L 2>/dev/null", 20_000)
		.catch(() => undefined);
	return r?.output;
}

async function main(argv: string[]): Promise<number> {
	let o: Options;
	try {
		o = parse(argv);
	} catch (e) {
		console.error(`vm: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
		return 2;
	}
	if (process.getuid?.() !== 0) {
		console.error("vm: needs root (network namespaces and tap devices)");
		return 2;
	}
	mkdirSync(CACHE, { recursive: true });
	const consoleLog = join(CACHE, "console.log");
	writeFileSync(consoleLog, "");
	const ruleset = join(REPO, "test-vm", "fw4", o.offload ? "offload.nft" : "default.nft");

	const prefix = `vm${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
	say(`wiring namespaces ${prefix}-{switch,wan1,lan1,lan2}: taps for the guest's LAN and WAN NICs`);
	const net = await wireNetwork(prefix);
	let machine: Machine | undefined;
	try {
		const prepared = o.image ? await openwrtBoot(o.image, say) : await standinBoot(o.kernel, ruleset, say);
		const devKvm = !o.tcg && kvmUsable();
		const kvm = devKvm && (await kernelStarts(prepared.boot, true));
		const why = o.tcg ? "--tcg" : devKvm ? "KVM did not start the guest's kernel" : "no /dev/kvm";
		const accel = kvm ? "KVM" : `TCG, slower: ${why}`;
		// One CPU under TCG: with two, Debian's 6.12 kernel sometimes died at boot on an int3 that
		// another vCPU had left while patching kernel code (TCG, -cpu max).
		const cpus = kvm ? 2 : 1;
		const options: MachineOptions = { boot: prepared.boot, memoryMiB: 1024, cpus, kvm };
		say(`booting QEMU (${accel}, ${cpus} CPU${cpus > 1 ? "s" : ""}); guest console in ${consoleLog}`);
		machine = startMachine(net.switchNs, options, (text) => writeFileSync(consoleLog, text, { flag: "a" }));
		const guest = o.image
			? await openwrtRouter(machine.serial, net.lab, say)
			: await standinRouter(machine.serial, prepared.release);
		say(`guest up: ${guest.description}`);
		await startServers(net.lab);
		say("starting portrigd with the smoke config (a forward, a trigger, the DMZ)");
		await guest.start(smokeConfig(guest.globals));
		say(`smoke suite${o.offload ? " with fw4's flow offloading" : ""}:`);
		const running = machine;
		const failed = await runChecks(
			checksFor(o, net.lab, guest),
			(line) => console.log(line),
			() => guestState(running),
		);
		if (failed.length > 0) {
			say(`${failed.length} check(s) failed`);
			await showDaemonLog(machine);
			return 1;
		}
		say("all checks passed");
		return 0;
	} catch (e) {
		say(`stopped: ${e instanceof Error ? e.message : String(e)}`);
		if (machine) await showDaemonLog(machine);
		return 1;
	} finally {
		say("removing the VM and its namespaces");
		await machine?.stop();
		await net.lab.down();
	}
}

process.exitCode = await main(process.argv.slice(2));
