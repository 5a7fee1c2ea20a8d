// firewall4's zones as portrig needs them: which logical networks and which devices each zone
// covers (`config zone` sections of /etc/config/firewall: `name`, `network`, `device`,
// `enabled`). Values are read the way fw4 reads them: list or option, words split on
// whitespace, a leading '!' inverts (an exclusion, which adds nothing).
import { UciDocument } from "../config/uci";

export type Zone = { name: string; networks: string[]; devices: string[] };

export function firewallZones(text: string): Zone[] {
	const zones: Zone[] = [];
	for (const section of UciDocument.parse(text).sections) {
		if (section.type !== "zone") continue;
		const values = (option: string) =>
			(section.entries.get(option)?.items ?? []).flatMap((item) => item.value.split(/\s+/)).filter(Boolean);
		const [name] = values("name");
		const enabled = values("enabled")[0] ?? "1";
		if (!name || ["0", "no", "off", "false", "disabled"].includes(enabled)) continue;
		const kept = (words: string[]) => words.filter((w) => !w.startsWith("!"));
		zones.push({ name, networks: kept(values("network")), devices: kept(values("device")) });
	}
	return zones;
}
