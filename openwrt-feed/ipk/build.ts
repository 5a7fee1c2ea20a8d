// An ipk, the container opkg (openwrt/opkg-lede) reads and OpenWrt's scripts/ipkg-build
// writes: a gzipped tar (not an ar archive as on Debian) holding ./debian-binary ("2.0"),
// ./data.tar.gz and ./control.tar.gz. opkg-lede's deb_extract() walks the outer tar through
// `gzip -d` and finds the inner archives by name; it has no ar reader.
import {
	chmodSync,
	copyFileSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	renameSync,
	rmSync,
	writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApkEntry } from "../apk/package";
import { neededKib, type PackageSpec, preinstScript } from "../spec/packages";
import { gzip, tar } from "./archive";
import { controlText, ipkFileName } from "./control";

const SCRIPTS = join(import.meta.dir, "scripts");

function stageControl(spec: PackageSpec, control: string, installedSize: number, entries: ApkEntry[]): void {
	mkdirSync(control);
	writeFileSync(join(control, "control"), controlText({ ...spec, installedSize }));
	// ipkg-build keeps only conffiles the package really ships, sorted.
	const conffiles = spec.conffiles.filter((f) => entries.some((e) => `/${e.path}` === f)).sort();
	if (conffiles.length > 0) writeFileSync(join(control, "conffiles"), `${conffiles.join("\n")}\n`);
	copyFileSync(join(SCRIPTS, "postinst"), join(control, "postinst"));
	copyFileSync(join(SCRIPTS, "prerm"), join(control, "prerm"));
	if (spec.spaceCheck)
		writeFileSync(join(control, "preinst"), preinstScript(spec.spaceCheck, neededKib(entries)));
	if (spec.postinstPkg) writeFileSync(join(control, "postinst-pkg"), spec.postinstPkg);
	if (spec.postrm) writeFileSync(join(control, "postrm"), spec.postrm);
	for (const entry of readdirSync(control))
		chmodSync(join(control, entry), /^(control|conffiles)$/.test(entry) ? 0o644 : 0o755);
}

// data.tar.gz by the hash of data.tar: the labels of one binary share it.
const dataTarGz = new Map<string, Uint8Array>();

/** Writes the ipk of spec from its staged files (data, read as entries) into outDir; returns its path. */
export function writeIpk(
	spec: PackageSpec,
	data: string,
	entries: ApkEntry[],
	outDir: string,
	mtime: number,
): string {
	const work = mkdtempSync(join(tmpdir(), `portrig-ipk-${spec.package}-`));
	try {
		const dataTar = tar(data, ["."], mtime);
		stageControl(spec, join(work, "control"), dataTar.length, entries);

		const outer = join(work, "outer");
		mkdirSync(outer);
		writeFileSync(join(outer, "debian-binary"), "2.0\n");
		const key = `${dataTar.length}:${Bun.hash(dataTar)}`;
		const dataGz = dataTarGz.get(key) ?? gzip(dataTar);
		dataTarGz.set(key, dataGz);
		writeFileSync(join(outer, "data.tar.gz"), dataGz);
		writeFileSync(join(outer, "control.tar.gz"), gzip(tar(join(work, "control"), ["."], mtime)));
		for (const entry of readdirSync(outer)) chmodSync(join(outer, entry), 0o644);
		// The member order of ipkg-build.
		const ipk = gzip(tar(outer, ["./debian-binary", "./data.tar.gz", "./control.tar.gz"], mtime));

		mkdirSync(outDir, { recursive: true });
		const path = join(outDir, ipkFileName(spec));
		writeFileSync(`${path}.tmp`, ipk);
		renameSync(`${path}.tmp`, path);
		return path;
	} finally {
		rmSync(work, { recursive: true, force: true });
	}
}
