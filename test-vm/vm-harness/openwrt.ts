// A real OpenWrt x86-64 image as the guest (`test-vm/vm --image …-x86-64-generic-ext4-combined.img.gz`).
// Written from OpenWrt's documentation of its x86 images, not run here (no image can be fetched
// on the build machines): grub boots with the console on ttyS0 too, the console asks "Please
// press Enter to activate this console.", root has no password on a fresh image, eth0 is the
// LAN port (br-lan, 192.168.1.1/24) and eth1 the WAN port. The package comes from `make package`
// (dist/), fetched by the guest from the LAN host and installed with the image's own manager:
// opkg (24.10 and older, .ipk) or apk (25.12, .apk).
import { existsSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { ADDR, type Lab, REPO } from "../lib/lab";
import { growRootPartition, unpackImage } from "./disk-image";
import { callJson, type GuestRouter, shellQuote, untilSucceeds, writeFileCommand } from "./guest";
import { CACHE } from "./kernel";
import { GUEST } from "./network";
import type { Boot } from "./qemu";
import type { SerialConsole } from "./serial";

/** Room added to the root partition: portrig's binary alone is about 100 MB. */
const GROW_MIB = 512;
const HTTP_PORT = 8000;

/** On OpenWrt, portrig finds its devices through fw4's zones: the defaults (wan, lan) fit. */
const GLOBALS = `config globals 'globals'
`;

/** The package files in `dir` for x86_64 that `manager` installs. */
export function packageFor(files: string[], manager: "opkg" | "apk"): string | undefined {
	const ext = manager === "opkg" ? ".ipk" : ".apk";
	return files
		.filter((f) => /^portrig[_-]/.test(f) && f.includes("x86_64") && f.endsWith(ext))
		.sort()
		.at(-1);
}

export async function openwrtBoot(
	image: string,
	say: (line: string) => void,
): Promise<{ boot: Boot; release: string }> {
	if (!existsSync(image)) throw new Error(`no image at ${image}`);
	if (!/ext4-combined(-efi)?\.img\.gz$/.test(image))
		throw new Error("--image wants an x86-64 ext4 combined image (…-x86-64-generic-ext4-combined.img.gz)");
	const raw = join(CACHE, "openwrt.img");
	say(`unpacking a copy of ${basename(image)} and growing its root partition by ${GROW_MIB} MiB`);
	await unpackImage(image, raw);
	await growRootPartition(raw, GROW_MIB);
	return { boot: { kind: "disk", image: raw }, release: basename(image) };
}

export async function openwrtRouter(
	serial: SerialConsole,
	lab: Lab,
	say: (line: string) => void,
): Promise<GuestRouter> {
	await serial.waitFor(/Please press Enter to activate this console\./, 600_000);
	await serial.write("\n");
	await serial.quiet();
	await untilSucceeds(
		serial,
		"ubus call network.interface.lan status | grep -q '\"up\": true'",
		"LAN up",
		300_000,
	);
	const release = (await serial.check('. /etc/openwrt_release; echo "$DISTRIB_DESCRIPTION"')).trim();

	say(`configuring WAN: eth1 static ${GUEST.wan}/24`);
	await serial.check(
		[
			"uci set network.wan.proto=static",
			`uci set network.wan.ipaddr=${GUEST.wan}`,
			"uci set network.wan.netmask=255.255.255.0",
			"uci -q delete network.wan6 || true",
			"uci commit network",
			"/etc/init.d/network reload",
		].join(" && "),
	);
	await untilSucceeds(
		serial,
		"ubus call network.interface.wan status | grep -q '\"up\": true'",
		"WAN up",
		120_000,
	);

	const manager = (await serial.run("command -v apk")).code === 0 ? "apk" : "opkg";
	const dist = join(REPO, "dist");
	const pkg = packageFor(existsSync(dist) ? readdirSync(dist) : [], manager);
	if (!pkg) throw new Error(`no x86_64 ${manager === "apk" ? ".apk" : ".ipk"} in dist/: run make package`);
	say(`installing ${pkg} with ${manager} (fetched from lan1 over HTTP)`);
	lab.spawn("lan1", ["busybox", "httpd", "-f", "-p", String(HTTP_PORT), "-h", dist]);
	const url = `http://${ADDR.lan1.v4}:${HTTP_PORT}/${pkg}`;
	await untilSucceeds(serial, `wget -q -O /tmp/${pkg} ${url}`, `the package from ${url}`, 60_000);
	const install = manager === "apk" ? `apk add --allow-untrusted /tmp/${pkg}` : `opkg install /tmp/${pkg}`;
	await serial.check(`${install} && rm /tmp/${pkg}`, 600_000);

	return {
		serial,
		description: `OpenWrt image: ${release}`,
		globals: GLOBALS,
		start: async (config) => {
			await serial.check(writeFileCommand("/etc/config/portrig", config));
			await serial.check("/etc/init.d/portrig enable; /etc/init.d/portrig restart");
			await untilSucceeds(serial, "ubus call portrig status >/dev/null", "portrig on ubus", 120_000);
		},
		call: (method, args) =>
			callJson(
				serial,
				`ubus call portrig ${method}${args === undefined ? "" : ` ${shellQuote(JSON.stringify(args))}`}`,
			),
	};
}
