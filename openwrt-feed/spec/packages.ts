// The packages `make package` builds, and where their metadata and files come from. The feed
// Makefiles are the one description: names, DEPENDS, section, license, description, conffiles
// and maintainer scripts are read from them; the files are the ones their install steps copy
// (package.mk: the binary and files/; luci.mk: htdocs/ → /www, root/ → /).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Control, controlDepends } from "../ipk/control";
import { defineAssignments, parseMakefile, requireDefine, requireVar, shellText } from "./makefile";

/** What goes into one package: its control fields (but the size) and its files. */
export type PackageSpec = Omit<Control, "installedSize"> & {
	conffiles: string[];
	/** package's own postinst/postrm bodies (the SDK's Package/NAME/postinst → postinst-pkg). */
	postinstPkg?: string;
	postrm?: string;
	/** The shell functions of the space check (check_space KIB) that the preinst runs. */
	spaceCheck?: string;
	/** copied into the package root in order: a directory's contents, or one file. */
	contents: Array<{ from: string; to: string }>;
	/** Files and directories whose change makes the ipk stale. */
	inputs: string[];
};

/**
 * Bun's musl build for a CPU, and the OpenWrt package architectures it is labelled with: opkg
 * and apk install a package only when its label is one the router lists (/etc/opkg.conf arch
 * lines, /etc/apk/arch), and every aarch64 target of OpenWrt has its own label. The binary is
 * the same for all of them.
 */
export const TARGETS = [
	{ binary: "dist/portrig-linux-x64-musl", architecture: "x86_64" },
	{ binary: "dist/portrig-linux-arm64-musl", architecture: "aarch64_generic" },
	{ binary: "dist/portrig-linux-arm64-musl", architecture: "aarch64_cortex-a53" },
	{ binary: "dist/portrig-linux-arm64-musl", architecture: "aarch64_cortex-a72" },
	{ binary: "dist/portrig-linux-arm64-musl", architecture: "aarch64_cortex-a76" },
] as const;
export type Target = (typeof TARGETS)[number];

const FEED = "openwrt-feed";
// Every builder source: a change to any of them rebuilds the packages.
const BUILDERS = [`${FEED}/build.ts`, `${FEED}/stage.ts`, `${FEED}/ipk`, `${FEED}/apk`, `${FEED}/spec`];

function projectVersion(root: string): string {
	const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: unknown };
	if (typeof pkg.version !== "string" || pkg.version === "") throw new Error("package.json: no version");
	return pkg.version;
}

function lines(text: string): string[] {
	return text
		.split("\n")
		.map((l) => l.trim())
		.filter(Boolean);
}

/**
 * package-defaults.mk (OpenWrt 24.10 and later): VERSION = PKG_VERSION-rPKG_RELEASE, the form
 * apk requires (…-r#) and opkg accepts; luci.mk uses the same for apps that set PKG_VERSION.
 */
function packageVersion(root: string, release: string, file: string): string {
	if (!/^\d+$/.test(release)) throw new Error(`${file}: PKG_RELEASE '${release}' is not a number`);
	return `${projectVersion(root)}-r${release}`;
}

export function portrigSpec(root: string, target: Target): PackageSpec {
	const file = `${FEED}/portrig/Makefile`;
	const mk = parseMakefile(readFileSync(join(root, file), "utf8"));
	const name = requireVar(mk, "PKG_NAME", file);
	const pkg = defineAssignments(requireDefine(mk, `Package/${name}`, file));
	return {
		package: name,
		version: packageVersion(root, requireVar(mk, "PKG_RELEASE", file), file),
		architecture: target.architecture,
		depends: controlDepends(pkg.get("DEPENDS") ?? ""),
		source: `feeds/portrig/${name}`,
		license: requireVar(mk, "PKG_LICENSE", file),
		section: pkg.get("SECTION") ?? "opt",
		description: requireDefine(mk, `Package/${name}/description`, file),
		conffiles: lines(mk.defines.get(`Package/${name}/conffiles`) ?? ""),
		postinstPkg: optionalScript(mk.defines.get(`Package/${name}/postinst`)),
		postrm: optionalScript(mk.defines.get(`Package/${name}/postrm`)),
		spaceCheck: readFileSync(join(root, FEED, "portrig/check-space.sh"), "utf8"),
		contents: [
			{ from: target.binary, to: "usr/sbin/portrig" },
			{ from: `${FEED}/portrig/files`, to: "" },
		],
		inputs: [target.binary, `${FEED}/portrig`, ...BUILDERS, "package.json"],
	};
}

export function luciSpec(root: string): PackageSpec {
	const dir = `${FEED}/luci-app-portrig`;
	const file = `${dir}/Makefile`;
	const mk = parseMakefile(readFileSync(join(root, file), "utf8"));
	const name = "luci-app-portrig"; // luci.mk: the directory's name
	return {
		package: name,
		version: packageVersion(root, requireVar(mk, "PKG_RELEASE", file), file),
		architecture: requireVar(mk, "LUCI_PKGARCH", file),
		depends: controlDepends(requireVar(mk, "LUCI_DEPENDS", file)),
		source: `feeds/portrig/${name}`,
		license: requireVar(mk, "PKG_LICENSE", file),
		section: "luci",
		description: requireVar(mk, "LUCI_DESCRIPTION", file),
		conffiles: [],
		postinstPkg: optionalScript(mk.defines.get(`Package/${name}/postinst`)),
		// Through the feed's symlinks, as luci.mk in the SDK reads them.
		contents: [
			{ from: `${dir}/htdocs`, to: "www" },
			{ from: `${dir}/root`, to: "" },
		],
		inputs: [dir, `${dir}/htdocs`, `${dir}/root`, ...BUILDERS, "package.json"],
	};
}

function optionalScript(body: string | undefined): string | undefined {
	return body === undefined ? undefined : shellText(body);
}

export function allSpecs(root: string): PackageSpec[] {
	return [...TARGETS.map((t) => portrigSpec(root, t)), luciSpec(root)];
}

/**
 * KiB the files take on a filesystem of 4 KiB blocks: each file rounded up to whole blocks, and
 * a block for each directory and symlink.
 */
export function neededKib(entries: Array<{ type: string; data?: Uint8Array }>): number {
	return entries.reduce((kib, e) => kib + 4 * Math.max(1, Math.ceil((e.data?.length ?? 0) / 4096)), 0);
}

/**
 * The preinst of a package with a space check: the check's functions, then the call; the same
 * text as the feed Makefile's Package/portrig/preinst.
 */
export function preinstScript(spaceCheck: string, kib: number): string {
	return `#!/bin/sh\n${spaceCheck.trimEnd()}\ncheck_space ${kib}\n`;
}
