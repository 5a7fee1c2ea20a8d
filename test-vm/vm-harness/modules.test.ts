import { describe, expect, test } from "bun:test";
import { moduleClosure, moduleName, parseModulesDep } from "./modules";

const DEP = `kernel/net/netfilter/nf_tables.ko.xz: kernel/net/netfilter/nfnetlink.ko.xz kernel/lib/libcrc32c.ko.xz
kernel/net/netfilter/nfnetlink.ko.xz:
kernel/lib/libcrc32c.ko.xz:
kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz
kernel/drivers/net/net_failover.ko.xz:
kernel/fs/xfs/xfs.ko.xz: kernel/lib/libcrc32c.ko.xz
`;

describe("kernel modules for the stand-in", () => {
	test("a module's name drops its folder and compression suffix and spells - as _", () => {
		expect(moduleName("kernel/net/netfilter/nf_tables.ko.xz")).toBe("nf_tables");
		expect(moduleName("kernel/arch/x86/crypto/crc32c-intel.ko")).toBe("crc32c_intel");
	});

	test("the closure holds the wanted folders, the named modules and their dependencies only", () => {
		const closure = moduleClosure(parseModulesDep(DEP), "", {
			dirs: ["kernel/net/netfilter/"],
			names: ["virtio_net"],
		});
		expect(closure).toEqual([
			"kernel/drivers/net/net_failover.ko.xz",
			"kernel/drivers/net/virtio_net.ko.xz",
			"kernel/lib/libcrc32c.ko.xz",
			"kernel/net/netfilter/nf_tables.ko.xz",
			"kernel/net/netfilter/nfnetlink.ko.xz",
		]);
	});

	test("a named module built into the kernel needs nothing; one that is missing throws", () => {
		const deps = parseModulesDep(DEP);
		const builtin = "kernel/drivers/virtio/virtio_pci.ko\n";
		expect(moduleClosure(deps, builtin, { dirs: [], names: ["virtio_pci"] })).toEqual([]);
		expect(() => moduleClosure(deps, builtin, { dirs: [], names: ["bridge"] })).toThrow(
			"the kernel has no module bridge",
		);
	});
});
