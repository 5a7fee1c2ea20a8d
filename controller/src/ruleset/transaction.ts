// One nft transaction for portrig's table: operations collected in order, serialised to one nft
// script that libnftables or `nft -f -` runs all or nothing. Text, not JSON: nft 1.0.6 cannot
// say map updates (`update @m { k : v }`) in JSON, and one form for everything keeps every
// apply to exactly one transaction.
import { TABLE } from "./layout";
import { type BaseChain, baseText, declText, type SetSpec } from "./spec";

export type Op =
	| { op: "add table" | "delete table" }
	| { op: "add set"; set: SetSpec }
	| { op: "delete set" | "flush set"; name: string; map: boolean }
	| { op: "add element" | "delete element"; name: string; items: string[] }
	| { op: "add chain"; name: string; base?: BaseChain }
	| { op: "flush chain" | "delete chain"; name: string }
	| { op: "add rule"; chain: string; rule: string };

const AT = `${TABLE.family} ${TABLE.name}`;

export class Transaction {
	readonly ops: Op[] = [];

	get empty(): boolean {
		return this.ops.length === 0;
	}

	addTable(): this {
		return this.push({ op: "add table" });
	}
	deleteTable(): this {
		return this.push({ op: "delete table" });
	}
	/** Declares a set (its elements go separately, with addElements). */
	addSet(set: SetSpec): this {
		return this.push({ op: "add set", set });
	}
	deleteSet(name: string, map: boolean): this {
		return this.push({ op: "delete set", name, map });
	}
	flushSet(name: string, map: boolean): this {
		return this.push({ op: "flush set", name, map });
	}
	addElements(name: string, items: string[]): this {
		return items.length ? this.push({ op: "add element", name, items }) : this;
	}
	/** Deletes elements by key; the kernel refuses the whole transaction if one is missing. */
	deleteElements(name: string, keys: string[]): this {
		return keys.length ? this.push({ op: "delete element", name, items: keys }) : this;
	}
	addChain(name: string, base?: BaseChain): this {
		return this.push(base ? { op: "add chain", name, base } : { op: "add chain", name });
	}
	flushChain(name: string): this {
		return this.push({ op: "flush chain", name });
	}
	deleteChain(name: string): this {
		return this.push({ op: "delete chain", name });
	}
	addRule(chain: string, rule: string): this {
		return this.push({ op: "add rule", chain, rule });
	}

	/** The nft script: one command a line. */
	script(): string {
		return this.ops.map(line).join("");
	}

	private push(op: Op): this {
		this.ops.push(op);
		return this;
	}
}

function line(o: Op): string {
	switch (o.op) {
		case "add table":
		case "delete table":
			return `${o.op} ${AT}\n`;
		case "add set":
			return `add ${o.set.decl.map ? "map" : "set"} ${AT} ${o.set.name} ${declText(o.set)}\n`;
		case "delete set":
		case "flush set":
			return `${o.op.split(" ")[0]} ${o.map ? "map" : "set"} ${AT} ${o.name}\n`;
		case "add element":
		case "delete element":
			return `${o.op} ${AT} ${o.name} { ${o.items.join(", ")} }\n`;
		case "add chain":
			return `add chain ${AT} ${o.name}${o.base ? ` ${baseText(o.base)}` : ""}\n`;
		case "flush chain":
		case "delete chain":
			return `${o.op} ${AT} ${o.name}\n`;
		case "add rule":
			return `add rule ${AT} ${o.chain} ${o.rule}\n`;
	}
}
