// The compiled binary as a process: version, check, the daemon's lifecycle (status, SIGHUP reload
// refusing a broken file, SIGTERM cleanup, restart after kill -9) and its syslog output.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { ensureBuilt, LAB_GLOBALS, PORTRIG, type RunningDaemon, startDaemon } from "./lib/daemon";
import { Lab } from "./lib/lab";
import { waitFor } from "./lib/wait";

const CONFIG = `${LAB_GLOBALS}
config forward 'web'
	option name 'Web'
	option proto 'tcp'
	option src_dport '8080'
	option dest_ip '192.168.1.10'
	option dest_port '80'
`;

const BROKEN = `${CONFIG}
config forward 'broken'
	option src_dport '99999'
	option dest_ip '192.168.1.11'
`;

let lab: Lab;
const tmp = mkdtempSync(join(tmpdir(), "portrig-daemon-test-"));

beforeAll(async () => {
	ensureBuilt();
	lab = await Lab.up();
}, 120_000);

afterAll(async () => {
	await lab?.down();
	rmSync(tmp, { recursive: true, force: true });
});

function portrig(...args: string[]) {
	const r = Bun.spawnSync([PORTRIG, ...args], { stdout: "pipe", stderr: "pipe" });
	return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** The processes in the router's network namespace. */
function routerPids(): number[] {
	const r = Bun.spawnSync(["ip", "netns", "pids", lab.nsExec("router").at(-1) ?? ""], { stdout: "pipe" });
	return r.stdout.toString().split("\n").filter(Boolean).map(Number);
}

/** The router's portrig table as nft prints it, or null when there is none. */
async function table(): Promise<string | null> {
	const r = await lab.exec("router", ["nft", "list", "table", "inet", "portrig"], { check: false });
	return r.code === 0 ? r.stdout : null;
}

describe("the binary", () => {
	test("version prints the package version", () => {
		const r = portrig("version");
		expect(r.code).toBe(0);
		expect(r.stdout.trim()).toBe(`portrig ${pkg.version}`);
	});

	test("check exits 0 for a valid file and 1 with FILE:LINE messages for a broken one", () => {
		const good = join(tmp, "good");
		const bad = join(tmp, "bad");
		writeFileSync(good, CONFIG);
		writeFileSync(bad, BROKEN);
		expect(portrig("check", good).code).toBe(0);
		const r = portrig("check", bad);
		expect(r.code).toBe(1);
		expect(r.stdout + r.stderr).toContain(
			`${bad}:13: section 'broken' option 'src_dport': port 99999 is out of range`,
		);
	});

	test("call: arguments that are not a JSON object are a usage error; no daemon is an error naming the socket", () => {
		const socket = join(tmp, "nobody.sock");
		expect(portrig("call", "status", "{nope", "--control-socket", socket)).toMatchObject({ code: 2 });
		expect(portrig("call", "status", "[1]", "--control-socket", socket)).toMatchObject({ code: 2 });
		const r = portrig("call", "status", "--control-socket", socket);
		expect(r.code).toBe(1);
		expect(r.stderr).toContain(socket);
		const usage = portrig("call");
		expect(usage.code).toBe(2);
		expect(usage.stderr).toContain("add_forward");
	});

	test("an unknown daemon flag is a usage error", () => {
		const r = portrig("daemon", "--colour", "blue");
		expect(r.code).toBe(2);
		expect(r.stderr).toContain("usage: portrig daemon");
	});
});

describe("the daemon", () => {
	test("answers `call status` over its control socket", async () => {
		const d = await startDaemon(lab, CONFIG);
		try {
			const r = await d.call("status");
			expect(r.code).toBe(0);
			expect(r.reply).toMatchObject({
				version: pkg.version,
				config: d.configFile,
				enabled: true,
				forwards: 1,
			});
		} finally {
			expect(await d.stop()).toBe(0);
		}
	});

	test("SIGHUP with a broken file keeps the old config and ruleset and logs why; a fixed file then loads", async () => {
		const d = await startDaemon(lab, CONFIG);
		try {
			const listed = (await d.call("list")).reply;
			const ruleset = await table();
			expect(ruleset).toContain("portrig");

			writeFileSync(d.configFile, BROKEN);
			d.signal("SIGHUP");
			await d.waitForLog(/reload refused/);
			expect(d.log()).toContain(
				`${d.configFile}:13: section 'broken' option 'src_dport': port 99999 is out of range`,
			);
			expect((await d.call("list")).reply).toEqual(listed);
			expect(await table()).toBe(ruleset);

			writeFileSync(d.configFile, CONFIG.replace("'8080'", "'8081'"));
			d.signal("SIGHUP");
			await d.waitForLog(/reloaded/);
			const after = (await d.call("list")).reply as { forwards: Array<{ src_dport: string }> };
			expect(after.forwards.map((f) => f.src_dport)).toEqual(["8081"]);
			expect(await table()).toContain("8081");
		} finally {
			await d.stop();
		}
	});

	test("call finds the socket through PORTRIG_CONTROL_SOCKET; SIGINT stops as cleanly as SIGTERM", async () => {
		const d = await startDaemon(lab, CONFIG);
		const r = Bun.spawnSync([PORTRIG, "call", "status"], {
			env: { ...process.env, PORTRIG_CONTROL_SOCKET: d.controlSocket },
			stdout: "pipe",
		});
		expect(r.exitCode).toBe(0);
		expect(JSON.parse(r.stdout.toString())).toMatchObject({ config: d.configFile });
		d.signal("SIGINT");
		expect(await d.exited).toBe(0);
		expect(existsSync(d.controlSocket)).toBe(false);
		expect(await table()).toBeNull();
		await d.stop();
	});

	test("SIGTERM exits 0, removes the control socket and the nft table", async () => {
		const d = await startDaemon(lab, CONFIG);
		expect(existsSync(d.controlSocket)).toBe(true);
		expect(await table()).not.toBeNull();
		const socket = d.controlSocket;
		d.signal("SIGTERM");
		expect(await d.exited).toBe(0);
		expect(existsSync(socket)).toBe(false);
		expect(await table()).toBeNull();
		await d.stop();
	});

	test("an invalid config at start: exit 1, the reason logged, no socket, no table", async () => {
		const d = await startDaemon(lab, BROKEN, { noWait: true });
		expect(await d.exited).toBe(1);
		expect(d.log()).toContain("option 'src_dport': port 99999 is out of range");
		expect(existsSync(d.controlSocket)).toBe(false);
		expect(await table()).toBeNull();
		await d.stop();
	});

	test("after kill -9 the table and a stale socket stay; a restarted daemon replaces both and serves", async () => {
		const first = await startDaemon(lab, CONFIG);
		first.signal("SIGKILL");
		await first.exited;
		expect(existsSync(first.controlSocket)).toBe(true);
		expect(await table()).toContain("8080");
		// The same files, as procd respawns the same command line.
		const second = await startDaemon(lab, CONFIG, { dir: first.dir });
		try {
			expect(second.controlSocket).toBe(first.controlSocket);
			expect((await second.call("status")).reply).toMatchObject({ forwards: 1 });
			expect(await table()).toContain("8080");
		} finally {
			expect(await second.stop()).toBe(0);
			await first.stop();
		}
		expect(await table()).toBeNull();
	});

	test("a second daemon on a live control socket exits 1 and leaves the first one's table alone", async () => {
		const first = await startDaemon(lab, CONFIG);
		try {
			const ruleset = await table();
			// Another config: had the second daemon applied it, the table would show 9999.
			const second = await startDaemon(lab, CONFIG.replace("'8080'", "'9999'"), {
				dir: first.dir,
				noWait: true,
				// Its own lock file: only the socket is shared.
				args: ["--lock-file", join(tmp, "second.lock")],
			});
			expect(await second.exited).toBe(1);
			expect(second.log()).toContain(`another daemon is listening on ${first.controlSocket}`);
			expect(await table()).toBe(ruleset);
			expect((await first.call("status")).code).toBe(0);
		} finally {
			expect(await first.stop()).toBe(0);
		}
	});

	test("a second daemon on another socket is refused by the lock, naming the first one's PID", async () => {
		const first = await startDaemon(lab, CONFIG);
		try {
			const ruleset = await table();
			const lock = join(first.dir, "portrig.lock");
			const second = await startDaemon(lab, CONFIG.replace("'8080'", "'9999'"), {
				noWait: true,
				args: ["--lock-file", lock],
			});
			expect(await second.exited).toBe(1);
			expect(second.log()).toContain(
				`another portrig daemon (PID ${first.pid}) manages table inet portrig: ${lock} is locked`,
			);
			expect(existsSync(second.controlSocket)).toBe(false);
			expect(await table()).toBe(ruleset);
			expect((await first.call("status")).code).toBe(0);
		} finally {
			expect(await first.stop()).toBe(0);
		}
	});

	test("a daemon killed with kill -9 leaves no process behind", async () => {
		const before = new Set(routerPids());
		const d = await startDaemon(lab, CONFIG);
		d.signal("SIGKILL");
		await d.exited;
		// Whatever the daemon started in the router is gone with it.
		await waitFor("the router's processes to be those before the daemon", async () =>
			routerPids().every((pid) => before.has(pid)),
		);
		await lab.exec("router", ["nft", "delete", "table", "inet", "portrig"]);
	});

	/**
	 * The daemon with a private /dev (overlay over the real one) whose log socket is a socat
	 * receiver writing to a file; `check` gets the daemon and a reader of that file.
	 */
	async function withPrivateSyslog(
		name: string,
		args: string[],
		check: (d: RunningDaemon, received: () => Promise<string>) => Promise<void>,
	): Promise<void> {
		const received = join(tmp, `${name}.syslog`);
		const pidFile = join(tmp, `${name}.socat.pid`);
		const upper = join(tmp, `${name}-dev-upper`);
		const work = join(tmp, `${name}-dev-work`);
		Bun.spawnSync(["mkdir", "-p", upper, work]);
		const script = [
			`mount -t overlay overlay -o lowerdir=/dev,upperdir=${upper},workdir=${work} /dev`,
			`socat -u UNIX-RECV:/dev/log OPEN:${received},creat,append </dev/null >/dev/null 2>&1 & echo $! > ${pidFile}`,
			"i=0; while [ ! -S /dev/log ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done",
			'exec "$@"',
		].join("\n");
		const d = await startDaemon(lab, CONFIG, {
			prefix: ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"],
			args,
		});
		try {
			await check(d, async () => (existsSync(received) ? await Bun.file(received).text() : ""));
		} finally {
			await d.stop();
			const socat = Number(
				await Bun.file(pidFile)
					.text()
					.catch(() => "0"),
			);
			if (socat > 0) process.kill(socat, "SIGTERM");
		}
	}

	test("logs to syslog when /dev/log exists", async () => {
		await withPrivateSyslog("auto", [], async (d, received) => {
			await waitFor("the start line in syslog", async () => /portrig\[\d+\]: started/.test(await received()));
			// RFC 3164 as libc's syslog() frames it: <PRI>TIMESTAMP TAG[PID]: MESSAGE; daemon.notice = 29.
			expect(await received()).toMatch(new RegExp(`<29>.{15} portrig\\[${d.pid}\\]: started`));
		});
	});

	test("with --log syslog (the init script) each line reaches the log once, at its own level", async () => {
		await withPrivateSyslog("procd", ["--log", "syslog"], async (d, received) => {
			await waitFor("the start line in syslog", async () => /portrig\[\d+\]: started/.test(await received()));
			// What logread shows under procd: syslog, plus stderr forwarded by procd at err level.
			const logread = [...(await received()).split("<").slice(1), ...d.log().split("\n").filter(Boolean)];
			const started = logread.filter((l) => l.includes("started: 1 forwards"));
			expect(started).toHaveLength(1);
			expect(started[0]).toMatch(new RegExp(`^29>.{15} portrig\\[${d.pid}\\]: started`));
			expect(d.log()).toBe("");
		});
	});
});
