// Which devices are WAN and LAN, the way firewall4 resolves its zones: a zone's networks (its
// `network` option, plus netifd interfaces whose data says `zone`) map to their layer-3
// device (`l3_device`, else `device`), and the zone's own `device` entries are added. portrig's
// globals `wan_device`/`lan_device`, when set, fix the answer instead (the lab; a box without
// OpenWrt).
import type { Globals } from "../config/schema";
import type { NetifdInterface } from "./dump";
import type { Zone } from "./zones";

export type ZoneDevices = {
	devices: string[];
	/** addresses of the zone's networks that are up, e.g. "198.51.100.7/32" */
	addresses: string[];
	/** fw4 wildcard devices ("tun+"): portrig matches exact devices only, so these are left out */
	wildcards: string[];
};

export type NetworkEnv = {
	wanDevices: string[];
	lanDevices: string[];
	wanAddresses: string[];
	/** where each side came from */
	source: { wan: "globals" | "netifd"; lan: "globals" | "netifd" };
};

const sorted = (items: Iterable<string>) => [...new Set(items)].sort();

export function zoneDevices(
	zoneNames: readonly string[],
	zones: readonly Zone[],
	interfaces: readonly NetifdInterface[],
): ZoneDevices {
	const devices: string[] = [];
	const addresses: string[] = [];
	const wildcards: string[] = [];
	for (const zone of zones.filter((z) => zoneNames.includes(z.name))) {
		const networks = new Set([
			...zone.networks,
			...interfaces.filter((i) => i.data.zone === zone.name).map((i) => i.interface),
		]);
		for (const iface of interfaces.filter((i) => networks.has(i.interface))) {
			const device = iface.l3_device ?? iface.device;
			if (device) devices.push(device);
			if (iface.up)
				for (const a of [...iface["ipv4-address"], ...iface["ipv6-address"]])
					addresses.push(`${a.address}/${a.mask}`);
		}
		for (const device of zone.devices) (device.endsWith("+") ? wildcards : devices).push(device);
	}
	return { devices: sorted(devices), addresses: sorted(addresses), wildcards: sorted(wildcards) };
}

/**
 * The devices the ruleset needs. `netifd` is absent without ubus: then only the globals count.
 * `firewall` is /etc/config/firewall's zones (empty when the file is missing).
 */
export function networkEnv(
	globals: Pick<Globals, "wan_zone" | "lan_zone" | "wan_device" | "lan_device">,
	zones: readonly Zone[],
	netifd: readonly NetifdInterface[] | undefined,
): NetworkEnv {
	const wan = netifd ? zoneDevices(globals.wan_zone, zones, netifd) : undefined;
	const lan = netifd ? zoneDevices(globals.lan_zone, zones, netifd) : undefined;
	const pick = (fixed: string[], found: ZoneDevices | undefined) =>
		fixed.length > 0 || !found
			? { devices: sorted(fixed), source: "globals" as const }
			: { devices: found.devices, source: "netifd" as const };
	const w = pick(globals.wan_device, wan);
	const l = pick(globals.lan_device, lan);
	return {
		wanDevices: w.devices,
		lanDevices: l.devices,
		wanAddresses: wan?.addresses ?? [],
		source: { wan: w.source, lan: l.source },
	};
}
