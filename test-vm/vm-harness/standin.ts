// The stand-in guest: Debian's kernel booted with the initramfs built here (initramfs.ts,
// guest-init), portrigd run from the console like the lab router runs it.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../lib/lab";
import { waitFor } from "../lib/wait";
import { callJson, type GuestRouter, shellQuote, writeFileCommand } from "./guest";
import { buildInitramfs } from "./initramfs";
import { CACHE, ensureKernel, type KernelSeries } from "./kernel";
import type { Boot } from "./qemu";
import type { SerialConsole } from "./serial";

/** The lab router's devices: the WAN NIC is eth1, the LAN NIC a port of br-lan. */
const GLOBALS = `config globals 'globals'
	list wan_device 'eth1'
	list lan_device 'br-lan'
`;

/** Fetches the kernel (once) and builds the initramfs with `fw4Ruleset` (test-vm/fw4/NAME.nft). */
export async function standinBoot(
	series: KernelSeries,
	fw4Ruleset: string,
	say: (line: string) => void,
): Promise<{ boot: Boot; release: string }> {
	const kernel = await ensureKernel(series, say);
	mkdirSync(CACHE, { recursive: true });
	const initrd = join(CACHE, `initramfs-${kernel.release}.cpio`);
	say(`building the initramfs for ${kernel.release} with ${fw4Ruleset.replace(`${REPO}/`, "")}`);
	await buildInitramfs(kernel, fw4Ruleset, initrd);
	// quiet: kernel messages would interleave with command output on the console.
	const append = "console=ttyS0 quiet loglevel=3 panic=-1";
	return { boot: { kind: "kernel", kernel: kernel.vmlinuz, initrd, append }, release: kernel.release };
}

export async function standinRouter(serial: SerialConsole, release: string): Promise<GuestRouter> {
	// guest-init's shell is already quiet: no echo, no prompts.
	await serial.waitFor(/guest-init: ready on \S+\n/, 300_000);
	return {
		serial,
		description: `stand-in, Debian kernel ${release}`,
		globals: GLOBALS,
		start: async (config) => {
			await serial.check(writeFileCommand("/etc/config/portrig", config));
			// A previous daemon ends first (it removes its table and socket on the way out).
			await serial.check(
				"if [ -f /run/portrigd.pid ]; then p=$(cat /run/portrigd.pid); kill $p; while kill -0 $p 2>/dev/null; do usleep 100000; done; fi",
			);
			// Its own log file: the console carries only the harness's commands and their output.
			await serial.check("portrig daemon </dev/null >>/tmp/portrigd.log 2>&1 & echo $! > /run/portrigd.pid");
			await waitFor(
				"portrigd to answer status",
				async () => {
					const r = await serial.run(
						'( kill -0 "$(cat /run/portrigd.pid)" || exit 99; portrig call status >/dev/null )',
					);
					if (r.code === 99) throw new Error("portrigd exited");
					return r.code === 0;
				},
				120_000,
				500,
			);
		},
		call: (method, args) =>
			callJson(
				serial,
				`portrig call ${method}${args === undefined ? "" : ` ${shellQuote(JSON.stringify(args))}`}`,
			),
	};
}
