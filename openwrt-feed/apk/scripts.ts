// The install scripts of an OpenWrt apk package, as include/package-pack.mk writes them for
// 25.12: post-install runs base-files' default_postinst (uci-defaults, enable and start the
// init scripts; in an image build only enable) then the package's own postinst; post-upgrade is
// the same with PKG_UPGRADE=1; pre-deinstall runs default_prerm (stop and disable); the
// package's preinst becomes pre-install and (with PKG_UPGRADE=1) pre-upgrade, its postrm
// post-deinstall. base-files finds the package's files through /lib/apk/packages/NAME.list.
import type { ApkScripts } from "./package";

/** A script body without its #! line, as package-pack.mk's `sed '/^\s*#!/d'` leaves it. */
function body(script: string | undefined): string {
	return script === undefined ? "" : script.replace(/^\s*#!.*\n/gm, "");
}

export type PackageScripts = {
	name: string;
	preinst?: string;
	postinst?: string;
	prerm?: string;
	postrm?: string;
};

export function apkScripts(p: PackageScripts): ApkScripts {
	const functions = [
		'[ -s "$IPKG_INSTROOT/lib/functions.sh" ] || exit 0',
		"# shellcheck source=/dev/null # base-files on the router",
		'. "$IPKG_INSTROOT/lib/functions.sh"',
		'export root="$IPKG_INSTROOT"',
		`export pkgname="${p.name}"`,
	];
	const postInstall = [
		'[ "$IPKG_NO_SCRIPT" = "1" ] && exit 0',
		...functions,
		"add_group_and_user",
		"default_postinst",
		body(p.postinst),
	].join("\n");
	const scripts: ApkScripts = {
		"post-install": `#!/bin/sh\n${postInstall}`,
		"post-upgrade": `#!/bin/sh\nexport PKG_UPGRADE=1\n${postInstall}`,
		"pre-deinstall": `#!/bin/sh\n${[...functions, "default_prerm", body(p.prerm)].join("\n")}`,
	};
	if (p.preinst !== undefined) {
		scripts["pre-install"] = p.preinst;
		scripts["pre-upgrade"] = `#!/bin/sh\nexport PKG_UPGRADE=1\n${body(p.preinst)}`;
	}
	if (p.postrm !== undefined) scripts["post-deinstall"] = p.postrm;
	return scripts;
}
