// The shapes LuCI and rpcd read the app's JSON files with, as zod schemas. LuCI's dispatcher
// (luci-base ucode/dispatcher.uc) copies only the menu node keys it knows, and only when their
// type is right — a wrong type is dropped without a word — so the schema is strict about both.
// rpcd reads acl.d groups as { description, read, write } with per-scope grants.
import { join } from "node:path";
import { z } from "zod";

export const MENU_FILE = join(import.meta.dir, "../root/usr/share/luci/menu.d/luci-app-portrig.json");
export const ACL_FILE = join(import.meta.dir, "../root/usr/share/rpcd/acl.d/luci-app-portrig.json");

const MenuAction = z.discriminatedUnion("type", [
	z.strictObject({ type: z.literal("view"), path: z.string().regex(/^[a-z0-9_-]+(\/[a-z0-9_-]+)*$/) }),
	z.strictObject({ type: z.literal("alias"), path: z.string().min(1) }),
	z.strictObject({ type: z.literal("firstchild") }),
	z.strictObject({ type: z.literal("template"), path: z.string().min(1) }),
	z.strictObject({
		type: z.literal("rewrite"),
		path: z.string().min(1),
		remove: z.number().int().optional(),
	}),
]);

const FsDepends = z.record(z.string().startsWith("/"), z.enum(["directory", "executable", "file", "absent"]));
const UciDepends = z.record(z.string(), z.union([z.boolean(), z.record(z.string(), z.unknown())]));

export const MenuNode = z.strictObject({
	title: z.string().min(1).optional(),
	order: z.number().int().optional(),
	action: MenuAction,
	depends: z
		.strictObject({
			acl: z.array(z.string().min(1)).optional(),
			fs: z.union([FsDepends, z.array(FsDepends)]).optional(),
			uci: z.union([UciDepends, z.array(UciDepends)]).optional(),
		})
		.optional(),
	auth: z.strictObject({ methods: z.array(z.string()).optional(), login: z.boolean().optional() }).optional(),
	cors: z.boolean().optional(),
	setuser: z.string().optional(),
	setgroup: z.string().optional(),
	wildcard: z.boolean().optional(),
	firstchild_ineligible: z.boolean().optional(),
});

/** A menu.d file: request path (without leading slash) → node. */
export const Menu = z.record(z.string().regex(/^[a-z0-9_-]+(\/[a-z0-9_.-]+)*$/), MenuNode);

const Grants = z.strictObject({
	ubus: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).optional(),
	uci: z.array(z.string().min(1)).optional(),
	file: z
		.record(z.string().startsWith("/"), z.array(z.enum(["read", "write", "exec", "list", "stat"])))
		.optional(),
	"cgi-io": z.array(z.string()).optional(),
});

/** An acl.d file: access group name → its grants. */
export const Acl = z.record(
	z.string().regex(/^[a-z0-9-]+$/),
	z.strictObject({ description: z.string().min(1), read: Grants.optional(), write: Grants.optional() }),
);
