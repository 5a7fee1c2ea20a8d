'use strict';
'require view';
'require dom';
'require form';
'require rpc';
'require ui';
'require portrig.common as common';
'require portrig.widgets as widgets';

/*
 * Forwards: every port forward of the portrig daemon in one table, with an edit dialog whose
 * rules are the daemon's own (portrig.common) and whose errors land on the field they name.
 */

const callList = common.settled(rpc.declare({ object: 'portrig', method: 'list' }));
const callStatus = common.settled(rpc.declare({ object: 'portrig', method: 'status' }));
const callAddForward = common.settled(
	rpc.declare({
		object: 'portrig',
		method: 'add_forward',
		params: common.FORWARD_FIELDS,
	}),
);
const callUpdateForward = common.settled(
	rpc.declare({
		object: 'portrig',
		method: 'update_forward',
		params: ['id'].concat(common.FORWARD_FIELDS),
	}),
);
const callSetForwardEnabled = common.settled(
	rpc.declare({
		object: 'portrig',
		method: 'update_forward',
		params: ['id', 'enabled'],
	}),
);
const callDeleteForward = common.settled(
	rpc.declare({ object: 'portrig', method: 'delete_forward', params: ['id'] }),
);
const callHostHints = rpc.declare({ object: 'luci-rpc', method: 'getHostHints', expect: { '': {} } });

/** A new forward starts as the daemon's defaults would make it. */
const NEW_FORWARD = { enabled: '1', proto: 'tcp udp', reflection: '1' };

return view.extend({
	load() {
		return Promise.all([callList(), callStatus(), L.resolveDefault(callHostHints(), {})]);
	},

	render(data) {
		this.hints = data[2] ?? {};
		this.problem = E('div', {});
		this.table = widgets.table([
			_('Name'),
			_('Protocol'),
			_('WAN port(s)'),
			_('LAN host and port(s)'),
			_('Allowed sources'),
			_('Loopback'),
			_('Enabled'),
			_('Connections'),
			'',
		]);
		this.show(data[0], data[1]);

		return E('div', { class: 'cbi-map' }, [
			E('h2', {}, _('Port Forwarding')),
			E(
				'div',
				{ class: 'cbi-map-descr' },
				_(
					'A forward sends every connection that reaches a WAN port to one host in your network. Changes take effect as soon as you save them.',
				),
			),
			this.problem,
			E('div', { class: 'cbi-section' }, [
				this.table,
				E(
					'div',
					{ class: 'cbi-section-create' },
					E(
						'button',
						{ class: 'cbi-button cbi-button-add', click: ui.createHandlerFn(this, 'handleEdit', null) },
						_('Add forward'),
					),
				),
			]),
		]);
	},

	/** Fetches the forwards and counters again and redraws the table. */
	refresh() {
		return Promise.all([callList(), callStatus()]).then((data) => this.show(data[0], data[1]));
	},

	/** @private */
	show(list, status) {
		const error = common.apiError(list);
		dom.content(this.problem, error ? widgets.alert('danger', error.message) : null);
		this.forwards = error ? [] : (list?.forwards ?? []);
		this.triggers = error ? [] : (list?.triggers ?? []);
		widgets.update(
			this.table,
			this.forwards.map((f) => this.row(f, status)),
			E('em', {}, _('There are no forwards yet.')),
		);
	},

	/** @private */
	row(forward, status) {
		const name = common.hostName(this.hints, forward.dest_ip);
		const lan = common.formatEndpoint(forward.dest_ip, forward.dest_port ?? forward.src_dport);
		const sources = common.formatList(forward.src_ip);
		const connections = common.entryCounters(status, 'forwards', forward.id).connections;

		return [
			forward.name ?? E('em', {}, _('Unnamed forward')),
			common.formatProtocols(forward.proto),
			forward.src_dport,
			name ? `${lan} (${name})` : lan,
			sources !== '' ? sources : E('em', {}, _('anyone')),
			forward.reflection === '0' ? _('no') : _('yes'),
			E('input', {
				type: 'checkbox',
				checked: forward.enabled === '0' ? null : '',
				title: _('Enable or disable this forward'),
				change: ui.createHandlerFn(this, 'handleToggle', forward),
			}),
			connections ?? '—',
			E('div', { class: 'cbi-section-actions' }, [
				widgets.rowButton(_('Edit'), 'edit', ui.createHandlerFn(this, 'handleEdit', forward)),
				' ',
				widgets.rowButton(_('Delete'), 'remove', ui.createHandlerFn(this, 'handleDelete', forward)),
			]),
		];
	},

	handleToggle(forward, ev) {
		const enabled = ev.target.checked ? '1' : '0';
		return callSetForwardEnabled(forward.id, enabled).then((reply) => {
			const error = common.apiError(reply);
			if (error) widgets.notifyError(error.message);
			return this.refresh();
		});
	},

	handleDelete(forward) {
		widgets.confirm(
			_('Delete forward'),
			_(
				'Delete the forward %s? Connections it carries now are not cut, new ones are no longer forwarded.',
			).format(common.forwardTitle(forward)),
			_('Delete'),
			() => callDeleteForward(forward.id).then((reply) => this.refresh().then(() => reply)),
		);
	},

	/** Opens the dialog for `forward`, or for a new one when it is null. */
	handleEdit(forward) {
		const id = forward ? forward.id : null;
		return widgets.editSection({
			type: 'forward',
			title: forward ? _('Edit forward') : _('Add forward'),
			values: forward ?? NEW_FORWARD,
			build: (s) => this.buildForm(s, id),
			check: (values) => common.forwardProblems(Object.assign({ id: id }, values), this.others()),
			submit: (values) => {
				const args = common.sectionArgs(common.FORWARD_FIELDS, values, id !== null);
				return id === null
					? callAddForward.apply(null, common.argList(common.FORWARD_FIELDS, args))
					: callUpdateForward.apply(null, [id].concat(common.argList(common.FORWARD_FIELDS, args)));
			},
			done: () => this.refresh(),
		});
	},

	/** The entries a forward is checked against. */
	others() {
		return { forwards: this.forwards, triggers: this.triggers };
	},

	/** @private */
	buildForm(s, id) {
		const others = this.others();
		const problems = (sid) => common.forwardProblems(Object.assign({ id: id }, s.formvalue(sid)), others);
		let o;

		o = s.option(form.Value, 'name', _('Name'));
		o.placeholder = _('Unnamed forward');
		o.validate = (_sid, value) => common.optional(common.validateDisplayName)(value);

		o = s.option(form.Flag, 'enabled', _('Enabled'));
		o.default = o.enabled;

		o = s.option(form.ListValue, 'proto', _('Protocol'));
		widgets.addProtocolChoices(o);
		o.default = 'tcp udp';

		o = s.option(
			form.Value,
			'src_dport',
			_('WAN port(s)'),
			_('The port, or a range such as 6000-6010, that remote clients connect to.'),
		);
		o.rmempty = false;
		o.validate = (sid, value) => {
			const own = common.validatePortRange(value);
			return own !== true ? own : common.problemOf(problems(sid), 'src_dport');
		};

		o = s.option(
			form.Value,
			'dest_ip',
			_('LAN host'),
			_('The host that receives the connections. An IPv6 address opens that host to IPv6 instead.'),
		);
		o.rmempty = false;
		widgets.addHostChoices(o, this.hints, true);
		o.validate = (_sid, value) => common.validateLanHost(value);

		o = s.option(
			form.Value,
			'dest_port',
			_('LAN port(s)'),
			_('Empty: the same as the WAN port(s). A range maps one to one onto the WAN range.'),
		);
		o.validate = (sid, value) => {
			const own = common.optional(common.validatePortRange)(value);
			return own !== true || value === '' ? own : common.problemOf(problems(sid), 'dest_port');
		};

		o = s.option(
			form.DynamicList,
			'src_ip',
			_('Allowed sources'),
			_('Only these remote addresses or prefixes may connect. Empty: anyone.'),
		);
		o.validate = (_sid, value) => common.optional(common.validateSource)(value);

		o = s.option(
			form.Flag,
			'reflection',
			_('NAT loopback'),
			_('Hosts in your network may use the public address and port too.'),
		);
		o.default = o.enabled;
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null,
});
