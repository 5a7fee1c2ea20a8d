// A tiny package for the golden files: a directory tree with a config file, an executable, an
// empty file and a symlink, two dependencies and two scripts. The golden files were checked
// against apk-tools 3.0.6 (apk adbdump; apk add --allow-untrusted into an empty root).
import type { ApkEntry, ApkInfo, ApkScripts } from "./package";

const text = (s: string) => new TextEncoder().encode(s);

export const FIXTURE_INFO: ApkInfo = {
	name: "hello",
	version: "1.2.3-r4",
	arch: "x86_64",
	description: "A package for the tests of the ADB writer",
	license: "GPL-2.0-only",
	origin: "feeds/test/hello",
	depends: ["libc", "busybox"],
};

export const FIXTURE_ENTRIES: ApkEntry[] = [
	{ path: "etc", type: "dir", mode: 0o755 },
	{ path: "etc/config", type: "dir", mode: 0o755 },
	{
		path: "etc/config/hello",
		type: "file",
		mode: 0o644,
		data: text("config hello 'main'\n\toption enabled '1'\n"),
	},
	{ path: "usr", type: "dir", mode: 0o755 },
	{ path: "usr/bin", type: "dir", mode: 0o755 },
	{ path: "usr/bin/hello", type: "file", mode: 0o755, data: text("#!/bin/sh\necho hello\n") },
	{ path: "usr/bin/hi", type: "symlink", mode: 0o777, target: "hello" },
	{ path: "usr/share", type: "dir", mode: 0o755 },
	{ path: "usr/share/hello.empty", type: "file", mode: 0o644, data: new Uint8Array(0) },
];

export const FIXTURE_SCRIPTS: ApkScripts = {
	"post-install": "#!/bin/sh\necho installed\n",
	"pre-deinstall": "#!/bin/sh\necho removing\n",
};

export const FIXTURE_MTIME = 1_700_000_000;
