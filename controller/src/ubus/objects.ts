// Objects this client serves. ubusd forwards each INVOKE for one of them with the caller's seq
// and client id as peer; the answer goes back with the same seq and peer: a DATA (OBJID, DATA)
// when there is a reply, then a STATUS (STATUS, OBJID) — the layout libubus produces — unless
// the INVOKE said NO_REPLY (notifications sent without waiting).
import type { Field } from "./blobmsg";
import type { Message, MessageAttrs } from "./message";
import { UbusStatus } from "./status";

export type InvokeContext = {
	/** the calling client's id (ubusd's peer) */
	caller: number;
	/** who the caller runs as, when ubusd says (it does for every INVOKE it forwards) */
	user?: string;
	group?: string;
};

export type InvokeResult = { status: number; data?: Field[] };

/** An object as the session layer sees it: named or not, and how it answers. */
export type Servant = {
	/** the published path, absent for event listeners and subscribers */
	path?: string;
	signature?: Field[];
	/** `method` is the method name, or the event / notification name for a listener */
	invoke(method: string, data: Field[], context: InvokeContext): Promise<InvokeResult>;
};

/** The messages that answer one INVOKE (none for NO_REPLY). */
export async function answerInvoke(servant: Servant | undefined, invoke: Message): Promise<Message[]> {
	const { objid = 0, method, data, user, group, no_reply } = invoke.attrs;
	const reply = (status: number, replyData?: Field[]): Message[] => {
		if (no_reply) return [];
		const messages: Message[] = [];
		const answer = (attrs: MessageAttrs, type: Message["type"]): Message => ({
			type,
			seq: invoke.seq,
			peer: invoke.peer,
			attrs,
		});
		if (replyData) messages.push(answer({ objid, data: replyData }, "DATA"));
		messages.push(answer({ status, objid }, "STATUS"));
		return messages;
	};
	if (!servant) return reply(UbusStatus.NOT_FOUND);
	if (method === undefined || data === undefined) return reply(UbusStatus.INVALID_ARGUMENT);
	const context: InvokeContext = { caller: invoke.peer };
	if (user !== undefined) context.user = user;
	if (group !== undefined) context.group = group;
	const result = await servant.invoke(method, data, context);
	return reply(result.status, result.data);
}
