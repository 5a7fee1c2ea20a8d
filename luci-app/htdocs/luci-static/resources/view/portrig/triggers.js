'use strict';
'require form';
'require portrig.common as common';
'require portrig.widgets as widgets';

/*
 * Triggers: ports that open for one LAN host after it connects out on a trigger port, with the
 * dialog of the classic router flow (name, outbound protocol and port, LAN host, inbound
 * protocol and ports, idle timeout, connect-back restriction, Apply).
 */

return widgets.EntriesView.extend({
	kind: {
		type: 'trigger',
		list: 'triggers',
		fields: common.TRIGGER_FIELDS,
		fresh: { enabled: '1', proto: 'tcp', open_proto: 'tcp', remote_only: '0' },
		add: 'add_trigger',
		update: 'update_trigger',
		remove: 'delete_trigger',
	},

	/** The live openings, counted per trigger. */
	extra: 'openings',

	texts: {
		heading: _('Port Triggering'),
		empty: _('There are no triggers yet.'),
		add: _('Add trigger'),
		editTitle: _('Edit trigger'),
		save: _('Apply'),
		deleteTitle: _('Delete trigger'),
		enable: _('Enable or disable this trigger'),
	},

	intro() {
		return E(
			'div',
			{ class: 'cbi-map-descr' },
			_(
				'A trigger opens ports to one host in your network after it connects out on a trigger port, and closes them again once they have been idle for the timeout. Changes take effect as soon as you save them.',
			),
		);
	},

	columns() {
		return [
			_('Name'),
			_('Enabled'),
			_('Trigger (outbound)'),
			_('LAN hosts'),
			_('Opens (inbound)'),
			_('Idle timeout'),
			_('Who may connect back'),
			_('Open now'),
		];
	},

	row(trigger, openings) {
		const hosts = common.formatList(trigger.src_ip);
		const opens = `${common.formatProtocols(trigger.open_proto)} ${common.formatList(trigger.open_port)}`;
		// unknown (—) when the openings could not be read, e.g. while the daemon is not running
		const openNow = openings
			? String((openings.openings ?? []).filter((o) => o.trigger === trigger.id).length)
			: '—';
		return [
			trigger.name,
			this.enabledToggle(trigger),
			`${common.formatProtocols(trigger.proto)} ${trigger.trigger_port}`,
			hosts !== '' ? hosts : E('em', {}, _('any')),
			opens,
			common.formatSeconds(trigger.timeout ?? this.defaultTimeout()),
			trigger.remote_only === '1' ? _('only the contacted server') : _('anyone'),
			openNow,
		];
	},

	/** The idle timeout of a trigger that sets none: the daemon's global one. */
	defaultTimeout() {
		return this.globals.trigger_timeout ?? '600';
	},

	problems(values, others) {
		return common.triggerProblems(values, others);
	},

	deleteQuestion(trigger) {
		return _('Delete the trigger %s? Ports it has opened close now.').format(trigger.name);
	},

	buildForm(s, problems) {
		let o;

		o = s.option(
			form.Value,
			'name',
			_('Name'),
			_('A name of your choice, different from the other triggers.'),
		);
		o.rmempty = false;
		o.validate = common.fieldValidator(common.validateDisplayName, problems, 'name');

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
				this.defaultTimeout(),
			),
		);
		o.placeholder = String(this.defaultTimeout());
		o.validate = (_sid, value) => common.optional(common.validateSeconds)(value);

		o = s.option(
			form.Flag,
			'remote_only',
			_('Only the contacted server may connect back'),
			_('When set, the opened ports accept connections only from the server the LAN host contacted.'),
		);
	},
});
