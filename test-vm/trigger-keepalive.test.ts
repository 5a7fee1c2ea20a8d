// Trigger openings stay open while their connections carry traffic that portrig's packet-path
// rules do not see — as with fw4's flow offloading, whose offloaded packets skip the forward
// hook — and close on time once idle. The test needs no flowtable (many kernels have none): it
// empties the trigger's packet-path chain instead, so only the daemon's conntrack keep-alive
// can re-arm the opening. Real connections in the lab; the router counts bytes per connection
// (nf_conntrack_acct, which OpenWrt's sysctl-nf-conntrack.conf turns on).
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { LAB_GLOBALS, type RunningDaemon, startDaemon } from "./lib/daemon";
import { ADDR, Lab } from "./lib/lab";
import { waitFor } from "./lib/wait";

setDefaultTimeout(90_000);

const ROUTER = ADDR.router.v4;
const TIMEOUT_S = 6;
const CONFIG = `${LAB_GLOBALS}
config trigger 'k'
	option name 'k'
	option trigger_port '7003'
	list open_port '7103'
	option timeout '${TIMEOUT_S}'
`;

let lab: Lab;

beforeAll(async () => {
	lab = await Lab.up();
	await lab.exec("router", ["sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1"]);
	await Promise.all([lab.serve("wan1", "tcp", [7003]), lab.serve("lan1", "tcp", [7103])]);
});

afterAll(async () => {
	await lab?.down();
});

type Opening = { host: string; since: number };
const openings = async (d: RunningDaemon) =>
	((await d.call("openings")).reply as { openings: Opening[] }).openings;
const keepalive = async (d: RunningDaemon) =>
	(
		(await d.call("status")).reply as {
			trigger_stats: { keepalive: { refreshed: number; interval: number } };
		}
	).trigger_stats.keepalive;

/** The busy connection: one the opening let in (WAN → LAN host), or the trigger connection itself. */
const BUSY = {
	"a connection it let in": () => lab.hold("wan1", ROUTER, 7103),
	"its trigger connection": () => lab.hold("lan1", ADDR.wan1.v4, 7003),
} as const;

for (const [what, connect] of Object.entries(BUSY))
	test(`an opening stays open while ${what} is busy unseen by the packet-path rules, and closes once idle`, async () => {
		const d = await startDaemon(lab, CONFIG);
		try {
			expect((await lab.probe("lan1", "tcp", ADDR.wan1.v4, 7003))?.node).toBe("wan1");
			const held = await connect();
			expect(held.first?.node).toMatch(/^(lan1|wan1)$/);
			// From here on no packet restarts the opening's timer from the packet path.
			await lab.exec("router", ["nft", "flush", "chain", "inet", "portrig", "trigger_k_4"]);
			const [opened] = await openings(d);
			expect(opened?.host).toBe(ADDR.lan1.v4);
			const since = opened?.since ?? -1;

			// Busy (a round trip per poll over the held connection) until the keep-alive re-armed
			// the opening 4 times: with a look every timeout/3, that outlives the timeout.
			let trips = 0;
			await waitFor(
				"the keep-alive to re-arm the busy opening 4 times",
				async () => {
					expect(await held.roundTrip(`trip ${trips}`)).toBe(`trip ${trips}`);
					trips++;
					return (await keepalive(d)).refreshed >= 4;
				},
				20 * TIMEOUT_S * 1000,
				100,
			);
			expect(Date.now() / 1000 - since).toBeGreaterThan(TIMEOUT_S);
			// The same opening (same start), still open; new connections still reach the LAN host.
			expect((await openings(d)).map((o) => [o.host, o.since])).toEqual([[ADDR.lan1.v4, since]]);
			expect((await lab.probe("wan2", "tcp", ROUTER, 7103, 1000))?.node).toBe("lan1");
			expect((await keepalive(d)).interval).toBe(TIMEOUT_S / 3);

			// Idle (the connection stays open but carries nothing): the opening closes on its own.
			await waitFor(
				"the idle opening to close",
				async () => (await openings(d)).length === 0,
				6 * TIMEOUT_S * 1000,
				200,
			);
			expect(await lab.probe("wan2", "tcp", ROUTER, 7103, 1000)).toBeNull();
			await held.close();
		} finally {
			await d.stop();
		}
	});
