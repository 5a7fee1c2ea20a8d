// The conntrack event stream: ctnetlink NEW/DESTROY events of the daemon's network namespace,
// read without blocking the event loop, and whole-table dumps.
//
//   const events = new ConntrackEvents({ onEntry, onResync });
//   events.start();                 // subscribes; resolves nothing, runs until stop()
//   await events.dump();            // every entry now (a separate socket; also dumpConntrack())
//   await events.stop();
//
// When the kernel cannot queue an event because the receive buffer is full, it drops it and
// the next read fails with ENOBUFS. Then some events are gone for good, so the stream is never
// trusted past that point: the socket is closed, a new one subscribes, and a dump of the whole
// table (taken after subscribing, so nothing falls between the two) goes to `onResync`. Every
// overrun is logged and counted; none is silent.
import { log } from "../log/log";
import {
	type ConntrackEntry,
	CT_GROUP,
	dumpRequest,
	isConntrackMessage,
	type MarkFilter,
	type OriginFilter,
	parseConntrack,
} from "./conntrack";
import { conntrackPortFilter, type PortRange } from "./filter";
import { errorCode, NetlinkFormatError, NLMSG, parseMessages } from "./message";
import { NETLINK_NETFILTER, NetlinkSocket } from "./socket";

export type ConntrackGroup = keyof typeof CT_GROUP;

export type ConntrackEventsOptions = {
	/** Called for each event, in the kernel's order. */
	onEntry: (entry: ConntrackEntry) => void;
	/** After an overrun: the whole table, dumped after re-subscribing. */
	onResync?: (entries: ConntrackEntry[]) => void | Promise<void>;
	/** Event groups (default NEW and DESTROY). */
	groups?: ConntrackGroup[];
	/** Receive buffer in bytes (default 4 MiB: 80,000 events at 55k conn/s were read without loss). */
	receiveBuffer?: number;
	/** Only events of these protocols and destination ports (a kernel-side filter, filter.ts). */
	ports?: PortRange[];
};

export type ConntrackEventsStats = {
	events: number;
	/** Times events were lost (ENOBUFS: the kernel dropped some), each followed by a resync. */
	overruns: number;
	resyncs: number;
	/** Messages that did not parse (logged, skipped). */
	malformed: number;
	receiveBuffer: number;
	running: boolean;
};

const DEFAULT_BUFFER = 4 << 20;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const isOverrun = (e: unknown) => (e as { code?: unknown } | null)?.code === "ENOBUFS";

let nextSeq = 1;

/** `ret #0xffffffff`: a filter that passes everything. */
const ACCEPT_ALL = new Uint8Array([0x06, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);

/**
 * The conntrack entries of the namespace now, IPv4 and IPv6 (with `mark`, only those so
 * marked; with `origin`, only those from that source), read on a socket of their own.
 */
export async function dumpConntrack(mark?: MarkFilter, origin?: OriginFilter): Promise<ConntrackEntry[]> {
	const socket = NetlinkSocket.open(NETLINK_NETFILTER);
	const seq = nextSeq++;
	const entries: ConntrackEntry[] = [];
	try {
		const reading = socket.readEach((bytes) => {
			for (const m of parseMessages(bytes)) {
				if (m.seq !== seq) continue;
				if (m.type === NLMSG.DONE) return false;
				if (m.type === NLMSG.ERROR) {
					const errno = errorCode(m);
					if (errno !== 0) throw new Error(`conntrack dump refused: errno ${errno}`);
				} else if (isConntrackMessage(m)) entries.push(parseConntrack(m));
			}
			return true;
		});
		socket.send(dumpRequest(seq, mark, origin));
		if (await reading) throw new Error("conntrack dump: the socket closed before the end of the dump");
		return entries;
	} finally {
		socket.close();
	}
}

export class ConntrackEvents {
	private socket: NetlinkSocket | undefined;
	private loop: Promise<void> | undefined;
	private stopping = false;
	private readonly counts = { events: 0, overruns: 0, resyncs: 0, malformed: 0 };
	private ports: PortRange[] | undefined;

	constructor(private readonly options: ConntrackEventsOptions) {
		this.ports = options.ports;
	}

	/** Changes which events the kernel passes on (undefined: all), on the live socket too. */
	setPorts(ports: PortRange[] | undefined): void {
		this.ports = ports;
		if (this.socket) this.applyFilter(this.socket);
	}

	private applyFilter(socket: NetlinkSocket): void {
		// Too many ranges for one program: take every event (correct, only costlier).
		const program = this.ports ? conntrackPortFilter(this.ports) : undefined;
		socket.attachFilter(program ?? ACCEPT_ALL);
	}

	/** Subscribes and starts delivering events; throws if the socket cannot be opened. */
	start(): void {
		if (this.loop) return;
		this.stopping = false;
		const first = this.subscribe();
		this.loop = this.run(first);
	}

	async stop(): Promise<void> {
		this.stopping = true;
		this.socket?.cancel();
		await this.loop;
		this.loop = undefined;
	}

	stats(): ConntrackEventsStats {
		return {
			...this.counts,
			receiveBuffer: this.socket?.receiveBuffer ?? 0,
			running: this.loop !== undefined && !this.stopping,
		};
	}

	/** Every conntrack entry of the namespace now, IPv4 and IPv6. */
	dump(): Promise<ConntrackEntry[]> {
		return dumpConntrack();
	}

	private subscribe(): NetlinkSocket {
		const groups = (this.options.groups ?? ["NEW", "DESTROY"]).map((g) => CT_GROUP[g]);
		const socket = NetlinkSocket.open(NETLINK_NETFILTER, {
			groups,
			receiveBuffer: this.options.receiveBuffer ?? DEFAULT_BUFFER,
		});
		try {
			this.applyFilter(socket);
		} catch (e) {
			socket.close();
			throw e;
		}
		this.socket = socket;
		return socket;
	}

	private async run(first: NetlinkSocket): Promise<void> {
		let socket: NetlinkSocket | undefined = first;
		while (socket) {
			const overrun: boolean = !this.stopping && (await this.follow(socket));
			socket.close();
			socket = overrun && !this.stopping ? await this.resubscribe() : undefined;
		}
		this.socket = undefined;
	}

	/** Reads events until the stream ends; resolves true when it ended on an overrun. */
	private async follow(socket: NetlinkSocket): Promise<boolean> {
		try {
			if (await socket.readEach((bytes) => this.deliver(bytes))) return false;
			// A datagram that does not parse may be a truncated one: events may be lost.
			this.counts.overruns++;
			log("warning", `conntrack events: unreadable datagram (loss #${this.counts.overruns}); resyncing`);
			return true;
		} catch (e) {
			if (this.stopping) return false;
			if (isOverrun(e)) {
				this.counts.overruns++;
				log(
					"warning",
					`conntrack events: the kernel dropped events (receive buffer full, overrun #${this.counts.overruns}); resubscribing and resyncing from a dump`,
				);
				return true;
			}
			log("err", `conntrack events: reading failed: ${message(e)}; resubscribing`);
			return true;
		}
	}

	/** A fresh subscription, then a dump for what the lost events would have said. */
	private async resubscribe(): Promise<NetlinkSocket | undefined> {
		for (let attempt = 1; !this.stopping; attempt++) {
			try {
				const socket = this.subscribe();
				const entries = await this.dump();
				this.counts.resyncs++;
				log("notice", `conntrack events: resynced from a dump of ${entries.length} entries`);
				await Promise.resolve(this.options.onResync?.(entries)).catch((e) =>
					log("err", `conntrack events: handling the resync failed: ${message(e)}`),
				);
				return socket;
			} catch (e) {
				this.socket?.close();
				log("err", `conntrack events: resync attempt ${attempt} failed: ${message(e)}`);
				await Bun.sleep(Math.min(5000, 100 * attempt));
			}
		}
		return undefined;
	}

	/** Hands the datagrams' entries to onEntry; false when the bytes do not split into messages. */
	private deliver(bytes: Uint8Array): boolean {
		let messages: ReturnType<typeof parseMessages>;
		try {
			messages = parseMessages(bytes);
		} catch (e) {
			this.malformed(e);
			return false;
		}
		for (const m of messages) {
			if (!isConntrackMessage(m)) continue;
			let entry: ConntrackEntry;
			try {
				entry = parseConntrack(m);
			} catch (e) {
				this.malformed(e);
				continue;
			}
			this.counts.events++;
			this.options.onEntry(entry);
		}
		return true;
	}

	private malformed(e: unknown): void {
		this.counts.malformed++;
		// The first few are worth reading; after that the count says enough.
		if (this.counts.malformed <= 5 || !(e instanceof NetlinkFormatError))
			log("err", `conntrack events: skipped a malformed message (#${this.counts.malformed}): ${message(e)}`);
	}
}
