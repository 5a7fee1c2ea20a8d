// The three packages `make package` builds, and where their metadata and files come from. The
// feed Makefiles are the one description: names, DEPENDS, section, license, description,
// conffiles and maintainer scripts are read from them; the files are the ones their install
// steps copy (package.mk: the binary and files/; luci.mk: htdocs/ → /www, root/ → /).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Control, controlDepends } from "./control";
import { defineAssignments, parseMakefile, requireDefine, requireVar, shellText } from "./makefile";

/** What goes into one ipk: its control fields (but the size) and its files. */
export type PackageSpec = Omit<Control, "installedSize"> & {
	conffiles: string[];
	/** package's own postinst/postrm bodies (the SDK's Package/NAME/postinst → postinst-pkg). */
	postinstPkg?: string;
	postrm?: string;
	/** copied into the package root in order: a directory's contents, or one file. */
	contents: Array<{ from: string; to: string }>;
	/** Files and directories whose change makes the ipk stale. */
	inputs: string[];
};

/** Bun's musl build for a CPU, and the OpenWrt package architecture the ipk is labelled with. */
export const TARGETS = [
	{ binary: "dist/portrig-linux-x64-musl", architecture: "x86_64" },
	{ binary: "dist/portrig-linux-arm64-musl", architecture: "aarch64_generic" },
] as const;

const FEED = "openwrt-feed";
const BUILDER = `${FEED}/ipk`;

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

export function portrigSpec(root: string, target: (typeof TARGETS)[number]): PackageSpec {
	const file = `${FEED}/portrig/Makefile`;
	const mk = parseMakefile(readFileSync(join(root, file), "utf8"));
	const name = requireVar(mk, "PKG_NAME", file);
	const pkg = defineAssignments(requireDefine(mk, `Package/${name}`, file));
	return {
		package: name,
		// package-defaults.mk: VERSION = PKG_VERSION-PKG_RELEASE; PKG_VERSION is package.json's.
		version: `${projectVersion(root)}-${requireVar(mk, "PKG_RELEASE", file)}`,
		architecture: target.architecture,
		depends: controlDepends(pkg.get("DEPENDS") ?? ""),
		source: `feeds/portrig/${name}`,
		license: requireVar(mk, "PKG_LICENSE", file),
		section: pkg.get("SECTION") ?? "opt",
		description: requireDefine(mk, `Package/${name}/description`, file),
		conffiles: lines(mk.defines.get(`Package/${name}/conffiles`) ?? ""),
		postinstPkg: optionalScript(mk.defines.get(`Package/${name}/postinst`)),
		postrm: optionalScript(mk.defines.get(`Package/${name}/postrm`)),
		contents: [
			{ from: target.binary, to: "usr/sbin/portrig" },
			{ from: `${FEED}/portrig/files`, to: "" },
		],
		inputs: [target.binary, `${FEED}/portrig`, BUILDER, "package.json"],
	};
}

export function luciSpec(root: string): PackageSpec {
	const dir = `${FEED}/luci-app-portrig`;
	const file = `${dir}/Makefile`;
	const mk = parseMakefile(readFileSync(join(root, file), "utf8"));
	const name = "luci-app-portrig"; // luci.mk: the directory's name
	return {
		package: name,
		// luci.mk: VERSION = PKG_VERSION when a LuCI app sets one (no release suffix).
		version: projectVersion(root),
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
		inputs: [dir, `${dir}/htdocs`, `${dir}/root`, BUILDER, "package.json"],
	};
}

function optionalScript(body: string | undefined): string | undefined {
	return body === undefined ? undefined : shellText(body);
}

export function allSpecs(root: string): PackageSpec[] {
	return [...TARGETS.map((t) => portrigSpec(root, t)), luciSpec(root)];
}
