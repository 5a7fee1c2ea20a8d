// The stand-in guest's initramfs, built at test time: busybox, nft, conntrack and ip with the
// shared libraries they load, portrig's glibc build, the kernel modules the router needs (with
// modules.dep for the kernel's own module autoloading), fw4's ruleset with portrig's include,
// and guest-init as /init. An uncompressed newc cpio: the kernel unpacks it without a
// decompressor and the build costs no compression time.
import {
	chmodSync,
	copyFileSync,
	mkdirSync,
	readFileSync,
	rmSync,
	symlinkSync,
	writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { REPO } from "../lib/lab";
import { type Kernel, modulesDir, readModuleList } from "./kernel";
import { moduleClosure, parseModulesDep } from "./modules";
import { run } from "./run";

/** Where the package installs portrig's fw4 include, on the router and in the guest. */
export const FW4_INCLUDE = "/usr/share/nftables.d/chain-post/forward/30-portrig.nft";

/**
 * Modules the guest loads or the kernel autoloads: netfilter whole, the NICs, the LAN bridge, and
 * crc32c (nf_tables needs libcrc32c, which asks the crypto API for it; a module on 6.1) and the
 * text search algorithms conntrack helpers request at load time.
 */
const WANTED = {
	dirs: [
		"kernel/net/netfilter/",
		"kernel/net/ipv4/netfilter/",
		"kernel/net/ipv6/netfilter/",
		"kernel/crypto/crc32c",
		"kernel/lib/ts_",
	],
	names: ["virtio_pci", "virtio_net", "bridge"],
};

/** Host programs copied in, at the guest path they get. */
const PROGRAMS = { "/usr/sbin/nft": "nft", "/usr/sbin/conntrack": "conntrack", "/usr/bin/ip": "ip" };

/**
 * fw4's ruleset as fw4 loads it with portrig installed: the include line placed where fw4 renders
 * chain-post/forward includes, just before the forward chain's final `jump handle_reject`.
 */
export function withPortrigInclude(ruleset: string, include = FW4_INCLUDE): string {
	const lines = ruleset.split("\n");
	const start = lines.indexOf("\tchain forward {");
	const end = lines.indexOf("\t}", start);
	const at = lines.indexOf("\t\tjump handle_reject", start);
	if (start < 0 || at < 0 || at > end) throw new Error("no `jump handle_reject` in fw4's forward chain");
	lines.splice(at, 0, `\t\tinclude "${include}"`);
	return lines.join("\n");
}

/** Paths of the shared libraries `binary` loads (ldd), the dynamic loader included. */
export function sharedLibraries(lddOutput: string): string[] {
	const libs = new Set<string>();
	for (const line of lddOutput.split("\n")) {
		const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
		if (m?.[1]) libs.add(m[1]);
	}
	return [...libs];
}

function put(root: string, guestPath: string, from: string, mode?: number): void {
	const to = join(root, guestPath);
	mkdirSync(dirname(to), { recursive: true });
	copyFileSync(from, to);
	if (mode !== undefined) chmodSync(to, mode);
}

/** Builds `out` (a cpio archive) for `kernel`, with `fw4Ruleset` (a file under test-vm/fw4/). */
export async function buildInitramfs(kernel: Kernel, fw4Ruleset: string, out: string): Promise<void> {
	const root = `${out}.root`;
	rmSync(root, { recursive: true, force: true });
	mkdirSync(root, { recursive: true });
	try {
		put(root, "/bin/busybox", "/bin/busybox", 0o755);
		put(root, "/init", join(import.meta.dir, "guest-init"), 0o755);
		put(root, "/usr/sbin/portrig", join(REPO, "dist", "portrig"), 0o755);
		const binaries = [join(REPO, "dist", "portrig"), ...Object.keys(PROGRAMS)];
		for (const path of Object.keys(PROGRAMS)) put(root, path, path, 0o755);
		for (const binary of binaries)
			for (const lib of sharedLibraries((await run(["ldd", binary])).stdout)) put(root, lib, lib);
		// The kernel runs /sbin/modprobe to autoload nft expressions and conntrack helpers.
		mkdirSync(join(root, "sbin"), { recursive: true });
		symlinkSync("/bin/busybox", join(root, "sbin", "modprobe"));

		mkdirSync(join(root, "etc", "config"), { recursive: true });
		writeFileSync(join(root, "etc", "fw4.nft"), withPortrigInclude(readFileSync(fw4Ruleset, "utf8")));
		put(root, FW4_INCLUDE, join(REPO, "openwrt-feed", "portrig", "files", FW4_INCLUDE));

		await copyModules(kernel, root);
		await run(["sh", "-c", 'find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 > "$0"', out], {
			cwd: root,
		});
	} finally {
		rmSync(root, { recursive: true, force: true });
	}
}

/** The module closure, uncompressed (busybox modprobe reads plain .ko), with its own modules.dep. */
async function copyModules(kernel: Kernel, root: string): Promise<void> {
	const from = modulesDir(kernel);
	const to = join(root, "lib", "modules", kernel.release);
	const deps = parseModulesDep(readModuleList(kernel, "modules.dep"));
	for (const path of moduleClosure(deps, readModuleList(kernel, "modules.builtin"), WANTED)) {
		const dest = join(to, path.replace(/\.ko\.xz$/, ".ko"));
		mkdirSync(dirname(dest), { recursive: true });
		if (path.endsWith(".xz")) await run(["sh", "-c", 'xz -dc "$0" > "$1"', join(from, path), dest]);
		else copyFileSync(join(from, path), dest);
	}
	for (const f of ["modules.builtin", "modules.builtin.modinfo", "modules.order"])
		copyFileSync(join(from, f), join(to, f));
	await run(["depmod", "-b", root, kernel.release]);
}
