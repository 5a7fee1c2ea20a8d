import { describe, expect, test } from "bun:test";
import { controlDepends, controlText, ipkFileName } from "./control";

describe("controlDepends", () => {
	test("drops build conditions and '+', puts libc first and names libstdcpp with its ABI version", () => {
		expect(controlDepends("@(x86_64||aarch64) +firewall4 +libstdcpp +kmod-nft-nat")).toEqual([
			"libc",
			"firewall4",
			"libstdcpp6",
			"kmod-nft-nat",
		]);
	});

	test("lists libc once when DEPENDS names it too", () => {
		expect(controlDepends("+libc +portrig")).toEqual(["libc", "portrig"]);
	});

	test("refuses a conditional dependency it cannot resolve without the SDK's config", () => {
		expect(() => controlDepends("+IPV6:kmod-nf-nat6")).toThrow("'+IPV6:kmod-nf-nat6' is conditional");
	});
});

describe("controlText", () => {
	test("writes the fields in package-pack.mk's order with each description line indented by one space", () => {
		const text = controlText({
			package: "portrig",
			version: "0.1.0-1",
			depends: ["libc", "firewall4"],
			source: "feeds/portrig/portrig",
			license: "GPL-2.0-only",
			section: "net",
			architecture: "x86_64",
			installedSize: 1024,
			description: " First line.\n\t  Second line.\n",
		});
		expect(text).toBe(
			[
				"Package: portrig",
				"Version: 0.1.0-1",
				"Depends: libc, firewall4",
				"Source: feeds/portrig/portrig",
				"SourceName: portrig",
				"License: GPL-2.0-only",
				"Section: net",
				"Architecture: x86_64",
				"Installed-Size: 1024",
				"Description:  First line.",
				" Second line.",
				"",
			].join("\n"),
		);
	});
});

test("controlText leaves out Depends when there are none, as package-pack.mk does", () => {
	const text = controlText({
		package: "base",
		version: "1.0-r1",
		depends: [],
		source: "feeds/x/base",
		license: "MIT",
		section: "base",
		architecture: "all",
		installedSize: 1,
		description: "Base.",
	});
	expect(text).not.toContain("Depends");
});

test("ipkFileName is NAME_VERSION_ARCH.ipk as ipkg-build names it", () => {
	expect(ipkFileName({ package: "portrig", version: "0.1.0-1", architecture: "aarch64_generic" })).toBe(
		"portrig_0.1.0-1_aarch64_generic.ipk",
	);
});
