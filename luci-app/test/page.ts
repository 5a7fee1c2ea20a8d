// The pages rendered as LuCI renders them, on stand-ins for LuCI's DOM helpers that record what
// a page builds: E() makes elements with attributes and children, dom.content() replaces
// children, cbi_update_table() fills a table's rows, ui.createHandlerFn() binds a handler, and
// form.JSONMap records its options and whether it is read-only. portrig.api is the real module,
// its calls answered as uhttpd and rpcd answer them.
import { type Declared, httpAnswer, luciStandIns, type Post, untranslated } from "./app";
import { type LuciClass, loadModule } from "./luci-loader";

/** An element as E() builds it; enough of a DOM node for the app's own code. */
export class Element {
	rows: unknown[][] = [];
	constructor(
		public tag: string,
		public attrs: Record<string, unknown>,
		public children: unknown[],
	) {}
	setAttribute(name: string, value: string) {
		this.attrs[name] = value;
	}
	removeAttribute(name: string) {
		delete this.attrs[name];
	}
	/** Every element below this one (itself included), table rows included. */
	all(): Element[] {
		const below = [...this.children, ...this.rows.flat()].flatMap((c) =>
			c instanceof Element
				? c.all()
				: Array.isArray(c)
					? c.filter((x) => x instanceof Element).flatMap((x) => x.all())
					: [],
		);
		return [this, ...below];
	}
	/** The text inside, as the page would show it. */
	text(): string {
		return [...this.children, ...this.rows.flat()]
			.map((c) =>
				c instanceof Element
					? c.text()
					: c == null
						? ""
						: Array.isArray(c)
							? c.map(String).join("")
							: String(c),
			)
			.join("");
	}
}

function E(tag: string, attrs?: unknown, children?: unknown): Element {
	const plain =
		attrs != null && typeof attrs === "object" && !Array.isArray(attrs) && !(attrs instanceof Element);
	const kids = plain ? children : attrs;
	return new Element(
		tag,
		plain ? { ...(attrs as Record<string, unknown>) } : {},
		kids === undefined ? [] : Array.isArray(kids) ? [...kids] : [kids],
	);
}

/** A form option as form.JSONMap's section.option() makes it. */
export type FormOption = { widget: unknown; name: string; title: string; [key: string]: unknown };

/** form.JSONMap and its NamedSection, recording the options a page adds. */
export class JSONMap {
	/** The map made last, e.g. by an edit dialog. */
	static last: JSONMap | undefined;
	readonly?: boolean;
	options: FormOption[] = [];
	constructor(public data: Record<string, Record<string, unknown>>) {
		JSONMap.last = this;
	}
	section(_type: unknown, sid: string) {
		const map = this;
		return {
			section: sid,
			option(widget: unknown, name: string, title: string) {
				const choices: [string, unknown][] = [];
				const option: FormOption = {
					widget,
					name,
					title,
					enabled: "1",
					choices,
					value: (key: string, label: unknown) => choices.push([key, label]),
				};
				map.options.push(option);
				return option;
			},
			formvalue: (id: string) => map.data[id],
		};
	}
	render() {
		return Promise.resolve(E("div", { class: "cbi-map" }, []));
	}
	parse() {
		return Promise.resolve();
	}
	findElements() {
		return [];
	}
}

/** How a page's calls are answered: portrig methods (method → [status, reply?]), declared calls. */
export type Answers = {
	portrig: (method: string, args: Record<string, unknown>) => [number, Record<string, unknown>?] | "down";
	declared?: Declared;
	/** What L.hasViewPermission() says: true writable, false read-only. */
	writable: boolean;
};

/** uhttpd's JSON-RPC answer to a call of portrig: its result, or -32000 when no daemon is on ubus. */
function uhttpd(answers: Answers, post: Post) {
	const [, , method, args] = post.body.params;
	const answer = answers.portrig(method, args);
	const body =
		answer === "down"
			? { jsonrpc: "2.0", id: post.body.id, error: { code: -32000, message: "Object not found" } }
			: { jsonrpc: "2.0", id: post.body.id, result: answer };
	return Promise.resolve(httpAnswer(JSON.stringify(body)));
}

/** Loads view `name` as LuCI would, its calls answered by `answers`; records the calls made. */
export function loadPage(name: string, answers: Answers) {
	const luci = luciStandIns((post) => uhttpd(answers, post), answers.declared ?? {}, answers.writable);
	const view = luci.baseclass.extend({});
	const notifications: unknown[] = [];
	const modals: unknown[] = [];
	const ui = {
		createHandlerFn(ctx: Record<string, (...a: unknown[]) => unknown>, fn: unknown, ...bound: unknown[]) {
			const f = typeof fn === "string" ? ctx[fn] : (fn as (...a: unknown[]) => unknown);
			return (...args: unknown[]) => f?.apply(ctx, [...bound, ...args]);
		},
		addNotification: (_title: unknown, content: unknown) => notifications.push(content),
		showModal: (title: unknown) => modals.push(title),
		hideModal: () => {},
	};
	const dom = {
		content(node: Element, child: unknown) {
			node.children = child == null ? [] : Array.isArray(child) ? child : [child];
		},
	};
	const form = {
		JSONMap,
		NamedSection: "NamedSection",
		Value: "Value",
		Flag: "Flag",
		ListValue: "ListValue",
		DynamicList: "DynamicList",
	};
	const luciWidgets = { ZoneSelect: "ZoneSelect", DeviceSelect: "DeviceSelect" };
	const page = loadModule(`view.portrig.${name}`, {
		luci: {
			baseclass: luci.baseclass as LuciClass,
			view,
			rpc: luci.rpc,
			request: luci.request,
			dom,
			form,
			ui,
			poll: { add() {} },
			"tools.widgets": luciWidgets,
		},
		globals: {
			_: untranslated,
			L: luci.L,
			E,
			Node: Element,
			cbi_update_table(table: Element, rows: unknown[][], placeholder: unknown) {
				table.rows = rows.length ? rows : [[placeholder]];
			},
		},
		baseclass: luci.baseclass as LuciClass,
	}) as Record<string, (...args: unknown[]) => unknown>;

	/** Runs the page's load() and render() as LuCI's view does; the rendered tree. */
	const render = async () => (await page.render?.(await page.load?.())) as Element;
	return { page, render, posts: luci.posts, notifications, modals };
}

/** The buttons on a rendered page: label → button. */
export function buttons(root: Element): { label: string; disabled: boolean; click: () => unknown }[] {
	return root
		.all()
		.filter((e) => e.tag === "button")
		.map((b) => ({
			label: b.text(),
			disabled: b.attrs.disabled != null,
			click: b.attrs.click as () => unknown,
		}));
}
