// `portrig render [FILE]`: what a config renders to, without touching nftables. Prints the nft
// JSON batch that creates table inet portrig (what the daemon gives `nft -j -f -`), then, when
// triggers are configured, the nft text of the rules nft JSON cannot express, which the daemon
// loads right after it. WAN/LAN devices come from the globals `wan_device`/`lan_device` only
// (netifd is not asked) and the router's listening sockets are not looked up, so the output
// depends on the file alone. Problems and exit codes as `portrig check`.
import { buildRuleset, creationBatch } from "../ruleset/render";
import { triggerText } from "../ruleset/triggers";
import { checkFile, DEFAULT_CONFIG } from "./check";

export async function renderCommand(args: string[]): Promise<number> {
	if (args.length > 1 || args[0]?.startsWith("-")) {
		console.error("usage: portrig render [FILE]");
		return 2;
	}
	const { code, config } = await checkFile(args[0] ?? DEFAULT_CONFIG);
	if (!config) return code;
	const { spec, skipped } = buildRuleset(config, {
		wanDevices: config.globals.wan_device,
		lanDevices: config.globals.lan_device,
		routerPorts: [],
	});
	for (const s of skipped) console.error(`portrig: forward '${s.id}' is not applied: ${s.reason}`);
	console.log(JSON.stringify(creationBatch(spec), null, "\t"));
	const text = triggerText(spec);
	if (text) process.stdout.write(`\n${text}`);
	return code;
}
