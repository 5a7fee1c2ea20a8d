// The nf_tables change stream of the daemon's network namespace, read in-process on a netlink
// socket (no `nft monitor` child that could outlive a killed daemon): tables and flowtables that
// come or go (nftables.ts). A full receive buffer drops notifications for good: the socket is
// then replaced and `onLoss` tells the owner to look at the kernel itself.
import { log } from "../log/log";
import { NetlinkFormatError, parseMessages } from "./message";
import { NFNLGRP_NFTABLES, type NftChange, parseNftChange } from "./nftables";
import { NETLINK_NETFILTER, NetlinkSocket } from "./socket";

export type NftChangesOptions = {
	onChange: (change: NftChange) => void;
	/** Notifications were lost (overrun or unreadable datagram): state may have changed unseen. */
	onLoss: () => void;
};

/** A reload of fw4 or of 10,000 forwards notifies every rule and element: room for bursts. */
const RECEIVE_BUFFER = 2 << 20;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class NftChanges {
	private socket: NetlinkSocket | undefined;
	private loop: Promise<void> | undefined;
	private stopping = false;
	losses = 0;

	constructor(private readonly options: NftChangesOptions) {}

	/** Subscribes now (changes after this call are seen); throws if the socket cannot be opened. */
	start(): void {
		if (this.loop) return;
		this.stopping = false;
		this.loop = this.run(this.subscribe());
	}

	async stop(): Promise<void> {
		this.stopping = true;
		this.socket?.cancel();
		await this.loop;
		this.loop = undefined;
	}

	private subscribe(): NetlinkSocket {
		return NetlinkSocket.open(NETLINK_NETFILTER, {
			groups: [NFNLGRP_NFTABLES],
			receiveBuffer: RECEIVE_BUFFER,
		});
	}

	private async run(first: NetlinkSocket): Promise<void> {
		let socket: NetlinkSocket | undefined = first;
		while (socket && !this.stopping) {
			const lost = await this.follow(socket);
			socket.close();
			socket = undefined;
			while (lost && !this.stopping && !socket) {
				try {
					socket = this.subscribe();
				} catch (e) {
					log("err", `nftables changes: cannot subscribe again: ${message(e)}`);
					await Bun.sleep(1000);
				}
			}
			if (socket) {
				this.losses++;
				this.options.onLoss();
			}
		}
	}

	/** Reads until the stream ends; resolves true when notifications were lost. */
	private async follow(socket: NetlinkSocket): Promise<boolean> {
		this.socket = socket;
		try {
			await socket.readEach((bytes) => {
				for (const m of parseMessages(bytes)) {
					const change = parseNftChange(m);
					if (change) this.options.onChange(change);
				}
				return true;
			});
			return false;
		} catch (e) {
			if (this.stopping) return false;
			const what = e instanceof NetlinkFormatError ? "an unreadable datagram" : message(e);
			log("warning", `nftables changes: ${what}; subscribing again and looking at the tables`);
			return true;
		} finally {
			this.socket = undefined;
		}
	}
}
