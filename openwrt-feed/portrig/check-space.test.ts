// The space check as the packages carry it (preinst of the ipk, pre-install of the apk), run
// against a real small filesystem: an 8 MiB tmpfs mounted in a mount namespace of the test's
// own, which vanishes with it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { preinstScript } from "../spec/packages";

const CHECK = join(import.meta.dir, "check-space.sh");
let scratch = "";

beforeAll(() => {
	scratch = mkdtempSync(join(tmpdir(), "portrig-space-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Result = { code: number; err: string; freeKib: number; before: string; after: string };

/**
 * Mounts an 8 MiB tmpfs as the image root (IPKG_INSTROOT), runs the preinst for `neededKib`
 * inside it and reports the exit code, stderr, df's free KiB and the tree before and after.
 */
function runOnTmpfs(neededKib: number, name: string, setup = ""): Result {
	const root = join(scratch, `${name}-root`);
	mkdirSync(root);
	const preinst = join(scratch, `${name}-preinst`);
	writeFileSync(preinst, preinstScript(readFileSync(CHECK, "utf8"), neededKib));
	const script = [
		"set -e",
		`mount -t tmpfs -o size=8m portrig-test "${root}"`,
		setup,
		`find "${root}" | sort > "${scratch}/${name}-before"`,
		`df -Pk "${root}" | awk 'NR == 2 { print $4 }' > "${scratch}/${name}-free"`,
		"set +e",
		`IPKG_INSTROOT="${root}" sh "${preinst}" install 2> "${scratch}/${name}-err"`,
		`echo $? > "${scratch}/${name}-code"`,
		`find "${root}" | sort > "${scratch}/${name}-after"`,
	].join("\n");
	const r = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], {
		stdout: "pipe",
		stderr: "pipe",
	});
	if (r.exitCode !== 0) throw new Error(`tmpfs run failed: ${r.stderr.toString()}`);
	const read = (f: string) => readFileSync(join(scratch, `${name}-${f}`), "utf8");
	return {
		code: Number(read("code")),
		err: read("err"),
		freeKib: Number(read("free")),
		before: read("before"),
		after: read("after"),
	};
}

describe("check_space on an 8 MiB filesystem", () => {
	test("refuses 16 MiB with one message naming needed and free sizes and the ways out, changing nothing", () => {
		const r = runOnTmpfs(16384, "refuse");
		expect(r.code).toBe(1);
		expect(r.freeKib).toBeGreaterThan(0);
		expect(r.freeKib).toBeLessThan(16384);
		expect(r.err).toContain(
			`portrig: not enough free space. portrig needs 16.0 MiB (16384 KiB) on ${join(scratch, "refuse-root")}, which has ${(r.freeKib / 1024).toFixed(1)} MiB (${r.freeKib} KiB) free, so portrig is not installed.`,
		);
		expect(r.err).toContain("ROOTFS_PARTSIZE");
		expect(r.err).toContain("firmware selector");
		expect(r.err).toContain("extroot");
		expect(r.err).toContain("resize the root partition");
		expect(r.after).toBe(r.before);
	});

	test("accepts 1 MiB silently", () => {
		const r = runOnTmpfs(1024, "accept");
		expect([r.code, r.err]).toEqual([0, ""]);
		expect(r.after).toBe(r.before);
	});

	test("measures the filesystem /usr/sbin is on when it exists, here a second, full one", () => {
		// usr/sbin gets a 1 MiB tmpfs of its own inside the root: the binary lands there.
		const r = runOnTmpfs(
			2048,
			"nested",
			'mkdir -p "$0" && mount -t tmpfs -o size=1m nested "$0"'.replaceAll(
				"$0",
				join(scratch, "nested-root/usr/sbin"),
			),
		);
		expect(r.code).toBe(1);
		expect(r.err).toContain(`on ${join(scratch, "nested-root/usr/sbin")}, which has`);
	});

	test("asks for the whole size on an upgrade too (PKG_UPGRADE=1) and says the installed version stays", () => {
		const root = join(scratch, "upgrade");
		mkdirSync(root);
		const r = Bun.spawnSync(
			[
				"unshare",
				"--mount",
				"--propagation",
				"private",
				"sh",
				"-c",
				`mount -t tmpfs -o size=8m t "${root}" && PKG_UPGRADE=1 IPKG_INSTROOT="${root}" sh -c '. "${CHECK}"; check_space 16384'`,
			],
			{ stdout: "pipe", stderr: "pipe" },
		);
		expect(r.exitCode).toBe(1);
		expect(r.stderr.toString()).toContain("portrig needs 16.0 MiB");
		expect(r.stderr.toString()).toContain("so portrig is not upgraded (the installed version stays).");
	});
});

test("check-space.sh passes shellcheck", () => {
	const r = Bun.spawnSync(["shellcheck", CHECK], { stdout: "pipe", stderr: "pipe" });
	expect([r.exitCode, r.stdout.toString()]).toEqual([0, ""]);
});
