// What a user meets on the pages: a login with only read access sees no control that changes
// anything; while the daemon is not running the entries of /etc/config/portrig are shown
// read-only with a button that starts the service; an IPv6 forward has no NAT loopback.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { daemonAnswer } from "./daemon";
import { installFormat } from "./luci-loader";
import { type Answers, buttons, type Element, JSONMap, loadPage } from "./page";

afterAll(installFormat());

/** The daemon's real `list` reply over the test config (daemon.ts), plus an IPv6 forward. */
async function listReply() {
	const { data } = await daemonAnswer("list", {});
	const forwards = data.forwards as Record<string, unknown>[];
	return {
		...data,
		forwards: [
			...forwards,
			{
				id: "camera",
				name: "Camera",
				enabled: "1",
				proto: "tcp",
				src_dport: "554",
				dest_ip: "2001:db8:1::30",
				src_ip: [],
				reflection: "1",
			},
		],
	};
}

/** rpcd's reply to `uci get {config: "portrig"}`, captured from the real rpcd (fixtures/README.md). */
const STORED = JSON.parse(
	readFileSync(join(import.meta.dir, "fixtures/rpcd-uci-get-portrig.json"), "utf8"),
).values;

/** LuCI's host hints (luci-rpc getHostHints): MAC → name and addresses. */
const HINTS = {
	"02:00:00:00:00:0a": { name: "nas", ipaddrs: ["192.168.1.10"], ip6addrs: ["2001:db8:1::10", "fe80::a"] },
	"02:00:00:00:00:0b": { name: "console", ipaddrs: ["192.168.1.11"] },
};

/** Answers of a running daemon. */
async function running(writable: boolean): Promise<Answers> {
	const list = await listReply();
	return {
		writable,
		declared: { "luci-rpc.getHostHints": () => Promise.resolve(HINTS) },
		portrig: (method) => {
			if (method === "list") return [0, list];
			if (method === "get_settings")
				return [
					0,
					{ enabled: true, wan_zone: ["wan"], lan_zone: ["lan"], trigger_timeout: 600, reflection: true },
				];
			if (method === "status") return [0, { version: "test", counters: { forwards: { web: 2 } } }];
			return [0, { openings: [] }];
		},
	};
}

/** Answers while no daemon is on ubus: rpcd still reads the file; `start` says what starting does. */
function down(writable: boolean, calls: unknown[][] = []): Answers {
	return {
		writable,
		portrig: () => "down",
		declared: {
			"uci.get": (...args) => {
				calls.push(["uci.get", ...args]);
				return Promise.resolve(STORED);
			},
			"luci.setInitAction": (...args) => {
				calls.push(["luci.setInitAction", ...args]);
				return Promise.resolve(true);
			},
		},
	};
}

/** The first table's rows, each cell as the text it shows (a cell of controls shows none). */
const rowsOf = (root: Element) =>
	(root.all().find((e) => e.tag === "table")?.rows ?? []).map((row) =>
		row.map((cell) => ((cell as Element).text ? (cell as Element).text() : String(cell))),
	);

describe("the Forwards page", () => {
	test("to a login with write access: Add, and Edit and Delete on every row, all enabled", async () => {
		const root = await loadPage("forwards", await running(true)).render();
		const labels = buttons(root).map((b) => `${b.label}${b.disabled ? " (disabled)" : ""}`);
		expect(labels).toEqual(["Edit", "Delete", "Edit", "Delete", "Add forward"]);
		expect(root.all().filter((e) => e.tag === "input" && e.attrs.disabled != null)).toEqual([]);
	});

	test("to a login with read access only: the entries, and no Add, Edit or Delete; the Enabled boxes cannot be changed", async () => {
		const root = await loadPage("forwards", await running(false)).render();
		expect(buttons(root)).toEqual([]);
		const rows = rowsOf(root);
		expect(rows.map((r) => r[0])).toEqual(["Web", "Camera"]);
		const toggles = root.all().filter((e) => e.tag === "input" && e.attrs.type === "checkbox");
		expect(toggles.length).toBe(2);
		for (const t of toggles) expect(t.attrs.disabled).toBe("");
	});

	test("an IPv6 forward shows no NAT loopback (it is IPv4 only), an IPv4 one shows its setting", async () => {
		const root = await loadPage("forwards", await running(true)).render();
		const loopback = rowsOf(root).map((r) => r[5]);
		expect(loopback).toEqual(["yes", "—"]);
	});

	test("while the daemon is not running: the file's entries read through rpcd, Add/Edit/Delete disabled, and a Start button that starts the service and shows the daemon's entries once it answers", async () => {
		const calls: unknown[][] = [];
		const answers = down(true, calls);
		const { render } = loadPage("forwards", answers);
		const root = await render();
		expect(calls).toContainEqual(["uci.get", "portrig"]);
		expect(rowsOf(root).map((r) => r[0])).toEqual(["Stored web", "Camera"]);
		expect(root.text()).toContain(
			"The portrig daemon is not running. Below are the entries of /etc/config/portrig",
		);
		const all = buttons(root);
		expect(all.map((b) => [b.label, b.disabled])).toEqual([
			["Start portrig", false],
			["Edit", true],
			["Delete", true],
			["Edit", true],
			["Delete", true],
			["Add forward", true],
		]);
		// the daemon comes up: every portrig call is answered from now on
		const up = await running(true);
		answers.portrig = up.portrig;
		await all.find((b) => b.label === "Start portrig")?.click();
		expect(calls).toContainEqual(["luci.setInitAction", "portrig", "start"]);
		expect(rowsOf(root).map((r) => r[0])).toEqual(["Web", "Camera"]);
		expect(root.text()).not.toContain("not running");
		expect(buttons(root).every((b) => !b.disabled)).toBe(true);
	});

	test("while the daemon is not running, to a login with read access only: the file's entries and no button at all", async () => {
		const root = await loadPage("forwards", down(false)).render();
		expect(rowsOf(root).map((r) => r[0])).toEqual(["Stored web", "Camera"]);
		expect(buttons(root)).toEqual([]);
	});
});

describe("the Triggers page", () => {
	test("while the daemon is not running: the file's triggers (their live openings unknown), the Start button, Add disabled", async () => {
		const root = await loadPage("triggers", down(true)).render();
		expect(rowsOf(root).map((r) => [r[0], r.at(-2)])).toEqual([["IRC DCC", "—"]]);
		expect(buttons(root).map((b) => [b.label, b.disabled])).toEqual([
			["Start portrig", false],
			["Edit", true],
			["Delete", true],
			["Add trigger", true],
		]);
	});

	test("says in one line what a trigger does", async () => {
		const root = await loadPage("triggers", await running(true)).render();
		const intro = root.all().find((e) => e.attrs.class === "cbi-map-descr");
		expect(intro?.children).toHaveLength(1);
		expect(typeof intro?.children[0]).toBe("string");
	});
});

/** The form map a page rendered (the page keeps it as this.map). */
async function mapOf(name: string, answers: Answers) {
	const loaded = loadPage(name, answers);
	const root = await loaded.render();
	return { ...loaded, root, map: loaded.page.map as unknown as JSONMap };
}

describe("the DMZ page", () => {
	test("is editable for a login with write access while the daemon runs", async () => {
		const { map } = await mapOf("dmz", await running(true));
		expect(map.readonly).toBe(false);
	});

	test("is read-only for a login with read access only, and Save sends nothing", async () => {
		const { map, page, posts } = await mapOf("dmz", await running(false));
		expect(map.readonly).toBe(true);
		const before = posts.length;
		await page.handleSave?.();
		expect(posts.length).toBe(before);
	});

	test("while the daemon is not running: the file's DMZ, read-only, and the Start button", async () => {
		const { map, root } = await mapOf("dmz", down(true));
		expect(map.readonly).toBe(true);
		expect(map.data.dmz).toEqual({ enabled: "1", dest_ip: "192.168.1.50", exclude_port: ["tcp 22"] });
		expect(buttons(root).map((b) => b.label)).toEqual(["Start portrig"]);
	});
});

describe("the Settings page", () => {
	test("shows get_settings with LuCI's zone and device pickers, and saves with set_settings in the API's types", async () => {
		const { map, page, posts } = await mapOf("settings", await running(true));
		expect(map.readonly).toBe(false);
		expect(map.options.map((o) => [o.name, o.widget])).toEqual([
			["enabled", "Flag"],
			["wan_zone", "ZoneSelect"],
			["lan_zone", "ZoneSelect"],
			["wan_device", "DeviceSelect"],
			["lan_device", "DeviceSelect"],
			["trigger_timeout", "Value"],
			["reflection", "Flag"],
		]);
		expect(map.data.globals).toEqual({
			enabled: "1",
			wan_zone: ["wan"],
			lan_zone: ["lan"],
			trigger_timeout: "600",
			reflection: "1",
		});
		await page.handleSave?.();
		const sent = posts.at(-1)?.body.params;
		expect(sent?.[2]).toBe("set_settings");
		expect(sent?.[3]).toEqual({
			enabled: true,
			wan_zone: ["wan"],
			lan_zone: ["lan"],
			wan_device: null,
			lan_device: null,
			trigger_timeout: 600,
			reflection: true,
		});
	});

	test("is read-only for a login with read access only", async () => {
		const { map } = await mapOf("settings", await running(false));
		expect(map.readonly).toBe(true);
	});

	test("while the daemon is not running: the file's globals, read-only, and the Start button", async () => {
		const { map, root } = await mapOf("settings", down(true));
		expect(map.readonly).toBe(true);
		expect(map.data.globals).toEqual({ enabled: "1", trigger_timeout: "300" });
		expect(buttons(root).map((b) => b.label)).toEqual(["Start portrig"]);
	});
});

describe("the Status page", () => {
	/** A running daemon with one live opening. */
	async function withOpening(writable: boolean): Promise<Answers> {
		const answers = await running(writable);
		const base = answers.portrig;
		const opening = {
			trigger: "irc",
			name: "IRC DCC",
			host: "192.168.1.10",
			proto: "tcp",
			ports: ["59000-59010"],
			expires: 412,
			since: 0,
		};
		answers.portrig = (method, args) =>
			method === "openings" ? [0, { openings: [opening] }] : base(method, args);
		return answers;
	}

	test("a live opening has a Close button for a login that may write, none (and no column for it) for a read-only login", async () => {
		const writable = await loadPage("status", await withOpening(true)).render();
		expect(buttons(writable).map((b) => b.label)).toEqual(["Close"]);
		const readOnly = await loadPage("status", await withOpening(false)).render();
		expect(buttons(readOnly)).toEqual([]);
		const openings = readOnly.all().filter((e) => e.tag === "table")[1];
		const captions = openings?.children[0] as Element;
		expect(captions.children).toHaveLength(5);
		expect(openings?.rows[0]).toHaveLength(5);
	});

	test("while the daemon is not running: says so, with the Start button for a login that may", async () => {
		const root = await loadPage("status", down(true)).render();
		expect(root.text()).toContain("The portrig daemon is not running.");
		expect(buttons(root).map((b) => b.label)).toEqual(["Start portrig"]);
		const readOnly = await loadPage("status", down(false)).render();
		expect(buttons(readOnly)).toEqual([]);
	});
});

describe("the LAN host pickers offer LuCI's known hosts, and free entry stays possible", () => {
	/** The choices of option `name` in the form a page opened last. */
	const choicesOf = (name: string) =>
		((JSONMap.last?.options.find((o) => o.name === name)?.choices ?? []) as [string, Element][]).map(
			([key, label]) => [key, label.text()],
		);

	test("a forward's LAN host: the hosts' IPv4 and global IPv6 addresses, in a Value (a combobox that takes any text)", async () => {
		const { page, render } = loadPage("forwards", await running(true));
		await render();
		await page.handleEdit?.(null);
		expect(JSONMap.last?.options.find((o) => o.name === "dest_ip")?.widget).toBe("Value");
		expect(choicesOf("dest_ip")).toEqual([
			["192.168.1.10", "192.168.1.10 (nas)"],
			["192.168.1.11", "192.168.1.11 (console)"],
			["2001:db8:1::10", "2001:db8:1::10 (nas)"],
		]);
	});

	test("a trigger's LAN hosts: the same hosts, in a DynamicList", async () => {
		const { page, render } = loadPage("triggers", await running(true));
		await render();
		await page.handleEdit?.(null);
		expect(JSONMap.last?.options.find((o) => o.name === "src_ip")?.widget).toBe("DynamicList");
		expect(choicesOf("src_ip").map(([key]) => key)).toEqual([
			"192.168.1.10",
			"192.168.1.11",
			"2001:db8:1::10",
		]);
	});

	test("the DMZ host: IPv4 addresses only (the DMZ is NAT)", async () => {
		await loadPage("dmz", await running(true)).render();
		expect(choicesOf("dest_ip").map(([key]) => key)).toEqual(["192.168.1.10", "192.168.1.11"]);
	});
});
