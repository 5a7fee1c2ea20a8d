// The views as LuCI loads them: every file parses, names only modules that exist, yields a class;
// every ubus call goes through portrig.api, whose table names only methods of the daemon's API
// table, with argument names they take, granted by the app's rpcd ACL at the level the API asks.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { METHODS, methodSignatures } from "../../controller/src/api/methods";
import { DmzSection, ForwardSection, TriggerSection } from "../../controller/src/config/schema";
import { parseSource } from "../tools/extract-pot";
import { httpAnswer, loadApi, loadCommon, luciStandIns, type Post, SESSION, untranslated } from "./app";
import { ACL_FILE, Acl } from "./json-shapes";
import {
	appModuleFile,
	installFormat,
	LUCI_BUILTIN_MODULES,
	LUCI_FILE_MODULES,
	loadModule,
	RESOURCES,
	requiresOf,
} from "./luci-loader";

const VIEWS = ["forwards", "triggers", "dmz", "settings", "status"];
const APP_MODULES = [...new Bun.Glob("**/*.js").scanSync(RESOURCES)].map((f) =>
	f.replace(/\.js$/, "").replace(/\//g, "."),
);
/** The one module that talks to ubus. */
const API_MODULE = "portrig.api";
/** What portrig.api declares with rpc.declare: LuCI's host hints, the file through rpcd, starting the service. */
const DECLARED = ["luci-rpc.getHostHints", "uci.get", "luci.setInitAction"];

/** Loads a view with stand-ins for LuCI's modules; records what is declared with rpc.declare. */
function loadView(name: string) {
	const luci = luciStandIns();
	const view = luci.baseclass.extend({});
	const instance = loadModule(`view.portrig.${name}`, {
		luci: {
			baseclass: luci.baseclass,
			view,
			rpc: luci.rpc,
			request: luci.request,
			dom: {},
			form: {},
			ui: {},
			poll: {},
			"tools.widgets": {},
		},
		globals: { _: untranslated, L: luci.L },
		baseclass: luci.baseclass,
	});
	return {
		instance: instance as Record<string, unknown>,
		isView: instance instanceof view,
		declared: luci.declared,
	};
}

const acl = Acl.parse(JSON.parse(readFileSync(ACL_FILE, "utf8")))["luci-app-portrig"];
const signatures = methodSignatures() as Record<string, Record<string, string>>;
const apiStandIns = luciStandIns();
const api = loadApi(apiStandIns);
const CALLS = api.CALLS;
const levelOf = (method: string) => METHODS[method as keyof typeof METHODS].access;

describe("every JavaScript file of the app", () => {
	test.each(APP_MODULES)("%s parses as the body of a LuCI class factory", (name) => {
		const source = readFileSync(appModuleFile(name), "utf8");
		expect(() => new Function("window", "document", "L", source)).not.toThrow();
	});

	test.each(APP_MODULES)("%s requires only modules LuCI or this app provide", (name) => {
		const known = new Set([...LUCI_BUILTIN_MODULES, ...LUCI_FILE_MODULES, ...APP_MODULES]);
		const requires = requiresOf(readFileSync(appModuleFile(name), "utf8"));
		expect(requires.length).toBeGreaterThan(0);
		expect(requires.map((r) => r.module).filter((m) => !known.has(m))).toEqual([]);
	});

	test.each(APP_MODULES.filter((m) => m !== API_MODULE))(
		"%s leaves ubus to portrig.api: it requires neither rpc nor request",
		(name) => {
			const requires = requiresOf(readFileSync(appModuleFile(name), "utf8")).map((r) => r.module);
			expect(requires.filter((m) => m === "rpc" || m === "request")).toEqual([]);
		},
	);

	test.each(APP_MODULES.filter((m) => m !== API_MODULE))(
		"%s names only portrig methods that are calls of portrig.api",
		(name) => {
			const source = parseSource(appModuleFile(name));
			const named: string[] = [];
			const visit = (node: ts.Node) => {
				if (ts.isStringLiteral(node) && Object.hasOwn(METHODS, node.text)) named.push(node.text);
				ts.forEachChild(node, visit);
			};
			visit(source);
			expect(named.filter((m) => !Object.hasOwn(CALLS, m))).toEqual([]);
		},
	);
});

/**
 * What LuCI's tools.widgets ZoneSelect and DeviceSelect read on load: firewall.js loads the
 * `firewall` config; network.js (getNetworks, getDevices) calls network.interface dump,
 * network get_proto_handlers and luci-rpc getBoardJSON, getNetworkDevices,
 * getWirelessDevices (and getHostHints), and loads the `network`, `wireless` and `luci` configs
 * through rpcd's uci get. The ACL grants these for reading so that a login holding only
 * luci-app-portrig can use the Settings tab.
 */
const PICKERS = {
	ubus: {
		"luci-rpc": ["getNetworkDevices", "getWirelessDevices", "getBoardJSON"],
		"network.interface": ["dump"],
		network: ["get_proto_handlers"],
	},
	uci: ["firewall", "network", "wireless", "luci"],
};

describe("portrig.api's table of calls", () => {
	test("holds only methods of the daemon's API table, each with argument names the method takes", () => {
		expect(Object.keys(CALLS).length).toBeGreaterThan(0);
		for (const [method, params] of Object.entries(CALLS)) {
			expect(Object.keys(METHODS)).toContain(method);
			const accepted = Object.keys(signatures[method] ?? {});
			expect({ method, unknown: params.filter((p) => !accepted.includes(p)) }).toEqual({
				method,
				unknown: [],
			});
		}
	});

	test("holds only methods the ACL grants at the level the API gives them", () => {
		for (const method of Object.keys(CALLS))
			expect({ method, granted: acl?.[levelOf(method)]?.ubus?.portrig ?? [] }).toEqual({
				method,
				granted: expect.arrayContaining([method]),
			});
	});

	test("declares nothing else with rpc.declare but host hints and reading the file (granted for reading) and starting the service (for writing)", () => {
		expect(apiStandIns.declared.map((d) => `${d.object}.${d.method}`)).toEqual(DECLARED);
		expect(acl?.read?.ubus?.["luci-rpc"]).toEqual(["getHostHints", ...PICKERS.ubus["luci-rpc"]]);
		expect(acl?.read?.ubus?.uci).toEqual(["get"]);
		expect(acl?.write?.ubus?.luci).toEqual(["setInitAction"]);
	});

	test.each([
		["add_forward", ForwardSection.shape, []],
		["update_forward", ForwardSection.shape, ["id"]],
		["add_trigger", TriggerSection.shape, []],
		["update_trigger", TriggerSection.shape, ["id"]],
		["set_dmz", DmzSection.shape, []],
	] as const)("%s sends every option of its section", (method, shape, extra) => {
		expect([...(CALLS[method] ?? [])].sort()).toEqual([...Object.keys(shape), ...extra].sort());
	});
});

describe.each(VIEWS)("view %s", (name) => {
	const { instance, isView, declared } = loadView(name);

	test("loads as a LuCI view with load() and render()", () => {
		expect(isView).toBe(true);
		expect(typeof instance.load).toBe("function");
		expect(typeof instance.render).toBe("function");
	});

	test("declares nothing with rpc.declare beyond portrig.api's", () => {
		expect(declared.map((d) => `${d.object}.${d.method}`)).toEqual(DECLARED);
	});
});

describe.each(["forwards", "triggers"])("the %s page's kind", (name) => {
	const { instance } = loadView(name);
	const kind = instance.kind as { add: string; update: string; remove: string; fields: string[] };
	const extra = instance.extra as string;

	test("saves through calls of portrig.api that change the config", () => {
		for (const method of [kind.add, kind.update, kind.remove]) {
			expect(Object.keys(CALLS)).toContain(method);
			expect(levelOf(method)).toBe("write");
		}
		expect(CALLS[kind.add]).toEqual(kind.fields);
	});

	test("reads beside its entries through a call of portrig.api that only reads", () => {
		expect(Object.keys(CALLS)).toContain(extra);
		expect(levelOf(extra)).toBe("read");
	});
});

describe("the ACL file", () => {
	const byAccess = (access: "read" | "write") =>
		Object.entries(METHODS)
			.filter(([, m]) => m.access === access)
			.map(([name]) => name)
			.sort();

	test("grants reading exactly the API's read methods", () => {
		expect([...(acl?.read?.ubus?.portrig ?? [])].sort()).toEqual(byAccess("read"));
	});

	test("grants writing exactly the API's mutating methods", () => {
		expect([...(acl?.write?.ubus?.portrig ?? [])].sort()).toEqual(byAccess("write"));
	});

	test("grants nothing beyond portrig, LuCI's host hints, reading /etc/config/portrig, what the Settings tab's zone and device pickers read, and starting services", () => {
		expect(Object.keys(acl?.read?.ubus ?? {}).sort()).toEqual([
			"luci-rpc",
			"network",
			"network.interface",
			"portrig",
			"uci",
		]);
		expect(acl?.read?.ubus?.network).toEqual(PICKERS.ubus.network);
		expect(acl?.read?.ubus?.["network.interface"]).toEqual(PICKERS.ubus["network.interface"]);
		expect(acl?.read?.uci).toEqual(["portrig", ...PICKERS.uci]);
		expect(Object.keys(acl?.write?.ubus ?? {}).sort()).toEqual(["luci", "portrig"]);
		expect(Object.keys(acl?.read ?? {}).sort()).toEqual(["ubus", "uci"]);
		expect(Object.keys(acl?.write ?? {})).toEqual(["ubus"]);
	});
});

test("every view the menu points to exists", () => {
	const menu = JSON.parse(
		readFileSync(join(import.meta.dir, "../root/usr/share/luci/menu.d/luci-app-portrig.json"), "utf8"),
	);
	const paths = Object.values(menu as Record<string, { action: { type: string; path: string } }>)
		.filter((e) => e.action.type === "view")
		.map((e) => e.action.path);
	expect(paths.sort()).toEqual(VIEWS.map((v) => `portrig/${v}`).sort());
	for (const p of paths) expect(existsSync(join(RESOURCES, "view", `${p}.js`))).toBe(true);
});

/**
 * The LuCI APIs the app may use: those it was written against, as luci-base's luci.js, ui.js,
 * form.js, rpc.js and dom define them.
 */
const LUCI_API: Record<string, string[]> = {
	L: ["env", "resolveDefault", "hasViewPermission"],
	baseclass: ["extend"],
	view: ["extend"],
	rpc: ["declare", "getBaseURL", "getSessionID"],
	request: ["post"],
	poll: ["add"],
	dom: ["content"],
	"tools.widgets": ["DeviceSelect", "ZoneSelect"],
	ui: ["addNotification", "createHandlerFn", "hideModal", "showModal"],
	form: ["DynamicList", "Flag", "JSONMap", "ListValue", "NamedSection", "Value"],
};

describe("names the app uses on other modules exist there", () => {
	const luci = luciStandIns();
	const { baseclass, rpc, request, L } = luci;
	const stand = {
		luci: {
			baseclass,
			rpc,
			request,
			view: baseclass.extend({}),
			dom: {},
			form: {},
			ui: {},
			"tools.widgets": {},
		},
		globals: { _: untranslated, L },
		baseclass,
	};
	const cache = new Map<string, unknown>();
	const appModules: Record<string, unknown> = Object.fromEntries(
		APP_MODULES.filter((m) => m.startsWith("portrig.")).map((m) => [m, loadModule(m, stand, cache)]),
	);

	test.each(APP_MODULES)("%s", (name) => {
		const source = parseSource(appModuleFile(name));
		const aliases = new Map(requiresOf(source.text).map((r) => [r.as, r.module]));
		aliases.set("L", "L");
		const unknown: string[] = [];
		const visit = (node: ts.Node) => {
			if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
				const module = aliases.get(node.expression.text);
				const member = node.name.text;
				if (module && module in appModules) {
					if (!(member in (appModules[module] as object))) unknown.push(node.getText());
				} else if (module && !(LUCI_API[module] ?? []).includes(member)) unknown.push(node.getText());
			}
			ts.forEachChild(node, visit);
		};
		visit(source);
		expect(unknown).toEqual([]);
	});
});

describe("what portrig.api posts for the pages passes the API's argument schemas, with the session uhttpd adds", () => {
	afterAll(installFormat());
	const common = loadCommon();
	const forwardForm = {
		name: "Web",
		enabled: "1",
		proto: "tcp",
		src_dport: "8080",
		dest_ip: "192.168.1.10",
		dest_port: "",
		src_ip: [],
		reflection: "1",
	};
	const triggerForm = {
		name: "IRC DCC",
		enabled: "1",
		proto: "tcp",
		trigger_port: "6660-6669",
		open_proto: "tcp",
		open_port: ["113", "59000-59010"],
		timeout: "",
		src_ip: ["192.168.1.10"],
		remote_only: "0",
	};
	const calls: [string, Record<string, unknown>][] = [
		["status", {}],
		["list", {}],
		["openings", {}],
		["add_forward", common.sectionArgs(common.FORWARD_FIELDS, forwardForm, false)],
		["update_forward", { id: "cfg0a1b2c", ...common.sectionArgs(common.FORWARD_FIELDS, forwardForm, true) }],
		["update_forward", { id: "cfg0a1b2c", enabled: "0" }],
		["delete_forward", { id: "cfg0a1b2c" }],
		["add_trigger", common.sectionArgs(common.TRIGGER_FIELDS, triggerForm, false)],
		["update_trigger", { id: "irc", ...common.sectionArgs(common.TRIGGER_FIELDS, triggerForm, true) }],
		["update_trigger", { id: "irc", enabled: "1" }],
		["delete_trigger", { id: "irc" }],
		[
			"set_dmz",
			common.sectionArgs(
				common.DMZ_FIELDS,
				{ enabled: "1", dest_ip: "192.168.1.50", exclude_port: ["tcp 22"] },
				true,
			),
		],
		["set_dmz", common.sectionArgs(common.DMZ_FIELDS, { enabled: "0", dest_ip: "", exclude_port: [] }, true)],
		["close_opening", { trigger: "irc", host: "192.168.1.10" }],
		["get_settings", {}],
		[
			"set_settings",
			common.settingsArgs({
				enabled: "1",
				wan_zone: ["wan"],
				lan_zone: ["lan"],
				wan_device: [],
				lan_device: ["br-lan"],
				trigger_timeout: "300",
				reflection: "0",
			}),
		],
	];

	test.each(calls)("%s %o", async (method, args) => {
		const luci = luciStandIns(() => Promise.resolve(httpAnswer('{"jsonrpc":"2.0","id":1,"result":[0]}')));
		expect((await loadApi(luci).call(method, args)).error).toBeNull();
		const sent = (luci.posts[0] as Post).body.params[3];
		const parsed = METHODS[method as keyof typeof METHODS].args.safeParse({
			...sent,
			ubus_rpc_session: SESSION,
		});
		expect(parsed.error?.issues ?? []).toEqual([]);
	});
});
