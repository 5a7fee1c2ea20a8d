'use strict';
'require view';
'require dom';
'require poll';
'require rpc';
'require ui';
'require portrig.common as common';
'require portrig.widgets as widgets';

/*
 * Status: the daemon state, the live trigger openings (each with a Close button) and the
 * counters of every entry, refreshed by LuCI's poll loop.
 */

const callStatus = common.settled(rpc.declare({ object: 'portrig', method: 'status' }));
const callList = common.settled(rpc.declare({ object: 'portrig', method: 'list' }));
const callOpenings = common.settled(rpc.declare({ object: 'portrig', method: 'openings' }));
const callCloseOpening = common.settled(
	rpc.declare({
		object: 'portrig',
		method: 'close_opening',
		params: ['trigger', 'host'],
	}),
);
const callHostHints = rpc.declare({ object: 'luci-rpc', method: 'getHostHints', expect: { '': {} } });

function yesNo(value) {
	if (value === true) return _('yes');
	if (value === false) return _('no');
	return E('em', {}, _('not reported'));
}

return view.extend({
	load() {
		return Promise.all([this.fetch(), L.resolveDefault(callHostHints(), {})]);
	},

	/** status, list and openings (each an error reply when it failed). */
	fetch() {
		return Promise.all([callStatus(), callList(), callOpenings()]);
	},

	render(data) {
		this.hints = data[1] ?? {};
		this.state = E('table', { class: 'table' });
		this.openings = widgets.table([
			_('Trigger'),
			_('LAN host'),
			_('Remote'),
			_('Ports'),
			_('Seconds left'),
			'',
		]);
		this.counters = widgets.table([_('Entry'), _('Kind'), _('Connections'), _('Open now')]);
		this.show(data[0]);
		poll.add(() => this.fetch().then((fresh) => this.show(fresh)));

		return E('div', { class: 'cbi-map' }, [
			E('h2', {}, _('Port Triggering & Forwarding Status')),
			E('div', { class: 'cbi-section' }, [E('h3', {}, _('Daemon')), this.state]),
			E('div', { class: 'cbi-section' }, [E('h3', {}, _('Open trigger ports')), this.openings]),
			E('div', { class: 'cbi-section' }, [E('h3', {}, _('Counters')), this.counters]),
		]);
	},

	/** @private */
	show(data) {
		const status = data[0];
		const list = common.apiError(data[1]) ? null : data[1];
		const openings = common.apiError(data[2]) ? [] : (data[2]?.openings ?? []);
		this.showState(status);
		widgets.update(
			this.openings,
			openings.map((o) => [
				o.name,
				common.hostLabel(this.hints, o.host),
				o.remote ?? E('em', {}, _('any')),
				`${common.formatProtocols(o.proto)} ${common.formatList(o.ports)}`,
				String(Math.max(0, Math.round(Number(o.expires) || 0))),
				widgets.rowButton(_('Close'), 'remove', ui.createHandlerFn(this, 'handleClose', o)),
			]),
			E('em', {}, _('No trigger has opened ports.')),
		);
		widgets.update(this.counters, this.counterRows(status, list, openings), E('em', {}, _('No entries.')));
	},

	/** @private */
	showState(status) {
		const state = common.daemonState(status);
		const error = common.apiError(status);
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
		return callCloseOpening(opening.trigger, opening.host).then((reply) => {
			const error = common.apiError(reply);
			if (error) widgets.notifyError(error.message);
			return this.fetch().then((fresh) => this.show(fresh));
		});
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null,
});
