// The smoke suite, run from the host against a guest router: real connections from the WAN and
// LAN namespaces through the guest's kernel. The same checks run on the stand-in and on an
// OpenWrt image; the offloading variant runs them with fw4's flow offloading ruleset.
import { ADDR, type Answer, type Lab } from "../lib/lab";
import { waitFor } from "../lib/wait";
import { type GuestRouter, untilSucceeds } from "./guest";
import { GUEST } from "./network";

/** Idle seconds of the smoke trigger's openings: short, so the close is seen within the run. */
export const TRIGGER_TIMEOUT = 15;
const PORTS = {
	forward: 8080,
	lanService: 80,
	trigger: 5555,
	opened: 7777,
	unclaimed: 4444,
	routerService: 4445,
} as const;
/** The guest may be slow under TCG: probes wait longer than the lab's. */
const PROBE_MS = 5000;

export function smokeConfig(globals: string): string {
	return `${globals}
config forward 'web'
	option name 'web'
	option proto 'tcp udp'
	option src_dport '${PORTS.forward}'
	option dest_ip '${ADDR.lan1.v4}'
	option dest_port '${PORTS.lanService}'

config trigger 'game'
	option name 'game'
	option proto 'tcp'
	option trigger_port '${PORTS.trigger}'
	option open_proto 'tcp'
	list open_port '${PORTS.opened}'
	option timeout '${TRIGGER_TIMEOUT}'

config dmz 'dmz'
	option enabled '1'
	option dest_ip '${ADDR.lan1.v4}'
	list exclude_port 'tcp ${PORTS.opened}'
`;
}

export type Check = { name: string; run: () => Promise<void> };

class CheckFailed extends Error {}

function expectAnswer(answer: Answer | null, node: string, port: number, what: string): void {
	if (!answer) throw new CheckFailed(`${what}: nothing answered`);
	if (answer.node !== node || answer.port !== port || answer.from !== ADDR.wan1.v4)
		throw new CheckFailed(
			`${what}: expected ${node} port ${port} from ${ADDR.wan1.v4}, got ${JSON.stringify(answer)}`,
		);
}

function expectNoAnswer(answer: Answer | null, what: string): void {
	if (answer) throw new CheckFailed(`${what}: expected no answer, got ${JSON.stringify(answer)}`);
}

async function openings(guest: GuestRouter): Promise<{ trigger: string; host: string }[]> {
	const reply = (await guest.call("openings")) as { openings?: { trigger: string; host: string }[] };
	return reply.openings ?? [];
}

async function refusals(guest: GuestRouter): Promise<number> {
	const status = (await guest.call("status")) as { trigger_stats?: { refused?: number } };
	return status.trigger_stats?.refused ?? 0;
}

/** The smoke suite's servers: the LAN hosts' services and the WAN peer of the trigger. */
export async function startServers(lab: Lab): Promise<void> {
	// lan1 serves the router's service port too: the DMZ handing it over would answer from lan1.
	await lab.serve("lan1", "tcp", [PORTS.lanService, PORTS.opened, PORTS.unclaimed, PORTS.routerService]);
	// lan2 serves the opened port too: an opening it took would answer from lan2.
	await lab.serve("lan2", "tcp", [PORTS.opened]);
	await lab.serve("lan1", "udp", [PORTS.lanService]);
	await lab.serve("wan1", "tcp", [PORTS.trigger]);
}

/** `host` connects out to the trigger port; resolves once the guest lists its opening. */
async function trigger(lab: Lab, guest: GuestRouter, host: "lan1" | "lan2" = "lan1"): Promise<void> {
	const peer = await lab.probe(host, "tcp", ADDR.wan1.v4, PORTS.trigger, PROBE_MS);
	if (peer?.node !== "wan1") throw new CheckFailed(`${host} could not reach the trigger port on wan1`);
	await waitFor(
		`${host}'s opening to be listed`,
		async () => (await openings(guest)).some((o) => o.trigger === "game" && o.host === ADDR[host].v4),
		30_000,
		500,
	);
}

const forwardChecks = (lab: Lab): Check[] => [
	{
		name: "a forward carries a TCP connection from WAN to the LAN host",
		run: async () =>
			expectAnswer(
				await lab.probe("wan1", "tcp", GUEST.wan, PORTS.forward, PROBE_MS),
				"lan1",
				PORTS.lanService,
				"tcp to the forward",
			),
	},
	{
		name: "a forward carries a UDP exchange from WAN to the LAN host",
		run: async () =>
			expectAnswer(
				await lab.probe("wan1", "udp", GUEST.wan, PORTS.forward, PROBE_MS),
				"lan1",
				PORTS.lanService,
				"udp to the forward",
			),
	},
];

const statusCheck = (guest: GuestRouter): Check => ({
	name: "portrig's status method answers",
	run: async () => {
		const status = await guest.call("status");
		if (typeof status !== "object" || status === null || Array.isArray(status))
			throw new CheckFailed(`status replied ${JSON.stringify(status)}`);
	},
});

const triggerOpensCheck = (lab: Lab, guest: GuestRouter): Check => ({
	name: "a trigger SYN opens the trigger's port to the LAN host that sent it",
	run: async () => {
		expectNoAnswer(
			await lab.probe("wan1", "tcp", GUEST.wan, PORTS.opened, PROBE_MS),
			"the trigger's port before the trigger",
		);
		await trigger(lab, guest);
		expectAnswer(
			await lab.probe("wan1", "tcp", GUEST.wan, PORTS.opened, PROBE_MS),
			"lan1",
			PORTS.opened,
			"the opened port",
		);
	},
});

const contentionCheck = (lab: Lab, guest: GuestRouter): Check => ({
	name: "a second LAN host's trigger SYN does not take the opening; the refusal is counted",
	run: async () => {
		const refusedBefore = await refusals(guest);
		const peer = await lab.probe("lan2", "tcp", ADDR.wan1.v4, PORTS.trigger, PROBE_MS);
		if (peer?.node !== "wan1") throw new CheckFailed(`lan2 could not reach the trigger port on wan1`);
		await waitFor(
			"the refusal to be counted",
			async () => (await refusals(guest)) > refusedBefore,
			30_000,
			500,
		);
		expectAnswer(
			await lab.probe("wan1", "tcp", GUEST.wan, PORTS.opened, PROBE_MS),
			"lan1",
			PORTS.opened,
			"the opened port after lan2's trigger",
		);
		const hosts = (await openings(guest)).map((o) => o.host);
		if (hosts.join() !== ADDR.lan1.v4) throw new CheckFailed(`openings held by ${hosts.join(", ")}`);
	},
});

/** A TCP port in LISTEN among the guest's sockets (/proc/net/tcp: hex port, state 0A). */
const listening = (port: number) =>
	`grep -qi ':${port.toString(16).padStart(4, "0")} [0-9A-F:]* 0A' /proc/net/tcp /proc/net/tcp6`;

const routerServiceCheck = (lab: Lab, guest: GuestRouter): Check => ({
	name: "the DMZ leaves a port the router serves to the router, and takes it once the service stops",
	run: async () => {
		const port = PORTS.routerService;
		// busybox nc as the router's service; its PID in a file, to end exactly it.
		await guest.serial.check(
			`busybox nc -ll -p ${port} -e /bin/cat </dev/null >/dev/null 2>&1 & echo $! >/tmp/service.pid`,
		);
		try {
			await untilSucceeds(guest.serial, listening(port), "the guest's service to listen", 30_000);
			// fw4 keeps the router's port closed from WAN: nobody answers, lan1 (the DMZ) must not.
			expectNoAnswer(await lab.probe("wan1", "tcp", GUEST.wan, port, PROBE_MS), "the router's own port");
		} finally {
			await guest.serial.run("kill $(cat /tmp/service.pid)");
		}
		await untilSucceeds(guest.serial, `! ${listening(port)}`, "the guest's service to stop", 30_000);
		expectAnswer(
			await lab.probe("wan1", "tcp", GUEST.wan, port, PROBE_MS),
			"lan1",
			port,
			"the port once the service stopped",
		);
	},
});

/** Checks on fw4's stock ruleset. */
export function smokeChecks(lab: Lab, guest: GuestRouter): Check[] {
	return [
		statusCheck(guest),
		...forwardChecks(lab),
		{
			name: "the DMZ catches a port no forward or trigger claims",
			run: async () =>
				expectAnswer(
					await lab.probe("wan1", "tcp", GUEST.wan, PORTS.unclaimed, PROBE_MS),
					"lan1",
					PORTS.unclaimed,
					"tcp to an unclaimed port",
				),
		},
		routerServiceCheck(lab, guest),
		triggerOpensCheck(lab, guest),
		contentionCheck(lab, guest),
		{
			name: `the opening closes once idle for its timeout (${TRIGGER_TIMEOUT} s)`,
			run: async () => {
				// Probing would restart the idle timer: watch the daemon's list, then probe once.
				await waitFor(
					"the opening to close",
					async () => (await openings(guest)).length === 0,
					(TRIGGER_TIMEOUT + 60) * 1000,
					1000,
				);
				expectNoAnswer(
					await lab.probe("wan1", "tcp", GUEST.wan, PORTS.opened, PROBE_MS),
					"the trigger's port after the close",
				);
			},
		},
		{
			name: "once closed, the opening goes to the next LAN host that triggers",
			run: async () => {
				await trigger(lab, guest, "lan2");
				expectAnswer(
					await lab.probe("wan1", "tcp", GUEST.wan, PORTS.opened, PROBE_MS),
					"lan2",
					PORTS.opened,
					"the opened port after lan2's trigger",
				);
			},
		},
	];
}

/** Whether conntrack in the guest shows an offloaded connection from wan1. */
async function offloaded(guest: GuestRouter): Promise<boolean> {
	const r = await guest.serial.run(`conntrack -L -s ${ADDR.wan1.v4} 2>/dev/null | grep -c OFFLOAD`);
	return r.code === 0;
}

/** Checks with fw4's flow offloading on (test-vm/fw4/offload.nft). */
export function offloadChecks(lab: Lab, guest: GuestRouter): Check[] {
	return [
		statusCheck(guest),
		...forwardChecks(lab),
		{
			name: "a forwarded TCP connection is offloaded to fw4's flowtable and keeps carrying data",
			run: async () => {
				const c = await lab.hold("wan1", GUEST.wan, PORTS.forward, PROBE_MS);
				try {
					for (let i = 0; i < 3; i++)
						if ((await c.roundTrip(`ping ${i}`, PROBE_MS)) !== `ping ${i}`)
							throw new CheckFailed(`round trip ${i} over the forward got no echo`);
					await waitFor("the connection to be offloaded", () => offloaded(guest), 20_000, 500);
					if ((await c.roundTrip("after offload", PROBE_MS)) !== "after offload")
						throw new CheckFailed("the offloaded connection carries no data");
				} finally {
					await c.close();
				}
			},
		},
		triggerOpensCheck(lab, guest),
	];
}

/**
 * Needs the daemon to refresh openings from conntrack (offloaded packets skip the rules that
 * restart the idle timer): kept out of the default run until then.
 */
export function offloadKeepAliveChecks(lab: Lab, guest: GuestRouter): Check[] {
	return [
		{
			name: "an opening stays open while an offloaded connection carries traffic past its timeout",
			run: async () => {
				if ((await openings(guest)).length === 0) await trigger(lab, guest);
				const c = await lab.hold("wan1", GUEST.wan, PORTS.opened, PROBE_MS);
				try {
					const until = Date.now() + (TRIGGER_TIMEOUT + 10) * 1000;
					for (let i = 0; Date.now() < until; i++) {
						if ((await c.roundTrip(`keep ${i}`, PROBE_MS)) !== `keep ${i}`)
							throw new CheckFailed(`round trip ${i} through the opening got no echo`);
						await Bun.sleep(1000); // the traffic itself: one line a second
					}
					if (!(await offloaded(guest))) throw new CheckFailed("the connection was not offloaded");
				} finally {
					await c.close();
				}
				expectAnswer(
					await lab.probe("wan1", "tcp", GUEST.wan, PORTS.opened, PROBE_MS),
					"lan1",
					PORTS.opened,
					"a new connection to the opening after the timeout",
				);
			},
		},
	];
}

/**
 * Runs checks in order, printing each result; resolves to the names of those that failed. After
 * a failure, `inspect` reads the guest's state at once and it is printed (openings expire within
 * seconds: what the kernel held when the check failed is gone by the end of the run).
 */
export async function runChecks(
	checks: Check[],
	say: (line: string) => void,
	inspect?: () => Promise<string | undefined>,
): Promise<string[]> {
	const failed: string[] = [];
	for (const check of checks) {
		try {
			await check.run();
			say(`  ok    ${check.name}`);
		} catch (e) {
			failed.push(check.name);
			say(`  FAIL  ${check.name}: ${e instanceof Error ? e.message : String(e)}`);
			const state = await inspect?.();
			if (state) say(`        the guest right after it:\n${state.replace(/^/gm, "        ")}`);
		}
	}
	return failed;
}
