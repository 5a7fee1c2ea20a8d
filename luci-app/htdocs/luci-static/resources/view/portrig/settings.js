'use strict';
'require view';
'require dom';
'require form';
'require tools.widgets as luciWidgets';
'require portrig.api as api';
'require portrig.common as common';
'require portrig.widgets as widgets';

/*
 * Settings: the daemon's `config globals` — on/off, which firewall zones (or fixed devices) are
 * WAN and LAN, the default idle timeout of trigger openings and the default of NAT loopback —
 * with LuCI's own zone and device pickers. Read with get_settings, saved with set_settings; the
 * daemon applies them at once.
 */

const SID = 'globals';

return view.extend({
	load() {
		return Promise.all([api.call('get_settings'), api.entries()]);
	},

	render(data) {
		const settings = data[0];
		const entries = data[1];
		const running = !api.daemonDown(settings);
		const config = {};
		// while the daemon is down, the file's own globals are shown (options as the file holds them)
		config[SID] = running
			? common.settingsForm(settings.error ? {} : settings.reply)
			: Object.assign({}, entries.config?.globals);

		this.note = E('div', {});
		const m = new form.JSONMap(config, null, null);
		m.readonly = !(widgets.writable() && running && !settings.error);
		const s = m.section(form.NamedSection, SID, SID);
		this.map = m;
		this.section = s;
		let o;

		o = s.option(
			form.Flag,
			'enabled',
			_('Enabled'),
			_('Off: portrig keeps no rules at all; the daemon keeps running, so it can be turned on here again.'),
		);
		o.default = o.enabled;

		o = s.option(
			luciWidgets.ZoneSelect,
			'wan_zone',
			_('WAN zones'),
			_('Forwards and the DMZ answer connections arriving from these firewall zones.'),
		);
		o.multiple = true;
		o.nocreate = true;
		o.default = 'wan';

		o = s.option(
			luciWidgets.ZoneSelect,
			'lan_zone',
			_('LAN zones'),
			_('Triggers watch connections leaving from these firewall zones.'),
		);
		o.multiple = true;
		o.nocreate = true;
		o.default = 'lan';

		o = s.option(
			luciWidgets.DeviceSelect,
			'wan_device',
			_('WAN devices'),
			_("Optional: these devices instead of the WAN zones' devices."),
		);
		o.multiple = true;
		o.noaliases = true;
		o.optional = true;

		o = s.option(
			luciWidgets.DeviceSelect,
			'lan_device',
			_('LAN devices'),
			_("Optional: these devices instead of the LAN zones' devices."),
		);
		o.multiple = true;
		o.noaliases = true;
		o.optional = true;

		o = s.option(
			form.Value,
			'trigger_timeout',
			_('Trigger idle timeout'),
			_(
				"Seconds without traffic before a trigger's ports close again, for triggers that set no timeout of their own.",
			),
		);
		o.placeholder = '600';
		o.validate = (_sid, value) => common.optional(common.validateSeconds)(value);

		o = s.option(
			form.Flag,
			'reflection',
			_('NAT loopback by default'),
			_(
				'Hosts in your network may use the public address of a forward that does not say otherwise (IPv4 only).',
			),
		);
		o.default = o.enabled;

		let problem = '';
		if (!running)
			problem = widgets.storedEntriesNotice(entries.config != null, () => window.location.reload());
		else if (settings.error) problem = widgets.alert('danger', settings.error.message);

		return m
			.render()
			.then((nodes) =>
				E('div', {}, [
					E('h2', {}, _('Port Triggering & Forwarding Settings')),
					E(
						'div',
						{ class: 'cbi-map-descr' },
						_(
							'Settings that apply to every forward, trigger and the DMZ. Saved settings take effect at once.',
						),
					),
					problem,
					nodes,
					this.note,
				]),
			);
	},

	/** Save: validate the form, send it with set_settings, show errors on the fields they name. */
	handleSave() {
		return widgets.saveMap(this.map, this.section, this.note, _('The settings are in force.'), (values) =>
			api.call('set_settings', common.settingsArgs(values)),
		);
	},

	handleReset() {
		dom.content(this.note, null);
		return this.map.reset();
	},

	handleSaveApply: null,
});
