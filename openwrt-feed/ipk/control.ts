// The `control` file of an ipk, written the way OpenWrt's package-pack.mk writes it, so a
// package from `make package` and one from the SDK describe themselves alike.

export type Control = {
	package: string;
	version: string;
	depends: string[];
	/** The package's directory in an SDK tree: feeds/<feed>/<package>. */
	source: string;
	license: string;
	section: string;
	architecture: string;
	/** Bytes of the uncompressed data.tar, as ipkg-build measures it. */
	installedSize: number;
	description: string;
};

// The SDK names a library package with an ABI_VERSION after it (package/libs/toolchain:
// libstdcpp has ABI_VERSION 6, so the package on the router is libstdcpp6).
const ABI_VERSION: Record<string, string> = { libstdcpp: "6" };

/**
 * OpenWrt DEPENDS (`@COND +pkg pkg`) → the Depends list of the control file: `@…` are build-time
 * conditions and go, `+` goes, libc comes first as package-defaults.mk adds it to every package.
 */
export function controlDepends(depends: string): string[] {
	const names = ["libc"];
	for (const token of depends.split(/\s+/).filter(Boolean)) {
		if (token.startsWith("@")) continue;
		const name = token.replace(/^\+/, "");
		if (name.includes(":") || name.includes("$"))
			throw new Error(`DEPENDS: '${token}' is conditional; the ipk builder supports plain +pkg only`);
		if (!names.includes(name)) names.push(name);
	}
	return names.map((name) => name + (ABI_VERSION[name] ?? ""));
}

/**
 * package-pack.mk: "Description: " then every line of the text with its indent made one space.
 * Blank lines go: in a control file they would end the paragraph.
 */
function descriptionField(text: string): string {
	const lines = text.split("\n").filter((line) => line.trim() !== "");
	return `Description: ${lines.map((line) => ` ${line.trimStart()}`).join("\n")}`;
}

export function controlText(c: Control): string {
	return [
		`Package: ${c.package}`,
		`Version: ${c.version}`,
		// package-pack.mk's addfield leaves out an empty field (opkg-lede crashes on "Depends: ").
		...(c.depends.length > 0 ? [`Depends: ${c.depends.join(", ")}`] : []),
		`Source: ${c.source}`,
		`SourceName: ${c.package}`,
		`License: ${c.license}`,
		`Section: ${c.section}`,
		`Architecture: ${c.architecture}`,
		`Installed-Size: ${c.installedSize}`,
		descriptionField(c.description),
		"",
	].join("\n");
}

export function ipkFileName(c: Pick<Control, "package" | "version" | "architecture">): string {
	return `${c.package}_${c.version}_${c.architecture}.ipk`;
}
