// The DMZ host through the lab router with firewall4's stock ruleset: last resort for new WAN
// connections, never for a port the router serves, an excluded port, or one a forward claims.
// The router's sockets are looked up by the kernel per connection: nothing polls, nothing waits.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DataPlane } from "../controller/src/ruleset/dataplane";
import { configFromSections } from "../controller/src/ruleset/golden/scenario";
import { ADDR, Lab, type Proto } from "./lib/lab";

const ROUTER = ADDR.router.v4;
const PROTOS: Proto[] = ["tcp", "udp"];

const config = configFromSections({
	forwards: [{ id: "web", src_dport: "8080", dest_ip: ADDR.lan1.v4, dest_port: "80" }],
	dmz: { enabled: "1", dest_ip: ADDR.lan2.v4, exclude_port: ["2323", "tcp 5000-5001"] },
});

let lab: Lab;
let dp: DataPlane;

beforeAll(async () => {
	lab = await Lab.up();
	for (const proto of PROTOS) {
		await lab.serve("lan1", proto, [80]);
		await lab.serve("lan2", proto, [80, 4444, 4445, 8080, 2323, 5000, 5001, 8022]);
		// The router's own service, on the WAN-reachable wildcard address.
		await lab.serve("router", proto, [8022]);
	}
	dp = new DataPlane({ prefix: lab.nsExec("router") });
	await dp.apply(config, { wanDevices: ["eth1"], lanDevices: ["br-lan"] });
});

afterAll(async () => {
	await lab?.down();
});

for (const proto of PROTOS) {
	describe(`${proto} DMZ`, () => {
		test("catches a new WAN connection to a port nobody claimed", async () => {
			expect(await lab.probe("wan1", proto, ROUTER, 4444)).toEqual({
				node: "lan2",
				proto,
				port: 4444,
				from: ADDR.wan1.v4,
			});
		});

		test("a forward beats the DMZ on its port", async () => {
			expect(await lab.probe("wan2", proto, ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
		});

		test("does not take a port the router itself serves", async () => {
			// fw4 keeps the router's port closed from WAN; the DMZ host must not answer either.
			expect(await lab.probe("wan1", proto, ROUTER, 8022)).toBeNull();
		});

		test("does not take an excluded port", async () => {
			expect(await lab.probe("wan1", proto, ROUTER, 2323)).toBeNull();
		});

		test("an exclusion for one protocol leaves the other to the DMZ", async () => {
			const expected = proto === "tcp" ? null : { node: "lan2", port: 5000 };
			const answer = await lab.probe("wan1", proto, ROUTER, 5000);
			if (expected) expect(answer).toMatchObject(expected);
			else expect(answer).toBeNull();
		});

		test("does not take LAN clients' connections to the router", async () => {
			expect(await lab.probe("lan1", proto, ROUTER, 4444)).toBeNull();
		});
	});
}

describe("the router's own services, as the kernel finds their sockets", () => {
	for (const proto of PROTOS)
		test(`a ${proto} service the router starts after the apply is never handed to the DMZ host, and its port returns when it stops`, async () => {
			expect(await lab.probe("wan1", proto, ROUTER, 4444)).toMatchObject({ node: "lan2" });
			const service = await lab.serve("router", proto, [4444]);
			expect(await lab.probe("wan1", proto, ROUTER, 4444)).toBeNull();
			await service.stop();
			expect(await lab.probe("wan1", proto, ROUTER, 4444)).toMatchObject({ node: "lan2", port: 4444 });
		});

	test("a service bound to a LAN address only is not the router's on WAN: its port goes to the DMZ host", async () => {
		const service = await lab.serve("router", "tcp", [4445], ADDR.router.lan4);
		expect(await lab.probe("lan1", "tcp", ADDR.router.lan4, 4445)).toMatchObject({ node: "router" });
		expect(await lab.probe("wan1", "tcp", ROUTER, 4445)).toMatchObject({ node: "lan2", port: 4445 });
		await service.stop();
	});
});
