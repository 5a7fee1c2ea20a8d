'use strict';
'require form';
'require portrig.common as common';
'require portrig.widgets as widgets';

/*
 * Forwards: every port forward of the portrig daemon in one table, with an edit dialog whose
 * rules are the daemon's own (portrig.common) and whose errors land on the field they name.
 */

return widgets.EntriesView.extend({
	kind: {
		type: 'forward',
		list: 'forwards',
		fields: common.FORWARD_FIELDS,
		// as the daemon's defaults would make it
		fresh: { enabled: '1', proto: 'tcp udp', reflection: '1' },
		add: 'add_forward',
		update: 'update_forward',
		remove: 'delete_forward',
	},

	/** The counters of the forwards. */
	extra: 'status',

	texts: {
		heading: _('Port Forwarding'),
		empty: _('There are no forwards yet.'),
		add: _('Add forward'),
		editTitle: _('Edit forward'),
		deleteTitle: _('Delete forward'),
		enable: _('Enable or disable this forward'),
	},

	intro() {
		return E(
			'div',
			{ class: 'cbi-map-descr' },
			_(
				'A forward sends every connection that reaches a WAN port to one host in your network. Changes take effect as soon as you save them.',
			),
		);
	},

	columns() {
		return [
			_('Name'),
			_('Protocol'),
			_('WAN port(s)'),
			_('LAN host and port(s)'),
			_('Allowed sources'),
			_('Loopback'),
			_('Enabled'),
			_('Connections'),
		];
	},

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
			this.loopbackText(forward),
			this.enabledToggle(forward),
			connections ?? '—',
		];
	},

	/** NAT loopback is IPv4 only: an IPv6 forward (a pinhole) has none to show. */
	loopbackText(forward) {
		if (common.addressFamily(forward.dest_ip) === 6) return '—';
		return forward.reflection === '0' ? _('no') : _('yes');
	},

	problems(values, others) {
		return common.forwardProblems(values, others);
	},

	deleteQuestion(forward) {
		return _(
			'Delete the forward %s? Connections it carries now are not cut, new ones are no longer forwarded.',
		).format(common.forwardTitle(forward));
	},

	buildForm(s, problems) {
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
		o.validate = common.fieldValidator(common.validatePortRange, problems, 'src_dport');

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
		o.validate = common.fieldValidator(common.optional(common.validatePortRange), problems, 'dest_port');

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
			_('Hosts in your network may use the public address and port too (IPv4 only).'),
		);
		o.default = o.enabled;
	},
});
