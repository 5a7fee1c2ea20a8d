'use strict';
'require baseclass';
'require request';
'require rpc';
'require portrig.common as common';

/*
 * Every ubus call of the portrig pages, declared once, and what its answer means.
 *
 * The daemon refuses a call with a ubus status (2 invalid argument, 4 not found, …) and a reply
 * table { status, error, field }. uhttpd's /ubus endpoint (and LuCI's own admin/ubus fallback)
 * pass both on as the JSON-RPC result [status, reply], but rpc.declare resolves to only one of
 * them: the reply when there is one, else the bare status (and with `reject`, an exception that
 * names only the status). So portrig calls are posted here to the endpoint LuCI's rpc uses, with
 * LuCI's request API, session and timeout (LuCI batches them with its other rpc calls), and every
 * call resolves, never rejects, to an outcome:
 *
 *   { status, reply, error }
 *   status  the ubus status (0 = done), or null when the call did not reach the daemon
 *   reply   the daemon's reply table, or null when it sent none
 *   error   null when the call was done, else { status, message, field }: the daemon's words
 *           and the field they name when it sent them, else what went wrong on the way
 */

/** The portrig methods the pages call → the argument names each may send. */
const CALLS = {
	status: [],
	list: [],
	openings: [],
	add_forward: common.FORWARD_FIELDS,
	update_forward: ['id'].concat(common.FORWARD_FIELDS),
	delete_forward: ['id'],
	add_trigger: common.TRIGGER_FIELDS,
	update_trigger: ['id'].concat(common.TRIGGER_FIELDS),
	delete_trigger: ['id'],
	set_dmz: common.DMZ_FIELDS,
	close_opening: ['trigger', 'host'],
	get_settings: [],
	set_settings: common.SETTINGS_FIELDS,
};

/** The LAN hosts LuCI knows (DHCP leases, neighbours) for the host pickers; {} when unavailable. */
const callHostHints = rpc.declare({ object: 'luci-rpc', method: 'getHostHints', expect: { '': {} } });

/**
 * /etc/config/portrig as rpcd's uci object reads it ({ section: { '.type', '.name', '.index',
 * option: value } }), for showing the entries while the daemon is not running.
 */
const callStoredConfig = rpc.declare({
	object: 'uci',
	method: 'get',
	params: ['config'],
	expect: { values: {} },
});

/** Runs /etc/init.d/NAME ACTION, as LuCI's own pages start services (luci-base's rpc). */
const callInitAction = rpc.declare({
	object: 'luci',
	method: 'setInitAction',
	params: ['name', 'action'],
	expect: { result: false },
});

/** uhttpd's JSON-RPC error codes (ubus.c json_errors) a portrig call can meet. */
const OBJECT_NOT_FOUND = -32000;
const ACCESS_DENIED = -32002;
const UBUS_TIMEOUT = -32003;

let nextRequestId = 1;

function isObject(value) {
	return value != null && typeof value === 'object' && !Array.isArray(value);
}

function failed(status, reply, message, field) {
	return {
		status: status,
		reply: reply,
		error: { status: status, message: message, field: field ?? null },
	};
}

/** What a ubus status means when the daemon sent no words of its own. */
function statusText(status) {
	switch (status) {
		case 2:
			return _('invalid argument');
		case 3:
			return _('the portrig daemon does not know this method');
		case 4:
			return _('not found');
		case 6:
			return _('permission denied');
		case 7:
			return _('the portrig daemon did not answer in time');
		default:
			return _('ubus error %d').format(status);
	}
}

/** An error uhttpd answered itself, before or instead of the daemon. */
function jsonRpcError(error) {
	switch (error.code) {
		case OBJECT_NOT_FOUND:
			return Object.assign(
				failed(null, null, _('the portrig daemon is not running (ubus has no portrig object)')),
				{ daemonDown: true },
			);
		case ACCESS_DENIED:
			return failed(null, null, _('access denied: this login may not do that, or it has expired'));
		case UBUS_TIMEOUT:
			return failed(null, null, _('the portrig daemon did not answer in time'));
		default:
			return failed(
				null,
				null,
				_('the call failed: %s (JSON-RPC error %d)').format(error.message, error.code),
			);
	}
}

/** A JSON-RPC answer (a LuCI request Response) → the outcome of the call. */
function outcomeOf(response) {
	if (!response.ok)
		return failed(
			null,
			null,
			_('the call failed: HTTP error %d %s').format(response.status, response.statusText ?? ''),
		);
	let message;
	try {
		message = response.json();
	} catch {
		return failed(null, null, _('the call failed: the answer is not JSON'));
	}
	if (!isObject(message) || message.jsonrpc !== '2.0')
		return failed(null, null, _('the call failed: the answer is not a JSON-RPC 2.0 message'));
	if (isObject(message.error)) return jsonRpcError(message.error);
	const result = message.result;
	if (!Array.isArray(result) || typeof result[0] !== 'number')
		return failed(null, null, _('the call failed: the answer has no ubus status'));
	const status = result[0];
	const reply = isObject(result[1]) ? result[1] : null;
	if (status === 0) return { status: 0, reply: reply, error: null };
	return failed(
		status,
		reply,
		typeof reply?.error === 'string' ? reply.error : statusText(status),
		typeof reply?.field === 'string' ? reply.field : null,
	);
}

return baseclass.extend({
	CALLS: CALLS,

	/**
	 * Calls portrig method `method` with `args` ({ name: value }, only names its CALLS entry
	 * lists); resolves to the outcome.
	 */
	call(method, args) {
		const params = CALLS[method];
		if (!params)
			return Promise.resolve(
				failed(null, null, _("'%s' is not a portrig call of these pages").format(method)),
			);
		const unknown = Object.keys(args ?? {}).filter((key) => !params.includes(key));
		if (unknown.length)
			return Promise.resolve(
				failed(null, null, _("'%s' is not an argument of %s").format(unknown[0], method)),
			);
		const sent = {};
		for (const key of params) if (args?.[key] !== undefined) sent[key] = args[key];
		const message = {
			jsonrpc: '2.0',
			id: nextRequestId++,
			method: 'call',
			params: [rpc.getSessionID(), 'portrig', method, sent],
		};
		return request
			.post(rpc.getBaseURL(), message, { timeout: (L.env.rpctimeout ?? 20) * 1000, credentials: true })
			.then(outcomeOf, (e) => failed(null, null, _('the call failed: %s').format(e?.message ?? String(e))));
	},

	/** LuCI's host hints ({ MAC: { name, ipaddrs, ip6addrs } }), or {} when they cannot be had. */
	hostHints() {
		return L.resolveDefault(callHostHints(), {});
	},

	/** Whether a call's outcome says that no portrig daemon is on ubus. */
	daemonDown(outcome) {
		return outcome.daemonDown === true;
	},

	/**
	 * The config as `list` gives it, for a page to show: { running, config, error }. When the
	 * daemon is not running, config holds the entries of /etc/config/portrig read through rpcd
	 * (null when that cannot be read either), for showing only.
	 */
	entries() {
		return this.call('list').then((outcome) => {
			if (!this.daemonDown(outcome))
				return {
					running: true,
					config: outcome.error ? null : (outcome.reply ?? {}),
					error: outcome.error,
				};
			return L.resolveDefault(callStoredConfig('portrig'), null).then((values) => ({
				running: false,
				config: values ? common.configFromUci(values) : null,
				error: outcome.error,
			}));
		});
	},

	/** Starts the portrig service (/etc/init.d/portrig start); resolves to true when it ran. */
	startService() {
		return L.resolveDefault(callInitAction('portrig', 'start'), false).then((result) => result === true);
	},
});
