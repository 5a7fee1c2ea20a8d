// portrig.api, loaded as LuCI loads it and driven with the answers uhttpd gives.
//
// The answer shapes are uhttpd's (openwrt/uhttpd, ubus.c). LuCI's rpc posts to /ubus itself,
// which uhttpd serves in its "legacy" JSON-RPC format: uh_ubus_request_cb answers a call with
//   {"jsonrpc":"2.0","id":ID,"result":[STATUS]}            the object sent no reply data
//   {"jsonrpc":"2.0","id":ID,"result":[STATUS,{…data…}]}   it did — whatever STATUS is
// and uh_ubus_json_rpc_error answers what uhttpd refuses itself, with a code of its json_errors
// table: {"jsonrpc":"2.0","id":ID,"error":{"code":-32002,"message":"Access denied"}} when the
// session's ACL lacks the method, -32000 "Object not found" when no portrig object is on ubus,
// -32003 "ubus request timed out". uh_ubus_send_request refuses (-32602) a call whose arguments
// hold ubus_rpc_session, which it adds itself. LuCI's own admin/ubus fallback (luci-base
// ucode, ubus_reply) answers in the same shapes.
//
// The reply tables in the answers are the daemon's own (daemon.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
	type Api,
	httpAnswer,
	loadApi,
	loadCommon,
	luciStandIns,
	type Post,
	RPC_BASE_URL,
	SESSION,
} from "./app";
import { daemonAnswer, uhttpdResult } from "./daemon";
import { installFormat } from "./luci-loader";

/** Loads portrig.api with a request stand-in that answers every post with `answer(post)`. */
function apiAnswering(answer: (post: Post) => Promise<unknown>) {
	const luci = luciStandIns(answer);
	return { api: loadApi(luci), posts: luci.posts, declared: luci.declared };
}

/** portrig.api whose every call uhttpd answers with the text `body` (HTTP 200). */
function apiAnswered(body: string): Api {
	return apiAnswering(() => Promise.resolve(httpAnswer(body))).api;
}

let uninstall: () => void;
beforeAll(() => {
	uninstall = installFormat();
});
afterAll(() => uninstall());

describe("what a call sends", () => {
	test("a call is posted to LuCI's rpc endpoint as uhttpd's JSON-RPC 'call' of the portrig object, with LuCI's session and timeout", async () => {
		const { api, posts } = apiAnswering((post) =>
			Promise.resolve(httpAnswer(uhttpdResult(post.body.id, 0, {}))),
		);
		await api.call("update_forward", { id: "web", enabled: "0" });
		expect(posts).toHaveLength(1);
		const post = posts[0] as Post;
		expect(post.url).toBe(RPC_BASE_URL);
		expect(post.body).toEqual({
			jsonrpc: "2.0",
			id: post.body.id,
			method: "call",
			params: [SESSION, "portrig", "update_forward", { id: "web", enabled: "0" }],
		});
		expect(post.options).toEqual({ timeout: 20000, credentials: true });
	});

	test("a call without arguments sends an empty table, as uhttpd requires a table there", async () => {
		const { api, posts } = apiAnswering(() => Promise.resolve(httpAnswer(uhttpdResult(1, 0))));
		await api.call("status");
		expect(posts[0]?.body.params[3]).toEqual({});
	});

	test("an argument left undefined is not sent, null is (it removes the option)", async () => {
		const { api, posts } = apiAnswering(() => Promise.resolve(httpAnswer(uhttpdResult(1, 0))));
		await api.call("update_forward", { id: "web", name: undefined, dest_port: null });
		expect(posts[0]?.body.params[3]).toEqual({ id: "web", dest_port: null });
	});

	test("each call has its own request id", async () => {
		const { api, posts } = apiAnswering((post) => Promise.resolve(httpAnswer(uhttpdResult(post.body.id, 0))));
		await Promise.all([api.call("status"), api.call("list"), api.call("openings")]);
		expect(new Set(posts.map((p) => p.body.id)).size).toBe(3);
	});

	test("a method or argument name outside the table is refused without sending anything", async () => {
		const { api, posts } = apiAnswering(() => Promise.resolve(httpAnswer(uhttpdResult(1, 0))));
		expect(await api.call("reload")).toEqual({
			status: null,
			reply: null,
			error: { status: null, message: "'reload' is not a portrig call of these pages", field: null },
		});
		expect((await api.call("delete_forward", { id: "web", ubus_rpc_session: SESSION })).error?.message).toBe(
			"'ubus_rpc_session' is not an argument of delete_forward",
		);
		expect(posts).toEqual([]);
	});
});

describe("what a call resolves to, from uhttpd's answers", () => {
	test("[0, reply]: done, with the daemon's reply", async () => {
		const { status, data } = await daemonAnswer("list", {});
		expect(status).toBe(0);
		const outcome = await apiAnswered(uhttpdResult(7, status, data)).call("list");
		expect(outcome.error).toBeNull();
		expect(outcome.status).toBe(0);
		expect(outcome.reply).toEqual(data);
		expect(((outcome.reply?.forwards ?? []) as { id: string }[]).map((f) => f.id)).toEqual(["web"]);
	});

	test("[0] without data: done, no reply", async () => {
		expect(
			await apiAnswered('{"jsonrpc":"2.0","id":3,"result":[0]}').call("delete_forward", { id: "web" }),
		).toEqual({
			status: 0,
			reply: null,
			error: null,
		});
	});

	test("[2, {error, field}]: refused, with the daemon's words, the field they name, and the whole reply", async () => {
		const { status, data } = await daemonAnswer("add_forward", { src_dport: "0", dest_ip: "192.168.1.10" });
		expect(status).toBe(2);
		const outcome = await apiAnswered(uhttpdResult(1, status, data)).call("add_forward", {
			src_dport: "0",
			dest_ip: "192.168.1.10",
		});
		expect(outcome.status).toBe(2);
		expect(outcome.reply).toEqual(data);
		expect(outcome.error?.status).toBe(2);
		expect(outcome.error?.field).toBe("src_dport");
		expect(outcome.error?.message).toBe(data.error as string);
		expect(outcome.error?.message).toStartWith("src_dport: ");
		// the dialog shows it on the field without repeating the field's name
		const shown = loadCommon().fieldMessage(outcome.error ?? { message: "", field: null });
		expect(shown).toBe((data.error as string).slice("src_dport: ".length));
	});

	test("[4, {error, field}]: not found, naming what is missing", async () => {
		const { status, data } = await daemonAnswer("delete_forward", { id: "gone" });
		expect(status).toBe(4);
		const outcome = await apiAnswered(uhttpdResult(1, status, data)).call("delete_forward", { id: "gone" });
		expect(outcome.error).toEqual({ status: 4, message: "no forward with id 'gone'", field: "id" });
	});

	test("[4] without data: not found, in the page's words", async () => {
		expect(await apiAnswered('{"jsonrpc":"2.0","id":1,"result":[4]}').call("openings")).toEqual({
			status: 4,
			reply: null,
			error: { status: 4, message: "not found", field: null },
		});
	});

	test("an error uhttpd answers itself (ACL refusal -32002): not done, status null, said plainly", async () => {
		const outcome = await apiAnswered(
			'{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"Access denied"}}',
		).call("set_dmz", { enabled: "0" });
		expect(outcome).toEqual({
			status: null,
			reply: null,
			error: {
				status: null,
				message: "access denied: this login may not do that, or it has expired",
				field: null,
			},
		});
	});

	test("no portrig object on ubus (-32000) says the daemon is not running; a ubus timeout (-32003) says so", async () => {
		const missing = await apiAnswered(
			'{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"Object not found"}}',
		).call("status");
		expect(missing.error?.message).toBe("the portrig daemon is not running (ubus has no portrig object)");
		const late = await apiAnswered(
			'{"jsonrpc":"2.0","id":1,"error":{"code":-32003,"message":"ubus request timed out"}}',
		).call("status");
		expect(late.error?.message).toBe("the portrig daemon did not answer in time");
	});

	test("another JSON-RPC error keeps uhttpd's message and code", async () => {
		const outcome = await apiAnswered(
			'{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid parameters"}}',
		).call("list");
		expect(outcome.error?.message).toBe("the call failed: Invalid parameters (JSON-RPC error -32602)");
	});

	test("an HTTP error, a request that never got an answer, and an answer that is not JSON-RPC are errors, never a reply", async () => {
		const http = await apiAnswering(() => Promise.resolve(httpAnswer("", 403, "Forbidden"))).api.call("list");
		expect(http.error?.message).toBe("the call failed: HTTP error 403 Forbidden");
		const aborted = await apiAnswering(() =>
			Promise.reject(new Error("XHR request aborted by browser")),
		).api.call("list");
		expect(aborted.error?.message).toBe("the call failed: XHR request aborted by browser");
		const notJson = await apiAnswered("<html>Bad Gateway</html>").call("list");
		expect(notJson.error?.message).toBe("the call failed: the answer is not JSON");
		const notRpc = await apiAnswered('{"result":[0]}').call("list");
		expect(notRpc.error?.message).toBe("the call failed: the answer is not a JSON-RPC 2.0 message");
		const noStatus = await apiAnswered('{"jsonrpc":"2.0","id":1,"result":{"forwards":[]}}').call("list");
		expect(noStatus.error?.message).toBe("the call failed: the answer has no ubus status");
		for (const outcome of [http, aborted, notJson, notRpc, noStatus]) {
			expect(outcome.status).toBeNull();
			expect(outcome.reply).toBeNull();
		}
	});
});

describe("LuCI's host hints", () => {
	test("are asked of luci-rpc through rpc.declare, and are {} when they cannot be had", async () => {
		const { api, declared } = apiAnswering(() => Promise.reject(new Error("no HTTP here")));
		expect(declared[0]).toEqual({ object: "luci-rpc", method: "getHostHints", expect: { "": {} } });
		expect(await api.hostHints()).toEqual({});
	});
});
