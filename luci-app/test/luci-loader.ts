// A stand-in for LuCI's class loader (L.require in luci.js), so the app's JavaScript is loaded
// here the way a browser running LuCI loads it: the leading string literals of a file name its
// dependencies ('require a.b' or 'require a.b as c'), the file body becomes a function of
// (window, document, L, ...dependencies), and what it returns must be a class, which the loader
// instantiates. LuCI's own modules are replaced by the small objects a test passes in; this
// app's modules are the real files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { requiresOf } from "../tools/luci-requires";

export { type Require, requiresOf } from "../tools/luci-requires";

export const RESOURCES = join(import.meta.dir, "../htdocs/luci-static/resources");

/** Modules LuCI defines inside luci.js itself (no file of their own). */
export const LUCI_BUILTIN_MODULES = ["baseclass", "dom", "poll", "request", "session", "view"];

/** Modules luci-base ships as files under luci-static/resources. */
export const LUCI_FILE_MODULES = [
	"cbi",
	"firewall",
	"form",
	"fs",
	"network",
	"protocol.dhcp",
	"protocol.static",
	"rpc",
	"tools.prng",
	"tools.views",
	"tools.widgets",
	"uci",
	"ui",
	"validation",
];

/** The file of one of this app's modules ("portrig.common" → …/portrig/common.js). */
export function appModuleFile(name: string): string {
	return join(RESOURCES, `${name.replace(/\./g, "/")}.js`);
}

export type LuciClass = (new (
	...args: unknown[]
) => Record<string, unknown>) & {
	extend(props: Record<string, unknown>): LuciClass;
};

/**
 * LuCI's class model, reduced to what loading needs: `extend` makes a subclass whose prototype
 * holds the given properties, and `new` runs `__init__` when there is one.
 */
export function makeBaseclass(): LuciClass {
	function Base(this: Record<string, unknown>, ...args: unknown[]) {
		const init = this.__init__;
		if (typeof init === "function") init.apply(this, args);
	}
	const extend = function (this: LuciClass, props: Record<string, unknown>): LuciClass {
		const parent = this;
		const Sub = function (this: Record<string, unknown>, ...args: unknown[]) {
			parent.apply(this, args);
		} as unknown as LuciClass;
		Sub.prototype = Object.create(parent.prototype);
		Object.assign(Sub.prototype, props);
		Sub.extend = extend;
		return Sub;
	};
	const B = Base as unknown as LuciClass;
	B.extend = extend;
	return B;
}

export type LoadOptions = {
	/** Instances standing in for LuCI's modules, by module name. */
	luci: Record<string, unknown>;
	/** The globals LuCI's pages provide to every module (E, _, N_, L, cbi_update_table…). */
	globals: Record<string, unknown>;
	/** The class every module must extend (LuCI's baseclass). */
	baseclass: LuciClass;
};

/** Loads module `name` of this app and its dependencies; returns its instance, as L.require does. */
export function loadModule(name: string, options: LoadOptions, cache = new Map<string, unknown>()): unknown {
	const cached = cache.get(name);
	if (cached) return cached;
	const source = readFileSync(appModuleFile(name), "utf8");
	const deps = requiresOf(source);
	const values = deps.map(({ module }) => {
		if (module in options.luci) return options.luci[module];
		return loadModule(module, options, cache);
	});
	const globalNames = Object.keys(options.globals).filter((g) => g !== "L");
	const factory = new Function(
		"window",
		"document",
		"L",
		...deps.map((d) => d.as),
		...globalNames,
		source,
	) as (...args: unknown[]) => unknown;
	const L = options.globals.L ?? {};
	const Class = factory(undefined, undefined, L, ...values, ...globalNames.map((g) => options.globals[g]));
	if (typeof Class !== "function" || !(Class.prototype instanceof options.baseclass))
		throw new TypeError(`"${name}" factory yields invalid constructor`);
	const instance = new (Class as LuciClass)();
	cache.set(name, instance);
	return instance;
}

/** LuCI's String.prototype.format, for the directives this app uses (%s, %d, %%). */
export function installFormat(): () => void {
	const proto = String.prototype as unknown as { format?: (...args: unknown[]) => string };
	if (proto.format) return () => {};
	proto.format = function (this: string, ...args: unknown[]) {
		let next = 0;
		return String(this).replace(/%([sd%])/g, (_m, d: string) => {
			if (d === "%") return "%";
			const value = args[next++];
			return d === "d" ? String(Math.trunc(Number(value))) : String(value);
		});
	};
	return () => {
		delete proto.format;
	};
}
