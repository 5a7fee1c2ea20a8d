// A small ubusd stand-in for tests of components above the client (netifd following, …): it
// answers ADD_OBJECT, LOOKUP, SUBSCRIBE, event registration and INVOKEs of objects it hosts
// the way ubusd does (message layout as in the captured frames), and can emit events and
// notifications. Frames are made with the codec, which the captured frames prove byte-exact.
import type { Socket, UnixSocketListener } from "bun";
import { FrameReader } from "../frame-reader";
import { decodeMessage, encodeMessage, type Message, type MessageAttrs } from "../message";
import { type PlainTable, tableFromPlain, tableToPlain } from "../plain";
import { encodeSignature } from "../signature";

type Hosted = { path: string; id: number; methods: Record<string, (args: PlainTable) => PlainTable> };
type Client = { socket: Socket<undefined>; reader: FrameReader; id: number };

export class FakeUbusd {
	private listener: UnixSocketListener<undefined> | undefined;
	private readonly clients = new Map<Socket<undefined>, Client>();
	private readonly hosted = new Map<string, Hosted>();
	/** event pattern → listener object ids */
	private readonly patterns: { pattern: string; object: number; client: Client }[] = [];
	/** target object id → subscriber object ids */
	private readonly subscribers: { target: number; object: number; client: Client }[] = [];
	private nextId = 0x10000;
	private eventSeq = 0;
	/** every request received, decoded, in order */
	readonly received: Message[] = [];

	constructor(readonly path: string) {}

	/** An object that lives in "another client" (netifd's network.interface, …). */
	host(path: string, methods: Hosted["methods"]): void {
		this.hosted.set(path, { path, id: this.nextId++, methods });
	}

	start(): void {
		this.listener = Bun.listen({
			unix: this.path,
			socket: {
				open: (socket) => {
					const client: Client = { socket, reader: new FrameReader(), id: this.nextId++ };
					this.clients.set(socket, client);
					this.send(client, { type: "HELLO", seq: 0, peer: client.id, attrs: {} });
				},
				data: (socket, data) => {
					const client = this.clients.get(socket);
					if (!client) return;
					for (const event of client.reader.push(Uint8Array.from(data))) {
						if (event.kind !== "frame") continue;
						const decoded = decodeMessage(event.frame);
						if (decoded.ok) this.handle(client, decoded.message);
					}
				},
				close: (socket) => {
					this.clients.delete(socket);
				},
			},
		});
	}

	stop(): void {
		this.listener?.stop(true);
		this.listener = undefined;
	}

	/** ubus send NAME DATA: an INVOKE to every listener whose pattern matches. */
	event(name: string, data: PlainTable): void {
		for (const { pattern, object, client } of this.patterns) {
			const matches = pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
			if (matches)
				this.send(client, {
					type: "INVOKE",
					seq: ++this.eventSeq,
					peer: 0,
					attrs: { objid: object, method: name, data: tableFromPlain(data) },
				});
		}
	}

	/** A NOTIFY of hosted object `path`, delivered to its subscribers as INVOKEs. */
	notify(path: string, type: string, data: PlainTable): void {
		const target = this.hosted.get(path);
		for (const { object, client } of this.subscribers.filter((s) => s.target === target?.id))
			this.send(client, {
				type: "INVOKE",
				seq: ++this.eventSeq,
				peer: 0,
				attrs: { objid: object, method: type, data: tableFromPlain(data), no_reply: 1 },
			});
	}

	private handle(client: Client, m: Message): void {
		this.received.push(m);
		const status = (status: number, extra: MessageAttrs = {}) =>
			this.send(client, { type: "STATUS", seq: m.seq, peer: m.peer, attrs: { status, ...extra } });
		const data = (attrs: MessageAttrs) =>
			this.send(client, { type: "DATA", seq: m.seq, peer: m.peer, attrs });
		switch (m.type) {
			case "ADD_OBJECT":
				data({ objid: this.nextId++ });
				status(0);
				return;
			case "LOOKUP": {
				const found = [...this.hosted.values()].filter(
					(h) => m.attrs.objpath === undefined || h.path === m.attrs.objpath,
				);
				if (found.length === 0) {
					status(4);
					return;
				}
				for (const h of found)
					data({
						objpath: h.path,
						objid: h.id,
						objtype: h.id + 1,
						signature: encodeSignature(Object.fromEntries(Object.keys(h.methods).map((k) => [k, {}]))),
					});
				status(0);
				return;
			}
			case "REMOVE_OBJECT": {
				const id = m.attrs.objid ?? 0;
				for (const list of [this.patterns, this.subscribers])
					for (let i = list.length - 1; i >= 0; i--) if (list[i]?.object === id) list.splice(i, 1);
				data({ objid: id });
				status(0);
				return;
			}
			case "SUBSCRIBE":
				this.subscribers.push({ target: m.attrs.target ?? 0, object: m.attrs.objid ?? 0, client });
				status(0);
				return;
			case "INVOKE": {
				const args = tableToPlain(m.attrs.data ?? []);
				if (m.attrs.objid === 1) {
					if (m.attrs.method === "register")
						this.patterns.push({ pattern: String(args.pattern), object: Number(args.object) >>> 0, client });
					if (m.attrs.method === "send") this.event(String(args.id), (args.data ?? {}) as PlainTable);
					status(0);
					return;
				}
				const h = [...this.hosted.values()].find((o) => o.id === m.attrs.objid);
				const method =
					h && Object.hasOwn(h.methods, m.attrs.method ?? "") ? h.methods[m.attrs.method ?? ""] : undefined;
				if (!h) {
					status(4);
					return;
				}
				if (!method) {
					status(3, { objid: h.id });
					return;
				}
				this.send(client, {
					type: "DATA",
					seq: m.seq,
					peer: h.id,
					attrs: { objid: h.id, data: tableFromPlain(method(args)) },
				});
				this.send(client, {
					type: "STATUS",
					seq: m.seq,
					peer: h.id,
					attrs: { status: 0, objid: h.id },
				});
				return;
			}
			default:
				return;
		}
	}

	private send(client: Client, message: Message): void {
		client.socket.write(encodeMessage(message));
	}
}
