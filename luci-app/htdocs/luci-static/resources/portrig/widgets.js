'use strict';
'require baseclass';
'require dom';
'require form';
'require ui';
'require view';
'require portrig.api as api';
'require portrig.common as common';

/*
 * The page furniture the portrig views share: tables, the edit dialog built on a form.JSONMap,
 * confirmations, showing a daemon error on the form field it names, and EntriesView, the page
 * the Forwards and Triggers tabs are made of. The rules themselves live in portrig.common, the
 * calls in portrig.api.
 *
 * Text that comes from the daemon or the network (names, host names from DHCP, error messages)
 * is always put into the page as text, never as markup: LuCI's E() and dom.append() parse a
 * lone string child as HTML, so such text goes in as an array item or through text().
 */

/**
 * The page of one kind of config entry, Forwards or Triggers: a table with a row per entry (each
 * with an Enabled checkbox and Edit and Delete buttons), an Add button, and the edit dialog,
 * saved through the kind's add, update and delete calls. `widgets` is this module's instance.
 * Add, Edit and Delete are there only for a login that may write; while the daemon is not
 * running the rows are those of /etc/config/portrig (api.entries()) and every control that needs
 * the daemon is disabled.
 *
 * A page extends it with:
 *   kind      { type, list, fields, fresh, add, update, remove }: the UCI section type, the key of
 *             its entries in the `list` reply, its options, a new entry's values, its API calls
 *   extra     the read call whose reply row() gets beside each entry
 *   texts     { heading, empty, add, editTitle, save, deleteTitle, enable }
 *   intro()                    what is shown under the heading
 *   columns()                  the table captions (the column of the Edit and Delete buttons follows)
 *   row(entry, extra)          the cells of one entry before those buttons; enabledToggle() makes one
 *   problems(values, others)   what the daemon would refuse across fields and entries
 *   deleteQuestion(entry)      the question before deleting
 *   buildForm(section, problemsOf)  the dialog's options; problemsOf(sid) checks the form's values
 */
function entriesView(widgets) {
	return view.extend({
		load() {
			return Promise.all([api.entries(), api.call(this.extra), api.hostHints()]);
		},

		render(data) {
			this.hints = data[2];
			this.writable = widgets.writable();
			this.problem = E('div', {});
			this.table = widgets.table(this.columns().concat(this.writable ? [''] : []));
			this.addButton = this.writable
				? E(
						'button',
						{ class: 'cbi-button cbi-button-add', click: ui.createHandlerFn(this, 'handleEdit', null) },
						[this.texts.add],
					)
				: null;
			this.show(data[0], data[1]);

			return E('div', { class: 'cbi-map' }, [
				E('h2', {}, [this.texts.heading]),
				this.intro(),
				this.problem,
				E('div', { class: 'cbi-section' }, [
					this.table,
					E('div', { class: 'cbi-section-create' }, [this.addButton]),
				]),
			]);
		},

		/** Fetches the entries again and redraws the table. */
		refresh() {
			return Promise.all([api.entries(), api.call(this.extra)]).then((data) => this.show(data[0], data[1]));
		},

		/** @private */
		show(entries, extra) {
			this.running = entries.running;
			dom.content(
				this.problem,
				entries.running
					? entries.error
						? widgets.alert('danger', entries.error.message)
						: null
					: widgets.storedEntriesNotice(entries.config != null, () => this.refresh()),
			);
			if (this.addButton) widgets.setDisabled(this.addButton, !this.running);
			const config = entries.config ?? {};
			this.globals = config.globals ?? {};
			this.others = { forwards: config.forwards ?? [], triggers: config.triggers ?? [] };
			widgets.update(
				this.table,
				this.others[this.kind.list].map((entry) => {
					const cells = this.row(entry, extra.error ? null : extra.reply);
					return this.writable ? cells.concat([this.rowActions(entry)]) : cells;
				}),
				E('em', {}, [this.texts.empty]),
			);
		},

		/**
		 * The Enabled checkbox of an entry's row: switches the entry on or off at once; only shown
		 * checked or not when this login may not change it or the daemon is not running.
		 */
		enabledToggle(entry) {
			return E('input', {
				type: 'checkbox',
				checked: entry.enabled === '0' ? null : '',
				disabled: this.writable && this.running ? null : '',
				title: this.texts.enable,
				change: ui.createHandlerFn(this, 'handleToggle', entry),
			});
		},

		/** @private */
		rowActions(entry) {
			const disabled = !this.running;
			return E('div', { class: 'cbi-section-actions' }, [
				widgets.rowButton(_('Edit'), 'edit', ui.createHandlerFn(this, 'handleEdit', entry), disabled),
				' ',
				widgets.rowButton(_('Delete'), 'remove', ui.createHandlerFn(this, 'handleDelete', entry), disabled),
			]);
		},

		handleToggle(entry, ev) {
			const enabled = ev.target.checked ? '1' : '0';
			return api.call(this.kind.update, { id: entry.id, enabled: enabled }).then((outcome) => {
				if (outcome.error) widgets.notifyError(outcome.error.message);
				return this.refresh();
			});
		},

		handleDelete(entry) {
			widgets.confirm(this.texts.deleteTitle, this.deleteQuestion(entry), _('Delete'), () =>
				api.call(this.kind.remove, { id: entry.id }).then((outcome) => this.refresh().then(() => outcome)),
			);
		},

		/** Opens the dialog for `entry`, or for a new one when it is null. */
		handleEdit(entry) {
			const id = entry ? entry.id : null;
			const others = this.others;
			const check = (values) => this.problems(Object.assign({ id: id }, values), others);
			return widgets.editSection({
				type: this.kind.type,
				title: entry ? this.texts.editTitle : this.texts.add,
				saveLabel: this.texts.save,
				values: entry ?? this.kind.fresh,
				build: (s) => this.buildForm(s, (sid) => check(s.formvalue(sid))),
				check: check,
				submit: (values) => {
					const args = common.sectionArgs(this.kind.fields, values, id !== null);
					return id === null
						? api.call(this.kind.add, args)
						: api.call(this.kind.update, Object.assign({ id: id }, args));
				},
				done: () => this.refresh(),
			});
		},

		handleSaveApply: null,
		handleSave: null,
		handleReset: null,
	});
}

return baseclass.extend({
	__init__() {
		/** The class the Forwards and Triggers pages extend (see entriesView). */
		this.EntriesView = entriesView(this);
	},

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
	rowButton(label, style, handler, disabled) {
		return E(
			'button',
			{ class: `cbi-button cbi-button-${style}`, click: handler, disabled: disabled ? '' : null },
			[label],
		);
	},

	/** Disables or enables a button or input. */
	setDisabled(node, disabled) {
		if (disabled) node.setAttribute('disabled', '');
		else node.removeAttribute('disabled');
	},

	/**
	 * Whether this login may change portrig's config: LuCI's answer for the page (false when the
	 * session holds only `read` of the ACL group in the menu entry, luci-app-portrig), as LuCI's
	 * own Save and Apply buttons ask it.
	 */
	writable() {
		return L.hasViewPermission() === true;
	},

	/**
	 * What a page shows while the daemon is not running: `message`, and to a login that may, a
	 * button that starts the service; `started()` runs once the daemon answers.
	 */
	daemonDownNotice(message, started) {
		return E('div', { class: 'alert-message warning' }, [
			E('p', {}, [message]),
			this.writable()
				? E(
						'button',
						{
							class: 'cbi-button cbi-button-apply',
							click: ui.createHandlerFn(this, 'handleStart', started),
						},
						[_('Start portrig')],
					)
				: null,
		]);
	},

	/** The notice of a page that shows the entries of the file (`stored`: they could be read). */
	storedEntriesNotice(stored, started) {
		return this.daemonDownNotice(
			stored
				? _(
						'The portrig daemon is not running. Below are the entries of /etc/config/portrig; they take effect, and can be changed here, once it runs.',
					)
				: _('The portrig daemon is not running, and /etc/config/portrig could not be read.'),
			started,
		);
	},

	/** @private Starts the service, then waits (up to 15 s) for the daemon to answer on ubus. */
	handleStart(started) {
		return api.startService().then((ran) => {
			if (!ran) return this.notifyError(_('The portrig service could not be started: see the system log.'));
			const attempt = (left) =>
				api.call('status').then((outcome) => {
					if (!api.daemonDown(outcome)) return started();
					if (left === 0)
						return this.notifyError(
							_('The portrig service was started but its daemon does not answer: see the system log.'),
						);
					return new Promise((resolve) => setTimeout(resolve, 1000)).then(() => attempt(left - 1));
				});
			return attempt(15);
		});
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
	 * Asks before doing something that cannot be undone. `action` returns a promise of a call's
	 * outcome (portrig.api); an error is shown as a notification.
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
							action().then((outcome) => {
								ui.hideModal();
								if (outcome.error) this.notifyError(outcome.error.message);
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
	 * `submit`, which returns a promise of a call's outcome (portrig.api). A problem or a daemon
	 * error naming a field is shown on that field and keeps the dialog open; otherwise the dialog
	 * closes and `done(reply)` runs.
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

	/**
	 * Saves the page form `map` (one NamedSection `section`): nothing when the map is read-only;
	 * else its validators run, `submit(values)` makes the call, and `note` shows `doneText` or the
	 * error, which lands on the field it names.
	 */
	saveMap(map, section, note, doneText, submit) {
		if (map.readonly) return Promise.resolve();
		const sid = section.section;
		this.clearFieldErrors(map);
		dom.content(note, null);
		return map
			.parse()
			.then(() => submit(section.formvalue(sid)))
			.then((outcome) => {
				if (outcome.error) return this.showError(map, sid, note, outcome.error);
				dom.content(note, this.alert('success', doneText));
			})
			.catch((e) => dom.content(note, this.alert('danger', e.message ?? String(e))));
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
				return options.submit(values).then((outcome) => {
					if (outcome.error) return this.showError(map, sid, note, outcome.error);
					ui.hideModal();
					return options.done(outcome.reply);
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

	/** Shows a call's error (portrig.api) on the field it names, or whole below the form. */
	showError(map, sid, note, error) {
		this.showProblems(map, sid, note, [
			{ field: error.field, message: common.fieldMessage(error), whole: error.message },
		]);
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
