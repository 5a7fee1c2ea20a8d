// menu.d and acl.d have the shapes LuCI's dispatcher and rpcd read, and point at each other.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ACL_FILE, Acl, MENU_FILE, Menu } from "./json-shapes";

const menu = Menu.parse(JSON.parse(readFileSync(MENU_FILE, "utf8")));
const acl = Acl.parse(JSON.parse(readFileSync(ACL_FILE, "utf8")));

describe("menu.d", () => {
	const ROOT = "admin/network/portrig";

	test("has one entry under Network, titled Port Triggering & Forwarding, opening its first tab", () => {
		const top = Object.keys(menu).filter((path) => !path.startsWith(`${ROOT}/`));
		expect(top).toEqual([ROOT]);
		expect(menu[ROOT]?.title).toBe("Port Triggering & Forwarding");
		expect(menu[ROOT]?.action).toEqual({ type: "alias", path: `${ROOT}/forwards` });
	});

	test("has the tabs Forwards, Triggers, DMZ, Settings and Status, in that order, each a view", () => {
		const tabs = Object.entries(menu)
			.filter(([path]) => path.startsWith(`${ROOT}/`))
			.sort(([, a], [, b]) => (a.order ?? 0) - (b.order ?? 0));
		expect(tabs.map(([, node]) => node.title)).toEqual(["Forwards", "Triggers", "DMZ", "Settings", "Status"]);
		for (const [path, node] of tabs) {
			expect(path.split("/").length).toBe(4);
			expect(node.action.type).toBe("view");
		}
	});

	test("shows the entry only to users the app's ACL group admits", () => {
		expect(menu[ROOT]?.depends?.acl).toEqual(Object.keys(acl));
	});

	test("the alias points at a page the menu defines", () => {
		const action = menu[ROOT]?.action;
		expect(action?.type === "alias" && action.path in menu).toBe(true);
	});
});

describe("acl.d", () => {
	test("defines exactly the group luci-app-portrig, with a read and a write part", () => {
		expect(Object.keys(acl)).toEqual(["luci-app-portrig"]);
		expect(acl["luci-app-portrig"]?.read).toBeDefined();
		expect(acl["luci-app-portrig"]?.write).toBeDefined();
	});

	test("never grants a method both for reading and for writing", () => {
		const group = acl["luci-app-portrig"];
		const read = new Set(group?.read?.ubus?.portrig ?? []);
		expect((group?.write?.ubus?.portrig ?? []).filter((m) => read.has(m))).toEqual([]);
	});
});

describe("the shape checks themselves", () => {
	test("refuse a menu node whose order is a string (LuCI would silently drop it)", () => {
		expect(
			Menu.safeParse({ "admin/x": { title: "X", order: "10", action: { type: "view", path: "x/y" } } })
				.success,
		).toBe(false);
	});

	test("refuse an unknown action type and an ACL with a misspelt part", () => {
		expect(Menu.safeParse({ "admin/x": { title: "X", action: { type: "page", path: "x" } } }).success).toBe(
			false,
		);
		expect(Acl.safeParse({ g: { description: "d", reads: { ubus: { portrig: ["status"] } } } }).success).toBe(
			false,
		);
	});
});
