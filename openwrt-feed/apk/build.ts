// A package spec as an apk for OpenWrt 25.12: the files plus what package-pack.mk adds under
// /lib/apk/packages (the file list base-files' scripts read, the conffiles and their checksums
// that sysupgrade keeps), the info fields and the install scripts.
import { neededKib, type PackageSpec, preinstScript } from "../spec/packages";
import {
	type ApkEntry,
	type ApkInfo,
	type ApkLayout,
	deflateData,
	layoutPackage,
	packageFile,
} from "./package";
import { apkScripts } from "./scripts";

const encoder = new TextEncoder();

function sha256Hex(data: Uint8Array): string {
	return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

function apkInfo(spec: PackageSpec): ApkInfo {
	return {
		name: spec.package,
		version: spec.version,
		// package-pack.mk: PKGARCH all → noarch.
		arch: spec.architecture === "all" ? "noarch" : spec.architecture,
		// package-pack.mk passes $(strip description): one line.
		description: spec.description.trim().split(/\s+/).join(" "),
		license: spec.license,
		origin: spec.source,
		depends: spec.depends,
	};
}

/** The files under /lib/apk/packages that package-pack.mk adds to every apk package. */
function withPackageFiles(spec: PackageSpec, entries: ApkEntry[]): ApkEntry[] {
	const dir = "lib/apk/packages";
	const file = (name: string, text: string): ApkEntry => ({
		path: `${dir}/${spec.package}.${name}`,
		type: "file",
		mode: 0o644,
		data: encoder.encode(text),
	});
	const listed = entries.filter((e) => e.type !== "dir").map((e) => `/${e.path}`);
	const added: ApkEntry[] = [file("list", `${[...listed].sort().join("\n")}\n`)];
	const conffiles = spec.conffiles.filter((c) => listed.includes(c));
	if (conffiles.length > 0) {
		added.push(file("conffiles", `${conffiles.join("\n")}\n`));
		const sums = conffiles.map((c) => {
			const e = entries.find((x) => `/${x.path}` === c);
			return `${c} ${sha256Hex(e?.type === "file" ? e.data : new Uint8Array())}`;
		});
		added.push(file("conffiles_static", `${sums.join("\n")}\n`));
	}
	const dirs = ["lib", "lib/apk", dir]
		.filter((d) => !entries.some((e) => e.path === d))
		.map((path): ApkEntry => ({ path, type: "dir", mode: 0o755 }));
	return [...entries, ...dirs, ...added];
}

export type BuiltApk = { info: ApkInfo; layout: ApkLayout; file: Uint8Array };

/**
 * Builds the apk of spec. Packages whose data blocks are the same (one binary, several labels)
 * share one deflate run through `deflated`.
 */
export function buildApk(
	spec: PackageSpec,
	tree: ApkEntry[],
	mtime: number,
	deflated: Map<string, Uint8Array>,
): BuiltApk {
	const info = apkInfo(spec);
	const entries = withPackageFiles(spec, tree);
	const preinst = spec.spaceCheck ? preinstScript(spec.spaceCheck, neededKib(entries)) : undefined;
	const scripts = apkScripts({
		name: spec.package,
		...(preinst === undefined ? {} : { preinst }),
		...(spec.postinstPkg === undefined ? {} : { postinst: spec.postinstPkg }),
		...(spec.postrm === undefined ? {} : { postrm: spec.postrm }),
	});
	const layout = layoutPackage(info, entries, scripts, mtime);
	const key = layout.data.map((b) => `${b.length}:${Bun.hash(b)}`).join(",");
	let data = deflated.get(key);
	if (!data) {
		data = deflateData(layout.data);
		deflated.set(key, data);
	}
	return { info, layout, file: packageFile(layout, data) };
}
