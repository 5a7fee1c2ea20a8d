// `make package`: installable OpenWrt packages without the SDK, into dist/:
//   OpenWrt 24.10 (opkg): dist/portrig_<version>_<arch>.ipk, dist/luci-app-portrig_<version>_all.ipk
//   OpenWrt 25.12 (apk):  dist/apk/<arch>/portrig-<version>.apk, luci-app-portrig-<version>.apk and
//                         packages.adb, the index that makes each directory a repository.
// <arch> is x86_64 and every aarch64 label OpenWrt uses; each label's packages are alike but
// for the label, which opkg and apk match against the router's.
//
// With APK_SIGN_KEY naming a PEM private key (EC, as OpenWrt's, or RSA), each packages.adb is
// signed and the public key is written as dist/apk/portrig.pem, for routers' /etc/apk/keys.
// Packages newer than all their inputs are kept (pass --force to rebuild anyway).

import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import {
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	renameSync,
	rmSync,
	statSync,
	writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildApk } from "./apk/build";
import { indexFile } from "./apk/index";
import { apkFileName } from "./apk/package";
import { readApkHead } from "./apk/read-apk";
import { writeIpk } from "./ipk/build";
import { ipkFileName } from "./ipk/control";
import { allSpecs, type PackageSpec } from "./spec/packages";
import { readTree, stageData } from "./stage";

const ROOT = resolve(import.meta.dir, "..");

/** Time stamp of every archive member: SOURCE_DATE_EPOCH, else the last commit's time. */
function sourceDateEpoch(root: string): number {
	const env = Number(process.env.SOURCE_DATE_EPOCH);
	if (Number.isInteger(env) && env > 0) return env;
	const git = Bun.spawnSync(["git", "-C", root, "log", "-1", "--format=%ct"], { stderr: "ignore" });
	const commit = Number(git.stdout.toString().trim());
	return git.exitCode === 0 && Number.isInteger(commit) && commit > 0 ? commit : 0;
}

/** Newest modification time under the paths (following symlinks). */
function newestMtime(paths: string[]): number {
	let newest = 0;
	const visit = (path: string): void => {
		if (!existsSync(path)) {
			newest = Number.POSITIVE_INFINITY; // a missing input: build, and fail there with its name
			return;
		}
		const st = statSync(path);
		newest = Math.max(newest, st.mtimeMs);
		if (st.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
	};
	for (const path of paths) visit(path);
	return newest;
}

/** The apk directory of an architecture label; noarch packages go into every one. */
function apkDir(outDir: string, architecture: string): string {
	return join(outDir, "apk", architecture);
}

function writeAtomically(path: string, data: Uint8Array): void {
	writeFileSync(`${path}.tmp`, data);
	renameSync(`${path}.tmp`, path);
}

/** Files of the same package left in dir by earlier builds of other versions. */
function removeStale(dir: string, prefix: string, suffix: string, keep: string): void {
	if (!existsSync(dir)) return;
	for (const entry of readdirSync(dir))
		if (entry.startsWith(prefix) && entry.endsWith(suffix) && entry !== keep) rmSync(join(dir, entry));
}

function signingKey(path: string | undefined): KeyObject | undefined {
	if (!path) return undefined;
	try {
		return createPrivateKey(readFileSync(path));
	} catch (err) {
		throw new Error(
			`APK_SIGN_KEY ${path}: not a readable PEM private key (${err instanceof Error ? err.message : err})`,
		);
	}
}

function buildPackages(options: { force: boolean; signKey: string | undefined }): void {
	const key = signingKey(options.signKey);
	const root = ROOT;
	const outDir = join(root, "dist");
	const mtime = sourceDateEpoch(root);
	const specs = allSpecs(root);
	const labels = [...new Set(specs.map((s) => s.architecture).filter((a) => a !== "all"))];
	const apkDirs = (spec: PackageSpec) => (spec.architecture === "all" ? labels : [spec.architecture]);
	const deflated = new Map<string, Uint8Array>();
	const fileCache = new Map<string, Uint8Array>();

	for (const spec of specs) {
		const ipk = join(outDir, ipkFileName(spec));
		const apkName = apkFileName({ name: spec.package, version: spec.version });
		const apks = apkDirs(spec).map((a) => join(apkDir(outDir, a), apkName));
		const inputs = newestMtime(spec.inputs.map((p) => join(root, p)));
		if (!options.force && [ipk, ...apks].every((p) => existsSync(p) && statSync(p).mtimeMs > inputs)) {
			console.log(`package: ${spec.package} ${spec.architecture} is up to date`);
		} else {
			const work = mkdtempSync(join(tmpdir(), `portrig-pkg-${spec.package}-`));
			try {
				const data = join(work, "data");
				mkdirSync(data);
				stageData(root, spec, data);
				const tree = readTree(data, fileCache);
				writeIpk(spec, data, tree, outDir, mtime);
				console.log(`package: ${ipkFileName(spec)} (${statSync(ipk).size} bytes)`);
				const apk = buildApk(spec, tree, mtime, deflated);
				for (const path of apks) {
					mkdirSync(join(path, ".."), { recursive: true });
					writeAtomically(path, apk.file);
				}
				console.log(`package: ${apkName} for ${apkDirs(spec).join(", ")} (${apk.file.length} bytes)`);
			} finally {
				rmSync(work, { recursive: true, force: true });
			}
		}
		removeStale(outDir, `${spec.package}_`, `_${spec.architecture}.ipk`, ipkFileName(spec));
		for (const a of apkDirs(spec)) removeStale(apkDir(outDir, a), `${spec.package}-`, ".apk", apkName);
	}

	// One index per label directory, over the packages in it.
	for (const label of labels) {
		const dir = apkDir(outDir, label);
		const entries = readdirSync(dir)
			.filter((f) => f.endsWith(".apk"))
			.map((f) => {
				const file = readFileSync(join(dir, f));
				const { info, adb } = readApkHead(file);
				return { info, installedSize: info.installedSize, fileSize: file.length, adb };
			});
		const index = join(dir, "packages.adb");
		writeAtomically(index, indexFile(`portrig ${label}`, entries, key));
	}
	const publicKey = join(outDir, "apk", "portrig.pem");
	if (key) writeFileSync(publicKey, createPublicKey(key).export({ type: "spki", format: "pem" }));
	else rmSync(publicKey, { force: true });
}

if (import.meta.main) {
	try {
		buildPackages({ force: process.argv.includes("--force"), signKey: process.env.APK_SIGN_KEY });
	} catch (err) {
		console.error(`package: ${err instanceof Error ? err.message : String(err)}`);
		process.exit(1);
	}
}
