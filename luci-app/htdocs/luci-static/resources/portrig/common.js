'use strict';
'require baseclass';

/*
 * What the portrig pages share and what needs no browser: the field rules of the daemon's
 * config schema (controller/src/config/schema.ts) restated for the browser, so a form refuses
 * exactly what the daemon would refuse; conflict hints across entries; display formatting;
 * turning form values into API arguments and a daemon error into the words shown on its field.
 * Validators follow the LuCI convention: they return true, or the message to show.
 */

const PROTOCOLS = ['tcp', 'udp'];

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const IPV4 = new RegExp(`^(?:${OCTET}\\.){3}${OCTET}$`);
const CIDR4 = new RegExp(`^(?:${OCTET}\\.){3}${OCTET}/(?:[0-9]|[1-2][0-9]|3[0-2])$`);
const PORT_RANGE = /^(\d{1,5})(?:\s*[-:]\s*(\d{1,5}))?$/;
const MAX_SECONDS = 604800;
const MAX_NAME = 64;

/** The options of each section type, in form order: the API argument names. */
const FORWARD_FIELDS = [
	'name',
	'enabled',
	'proto',
	'src_dport',
	'dest_ip',
	'dest_port',
	'src_ip',
	'reflection',
];
const TRIGGER_FIELDS = [
	'name',
	'enabled',
	'proto',
	'trigger_port',
	'open_proto',
	'open_port',
	'timeout',
	'src_ip',
	'remote_only',
];
const DMZ_FIELDS = ['enabled', 'dest_ip', 'exclude_port'];
/** The daemon's settings (get_settings / set_settings), the options of `config globals`. */
const SETTINGS_FIELDS = [
	'enabled',
	'wan_zone',
	'lan_zone',
	'wan_device',
	'lan_device',
	'trigger_timeout',
	'reflection',
];
/** The settings that may be left out (null in set_settings removes them). */
const OPTIONAL_SETTINGS = ['wan_device', 'lan_device'];

function isIPv4(s) {
	return IPV4.test(s);
}

/** IPv6 as the daemon reads it: only hex digits, colons and dots, then what a URL host accepts. */
function isIPv6(s) {
	if (!/^[0-9a-fA-F:.]+$/.test(s)) return false;
	try {
		return new URL(`http://[${s}]`).hostname !== '';
	} catch {
		return false;
	}
}

function isCIDR6(s) {
	const parts = s.split('/');
	if (parts.length !== 2 || !parts[1]) return false;
	const prefix = Number(parts[1]);
	return String(prefix) === parts[1] && prefix >= 0 && prefix <= 128 && isIPv6(parts[0]);
}

/** RFC 1918: the only IPv4 addresses a host behind the NAT can have. */
function isPrivateIPv4(s) {
	const octets = s.split('.').map(Number);
	const a = octets[0];
	const b = octets[1];
	return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** Global unicast (2000::/3) or unique local (fc00::/7): reachable from WAN without NAT. */
function isLanReachableIPv6(s) {
	const head = s.split(':')[0];
	const group = head === '' ? 0 : Number.parseInt(head, 16);
	return (group & 0xe000) === 0x2000 || (group & 0xfe00) === 0xfc00;
}

function text(value) {
	return value == null ? '' : String(value).trim();
}

/** "80", "6660-6669" or "6660:6669" → { range } or { error }. */
function readPortRange(value) {
	const s = text(value);
	const m = PORT_RANGE.exec(s);
	if (!m) return { error: _("'%s' is not a port or port range (e.g. 80 or 6660-6669)").format(s) };
	const from = Number(m[1]);
	const to = Number(m[2] ?? m[1]);
	for (const port of [from, to])
		if (port < 1 || port > 65535) return { error: _('port %d is out of range (1-65535)').format(port) };
	if (from > to) return { error: _('range %d-%d is reversed').format(from, to) };
	return { range: { from: from, to: to } };
}

/** "tcp", "udp", "tcp udp", "tcpudp", "all" (or a list of them) → { protocols } or { error }. */
function readProtocols(value) {
	const words = (Array.isArray(value) ? value.join(' ') : String(value ?? ''))
		.toLowerCase()
		.split(/[\s,]+/)
		.filter(Boolean);
	const set = new Set();
	for (const word of words) {
		if (word === 'tcpudp' || word === 'all') {
			set.add('tcp');
			set.add('udp');
		} else if (word === 'tcp' || word === 'udp') {
			set.add(word);
		} else {
			return { error: _("unknown protocol '%s' (use tcp, udp or 'tcp udp')").format(word) };
		}
	}
	if (set.size === 0) return { error: _("no protocol given (use tcp, udp or 'tcp udp')") };
	return { protocols: PROTOCOLS.filter((p) => set.has(p)) };
}

/** A DMZ exclusion: "[tcp|udp|tcp udp] PORT[-PORT]"; no protocol means both. */
function readExcludedPort(value) {
	const words = text(value).split(/\s+/);
	const portText = words.pop();
	const proto = words.length ? readProtocols(words.join(' ')) : { protocols: PROTOCOLS.slice() };
	const port = readPortRange(portText);
	if (proto.error || port.error)
		return { error: _("'%s' is not '[tcp|udp] PORT[-PORT]'").format(String(value)) };
	return { protocols: proto.protocols, range: port.range };
}

function formatRange(r) {
	return r.from === r.to ? String(r.from) : `${r.from}-${r.to}`;
}

function portCount(r) {
	return r.to - r.from + 1;
}

/** The ports two ranges share, or null. */
function overlapOf(a, b) {
	const from = Math.max(a.from, b.from);
	const to = Math.min(a.to, b.to);
	return from <= to ? { from: from, to: to } : null;
}

function sharedProtocols(a, b) {
	return a.filter((p) => b.includes(p));
}

/** "TCP+UDP 8080-8090", as the rules name ports in their messages. */
function portsText(protocols, range) {
	return `${protocols.map((p) => p.toUpperCase()).join('+')} ${formatRange(range)}`;
}

function toList(value) {
	if (Array.isArray(value)) return value;
	return value == null || value === '' ? [] : [value];
}

/** The address family of a host or prefix, as the daemon tells them apart. */
function familyOf(host) {
	return text(host).includes(':') ? 6 : 4;
}

function isEnabled(value) {
	return !['0', 'no', 'off', 'false', 'disabled'].includes(text(value).toLowerCase());
}

function orDefault(value, fallback) {
	return text(value) === '' ? fallback : value;
}

/** A forward as the rules across entries see it; what does not parse is null (its field says why). */
function readForward(values) {
	return {
		id: values.id ?? null,
		enabled: isEnabled(values.enabled),
		protocols: readProtocols(orDefault(values.proto, 'tcp udp')).protocols ?? null,
		wan: readPortRange(values.src_dport).range ?? null,
		lan: text(values.dest_port) === '' ? null : (readPortRange(values.dest_port).range ?? null),
		host: text(values.dest_ip),
		family: familyOf(values.dest_ip),
		sources: toList(values.src_ip).map(text).filter(Boolean),
	};
}

/** A trigger as the rules across entries see it; open ports keep their list positions. */
function readTrigger(values) {
	return {
		id: values.id ?? null,
		name: text(values.name),
		enabled: isEnabled(values.enabled),
		protocols: readProtocols(orDefault(values.open_proto, 'tcp')).protocols ?? null,
		open: toList(values.open_port)
			.filter((p) => text(p) !== '')
			.map((p) => readPortRange(p).range ?? null),
	};
}

function pad2(n) {
	return n < 10 ? `0${n}` : String(n);
}

return baseclass.extend({
	PROTOCOLS: PROTOCOLS,
	FORWARD_FIELDS: FORWARD_FIELDS,
	TRIGGER_FIELDS: TRIGGER_FIELDS,
	DMZ_FIELDS: DMZ_FIELDS,
	SETTINGS_FIELDS: SETTINGS_FIELDS,

	// ---- field rules (same as the daemon's schema) ----------------------------------------

	validatePortRange(value) {
		return readPortRange(value).error ?? true;
	},

	validateProtocols(value) {
		return readProtocols(value).error ?? true;
	},

	validateSeconds(value) {
		const s = text(value);
		if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > MAX_SECONDS)
			return _("'%s' is not a number of seconds from 1 to %d").format(s, MAX_SECONDS);
		return true;
	},

	/** A LAN host: RFC 1918 IPv4, or a global/unique-local IPv6 (an IPv6 pinhole). */
	validateLanHost(value) {
		const s = text(value);
		if (isIPv4(s))
			return (
				isPrivateIPv4(s) || _('%s is not a LAN address (expected 10/8, 172.16/12 or 192.168/16)').format(s)
			);
		if (isIPv6(s))
			return isLanReachableIPv6(s) || _('%s is not a global or unique-local IPv6 address').format(s);
		return _("'%s' is not an IPv4 or IPv6 address").format(s);
	},

	/** The DMZ host: IPv4 only, DMZ is a NAT concept. */
	validateLanIPv4(value) {
		const s = text(value);
		if (!isIPv4(s)) return _("'%s' is not an IPv4 address").format(s);
		return (
			isPrivateIPv4(s) || _('%s is not a LAN address (expected 10/8, 172.16/12 or 192.168/16)').format(s)
		);
	},

	/** A remote source: an address or a prefix, IPv4 or IPv6. */
	validateSource(value) {
		const s = text(value);
		if (isIPv4(s) || isIPv6(s) || CIDR4.test(s) || isCIDR6(s)) return true;
		return _("'%s' is not an address or prefix (e.g. 198.51.100.0/24)").format(s);
	},

	validateDisplayName(value) {
		const s = text(value);
		if (s.length === 0) return _('must not be empty');
		if (s.length > MAX_NAME) return _('is longer than %d characters').format(MAX_NAME);
		return true;
	},

	validateExcludedPort(value) {
		return readExcludedPort(value).error ?? true;
	},

	/** Wraps a validator for an optional field: empty is fine, anything else must pass. */
	optional(validator) {
		return (value) => (text(value) === '' ? true : validator(value));
	},

	// ---- rules across fields and entries (the daemon's config/rules.ts) ---------------------

	/**
	 * What the daemon would refuse about forward `values` (UCI form, with its id when it exists)
	 * beside the other entries `others` ({ forwards, triggers }, as `list` gives them): a
	 * remapped range as long as the WAN range, IPv6 forwards keeping their port, sources in the
	 * LAN host's address family, no WAN port taken twice, no WAN port a trigger opens.
	 * → [{ field, item?, message }]; fields that do not parse are left to their own validators.
	 */
	forwardProblems(values, others) {
		const f = readForward(values);
		const hostValid = this.validateLanHost(values.dest_ip) === true;
		const problems = [];
		if (f.lan && f.wan && portCount(f.lan) !== portCount(f.wan))
			problems.push({
				field: 'dest_port',
				message: _(
					'%s holds %d port(s) but the WAN port(s) %s hold %d: a remapped range maps port by port',
				).format(formatRange(f.lan), portCount(f.lan), formatRange(f.wan), portCount(f.wan)),
			});
		if (
			hostValid &&
			f.family === 6 &&
			f.lan &&
			f.wan &&
			(f.lan.from !== f.wan.from || f.lan.to !== f.wan.to)
		)
			problems.push({
				field: 'dest_port',
				message: _(
					'an IPv6 forward cannot change the port (IPv6 has no NAT): leave it empty or make it %s',
				).format(formatRange(f.wan)),
			});
		if (hostValid)
			f.sources.forEach((source, item) => {
				if (familyOf(source) !== f.family)
					problems.push({
						field: 'src_ip',
						item: item,
						message: _('%s is IPv%d but the LAN host is IPv%d: it could never connect').format(
							source,
							familyOf(source),
							f.family,
						),
					});
			});
		if (!f.enabled || f.family !== 4 || !f.wan || !f.protocols) return problems;
		for (const other of toList(others?.forwards)) {
			const o = readForward(other);
			if ((f.id !== null && o.id === f.id) || !o.enabled || o.family !== 4 || !o.wan || !o.protocols)
				continue;
			const protocols = sharedProtocols(f.protocols, o.protocols);
			const shared = overlapOf(f.wan, o.wan);
			if (protocols.length && shared)
				problems.push({
					field: 'src_dport',
					message: _('%s is already forwarded by %s').format(
						portsText(protocols, shared),
						this.forwardTitle(other),
					),
				});
		}
		for (const trigger of toList(others?.triggers)) {
			const t = readTrigger(trigger);
			if (!t.enabled || !t.protocols) continue;
			const protocols = sharedProtocols(f.protocols, t.protocols);
			const shared = t.open.map((r) => r && overlapOf(r, f.wan)).find(Boolean);
			if (protocols.length && shared)
				problems.push({
					field: 'src_dport',
					message: _('%s is opened by trigger %s: a forward cannot take a port a trigger opens').format(
						portsText(protocols, shared),
						t.name,
					),
				});
		}
		return problems;
	},

	/**
	 * What the daemon would refuse about trigger `values` beside `others`: a name another trigger
	 * has, open ports listed twice, open ports another trigger or a forward takes.
	 * → [{ field, item?, message }].
	 */
	triggerProblems(values, others) {
		const t = readTrigger(values);
		const problems = [];
		if (
			this.validateDisplayName(values.name) === true &&
			toList(others?.triggers).some((o) => (t.id === null || o.id !== t.id) && text(o.name) === t.name)
		)
			problems.push({ field: 'name', message: _("a trigger named '%s' exists already").format(t.name) });
		t.open.forEach((range, item) => {
			const earlier = range && t.open.slice(0, item).find((r) => r && overlapOf(r, range));
			if (earlier)
				problems.push({
					field: 'open_port',
					item: item,
					message: _('%s overlaps %s, which this trigger opens already').format(
						formatRange(range),
						formatRange(earlier),
					),
				});
		});
		if (!t.enabled || !t.protocols) return problems;
		for (const other of toList(others?.triggers)) {
			const o = readTrigger(other);
			if ((t.id !== null && o.id === t.id) || !o.enabled || !o.protocols) continue;
			if (sharedProtocols(t.protocols, o.protocols).length === 0) continue;
			t.open.forEach((range, item) => {
				if (range && o.open.some((r) => r && overlapOf(r, range)))
					problems.push({
						field: 'open_port',
						item: item,
						message: _(
							'%s is also opened by trigger %s: an inbound connection could not tell which trigger it answers',
						).format(formatRange(range), o.name),
					});
			});
		}
		for (const forward of toList(others?.forwards)) {
			const f = readForward(forward);
			if (!f.enabled || f.family !== 4 || !f.wan || !f.protocols) continue;
			const protocols = sharedProtocols(t.protocols, f.protocols);
			t.open.forEach((range, item) => {
				const shared = range && overlapOf(range, f.wan);
				if (protocols.length && shared)
					problems.push({
						field: 'open_port',
						item: item,
						message: _('%s is forwarded by %s: a trigger cannot open a port a forward takes').format(
							portsText(protocols, shared),
							this.forwardTitle(forward),
						),
					});
			});
		}
		return problems;
	},

	/** What the daemon would refuse about the DMZ settings `values`: an enabled DMZ needs a host. */
	dmzProblems(values) {
		return isEnabled(values.enabled) && text(values.dest_ip) === ''
			? [{ field: 'dest_ip', message: _('is required when the DMZ is enabled') }]
			: [];
	},

	/** The first problem of `field` as a validator result: true, or its message. */
	problemOf(problems, field) {
		const found = problems.find((p) => p.field === field);
		return found ? found.message : true;
	},

	/**
	 * A form option validator (sid, value) for `field`: the value's own rule first, then the
	 * first of the problems across fields and entries, `problemsOf(sid)`, that names `field`.
	 */
	fieldValidator(rule, problemsOf, field) {
		return (sid, value) => {
			const own = rule(value);
			return own !== true ? own : this.problemOf(problemsOf(sid), field);
		};
	},

	// ---- API arguments and errors -------------------------------------------------------------

	/**
	 * Form values → API arguments (UCI option form). Empty values are left out of an add; an
	 * update sends them as null, which removes the option (back to its default).
	 */
	sectionArgs(fields, values, forUpdate) {
		const args = {};
		for (const key of fields) {
			let value = values[key];
			if (Array.isArray(value)) value = value.map(text).filter((v) => v !== '');
			else if (value != null) value = text(value);
			const empty = value == null || value === '' || (Array.isArray(value) && value.length === 0);
			if (!empty) args[key] = value;
			else if (forUpdate) args[key] = null;
		}
		return args;
	},

	/**
	 * The daemon's message without the part that names the field, shown on that field:
	 * "field: why", "field[2]: why", "section 'x' option 'field': why" → "why".
	 */
	fieldMessage(error) {
		if (!error.field) return error.message;
		const f = error.field.replace(/[^A-Za-z0-9_]/g, '\\$&');
		const prefix = new RegExp(
			`^(?:${f}(?:\\[\\d+\\])?|(?:section '[^']*' )?option '${f}'(?:\\[\\d+\\])?):\\s*`,
		);
		return error.message.replace(prefix, '');
	},

	/**
	 * A get_settings reply (JSON booleans, numbers and arrays) → form values in UCI form, as the
	 * file holds them ('1'/'0', '600', lists).
	 */
	settingsForm(settings) {
		const form = {};
		for (const key of SETTINGS_FIELDS) {
			const value = settings?.[key];
			if (typeof value === 'boolean') form[key] = value ? '1' : '0';
			else if (typeof value === 'number') form[key] = String(value);
			else if (value != null) form[key] = value;
		}
		return form;
	},

	/**
	 * Settings form values → set_settings arguments: flags as booleans, the timeout as a number,
	 * lists as arrays; an empty optional list is null (removed), an empty timeout is left out.
	 */
	settingsArgs(values) {
		const args = {};
		for (const key of SETTINGS_FIELDS) {
			const value = values[key];
			if (key === 'enabled' || key === 'reflection') args[key] = isEnabled(value);
			else if (key === 'trigger_timeout') {
				if (text(value) !== '') args[key] = Number(text(value));
			} else {
				const list = toList(value).map(text).filter(Boolean);
				if (list.length) args[key] = list;
				else if (OPTIONAL_SETTINGS.includes(key)) args[key] = null;
			}
		}
		return args;
	},

	/**
	 * /etc/config/portrig as rpcd's `uci get` gives it → the shape of the daemon's `list` reply
	 * ({ globals, forwards: [{ id, … }], triggers: [{ id, … }], dmz }), options as the file holds
	 * them (no defaults filled in), sections in file order.
	 */
	configFromUci(values) {
		const config = { globals: {}, forwards: [], triggers: [], dmz: {} };
		const sections = Object.keys(values ?? {})
			.map((name) => values[name])
			.filter((section) => section != null && typeof section === 'object')
			.sort((a, b) => (Number(a['.index']) || 0) - (Number(b['.index']) || 0));
		for (const section of sections) {
			const options = {};
			for (const key of Object.keys(section)) if (key[0] !== '.') options[key] = section[key];
			const type = section['.type'];
			if (type === 'forward') config.forwards.push(Object.assign({ id: section['.name'] }, options));
			else if (type === 'trigger') config.triggers.push(Object.assign({ id: section['.name'] }, options));
			else if (type === 'globals') config.globals = options;
			else if (type === 'dmz') config.dmz = options;
		}
		return config;
	},

	// ---- display ------------------------------------------------------------------------------

	/** The address family of a host (4 or 6): loopback (NAT) is for IPv4 forwards only. */
	addressFamily(host) {
		return familyOf(host);
	},

	/** "tcp udp" → "TCP+UDP". */
	formatProtocols(value) {
		const read = readProtocols(value);
		return read.protocols ? read.protocols.map((p) => p.toUpperCase()).join('+') : text(value);
	},

	/** How a forward is called in messages: its name, else "TCP+UDP 8080". */
	forwardTitle(forward) {
		return forward.name ?? `${this.formatProtocols(forward.proto ?? 'tcp udp')} ${text(forward.src_dport)}`;
	},

	/** A UCI list (or one value) as text: "113, 59000-59010". */
	formatList(value) {
		return toList(value).map(text).filter(Boolean).join(', ');
	},

	/** host and ports as one would type them: "192.168.1.10:80", "[2001:db8::10]:80". */
	formatEndpoint(host, ports) {
		const h = text(host);
		const p = this.formatList(ports);
		if (p === '') return h;
		return familyOf(h) === 6 ? `[${h}]:${p}` : `${h}:${p}`;
	},

	/** Seconds as "45s", "9m 05s" or "2h 03m". */
	formatSeconds(value) {
		const n = Math.max(0, Math.floor(Number(value) || 0));
		if (n < 60) return `${n}s`;
		if (n < 3600) return `${Math.floor(n / 60)}m ${pad2(n % 60)}s`;
		return `${Math.floor(n / 3600)}h ${pad2(Math.floor((n % 3600) / 60))}m`;
	},

	/**
	 * LuCI host hints ({ MAC: { name, ipaddrs, ip6addrs } }, older releases: ipv4/ipv6) → the LAN
	 * hosts a picker offers: [{ address, label }], IPv4 first in numeric order, then IPv6.
	 */
	hostChoices(hints, withIPv6) {
		const names = {};
		for (const mac of Object.keys(hints ?? {})) {
			const hint = hints[mac] ?? {};
			const addrs = toList(hint.ipaddrs ?? hint.ipv4);
			const addrs6 = withIPv6 ? toList(hint.ip6addrs ?? hint.ipv6) : [];
			for (const a of addrs.concat(addrs6))
				if (this.validateLanHost(a) === true && !Object.hasOwn(names, a)) names[a] = hint.name ?? mac;
		}
		const sortKey = (a) =>
			familyOf(a) === 4
				? `4${a
						.split('.')
						.map((o) => o.padStart(3, '0'))
						.join('.')}`
				: `6${a}`;
		return Object.keys(names)
			.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0))
			.map((a) => ({ address: a, label: `${a} (${names[a]})` }));
	},

	/** The name LuCI host hints give a LAN address, or null. */
	hostName(hints, address) {
		const a = text(address);
		for (const mac of Object.keys(hints ?? {})) {
			const hint = hints[mac] ?? {};
			const addrs = toList(hint.ipaddrs ?? hint.ipv4).concat(toList(hint.ip6addrs ?? hint.ipv6));
			if (addrs.includes(a)) return hint.name ?? mac;
		}
		return null;
	},

	/** "192.168.1.10 (laptop)" when the hints know the host, else the address. */
	hostLabel(hints, address) {
		const name = this.hostName(hints, address);
		return name ? `${text(address)} (${name})` : text(address);
	},

	// ---- status -------------------------------------------------------------------------------

	/**
	 * Counters of one entry from the `status` reply: { connections, openings } (numbers or null).
	 * Read from status.counters.forwards[id] / status.counters.triggers[id], which may be a bare
	 * number (connections) or an object.
	 */
	entryCounters(status, kind, id) {
		const table = status?.counters?.[kind];
		const entry = table ? table[id] : undefined;
		if (typeof entry === 'number') return { connections: entry, openings: null };
		if (entry != null && typeof entry === 'object')
			return {
				connections: typeof entry.connections === 'number' ? entry.connections : null,
				openings: typeof entry.openings === 'number' ? entry.openings : null,
			};
		return { connections: null, openings: null };
	},

	/**
	 * Daemon state from the `status` reply (null when the call failed): { running, ubus, table }
	 * with each of ubus/table true, false or null (the daemon did not say).
	 */
	daemonState(status) {
		const flag = (v, key) => {
			if (typeof v === 'boolean') return v;
			if (v != null && typeof v === 'object' && typeof v[key] === 'boolean') return v[key];
			return null;
		};
		if (status == null || typeof status !== 'object') return { running: false, ubus: null, table: null };
		return { running: true, ubus: flag(status.ubus, 'connected'), table: flag(status.table, 'present') };
	},
});
