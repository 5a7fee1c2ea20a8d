// `portrig render [FILE]`: what a config renders to, without touching nftables: the nft script
// that creates table inet portrig, as the daemon runs it in one transaction. WAN/LAN devices
// come from the globals `wan_device`/`lan_device` only (netifd is not asked), so the output
// depends on the file alone. Problems and exit codes as `portrig check`.
import { buildRuleset, renderRuleset } from "../ruleset/render";
import { checkFile, DEFAULT_CONFIG } from "./check";

export async function renderCommand(args: string[]): Promise<number> {
	if (args.length > 1 || args[0]?.startsWith("-")) {
		console.error("usage: portrig render [FILE]");
		return 2;
	}
	const { code, config } = await checkFile(args[0] ?? DEFAULT_CONFIG);
	if (!config) return code;
	const env = {
		wanDevices: config.globals.wan_device,
		lanDevices: config.globals.lan_device,
	};
	for (const s of buildRuleset(config, env).skipped)
		console.error(`portrig: forward '${s.id}' is not applied: ${s.reason}`);
	process.stdout.write(renderRuleset(config, env));
	return code;
}
