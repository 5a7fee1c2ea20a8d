'use strict';
'require baseclass';
'require dom';
'require form';
'require ui';
'require portrig.common as common';

/*
 * The page furniture the portrig views share: tables, the edit dialog built on a form.JSONMap,
 * confirmations, and showing a daemon error on the form field it names. The rules themselves
 * live in portrig.common.
 *
 * Text that comes from the daemon or the network (names, host names from DHCP, error messages)
 * is always put into the page as text, never as markup: LuCI's E() and dom.append() parse a
 * lone string child as HTML, so such text goes in as an array item or through text().
 */

return baseclass.extend({
	/** Text as an element, so it is never read as markup. */
	text(value) {
		return E('span', {}, [String(value ?? '')]);
	},

	/**
	 * An empty LuCI table with a caption row; fill it with update(). A column without a caption
	 * holds row actions: not sortable.
	 */
	table(captions) {
		return E('table', { class: 'table' }, [
			E(
				'tr',
				{ class: 'tr table-titles' },
				captions.map((caption) =>
					E('th', { class: caption === '' ? 'th cbi-section-actions' : 'th' }, [caption]),
				),
			),
		]);
	},

	/**
	 * Replaces the rows of a table made by table(); `placeholder` shows when there are none.
	 * Cells are elements or plain values (shown as text).
	 */
	update(table, rows, placeholder) {
		const cells = rows.map((row) => row.map((cell) => (cell instanceof Node ? cell : this.text(cell))));
		cbi_update_table(table, cells, placeholder);
	},

	/** A message box of the theme: style is danger, warning or success. */
	alert(style, message) {
		return E('div', { class: `alert-message ${style}` }, [message]);
	},

	/** A small button for a table row. */
	rowButton(label, style, handler) {
		return E('button', { class: `cbi-button cbi-button-${style}`, click: handler }, [label]);
	},

	/** The protocol choices of a form.ListValue, in UCI form. */
	addProtocolChoices(option) {
		option.value('tcp udp', _('TCP and UDP'));
		for (const p of common.PROTOCOLS) option.value(p, common.formatProtocols(p));
	},

	/** Offers the LAN hosts from LuCI host hints as choices of a form option. */
	addHostChoices(option, hints, withIPv6) {
		for (const choice of common.hostChoices(hints, withIPv6))
			option.value(choice.address, this.text(choice.label));
	},

	/** A notification above the page for an error that belongs to no field. */
	notifyError(message) {
		ui.addNotification(null, E('p', {}, [message]), 'danger');
	},

	/**
	 * Asks before doing something that cannot be undone. `action` returns a promise of an API
	 * reply; an error reply is shown as a notification.
	 */
	confirm(title, question, actionLabel, action) {
		ui.showModal(title, [
			E('p', {}, [question]),
			E('div', { class: 'right' }, [
				E('button', { class: 'cbi-button', click: ui.hideModal }, [_('Cancel')]),
				' ',
				E(
					'button',
					{
						class: 'cbi-button cbi-button-negative important',
						click: ui.createHandlerFn(this, () =>
							action().then((reply) => {
								ui.hideModal();
								const error = common.apiError(reply);
								if (error) this.notifyError(error.message);
							}),
						),
					},
					[actionLabel],
				),
			]),
		]);
	},

	/**
	 * The edit dialog of one config section. `build(section, map)` adds the form options;
	 * the save button parses the form (its validators run first), asks `check(values)` for the
	 * problems across fields and entries ([{ field, message }]), and hands the values to
	 * `submit`, which returns a promise of the API reply. A problem or an error reply naming a
	 * field is shown on that field and keeps the dialog open; otherwise the dialog closes and
	 * `done(reply)` runs.
	 */
	editSection(options) {
		const sid = options.type;
		const data = {};
		data[sid] = Object.assign({}, options.values);
		const map = new form.JSONMap(data, null, null);
		const section = map.section(form.NamedSection, sid, sid);
		options.build(section, map);
		const note = E('div', {});

		return map.render().then((nodes) => {
			ui.showModal(
				options.title,
				[
					nodes,
					note,
					E('div', { class: 'right' }, [
						E('button', { class: 'cbi-button', click: ui.hideModal }, [_('Cancel')]),
						' ',
						E(
							'button',
							{
								class: 'cbi-button cbi-button-positive important',
								click: ui.createHandlerFn(this, 'submitSection', map, section, note, options),
							},
							[options.saveLabel ?? _('Save')],
						),
					]),
				],
				'cbi-modal',
			);
		});
	},

	/** @private */
	submitSection(map, section, note, options) {
		const sid = options.type;
		this.clearFieldErrors(map);
		dom.content(note, null);
		return map
			.parse()
			.then(() => {
				const values = section.formvalue(sid);
				const problems = options.check ? options.check(values) : [];
				if (problems.length) return this.showProblems(map, sid, note, problems);
				return options.submit(values).then((reply) => {
					const error = common.apiError(reply);
					if (error)
						return this.showProblems(map, sid, note, [
							{ field: error.field, message: common.fieldMessage(error), whole: error.message },
						]);
					ui.hideModal();
					return options.done(reply);
				});
			})
			.catch((e) => dom.content(note, this.alert('danger', e.message ?? String(e))));
	},

	/**
	 * Shows problems ([{ field, message, whole? }]) on the fields they name, the first of each
	 * field; one the form has no field for is shown whole below the form.
	 */
	showProblems(map, sid, note, problems) {
		const unplaced = [];
		for (const p of problems.filter((p, i) => problems.findIndex((q) => q.field === p.field) === i))
			if (!(p.field && this.markField(map, sid, p.field, p.message))) unplaced.push(p.whole ?? p.message);
		const summary = unplaced.length ? unplaced.join(' ') : _('Please correct the marked fields.');
		dom.content(note, this.alert('danger', summary));
	},

	/** Shows `message` under the form field of option `field`; false if the form has no such field. */
	markField(map, sid, field, message) {
		const found = map.lookupOption(field, sid);
		const node = found ? map.findElement('data-field', found[0].cbid(sid)) : null;
		if (!node) return false;
		const place = node.querySelector('.cbi-value-field') ?? node;
		place.appendChild(E('div', { class: 'alert-message danger portrig-field-error' }, [message]));
		for (const input of node.querySelectorAll('input, select')) {
			input.classList.add('cbi-input-invalid');
			input.setAttribute('data-portrig-invalid', '');
		}
		node.addEventListener('widget-change', () => this.unmarkField(node), { once: true });
		return true;
	},

	/** @private */
	unmarkField(node) {
		for (const error of node.querySelectorAll('.portrig-field-error')) error.remove();
		for (const input of node.querySelectorAll('[data-portrig-invalid]')) {
			input.classList.remove('cbi-input-invalid');
			input.removeAttribute('data-portrig-invalid');
		}
	},

	/** Takes every problem shown by markField() off the form again. */
	clearFieldErrors(map) {
		for (const error of map.findElements('.portrig-field-error'))
			this.unmarkField(error.closest('[data-field]'));
	},
});
