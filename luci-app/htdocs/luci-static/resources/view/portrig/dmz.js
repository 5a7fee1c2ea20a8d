'use strict';
'require view';
'require dom';
'require form';
'require portrig.api as api';
'require portrig.common as common';
'require portrig.widgets as widgets';

/*
 * DMZ: one LAN host that receives what nothing else takes, with a plain warning of what that
 * exposes. Saved through set_dmz; the daemon applies it at once.
 */

const SID = 'dmz';

return view.extend({
	load() {
		return Promise.all([api.entries(), api.hostHints()]);
	},

	render(data) {
		const entries = data[0];
		const config = {};
		config[SID] = Object.assign({ enabled: '0' }, entries.config?.dmz);

		this.note = E('div', {});
		const m = new form.JSONMap(config, null, null);
		// shown only: this login may not change it, or the daemon that would apply it is not running
		m.readonly = !(widgets.writable() && entries.running);
		const s = m.section(form.NamedSection, SID, SID);
		this.map = m;
		this.section = s;
		let o;

		o = s.option(form.Flag, 'enabled', _('Enabled'));

		o = s.option(form.Value, 'dest_ip', _('DMZ host'), _('The IPv4 address of the host in your network.'));
		widgets.addHostChoices(o, data[1], false);
		o.validate = common.fieldValidator(
			common.optional(common.validateLanIPv4),
			(sid) => common.dmzProblems(s.formvalue(sid)),
			'dest_ip',
		);

		o = s.option(
			form.DynamicList,
			'exclude_port',
			_('Excluded ports'),
			_(
				'Never sent to the DMZ host: a port or range, optionally after its protocol, e.g. "tcp 22" or "udp 5000-5010". Ports the router itself serves are always excluded.',
			),
		);
		o.placeholder = 'tcp 22';
		o.validate = (_sid, value) => common.optional(common.validateExcludedPort)(value);

		return m
			.render()
			.then((nodes) =>
				E('div', {}, [
					E('h2', {}, _('DMZ')),
					E(
						'div',
						{ class: 'cbi-map-descr' },
						_(
							'Connections from the internet that no forward or trigger takes go to the DMZ host instead of being dropped. Saved settings take effect at once.',
						),
					),
					entries.running
						? entries.error
							? widgets.alert('danger', entries.error.message)
							: ''
						: widgets.storedEntriesNotice(entries.config != null, () => window.location.reload()),
					E('div', { class: 'alert-message warning' }, [
						E('strong', {}, _('What the DMZ exposes')),
						E(
							'p',
							{},
							_(
								'The DMZ host can be reached from the whole internet on every port that no forward or trigger uses and that the router does not serve itself. Anything running on it, such as file shares, remote desktops, web admin pages or devices with default passwords, is open to anyone who finds it. Keep its own firewall on and its software up to date, and prefer forwards for the few ports you really need.',
							),
						),
					]),
					nodes,
					this.note,
				]),
			);
	},

	/** Save: validate the form, send it with set_dmz, show errors on the fields they name. */
	handleSave() {
		return widgets.saveMap(
			this.map,
			this.section,
			this.note,
			_('The DMZ settings are in force.'),
			(values) => api.call('set_dmz', common.sectionArgs(common.DMZ_FIELDS, values, true)),
		);
	},

	handleReset() {
		dom.content(this.note, null);
		return this.map.reset();
	},

	handleSaveApply: null,
});
