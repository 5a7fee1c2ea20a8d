'use strict';
'require view';
'require dom';
'require form';
'require rpc';
'require ui';
'require portrig.common as common';
'require portrig.widgets as widgets';

/*
 * Triggers: ports that open for one LAN host after it connects out on a trigger port, with the
 * dialog of the classic router flow (name, outbound protocol and port, LAN host, inbound
 * protocol and ports, idle timeout, connect-back restriction, Apply) and a short explanation of
 * forwarding, triggering and DMZ.
 */

const callList = common.settled(rpc.declare({ object: 'portrig', method: 'list' }));
const callOpenings = common.settled(rpc.declare({ object: 'portrig', method: 'openings' }));
const callAddTrigger = common.settled(
	rpc.declare({
		object: 'portrig',
		method: 'add_trigger',
		params: common.TRIGGER_FIELDS,
	}),
);
const callUpdateTrigger = common.settled(
	rpc.declare({
		object: 'portrig',
		method: 'update_trigger',
		params: ['id'].concat(common.TRIGGER_FIELDS),
	}),
);
const callSetTriggerEnabled = common.settled(
	rpc.declare({
		object: 'portrig',
		method: 'update_trigger',
		params: ['id', 'enabled'],
	}),
);
const callDeleteTrigger = common.settled(
	rpc.declare({ object: 'portrig', method: 'delete_trigger', params: ['id'] }),
);
const callHostHints = rpc.declare({ object: 'luci-rpc', method: 'getHostHints', expect: { '': {} } });

const NEW_TRIGGER = { enabled: '1', proto: 'tcp', open_proto: 'tcp', remote_only: '0' };

return view.extend({
	load() {
		return Promise.all([callList(), callOpenings(), L.resolveDefault(callHostHints(), {})]);
	},

	render(data) {
		this.hints = data[2] ?? {};
		this.problem = E('div', {});
		this.table = widgets.table([
			_('Name'),
			_('Enabled'),
			_('Trigger (outbound)'),
			_('LAN hosts'),
			_('Opens (inbound)'),
			_('Idle timeout'),
			_('Who may connect back'),
			_('Open now'),
			'',
		]);
		this.show(data[0], data[1]);

		return E('div', { class: 'cbi-map' }, [
			E('h2', {}, _('Port Triggering')),
			this.helpText(),
			this.problem,
			E('div', { class: 'cbi-section' }, [
				this.table,
				E(
					'div',
					{ class: 'cbi-section-create' },
					E(
						'button',
						{ class: 'cbi-button cbi-button-add', click: ui.createHandlerFn(this, 'handleEdit', null) },
						_('Add trigger'),
					),
				),
			]),
		]);
	},

	/** Forwarding, triggering and DMZ in one paragraph each, and when to use which. */
	helpText() {
		return E('div', { class: 'cbi-map-descr' }, [
			E(
				'p',
				{},
				_(
					'Port forwarding sends every connection that reaches a WAN port to one LAN host, at any time. Use it for servers that must always be reachable: a game server, a NAS, a camera.',
				),
			),
			E(
				'p',
				{},
				_(
					'Port triggering opens ports only after a LAN host has connected out on a trigger port, only towards that host, and closes them again once they have been idle for the timeout. Use it for programs that ask the other side to connect back, such as IRC file transfers, some games and voice chat, and when several hosts take turns with the same program.',
				),
			),
			E(
				'p',
				{},
				_(
					'The DMZ host receives every connection from the internet that no forward or trigger takes. Use it only for a device that cannot say which ports it needs, and only as a last resort: it exposes that device completely.',
				),
			),
		]);
	},

	refresh() {
		return Promise.all([callList(), callOpenings()]).then((data) => this.show(data[0], data[1]));
	},

	/** @private */
	show(list, openings) {
		const error = common.apiError(list);
		dom.content(this.problem, error ? widgets.alert('danger', error.message) : null);
		this.triggers = error ? [] : (list?.triggers ?? []);
		this.forwards = error ? [] : (list?.forwards ?? []);
		this.defaultTimeout = list?.globals?.trigger_timeout ?? '600';
		const live = common.apiError(openings) ? [] : (openings?.openings ?? []);
		widgets.update(
			this.table,
			this.triggers.map((t) => this.row(t, live.filter((o) => o.trigger === t.id).length)),
			E('em', {}, _('There are no triggers yet.')),
		);
	},

	/** @private */
	row(trigger, openNow) {
		const hosts = common.formatList(trigger.src_ip);
		const opens = `${common.formatProtocols(trigger.open_proto)} ${common.formatList(trigger.open_port)}`;
		return [
			trigger.name,
			E('input', {
				type: 'checkbox',
				checked: trigger.enabled === '0' ? null : '',
				title: _('Enable or disable this trigger'),
				change: ui.createHandlerFn(this, 'handleToggle', trigger),
			}),
			`${common.formatProtocols(trigger.proto)} ${trigger.trigger_port}`,
			hosts !== '' ? hosts : E('em', {}, _('any')),
			opens,
			common.formatSeconds(trigger.timeout ?? this.defaultTimeout),
			trigger.remote_only === '1' ? _('only the contacted server') : _('anyone'),
			String(openNow),
			E('div', { class: 'cbi-section-actions' }, [
				widgets.rowButton(_('Edit'), 'edit', ui.createHandlerFn(this, 'handleEdit', trigger)),
				' ',
				widgets.rowButton(_('Delete'), 'remove', ui.createHandlerFn(this, 'handleDelete', trigger)),
			]),
		];
	},

	handleToggle(trigger, ev) {
		return callSetTriggerEnabled(trigger.id, ev.target.checked ? '1' : '0').then((reply) => {
			const error = common.apiError(reply);
			if (error) widgets.notifyError(error.message);
			return this.refresh();
		});
	},

	handleDelete(trigger) {
		widgets.confirm(
			_('Delete trigger'),
			_('Delete the trigger %s? Ports it has opened close now.').format(trigger.name),
			_('Delete'),
			() => callDeleteTrigger(trigger.id).then((reply) => this.refresh().then(() => reply)),
		);
	},

	handleEdit(trigger) {
		const id = trigger ? trigger.id : null;
		return widgets.editSection({
			type: 'trigger',
			title: trigger ? _('Edit trigger') : _('Add trigger'),
			saveLabel: _('Apply'),
			values: trigger ?? NEW_TRIGGER,
			build: (s) => this.buildForm(s, id),
			check: (values) => common.triggerProblems(Object.assign({ id: id }, values), this.others()),
			submit: (values) => {
				const args = common.sectionArgs(common.TRIGGER_FIELDS, values, id !== null);
				return id === null
					? callAddTrigger.apply(null, common.argList(common.TRIGGER_FIELDS, args))
					: callUpdateTrigger.apply(null, [id].concat(common.argList(common.TRIGGER_FIELDS, args)));
			},
			done: () => this.refresh(),
		});
	},

	/** The entries a trigger is checked against. */
	others() {
		return { forwards: this.forwards, triggers: this.triggers };
	},

	/** @private */
	buildForm(s, id) {
		const others = this.others();
		let o;

		o = s.option(
			form.Value,
			'name',
			_('Name'),
			_('A name of your choice, different from the other triggers.'),
		);
		o.rmempty = false;
		o.validate = (sid, value) => {
			const own = common.validateDisplayName(value);
			if (own !== true) return own;
			const values = Object.assign({ id: id }, s.formvalue(sid));
			return common.problemOf(common.triggerProblems(values, others), 'name');
		};

		o = s.option(form.Flag, 'enabled', _('Enabled'));
		o.default = o.enabled;

		o = s.option(
			form.ListValue,
			'proto',
			_('Trigger protocol'),
			_('The protocol of the outbound connection.'),
		);
		widgets.addProtocolChoices(o);
		o.default = 'tcp';

		o = s.option(
			form.Value,
			'trigger_port',
			_('Trigger port(s)'),
			_('The port, or a range such as 6660-6669, that a LAN host connects out to.'),
		);
		o.rmempty = false;
		o.validate = (_sid, value) => common.validatePortRange(value);

		o = s.option(
			form.DynamicList,
			'src_ip',
			_('LAN hosts'),
			_('Only these hosts set the trigger off. Empty: any host in your network.'),
		);
		o.placeholder = _('Any');
		widgets.addHostChoices(o, this.hints, true);
		o.validate = (_sid, value) => common.optional(common.validateLanHost)(value);

		o = s.option(
			form.ListValue,
			'open_proto',
			_('Open protocol'),
			_('The protocol of the inbound connections.'),
		);
		widgets.addProtocolChoices(o);
		o.default = 'tcp';

		o = s.option(
			form.DynamicList,
			'open_port',
			_('Open port(s)'),
			_('The ports to open, each a port or a start-end range such as 59000-59010.'),
		);
		o.rmempty = false;
		o.validate = (_sid, value) => common.optional(common.validatePortRange)(value);

		o = s.option(
			form.Value,
			'timeout',
			_('Idle timeout'),
			_('Seconds without traffic before the ports close again. Empty: the default of %s seconds.').format(
				this.defaultTimeout,
			),
		);
		o.placeholder = String(this.defaultTimeout);
		o.validate = (_sid, value) => common.optional(common.validateSeconds)(value);

		o = s.option(
			form.Flag,
			'remote_only',
			_('Only the contacted server may connect back'),
			_('When set, the opened ports accept connections only from the server the LAN host contacted.'),
		);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null,
});
