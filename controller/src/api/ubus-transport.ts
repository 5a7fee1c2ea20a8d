// The API on ubus: object `portrig`, one ubus method per entry of the method table, with the
// signatures the table derives from its zod schemas (`ubus -v list portrig`). Every INVOKE runs
// through the same `invoke` as the control socket: same names, arguments, replies and errors.
// A failed call answers with the error's ubus status and the same reply table the control
// socket returns ({status, error, field}). LuCI's `ubus_rpc_session` argument passes through to
// the schemas, which accept and ignore it.
//
// Trigger openings are announced as ubus event `portrig.opening` ({"action": "open"|"close", …})
// and as notification `opening` to subscribers of the object (`ubus subscribe portrig`).
import { type Logger, type PublishedObject, UbusClient } from "../ubus/client";
import {
	type CallResult,
	type Core,
	invoke,
	type MethodName,
	methodSignatures,
	type OpeningReply,
} from "./methods";

export const UBUS_OBJECT = "portrig";
export const OPENING_EVENT = "portrig.opening";
export const DEFAULT_UBUS_SOCKET = "/var/run/ubus/ubus.sock";

export type UbusTransportOptions = {
	/** ubusd's socket (default /var/run/ubus/ubus.sock) */
	socket?: string;
	log?: Logger;
	/** reconnect delays, for tests */
	retryMs?: { first: number; max: number };
};

export type UbusTransportStatus = { socket: string; connected: boolean; object_id?: number };

/** The ubus reply of one call: the result, or the error table with the error's status. */
export function ubusReply(result: CallResult): { status: number; data: Record<string, unknown> } {
	return result.ok ? { status: 0, data: result.result } : { status: result.error.status, data: result.error };
}

export class UbusTransport {
	readonly client: UbusClient;
	private readonly object: PublishedObject;
	private readonly socket: string;

	constructor(core: Core, options: UbusTransportOptions = {}) {
		this.socket = options.socket ?? DEFAULT_UBUS_SOCKET;
		this.client = new UbusClient({
			socket: this.socket,
			...(options.log ? { log: options.log } : {}),
			...(options.retryMs ? { retryMs: options.retryMs } : {}),
		});
		const signatures = methodSignatures();
		const methods = Object.fromEntries(
			(Object.keys(signatures) as MethodName[]).map((name) => [
				name,
				{
					args: signatures[name],
					handler: async (args: Record<string, unknown>) => ubusReply(await invoke(core, name, args)),
				},
			]),
		);
		this.object = this.client.publish(UBUS_OBJECT, methods);
	}

	/** Connects now or whenever ubusd appears; never throws. */
	start(): void {
		this.client.start();
	}

	stop(): void {
		this.client.stop();
	}

	status(): UbusTransportStatus {
		const id = this.object.id;
		return id === undefined
			? { socket: this.socket, connected: this.client.connected }
			: { socket: this.socket, connected: this.client.connected, object_id: id };
	}

	/** Announces an opening that opened or closed; dropped (not queued) while ubusd is away. */
	opening(action: "open" | "close", opening: OpeningReply): void {
		if (!this.client.connected) return;
		const data = { action, ...opening };
		this.object.notify("opening", data);
		this.client.sendEvent(OPENING_EVENT, data).catch(() => {
			// ubusd went away meanwhile; the opening is still in `portrig call openings`
		});
	}
}

/** The daemon's entry: serve `core` on ubus at `socket`, with or without ubusd running. */
export function startUbus(core: Core, options: UbusTransportOptions = {}): UbusTransport {
	const transport = new UbusTransport(core, options);
	transport.start();
	return transport;
}
