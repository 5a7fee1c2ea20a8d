// The views as LuCI loads them: every file parses, names only modules that exist, yields a class,
// and every ubus method it declares exists in the daemon's API method table with the argument
// names it sends, and is granted by the app's rpcd ACL at the level the API asks for.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { METHODS, methodSignatures } from "../../controller/src/api/methods";
import { DmzSection, ForwardSection, TriggerSection } from "../../controller/src/config/schema";
import { loadCommon, untranslated } from "./app";
import { ACL_FILE, Acl } from "./json-shapes";
import {
	appModuleFile,
	installFormat,
	LUCI_BUILTIN_MODULES,
	LUCI_FILE_MODULES,
	loadModule,
	makeBaseclass,
	RESOURCES,
	requiresOf,
} from "./luci-loader";

const VIEWS = ["forwards", "triggers", "dmz", "status"];
const APP_MODULES = [...new Bun.Glob("**/*.js").scanSync(RESOURCES)].map((f) =>
	f.replace(/\.js$/, "").replace(/\//g, "."),
);

type Declaration = { object: string; method: string; params?: string[]; expect?: unknown };

/** Loads a view with stand-ins for LuCI's modules and records what it declares with rpc.declare. */
function loadView(name: string) {
	const baseclass = makeBaseclass();
	const view = baseclass.extend({});
	const declared: Declaration[] = [];
	const rpc = {
		declare(options: Declaration) {
			declared.push(options);
			return () => Promise.resolve({});
		},
	};
	const instance = loadModule(`view.portrig.${name}`, {
		luci: { baseclass, view, rpc, dom: {}, form: {}, ui: {}, poll: {} },
		globals: { _: untranslated, L: {} },
		baseclass,
	});
	return { instance: instance as Record<string, unknown>, isView: instance instanceof view, declared };
}

const acl = Acl.parse(JSON.parse(readFileSync(ACL_FILE, "utf8")))["luci-app-portrig"];
const signatures = methodSignatures() as Record<string, Record<string, string>>;

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
});

describe.each(VIEWS)("view %s", (name) => {
	const { instance, isView, declared } = loadView(name);

	test("loads as a LuCI view with load() and render()", () => {
		expect(isView).toBe(true);
		expect(typeof instance.load).toBe("function");
		expect(typeof instance.render).toBe("function");
	});

	test("talks only to the portrig object, plus LuCI's host hints", () => {
		expect(declared.length).toBeGreaterThan(0);
		for (const d of declared)
			expect(`${d.object}.${d.method}`).toMatch(/^(portrig\.[a-z_]+|luci-rpc\.getHostHints)$/);
	});

	test("declares only methods of the API table, with argument names the method takes", () => {
		for (const d of declared.filter((x) => x.object === "portrig")) {
			expect(Object.keys(METHODS)).toContain(d.method);
			const accepted = Object.keys(signatures[d.method] ?? {});
			expect((d.params ?? []).filter((p) => !accepted.includes(p))).toEqual([]);
		}
	});

	test("uses only methods the ACL grants at the level the API gives them", () => {
		for (const d of declared) {
			const level = d.object === "portrig" ? METHODS[d.method as keyof typeof METHODS].access : "read";
			expect(acl?.[level]?.ubus?.[d.object] ?? []).toContain(d.method);
		}
	});
});

describe("the edit dialogs send every option of their section", () => {
	const declaredBy = (view: string, method: string) =>
		loadView(view).declared.find((d) => d.method === method && (d.params?.length ?? 0) > 2);

	test.each([
		["forwards", "add_forward", ForwardSection.shape],
		["forwards", "update_forward", ForwardSection.shape],
		["triggers", "add_trigger", TriggerSection.shape],
		["triggers", "update_trigger", TriggerSection.shape],
		["dmz", "set_dmz", DmzSection.shape],
	] as const)("%s: %s", (view, method, shape) => {
		const params = declaredBy(view, method)?.params ?? [];
		expect(params.filter((p) => p !== "id").sort()).toEqual(Object.keys(shape).sort());
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

	test("grants nothing beyond portrig and LuCI's host hints", () => {
		expect(Object.keys(acl?.read?.ubus ?? {}).sort()).toEqual(["luci-rpc", "portrig"]);
		expect(acl?.read?.ubus?.["luci-rpc"]).toEqual(["getHostHints"]);
		expect(Object.keys(acl?.write?.ubus ?? {})).toEqual(["portrig"]);
		expect(Object.keys(acl?.read ?? {})).toEqual(["ubus"]);
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
	L: ["resolveDefault"],
	baseclass: ["extend"],
	view: ["extend"],
	rpc: ["declare"],
	poll: ["add"],
	dom: ["content"],
	ui: ["addNotification", "createHandlerFn", "hideModal", "showModal"],
	form: ["DynamicList", "Flag", "JSONMap", "ListValue", "NamedSection", "Value"],
};

describe("names the app uses on other modules exist there", () => {
	const baseclass = makeBaseclass();
	const stand = { luci: { baseclass, dom: {}, form: {}, ui: {} }, globals: { _: untranslated }, baseclass };
	const cache = new Map<string, unknown>();
	const appModules: Record<string, unknown> = {
		"portrig.common": loadModule("portrig.common", stand, cache),
		"portrig.widgets": loadModule("portrig.widgets", stand, cache),
	};

	test.each(APP_MODULES)("%s", (name) => {
		const file = appModuleFile(name);
		const source = ts.createSourceFile(
			file,
			readFileSync(file, "utf8"),
			ts.ScriptTarget.Latest,
			true,
			ts.ScriptKind.JS,
		);
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

describe("what the pages send passes the API's argument schemas, with the session LuCI adds", () => {
	afterAll(installFormat());
	const common = loadCommon();
	const session = { ubus_rpc_session: "0123456789abcdef0123456789abcdef" };
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
	];

	test.each(calls)("%s %o", (method, args) => {
		const schema = METHODS[method as keyof typeof METHODS].args;
		const parsed = schema.safeParse({ ...args, ...session });
		expect(parsed.error?.issues ?? []).toEqual([]);
	});
});
