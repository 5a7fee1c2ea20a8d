// The daemon's side of a LuCI call, for tests: what the portrig API answers on ubus (its method
// table run on the arguments, turned into a ubus reply as the ubus transport does), framed as
// uhttpd's /ubus endpoint frames it (uhttpd ubus.c, uh_ubus_request_cb, "legacy" format).
import { notFound } from "../../controller/src/api/errors";
import { type Changed, type Core, invoke } from "../../controller/src/api/methods";
import { ubusReply } from "../../controller/src/api/ubus-transport";
import { loadConfig } from "../../controller/src/config/load";
import { SESSION } from "./app";

const CONFIG = [
	"config globals 'globals'",
	"",
	"config forward 'web'",
	"\toption name 'Web'",
	"\toption proto 'tcp'",
	"\toption src_dport '8080'",
	"\toption dest_ip '192.168.1.10'",
	"\toption dest_port '80'",
	"",
	"config trigger 'irc'",
	"\toption name 'IRC DCC'",
	"\toption trigger_port '6660-6669'",
	"\tlist open_port '59000-59010'",
	"",
].join("\n");

/**
 * The daemon's core as the API table sees it, over a fixed config: it has no live openings, and
 * it accepts an update or a delete of an entry without writing anything (the entry stays as it is).
 */
function daemonCore(): Core {
	const loaded = loadConfig(CONFIG, "/etc/config/portrig");
	if (!loaded.config) throw new Error(`test config refused: ${JSON.stringify(loaded.problems)}`);
	const config = loaded.config;
	return {
		config: () => config,
		status: async () => ({ version: "test" }),
		change: async (change) => {
			if (change.op !== "update" && change.op !== "delete")
				throw new Error(`these tests make no ${change.op}`);
			const entries: Changed["entry"][] = change.type === "forward" ? config.forwards : config.triggers;
			const entry = entries.find((e) => e?.id === change.id);
			// as the daemon's config store answers an id it does not hold
			if (!entry) throw notFound(`no ${change.type} with id '${change.id}'`, "id");
			return change.op === "delete" ? { id: change.id } : { id: change.id, entry };
		},
		reload: async () => {},
		openings: () => [],
		closeOpening: async () => 0,
	};
}

/** What the daemon answers on ubus to `method` with `args` (and the session uhttpd adds). */
export async function daemonAnswer(method: string, args: Record<string, unknown>) {
	return ubusReply(await invoke(daemonCore(), method, { ...args, ubus_rpc_session: SESSION }));
}

/** uhttpd's legacy answer to a call: result [status] or [status, data]. */
export function uhttpdResult(id: unknown, status: number, data?: Record<string, unknown>): string {
	const result = data === undefined || Object.keys(data).length === 0 ? [status] : [status, data];
	return JSON.stringify({ jsonrpc: "2.0", id, result });
}
