// The edit dialog's save path (portrig.widgets submitSection), from the daemon's answer to what
// the dialog shows: portrig.api gets the daemon's real reply framed as uhttpd frames it, and the
// dialog's form is a stand-in with the few calls of LuCI's form.Map the widgets use
// (lookupOption(name, sid) → [option], option.cbid(sid), findElement('data-field', cbid),
// findElements(selector)) over stand-in elements that record what is put into them.
import { afterAll, describe, expect, test } from "bun:test";
import { type Api, httpAnswer, luciStandIns, untranslated } from "./app";
import { daemonAnswer, uhttpdResult } from "./daemon";
import { installFormat, loadModule } from "./luci-loader";

type Element = { tag: string; attrs: Record<string, unknown>; children: unknown[] };

/** LuCI's E(tag, attrs, children), recording instead of building DOM. */
const E = (tag: string, attrs?: Record<string, unknown>, children?: unknown) =>
	({ tag, attrs: attrs ?? {}, children: Array.isArray(children) ? children : [children] }) as Element;

/** A form field's element as form.js renders it: a .cbi-value-field holding its input. */
function fieldElement() {
	const shown: unknown[] = [];
	const input = {
		classes: new Set<string>(),
		classList: { add: (c: string) => input.classes.add(c), remove: (c: string) => input.classes.delete(c) },
		setAttribute: () => {},
		removeAttribute: () => {},
	};
	const place = { appendChild: (child: unknown) => shown.push(child) };
	const element = {
		querySelector: (selector: string) => (selector === ".cbi-value-field" ? place : null),
		querySelectorAll: (selector: string) => (selector === "input, select" ? [input] : []),
		addEventListener: () => {},
	};
	return { element, shown, input };
}

/** The dialog of a forward whose form has the fields `names`. */
function forwardDialog(names: string[]) {
	const fields = Object.fromEntries(names.map((name) => [name, fieldElement()]));
	const map = {
		parse: () => Promise.resolve(),
		findElements: () => [],
		lookupOption: (name: string) =>
			name in fields ? [{ cbid: (sid: string) => `cbid.json.${sid}.${name}` }] : null,
		findElement: (attribute: string, value: string) =>
			attribute === "data-field" ? (fields[value.split(".").pop() ?? ""]?.element ?? null) : null,
	};
	return { map, fields };
}

type Widgets = {
	submitSection(
		map: unknown,
		section: unknown,
		note: unknown,
		options: Record<string, unknown>,
	): Promise<unknown>;
};

/** portrig.widgets and portrig.api, loaded as LuCI would, with uhttpd answering `body` to every call. */
function loadDialog(body: string) {
	const luci = luciStandIns(() => Promise.resolve(httpAnswer(body)));
	const notes: unknown[] = [];
	let hidden = 0;
	const cache = new Map<string, unknown>();
	const options = {
		luci: {
			baseclass: luci.baseclass,
			rpc: luci.rpc,
			request: luci.request,
			view: luci.baseclass.extend({}),
			form: {},
			dom: { content: (_node: unknown, child: unknown) => notes.push(child) },
			ui: { hideModal: () => hidden++ },
		},
		globals: { _: untranslated, L: luci.L, E },
		baseclass: luci.baseclass,
	};
	const widgets = loadModule("portrig.widgets", options, cache) as Widgets;
	const api = cache.get("portrig.api") as Api;
	return { widgets, api, notes, hidden: () => hidden };
}

/** Saves the dialog, whose submit makes `call` and uhttpd answers `body`; what the dialog did. */
async function save(body: string, formFields: string[], call: (api: Api) => Promise<unknown>) {
	const { widgets, api, notes, hidden } = loadDialog(body);
	const { map, fields } = forwardDialog(formFields);
	const done: unknown[] = [];
	await widgets.submitSection(
		map,
		{ formvalue: () => ({}) },
		{},
		{
			type: "forward",
			check: () => [],
			submit: () => call(api),
			done: (reply: unknown) => done.push(reply),
		},
	);
	return { fields, notes: notes.filter(Boolean) as Element[], closed: hidden() > 0, done };
}

const FORM = ["name", "proto", "src_dport", "dest_ip", "dest_port", "src_ip"];

describe("saving the edit dialog", () => {
	afterAll(installFormat());

	test("a daemon error that names a form field is shown on that field, without the field's name, and the dialog stays open", async () => {
		const args = { src_dport: "0", dest_ip: "192.168.1.10" };
		const { status, data } = await daemonAnswer("add_forward", args);
		const result = await save(uhttpdResult(1, status, data), FORM, (api) => api.call("add_forward", args));
		const field = result.fields.src_dport;
		expect(field?.shown).toEqual([
			E("div", { class: "alert-message danger portrig-field-error" }, [
				(data.error as string).slice("src_dport: ".length),
			]),
		]);
		expect(field?.input.classes.has("cbi-input-invalid")).toBe(true);
		expect(result.fields.dest_ip?.shown).toEqual([]);
		expect(result.notes).toEqual([
			E("div", { class: "alert-message danger" }, ["Please correct the marked fields."]),
		]);
		expect(result.closed).toBe(false);
		expect(result.done).toEqual([]);
	});

	test("a daemon error that names no field of the form is shown whole below it", async () => {
		const { status, data } = await daemonAnswer("update_forward", { id: "gone", enabled: "0" });
		const result = await save(uhttpdResult(1, status, data), FORM, (api) =>
			api.call("update_forward", { id: "gone", enabled: "0" }),
		);
		expect(result.notes).toEqual([
			E("div", { class: "alert-message danger" }, ["no forward with id 'gone'"]),
		]);
		expect(Object.values(result.fields).flatMap((f) => f.shown)).toEqual([]);
		expect(result.closed).toBe(false);
	});

	test("a refusal by uhttpd (ACL) is shown below the form", async () => {
		const result = await save(
			'{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"Access denied"}}',
			FORM,
			(api) => api.call("delete_forward", { id: "web" }),
		);
		expect(result.notes).toEqual([
			E("div", { class: "alert-message danger" }, [
				"access denied: this login may not do that, or it has expired",
			]),
		]);
		expect(result.closed).toBe(false);
	});

	test("a done call closes the dialog and hands over the daemon's reply", async () => {
		const { status, data } = await daemonAnswer("update_forward", { id: "web", enabled: "1" });
		expect(status).toBe(0);
		const result = await save(uhttpdResult(1, status, data), FORM, (api) =>
			api.call("update_forward", { id: "web", enabled: "1" }),
		);
		expect(result.closed).toBe(true);
		expect(result.done).toEqual([data]);
		expect(result.notes).toEqual([]);
	});
});
