'use strict';
'require view';
'require dom';
'require poll';
'require ui';
'require portrig.api as api';
'require portrig.common as common';
'require portrig.widgets as widgets';

/*
 * Status: the daemon state, the live trigger openings (each with a Close button) and the
 * counters of every entry, refreshed by LuCI's poll loop.
 */

function yesNo(value) {
	if (value === true) return _('yes');
	if (value === false) return _('no');
	return E('em', {}, _('not reported'));
}

return view.extend({
	load() {
		return Promise.all([this.fetch(), api.hostHints()]);
	},

	/** The outcomes of status, list and openings. */
	fetch() {
		return Promise.all([api.call('status'), api.call('list'), api.call('openings')]);
	},

	render(data) {
		this.hints = data[1];
		this.writable = widgets.writable();
		this.state = E('table', { class: 'table' });
		// the Close column only for a login that may close openings
		this.openings = widgets.table(
			[_('Trigger'), _('LAN host'), _('Remote'), _('Ports'), _('Seconds left')].concat(
				this.writable ? [''] : [],
			),
		);
		this.counters = widgets.table([_('Entry'), _('Kind'), _('Connections'), _('Open now')]);
		this.notice = E('div', {});
		this.show(data[0]);
		poll.add(() => this.fetch().then((fresh) => this.show(fresh)));

		return E('div', { class: 'cbi-map' }, [
			E('h2', {}, _('Port Triggering & Forwarding Status')),
			this.notice,
			E('div', { class: 'cbi-section' }, [E('h3', {}, _('Daemon')), this.state]),
			E('div', { class: 'cbi-section' }, [E('h3', {}, _('Open trigger ports')), this.openings]),
			E('div', { class: 'cbi-section' }, [E('h3', {}, _('Counters')), this.counters]),
		]);
	},

	/** @private */
	show(data) {
		const status = data[0].error ? null : data[0].reply;
		const list = data[1].error ? null : data[1].reply;
		const openings = data[2].error ? [] : (data[2].reply?.openings ?? []);
		this.showState(status, data[0].error);
		dom.content(
			this.notice,
			api.daemonDown(data[0])
				? widgets.daemonDownNotice(_('The portrig daemon is not running.'), () =>
						this.fetch().then((fresh) => this.show(fresh)),
					)
				: null,
		);
		widgets.update(
			this.openings,
			openings.map((o) =>
				[
					o.name,
					common.hostLabel(this.hints, o.host),
					o.remote ?? E('em', {}, _('any')),
					`${common.formatProtocols(o.proto)} ${common.formatList(o.ports)}`,
					String(Math.max(0, Math.round(Number(o.expires) || 0))),
				].concat(
					this.writable
						? [widgets.rowButton(_('Close'), 'remove', ui.createHandlerFn(this, 'handleClose', o))]
						: [],
				),
			),
			E('em', {}, _('No trigger has opened ports.')),
		);
		widgets.update(this.counters, this.counterRows(status, list, openings), E('em', {}, _('No entries.')));
	},

	/** @private */
	showState(status, error) {
		const state = common.daemonState(status);
		const rows = [
			[_('Daemon running'), state.running ? _('yes') : _('no')],
			[_('Connected to ubus'), yesNo(state.ubus)],
			[_('nftables table present'), yesNo(state.table)],
		];
		if (error) rows.push([_('Problem'), error.message]);
		if (state.running) {
			const devices = status.devices ?? {};
			rows.push(
				[_('Version'), String(status.version ?? '')],
				[_('Running for'), common.formatSeconds(status.uptime)],
				[_('Configuration file'), String(status.config ?? '')],
				[
					_('Configuration file valid'),
					status.config_valid === false
						? _('no: the daemon keeps running the last valid configuration')
						: yesNo(status.config_valid),
				],
				[_('WAN devices'), common.formatList(devices.wan) || '—'],
				[_('LAN devices'), common.formatList(devices.lan) || '—'],
			);
		}
		dom.content(
			this.state,
			rows.map((r) =>
				E('tr', { class: 'tr' }, [
					E('td', { class: 'td left', width: '33%' }, [r[0]]),
					E('td', { class: 'td left' }, [r[1]]),
				]),
			),
		);
	},

	/** @private */
	counterRows(status, list, openings) {
		const forwards = (list?.forwards ?? []).map((f) => {
			const c = common.entryCounters(status, 'forwards', f.id);
			return [common.forwardTitle(f), _('Forward'), c.connections ?? '—', '—'];
		});
		const triggers = (list?.triggers ?? []).map((t) => {
			const c = common.entryCounters(status, 'triggers', t.id);
			const open = c.openings ?? openings.filter((o) => o.trigger === t.id).length;
			return [t.name, _('Trigger'), c.connections ?? '—', String(open)];
		});
		return forwards.concat(triggers);
	},

	handleClose(opening) {
		return api.call('close_opening', { trigger: opening.trigger, host: opening.host }).then((outcome) => {
			if (outcome.error) widgets.notifyError(outcome.error.message);
			return this.fetch().then((fresh) => this.show(fresh));
		});
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null,
});
