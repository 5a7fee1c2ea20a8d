// A ubus client that stays connected: it connects to ubusd's socket, and when ubusd is not there
// or goes away it retries with backoff up to once a second (libubus's ubus_auto_connect retries
// every second too), and on every new session registers its objects, event listeners and
// subscriptions again (ubusd forgets them with the connection, and hands out new ids).
import { type Level, log as projectLog } from "../log/log";
import type { Field } from "./blobmsg";
import { Connection, type Incoming } from "./connection";
import { UbusEncodeError } from "./errors";
import { notifyMessage, registerListenerMessage, sendEventMessage, subscribeMessage } from "./events";
import type { Message, MessageAttrs } from "./message";
import { answerInvoke, type InvokeContext, type InvokeResult, type Servant } from "./objects";
import { type PlainTable, tableFromPlain, tableToPlain } from "./plain";
import { type Answer, Requests } from "./requests";
import { type ArgType, decodeSignature, encodeSignature, type MethodSignatures } from "./signature";
import { UbusStatus, UbusStatusError } from "./status";

export type Logger = (level: Level, message: string) => void;

/** Reconnect backoff: doubling from `first`, at most `max` (libubus's auto-connect: 1 s). */
export const DEFAULT_RETRY_MS = { first: 200, max: 1000 } as const;

/** The wait before reconnect attempt `attempt` (0 for the first after a failure or a loss). */
export const retryDelay = (attempt: number, retry: { first: number; max: number }): number =>
	Math.min(retry.max, retry.first * 2 ** attempt);

export type UbusClientOptions = {
	/** ubusd's socket, /var/run/ubus/ubus.sock on OpenWrt */
	socket: string;
	log?: Logger;
	/** how long a request may wait for its answer (ubus's CLI waits 30 s) */
	timeoutMs?: number;
	/** reconnect delays: the first, doubling up to the last */
	retryMs?: { first: number; max: number };
};

export type MethodReply = { status?: number; data?: Record<string, unknown> };
export type MethodHandler = (
	args: PlainTable,
	context: InvokeContext & { method: string },
) => MethodReply | Promise<MethodReply>;
export type ObjectMethods = Record<string, { args: Record<string, ArgType>; handler: MethodHandler }>;

export type ObjectInfo = { path: string; id: number; typeId: number; signature: MethodSignatures };

/** What is registered with ubusd again in every session. */
type Registration = {
	kind: "object" | "listener" | "subscription";
	/** object path (published object, or the subscription's target) / event pattern */
	name: string;
	servant: Servant;
	/** the session it is registered in, and its object id there */
	session?: number;
	id?: number;
	/** subscriptions: subscribed to the target in this session */
	subscribed?: boolean;
	hasSubscribers?: boolean;
};

export type PublishedObject = {
	/** the object id in the current session, if registered */
	readonly id: number | undefined;
	/** whether some client subscribes to it (ubusd says so with NOTIFY ACTIVE) */
	readonly hasSubscribers: boolean;
	/** Sends a notification to the subscribers, if any; does not wait. */
	notify(type: string, data: Record<string, unknown>): void;
	remove(): Promise<void>;
};

const OBJECT_ADDED = "ubus.object.add";

export class UbusClient {
	private readonly requests = new Requests();
	private readonly registrations = new Set<Registration>();
	/** servants by object id, for the current session */
	private readonly byId = new Map<number, Registration>();
	private readonly upCallbacks = new Set<() => void>();
	private readonly downCallbacks = new Set<() => void>();
	private connection: Connection | undefined;
	private session = 0;
	private ready = false;
	private running = false;
	private connecting = false;
	private attempt = 0;
	private quiet = false;
	private timer: ReturnType<typeof setTimeout> | undefined;
	private watchingObjects = false;
	private readonly log: Logger;
	private readonly timeoutMs: number;
	private readonly retry: { first: number; max: number };

	constructor(private readonly options: UbusClientOptions) {
		this.log = options.log ?? projectLog;
		this.timeoutMs = options.timeoutMs ?? 30_000;
		this.retry = options.retryMs ?? DEFAULT_RETRY_MS;
	}

	/** Starts connecting; never throws. Without ubusd it logs one line and keeps trying. */
	start(): void {
		if (this.running) return;
		this.running = true;
		void this.connect();
	}

	/** Disconnects for good (ubusd drops our objects with the connection). */
	stop(): void {
		this.running = false;
		clearTimeout(this.timer);
		this.endSession();
		this.connection?.close();
		this.connection = undefined;
	}

	/** Connected, greeted, and everything registered. */
	get connected(): boolean {
		return this.ready;
	}

	/** `up` after each (re)connect once registrations are done; `down` when a session ends. */
	on(event: "up" | "down", callback: () => void): () => void {
		const set = event === "up" ? this.upCallbacks : this.downCallbacks;
		set.add(callback);
		return () => set.delete(callback);
	}

	/** Publishes an object with methods; registered now if connected, and in every later session. */
	publish(path: string, methods: ObjectMethods): PublishedObject {
		const signatures: MethodSignatures = Object.fromEntries(
			Object.entries(methods).map(([m, d]) => [m, d.args]),
		);
		const registration: Registration = {
			kind: "object",
			name: path,
			servant: {
				path,
				signature: encodeSignature(signatures),
				invoke: (method, data, context) => this.runMethod(path, methods, method, data, context),
			},
		};
		this.add(registration);
		return {
			get id() {
				return registration.session !== undefined ? registration.id : undefined;
			},
			get hasSubscribers() {
				return registration.hasSubscribers === true;
			},
			notify: (type, data) => {
				if (!registration.hasSubscribers || registration.id === undefined) return;
				const id = registration.id;
				this.fireAndForget(`notify ${path} ${type}`, (seq) =>
					notifyMessage(seq, id, type, tableFromPlain(data)),
				);
			},
			remove: () => this.remove(registration),
		};
	}

	/** Calls `callback` for every event matching `pattern` (a name, or a prefix ending in '*'). */
	listen(pattern: string, callback: (event: string, data: PlainTable) => void): () => Promise<void> {
		const registration: Registration = {
			kind: "listener",
			name: pattern,
			servant: {
				invoke: async (event, data) =>
					this.deliver(`event ${event}`, () => callback(event, tableToPlain(data))),
			},
		};
		this.add(registration);
		return () => this.remove(registration);
	}

	/** Calls `callback` for every notification of the object at `path`, whenever that object exists. */
	subscribe(path: string, callback: (type: string, data: PlainTable) => void): () => Promise<void> {
		const registration: Registration = {
			kind: "subscription",
			name: path,
			servant: {
				invoke: async (type, data) =>
					this.deliver(`notification ${path} ${type}`, () => callback(type, tableToPlain(data))),
			},
		};
		this.add(registration);
		return () => this.remove(registration);
	}

	/** Looks up `path` and invokes `method`; resolves to the reply (undefined when there is none). */
	async call(path: string, method: string, args: Record<string, unknown> = {}, timeoutMs?: number) {
		const id = await this.lookupId(path);
		const what = `${path} ${method}`;
		const data = tableFromPlain(args);
		const answer = await this.request(
			what,
			(seq) => ({ type: "INVOKE", seq, peer: id, attrs: { objid: id, method, data } }),
			timeoutMs,
			false,
		);
		const reply = answer.data.find((attrs) => attrs.data !== undefined)?.data;
		const plain = reply ? tableToPlain(reply) : undefined;
		if (answer.status !== UbusStatus.OK) throw new UbusStatusError(answer.status, what, plain);
		return plain;
	}

	/** The objects at `path` (a name, or a prefix ending in '*'; all when absent). */
	async lookup(path?: string): Promise<ObjectInfo[]> {
		const attrs: MessageAttrs = path === undefined ? {} : { objpath: path };
		const answer = await this.request(`lookup ${path ?? "*"}`, (seq) => ({
			type: "LOOKUP",
			seq,
			peer: 0,
			attrs,
		}));
		return answer.data.flatMap((a) =>
			a.objpath !== undefined && a.objid !== undefined
				? [
						{
							path: a.objpath,
							id: a.objid,
							typeId: a.objtype ?? 0,
							signature: decodeSignature(a.signature ?? []),
						},
					]
				: [],
		);
	}

	/** Broadcasts an event; resolves once ubusd has taken it. */
	async sendEvent(event: string, data: Record<string, unknown>): Promise<void> {
		const fields = tableFromPlain(data);
		await this.request(`send event ${event}`, (seq) => sendEventMessage(seq, event, fields));
	}

	// ---- sessions ------------------------------------------------------------------------------

	private async connect(): Promise<void> {
		if (!this.running || this.connecting || this.connection) return;
		this.connecting = true;
		clearTimeout(this.timer);
		try {
			const connection = await Connection.open(this.options.socket, {
				message: (incoming) => this.dispatch(connection, incoming),
				closed: (why) => this.lost(connection, why),
			});
			if (!this.running) {
				connection.close();
				return;
			}
			this.connection = connection;
			this.session += 1;
			this.attempt = 0;
			this.quiet = false;
			this.log("notice", `ubus: connected to ${this.options.socket} as client ${hex(connection.clientId)}`);
			await this.registerAll(this.session);
			if (this.connection !== connection) return;
			this.ready = true;
			for (const callback of this.upCallbacks) callback();
		} catch (e) {
			if (!this.quiet) {
				this.log(
					"notice",
					`ubus: no ubusd at ${this.options.socket} (${errorText(e)}); serving the control socket only until it appears`,
				);
				this.quiet = true;
			}
			this.retryLater();
		} finally {
			this.connecting = false;
		}
	}

	private lost(connection: Connection, why: string): void {
		if (this.connection !== connection) return;
		this.log("warning", `ubus: lost ubusd (${why}); reconnecting`);
		this.endSession();
		this.connection = undefined;
		this.attempt = 0;
		this.quiet = true; // the line above said it; no "no ubusd" line until we were back
		this.retryLater();
	}

	private endSession(): void {
		const wasReady = this.ready;
		this.ready = false;
		this.requests.abandon();
		this.byId.clear();
		for (const registration of this.registrations) {
			registration.session = undefined;
			registration.subscribed = false;
			registration.hasSubscribers = false;
		}
		if (wasReady) for (const callback of this.downCallbacks) callback();
	}

	private retryLater(): void {
		if (!this.running) return;
		clearTimeout(this.timer);
		const delay = retryDelay(this.attempt, this.retry);
		this.attempt += 1;
		this.timer = setTimeout(() => void this.connect(), delay);
	}

	// ---- registrations -------------------------------------------------------------------------

	private add(registration: Registration): void {
		this.registrations.add(registration);
		if (this.ready) void this.register(registration, this.session);
	}

	private async remove(registration: Registration): Promise<void> {
		this.registrations.delete(registration);
		const { id, session } = registration;
		registration.session = undefined;
		if (id === undefined || session !== this.session || !this.connection) return;
		this.byId.delete(id);
		await this.request(`remove object ${hex(id)}`, (seq) => ({
			type: "REMOVE_OBJECT",
			seq,
			peer: 0,
			attrs: { objid: id },
		})).catch((e) => this.log("warning", `ubus: ${errorText(e)}`));
	}

	/** Registers everything, including what registering adds (the object watch of subscriptions). */
	private async registerAll(session: number): Promise<void> {
		const tried = new Set<Registration>();
		for (;;) {
			const next = [...this.registrations].find((r) => !tried.has(r) && r.session !== session);
			if (!next || session !== this.session) return;
			tried.add(next);
			await this.register(next, session);
		}
	}

	/** Registers one item in `session` (once); a failure is logged and retried next session. */
	private async register(registration: Registration, session: number): Promise<void> {
		if (registration.session === session) return;
		registration.session = session;
		try {
			const attrs: MessageAttrs =
				registration.kind === "object"
					? { objpath: registration.name, signature: registration.servant.signature ?? [] }
					: {};
			const answer = await this.request(`register ${registration.kind} ${registration.name}`, (seq) => ({
				type: "ADD_OBJECT",
				seq,
				peer: 0,
				attrs,
			}));
			const id = answer.data.find((a) => a.objid !== undefined)?.objid;
			if (id === undefined) throw new UbusStatusError(UbusStatus.NO_DATA, `register ${registration.name}`);
			if (registration.session !== session) return;
			registration.id = id;
			this.byId.set(id, registration);
			if (registration.kind === "listener")
				await this.request(`listen for ${registration.name}`, (seq) =>
					registerListenerMessage(seq, id, registration.name),
				);
			if (registration.kind === "subscription") await this.subscribeTarget(registration, session);
		} catch (e) {
			if (registration.session !== session || session !== this.session) return;
			registration.session = undefined;
			this.log("warning", `ubus: ${errorText(e)}`);
		}
	}

	/** Subscribes to the target if it exists now; otherwise when ubusd announces it. */
	private async subscribeTarget(registration: Registration, session: number): Promise<void> {
		if (registration.subscribed || registration.id === undefined) return;
		const subscriberId = registration.id;
		let target: number;
		try {
			target = await this.lookupId(registration.name);
		} catch (e) {
			if (!(e instanceof UbusStatusError && e.status === UbusStatus.NOT_FOUND)) throw e;
			this.watchObjects(); // subscribe when ubusd announces the object
			return;
		}
		if (registration.session !== session) return;
		await this.request(`subscribe to ${registration.name}`, (seq) =>
			subscribeMessage(seq, subscriberId, target),
		);
		registration.subscribed = true;
	}

	/** One internal listener for objects appearing, shared by all subscriptions. */
	private watchObjects(): void {
		if (this.watchingObjects) return;
		this.watchingObjects = true;
		this.listen(OBJECT_ADDED, (_event, data) => {
			for (const registration of this.registrations)
				if (
					registration.kind === "subscription" &&
					registration.name === data.path &&
					registration.session === this.session
				)
					void this.subscribeTarget(registration, this.session).catch((e) =>
						this.log("warning", `ubus: ${errorText(e)}`),
					);
		});
	}

	// ---- messages ------------------------------------------------------------------------------

	private dispatch(connection: Connection, incoming: Incoming): void {
		if ("kind" in incoming || !incoming.ok) {
			const { header, error } = incoming;
			const type = header ? (header.type < 12 ? header.type : -1) : -1;
			this.log("warning", `ubus: refused a frame from ubusd: ${error.message}`);
			if (!header) return;
			// Only the request the frame belongs to fails.
			if (type === 1 || type === 2) this.requests.reject(header.seq, header.peer, error);
			if (
				type === 5 &&
				!("kind" in incoming) &&
				incoming.attrs.objid !== undefined &&
				!incoming.attrs.no_reply
			)
				this.sendOn(connection, {
					type: "STATUS",
					seq: header.seq,
					peer: header.peer,
					attrs: { status: UbusStatus.INVALID_ARGUMENT, objid: incoming.attrs.objid },
				});
			return;
		}
		const message = incoming.message;
		switch (message.type) {
			case "STATUS":
			case "DATA":
				this.requests.answer(message);
				return;
			case "INVOKE":
				// After the continuations of answers already read (an ADD_OBJECT's id may arrive in
				// the same read as the first INVOKE for it); setImmediate keeps INVOKEs in order.
				setImmediate(() => void this.serve(connection, message));
				return;
			case "NOTIFY": {
				// ubusd telling one of our objects whether it has subscribers
				const registration = this.byId.get(message.attrs.objid ?? 0);
				if (registration) registration.hasSubscribers = message.attrs.active === 1;
				return;
			}
			case "UNSUBSCRIBE": {
				// the object one of our subscriptions watched has gone; ubus.object.add brings it back
				const registration = this.byId.get(message.attrs.objid ?? 0);
				if (registration) registration.subscribed = false;
				return;
			}
			default:
				return;
		}
	}

	private async serve(connection: Connection, invoke: Message): Promise<void> {
		const registration = this.byId.get(invoke.attrs.objid ?? 0);
		const replies = await answerInvoke(registration?.servant, invoke);
		for (const reply of replies) {
			try {
				this.sendOn(connection, reply);
			} catch (e) {
				if (!(e instanceof UbusEncodeError)) throw e;
				this.log("err", `ubus: reply to ${invoke.attrs.method} cannot be sent: ${e.message}`);
				this.sendOn(connection, {
					...reply,
					type: "STATUS",
					attrs: { status: UbusStatus.UNKNOWN_ERROR, objid: reply.attrs.objid ?? 0 },
				});
				return;
			}
		}
	}

	private async runMethod(
		path: string,
		methods: ObjectMethods,
		method: string,
		data: Field[],
		context: InvokeContext,
	): Promise<InvokeResult> {
		const entry = Object.hasOwn(methods, method) ? methods[method] : undefined;
		if (!entry) return { status: UbusStatus.METHOD_NOT_FOUND };
		try {
			const reply = await entry.handler(tableToPlain(data), { ...context, method });
			const result: InvokeResult = { status: reply.status ?? UbusStatus.OK };
			if (reply.data !== undefined) result.data = tableFromPlain(reply.data);
			return result;
		} catch (e) {
			this.log("err", `ubus: ${path} ${method} failed: ${errorText(e)}`);
			return { status: UbusStatus.UNKNOWN_ERROR };
		}
	}

	private async deliver(what: string, callback: () => void): Promise<InvokeResult> {
		try {
			callback();
		} catch (e) {
			this.log("err", `ubus: handling ${what} failed: ${errorText(e)}`);
		}
		return { status: UbusStatus.OK };
	}

	private sendOn(connection: Connection, message: Message): void {
		if (connection === this.connection) connection.send(message);
	}

	// ---- requests ------------------------------------------------------------------------------

	/** Sends a request and waits for its STATUS; a status other than OK rejects unless `allowError`. */
	private async request(
		what: string,
		build: (seq: number) => Message,
		timeoutMs = this.timeoutMs,
		failOnStatus = true,
	): Promise<Answer> {
		const connection = this.connection;
		if (!connection?.isOpen) throw new UbusStatusError(UbusStatus.CONNECTION_FAILED, what);
		const message = build(this.requests.nextSeq());
		connection.send(message);
		const answer = await this.requests.wait(message.seq, message.peer, what, timeoutMs);
		if (failOnStatus && answer.status !== UbusStatus.OK) throw new UbusStatusError(answer.status, what);
		return answer;
	}

	private fireAndForget(what: string, build: (seq: number) => Message): void {
		try {
			this.connection?.send(build(this.requests.nextSeq()));
		} catch (e) {
			this.log("warning", `ubus: ${what}: ${errorText(e)}`);
		}
	}

	private async lookupId(path: string): Promise<number> {
		const found = (await this.lookup(path)).find((o) => o.path === path);
		if (!found) throw new UbusStatusError(UbusStatus.NOT_FOUND, `lookup ${path}`);
		return found.id;
	}
}

const hex = (id: number) => `@${(id >>> 0).toString(16).padStart(8, "0")}`;
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
