// Events and subscriptions, as libubus builds them. Events go through ubusd's built-in event
// object (id 1): "send" broadcasts {id, data}; "register" ties a pattern ("network.interface",
// "portrig.*") to a listener object of ours, which then receives each event as an INVOKE whose
// METHOD is the event name. Subscriptions tie a subscriber object of ours to another client's
// object (SUBSCRIBE OBJID=ours TARGET=theirs); that object's NOTIFYs arrive as INVOKEs.
import type { Field } from "./blobmsg";
import type { Message } from "./message";

export const EVENT_OBJECT_ID = 1;

/** An INVOKE of ubusd's built-in event object: how both sending and listening are asked for. */
function eventObjectInvoke(seq: number, method: "send" | "register", data: Field[]): Message {
	return { type: "INVOKE", seq, peer: EVENT_OBJECT_ID, attrs: { objid: EVENT_OBJECT_ID, method, data } };
}

export function sendEventMessage(seq: number, event: string, data: Field[]): Message {
	return eventObjectInvoke(seq, "send", [
		{ name: "id", type: "string", value: event },
		{ name: "data", type: "table", value: data },
	]);
}

export function registerListenerMessage(seq: number, listenerId: number, pattern: string): Message {
	return eventObjectInvoke(seq, "register", [
		// libubus puts the object id in as int32 (blobmsg_add_u32), so ids ≥ 2^31 go negative.
		{ name: "object", type: "int32", value: listenerId | 0 },
		{ name: "pattern", type: "string", value: pattern },
	]);
}

export function subscribeMessage(seq: number, subscriberId: number, targetId: number): Message {
	return { type: "SUBSCRIBE", seq, peer: 0, attrs: { objid: subscriberId, target: targetId } };
}

/** A notification to our object's subscribers, sent without waiting for their answers. */
export function notifyMessage(seq: number, objectId: number, type: string, data: Field[]): Message {
	return {
		type: "NOTIFY",
		seq,
		peer: objectId,
		attrs: { objid: objectId, method: type, data, no_reply: 1 },
	};
}
