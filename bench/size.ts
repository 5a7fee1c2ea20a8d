// What the router stores, and what each way of shrinking it costs at start and in memory:
//  1. Bun build variants of portrig, built here: file size, ELF sections (readelf), start time
//     and peak RSS of `portrig version`, and the daemon's RSS at rest with 1 forward in the lab.
//     Runs use the glibc x64 build (the musl builds cannot run on this machine). Rounds
//     alternate the variants; ratios are to the Makefile's flags, measured in the same run.
//  2. The daemon's idle memory beside the runtime's floor: a one-line program and one with the
//     runtime parts the daemon uses (runtime-parts-agent.ts), built alike, all started uncached.
//  3. The aarch64 musl binary (what the packages carry) compressed on flash and unpacked to
//     tmpfs at every start: stored size, unpack time here, and the tmpfs copy held in RAM.
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LAB_GLOBALS, PORTRIG, startDaemon } from "../test-vm/lib/daemon";
import { Lab, LineReader, REPO } from "../test-vm/lib/lab";
import { type Bench, daemonIdleMB, dropFromPageCache, idleMB, median, memoryMB, progress } from "./bench";

const BUN = join(REPO, "node_modules", ".bin", "bun");
const ENTRY = join(REPO, "controller", "src", "cli", "main.ts");
const ROUNDS = 15;
const UNPACK_SAMPLES = 3;
/** COMPILE in the Makefile, less `--compile`. */
const MAKEFILE_FLAGS = [
	"--minify",
	"--sourcemap=none",
	"--no-compile-autoload-dotenv",
	"--no-compile-autoload-bunfig",
];
const without = (...flags: string[]) => MAKEFILE_FLAGS.filter((f) => !flags.includes(f));

type Variant = { name: string; flags: string[]; entry?: string };

const VARIANTS: Variant[] = [
	{ name: "Makefile", flags: MAKEFILE_FLAGS },
	{
		name: "Bun's default: `.env`, `bunfig.toml` read at start",
		flags: without("--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig"),
	},
	{ name: "without `--minify`", flags: without("--minify") },
	{ name: "`--sourcemap=inline`", flags: [...without("--sourcemap=none"), "--sourcemap=inline"] },
	{ name: "`--bytecode --format=esm`", flags: [...MAKEFILE_FLAGS, "--bytecode", "--format=esm"] },
];

/** How a compressed binary is stored: the command that packs it (to stdout) and the one that unpacks it. */
const PACKERS = [
	{ name: "gzip -9", pack: ["gzip", "-9", "-c"], unpack: ["gzip", "-dc"] },
	{ name: "zstd -19", pack: ["zstd", "-19", "-T0", "-q", "-c"], unpack: ["zstd", "-dc", "-q"] },
	{ name: "xz -6", pack: ["xz", "-6", "-T0", "-c"], unpack: ["xz", "-dc"] },
];

const MB = (bytes: number) => (bytes / 1e6).toFixed(1);
const ms = (n: number) => n.toFixed(0);

function spawnChecked(argv: string[], stdout: "pipe" | "ignore" | Bun.BunFile = "pipe"): Bun.SyncSubprocess {
	const r = Bun.spawnSync(argv, { stdout, stderr: "pipe" });
	if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr.toString()}`);
	return r as Bun.SyncSubprocess;
}

function compile(dir: string, name: string, flags: string[], entry = ENTRY, target?: string): string {
	const out = join(dir, name);
	spawnChecked([
		BUN,
		"build",
		"--compile",
		...flags,
		...(target ? [`--target=${target}`] : []),
		entry,
		"--outfile",
		out,
	]);
	return out;
}

/** Section name → size in bytes, from `readelf -SW`. */
function sections(file: string): Record<string, number> {
	const text = spawnChecked(["readelf", "-SW", file]).stdout?.toString() ?? "";
	const sizes: Record<string, number> = {};
	for (const m of text.matchAll(/\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)/g))
		sizes[m[1] as string] = Number.parseInt(m[2] as string, 16);
	return sizes;
}

/**
 * One `BIN version`: wall time to exit (ms) and peak RSS (bytes). The peak comes from GNU time
 * (wait4 of that one child): Bun's resourceUsage.maxRSS is the largest of all the children this
 * process ever had, which after the builds is a build's.
 */
function versionRun(bin: string): { ms: number; rss: number } {
	const start = performance.now();
	const r = spawnChecked(["/usr/bin/time", "-f", "%M", bin, "version"]);
	const ms = performance.now() - start;
	const kb = Number(r.stderr?.toString().trim().split("\n").at(-1));
	return { ms, rss: kb * 1024 };
}

/** The daemons this bench starts have 1 forward. */
const ONE_FORWARD = `${LAB_GLOBALS}\nconfig forward 'web'\n\toption src_dport '8080'\n\toption dest_ip '192.168.1.10'\n`;

/** `bin`'s daemon in the lab with 1 forward, started from an uncached file: `measure` of it. */
async function withDaemon<T>(lab: Lab, bin: string, measure: (pid: number) => Promise<T>): Promise<T> {
	dropFromPageCache(bin);
	// startDaemon runs dist/portrig after the prefix: the prefix runs `bin` in its place
	const d = await startDaemon(lab, ONE_FORWARD, {
		prefix: ["sh", "-c", 'bin=$0; shift; exec "$bin" "$@"', bin],
	});
	try {
		return await measure(d.pid);
	} finally {
		await d.stop();
	}
}

async function variantsSection(dir: string): Promise<string> {
	const hello = join(dir, "hello.ts");
	writeFileSync(hello, 'console.log("portrig 0.1.0");\n');
	const all = [...VARIANTS, { name: "Bun alone (a one-line program)", flags: MAKEFILE_FLAGS, entry: hello }];
	const bins = all.map((v, i) => {
		progress(`size: building ${v.name}`);
		return compile(dir, `v${i}`, v.flags, v.entry);
	});
	// Just written: as a router's would be, their pages come in by the runs' own faults.
	for (const bin of bins) dropFromPageCache(bin);
	const runs = bins.map(() => [] as { ms: number; rss: number }[]);
	for (let round = 0; round < ROUNDS; round++)
		bins.forEach((bin, i) => {
			runs[i]?.push(versionRun(bin));
		});
	const daemon: number[] = [];
	const lab = await Lab.up();
	try {
		for (const [i, bin] of bins.slice(0, VARIANTS.length).entries()) {
			progress(`size: daemon of ${all[i]?.name}`);
			// Its RSS once `status` answers (startDaemon waits for that).
			daemon.push(await withDaemon(lab, bin, async (pid) => memoryMB(pid, "VmRSS")));
		}
	} finally {
		await lab.down();
	}
	const base = median(runs[0]?.map((r) => r.ms) ?? []);
	const rows = all.map((v, i) => {
		const file = statSync(bins[i] as string).size;
		const s = sections(bins[i] as string);
		const t = median(runs[i]?.map((r) => r.ms) ?? []);
		const rss = median(runs[i]?.map((r) => r.rss) ?? []);
		const d = daemon[i] === undefined ? "–" : daemon[i].toFixed(1);
		return `| ${v.name} | ${MB(file)} | ${MB(s[".text"] ?? 0)} | ${MB(s[".rodata"] ?? 0)} | ${((s[".bun"] ?? 0) / 1e3).toFixed(0)} | ${ms(t)} | ${(t / base).toFixed(2)} | ${MB(rss)} | ${d} |`;
	});
	return [
		"## Binary size: Bun build variants",
		"",
		`glibc x64 builds (the musl builds cannot run here). \`portrig version\`: median of ${ROUNDS} rounds`,
		"that alternate the variants, wall time to exit; daemon: RSS once `status` answers, 1 forward, in the lab.",
		"",
		"| build | file MB | .text MB | .rodata MB | .bun kB | `version` ms | ratio | `version` peak RSS MB | daemon RSS MB |",
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
		...rows,
		"",
	].join("\n");
}

async function compressionSection(dir: string): Promise<string> {
	progress("size: building the aarch64 musl binary");
	const bin = compile(dir, "arm64-musl", MAKEFILE_FLAGS, ENTRY, "bun-linux-arm64-musl");
	const size = statSync(bin).size;
	const shm = mkdtempSync(join("/dev/shm", "portrig-size-"));
	const rows: string[] = [];
	try {
		for (const p of PACKERS) {
			progress(`size: ${p.name}`);
			const packed = join(dir, `packed-${p.name.split(" ")[0]}`);
			spawnChecked([...p.pack, bin], Bun.file(packed));
			const times: number[] = [];
			for (let i = 0; i < UNPACK_SAMPLES; i++) {
				const start = performance.now();
				spawnChecked([...p.unpack, packed], Bun.file(join(shm, "portrig")));
				times.push(performance.now() - start);
			}
			if (statSync(join(shm, "portrig")).size !== size) throw new Error(`${p.name}: unpacked size differs`);
			const stored = statSync(packed).size;
			rows.push(
				`| ${p.name} | ${MB(stored)} | ${(stored / size).toFixed(2)} | ${ms(median(times))} | ${MB(size)} |`,
			);
		}
	} finally {
		rmSync(shm, { recursive: true, force: true });
	}
	return [
		"## Compressed on flash, unpacked to tmpfs at start (aarch64 musl binary)",
		"",
		`Unpack: median of ${UNPACK_SAMPLES} to /dev/shm on this machine's CPU (a router core is several times slower).`,
		"RAM: the unpacked copy lives in tmpfs, so every byte of it stays in RAM while the daemon runs.",
		"",
		"| stored as | MB on flash | ratio | unpack ms | RAM held in tmpfs MB |",
		"| --- | ---: | ---: | ---: | ---: |",
		`| plain file | ${MB(size)} | 1.00 | 0 | 0 |`,
		...rows,
		"",
	].join("\n");
}

type Resident = { total: number; file: number; anon: number };

/** Its memory once `settled` (idleMB, or daemonIdleMB for the daemon) says it has settled. */
const residentOf =
	(settled: (pid: number) => Promise<number>) =>
	async (pid: number): Promise<Resident> => ({
		total: await settled(pid),
		file: memoryMB(pid, "RssFile"),
		anon: memoryMB(pid, "RssAnon"),
	});

/** `bin ARGS…` started from an uncached file, once it says "ready" and its memory has settled. */
async function programResident(bin: string, args: string[]): Promise<Resident> {
	dropFromPageCache(bin);
	const proc = Bun.spawn([bin, ...args], { stdout: "pipe", stderr: "inherit" });
	try {
		const line = await new LineReader(proc.stdout).next(30_000);
		if (line !== "ready") throw new Error(`${bin} did not start (said ${JSON.stringify(line)})`);
		return await residentOf(idleMB)(proc.pid);
	} finally {
		proc.kill();
		await proc.exited;
	}
}

/** The daemon with 1 forward in the lab, idle. */
async function daemonResident(): Promise<Resident> {
	const lab = await Lab.up();
	try {
		return await withDaemon(lab, PORTRIG, residentOf(daemonIdleMB));
	} finally {
		await lab.down();
	}
}

/** The daemon's idle memory beside what the runtime takes with none of portrig's code. */
async function floorSection(dir: string): Promise<string> {
	const idle = join(dir, "idle.ts");
	writeFileSync(idle, 'console.log("ready");\nsetInterval(() => {}, 1 << 30);\n');
	progress("size: the runtime's floor");
	const rows: [string, Resident][] = [
		["a one-line program that idles", await programResident(compile(dir, "idle", MAKEFILE_FLAGS, idle), [])],
		[
			"the runtime parts the daemon uses, none of portrig (bench/runtime-parts-agent.ts)",
			await programResident(
				compile(dir, "parts", MAKEFILE_FLAGS, join(import.meta.dir, "runtime-parts-agent.ts")),
				[dir],
			),
		],
		["`portrig daemon`, 1 forward, in the lab", await daemonResident()],
	];
	const daemon = rows[2]?.[1].total ?? Number.NaN;
	return [
		"## Idle memory: the daemon and the runtime's floor",
		"",
		"glibc x64, each built with the Makefile's flags in this run and started from an uncached file;",
		"resident memory once it has settled, the daemon once it has released its compiled code (RssFile:",
		"pages of the executable and libraries).",
		"",
		"| program | resident MB | of it file-backed MB | anonymous MB | share of the daemon's |",
		"| --- | ---: | ---: | ---: | ---: |",
		...rows.map(
			([name, r]) =>
				`| ${name} | ${r.total.toFixed(1)} | ${r.file.toFixed(1)} | ${r.anon.toFixed(1)} | ${(r.total / daemon).toFixed(2)} |`,
		),
		"",
	].join("\n");
}

export const sizeBench: Bench = {
	name: "size",
	run: async () => {
		const dir = mkdtempSync(join(tmpdir(), "portrig-size-"));
		try {
			return [await variantsSection(dir), await floorSection(dir), await compressionSection(dir)].join("\n");
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	},
};
