// Field numbers of apk-tools' v3 schemas (src/apk_adb.h): an object's slot i holds field i.

export const PKGINFO = {
	name: 1,
	version: 2,
	hashes: 3,
	description: 4,
	arch: 5,
	license: 6,
	origin: 7,
	maintainer: 8,
	url: 9,
	repoCommit: 10,
	buildTime: 11,
	installedSize: 12,
	fileSize: 13,
	providerPriority: 14,
	depends: 15,
	provides: 16,
	replaces: 17,
	installIf: 18,
	recommends: 19,
	layer: 20,
	tags: 21,
} as const;

export const DEPENDENCY = { name: 1, version: 2, match: 3 } as const;
export const ACL = { mode: 1, user: 2, group: 3, xattrs: 4 } as const;
export const FILE = { name: 1, acl: 2, size: 3, mtime: 4, hash: 5, target: 6 } as const;
export const DIR = { name: 1, acl: 2, files: 3 } as const;

/** Script slots, named as apk names the script types (apk-package(5)). */
export const SCRIPTS = {
	trigger: 1,
	"pre-install": 2,
	"post-install": 3,
	"pre-deinstall": 4,
	"post-deinstall": 5,
	"pre-upgrade": 6,
	"post-upgrade": 7,
} as const;
export type ScriptType = keyof typeof SCRIPTS;

export const PACKAGE = { info: 1, paths: 2, scripts: 3, triggers: 4, replacesPriority: 5 } as const;
export const INDEX = { description: 1, packages: 2, pkgnameSpec: 3 } as const;

/** Length of the package's own unique id in info.hashes: the first 20 bytes of a SHA-256. */
export const UNIQUE_ID_LENGTH = 20;
