// The forms must refuse exactly what the daemon refuses: each field validator of portrig.common
// is run side by side with the daemon's own codec from the config schema on the same inputs,
// and both must agree on accept/refuse and, when refusing, on the message.
import { afterAll, describe, expect, test } from "bun:test";
import {
	DisplayNameOption,
	ExcludedPortItem,
	LanHostOption,
	LanIPv4Option,
	PortRangeOption,
	ProtocolsOption,
	SecondsOption,
	SourceOption,
} from "../../controller/src/config/schema";
import { z } from "../../controller/src/zod";
import { type Common, loadCommon, type Validator } from "./app";
import { installFormat } from "./luci-loader";

const uninstall = installFormat();
afterAll(uninstall);
const common = loadCommon();

type Codec = z.core.$ZodType<unknown, string>;

/** The daemon's verdict on one input: true, or the first problem's message. */
function daemonVerdict(codec: Codec, input: string): true | string {
	const r = z.safeDecode(codec, input);
	return r.success ? true : (r.error.issues[0]?.message ?? "invalid");
}

const PORTS = [
	"80",
	"1",
	"65535",
	"0",
	"65536",
	"99999",
	"123456",
	"080",
	" 443 ",
	"6660-6669",
	"6660:6669",
	"6660 - 6669",
	"6669-6660",
	"80-80",
	"1-65535",
	"0-10",
	"10-70000",
	"1-2-3",
	"-5",
	"5-",
	"",
	"   ",
	"abc",
	"80a",
	"８０",
	"80,81",
	"0x50",
];

const PROTOCOL_TEXTS = [
	"tcp",
	"udp",
	"tcp udp",
	"udp tcp",
	"TCP",
	"tcpudp",
	"all",
	"tcp,udp",
	"icmp",
	"",
	"tcp icmp",
	"  ",
];

const SECONDS = ["1", "600", "604800", "604801", "0", "-1", "1.5", "", "10s", " 30 ", "00060"];

const LAN_HOSTS = [
	"192.168.1.10",
	"10.0.0.1",
	"172.16.0.1",
	"172.31.255.255",
	"172.32.0.1",
	"172.15.0.1",
	"192.169.1.1",
	"8.8.8.8",
	"192.168.1.256",
	"192.168.01.10",
	"192.168.1",
	" 192.168.1.10 ",
	"2001:db8:1::10",
	"2001:DB8::1",
	"fd00::1",
	"fc00::1",
	"fe80::1",
	"::1",
	"::",
	"ff02::1",
	"::ffff:192.168.1.1",
	"3fff::1",
	"4000::1",
	"2001:db8::1%eth0",
	"2001:db8:::1",
	"[2001:db8::1]",
	"gggg::1",
	"",
	"laptop",
	"192.168.1.10/32",
];

const IPV4_HOSTS = [
	"192.168.1.50",
	"10.1.2.3",
	"8.8.8.8",
	"2001:db8::1",
	"fd00::1",
	"192.168.1.300",
	"",
	"dmz",
];

const SOURCES = [
	"198.51.100.7",
	"198.51.100.0/24",
	"0.0.0.0/0",
	"10.0.0.0/33",
	"10.0.0.0/8",
	"10.0.0.0/08",
	"2001:db8::/32",
	"2001:db8::1",
	"::/0",
	"2001:db8::/129",
	"2001:db8::/032",
	"2001:db8::/",
	"198.51.100.0/",
	"198.51.100.0/24/1",
	"1.2.3.4.5",
	"",
	"anywhere",
	"fe80::1",
];

const NAMES = ["Minecraft", "IRC DCC", "", "   ", "x", "a".repeat(64), "a".repeat(65), " padded "];

const EXCLUDED = [
	"tcp 22",
	"udp 5000-5010",
	"tcp udp 8443",
	"22",
	"TCP 22",
	"all 53",
	"tcpudp 53",
	"icmp 22",
	"tcp",
	"tcp 0",
	"tcp 70000",
	"tcp 22-21",
	"",
	"tcp  22",
	"tcp,udp 22",
];

const FIELDS: [string, Codec, keyof Common, string[]][] = [
	["port or range", PortRangeOption as Codec, "validatePortRange", PORTS],
	["protocols", ProtocolsOption as Codec, "validateProtocols", PROTOCOL_TEXTS],
	["seconds", SecondsOption as Codec, "validateSeconds", SECONDS],
	["LAN host", LanHostOption as Codec, "validateLanHost", LAN_HOSTS],
	["DMZ host (IPv4)", LanIPv4Option as Codec, "validateLanIPv4", IPV4_HOSTS],
	["remote source", SourceOption as Codec, "validateSource", SOURCES],
	["display name", DisplayNameOption as Codec, "validateDisplayName", NAMES],
	["DMZ excluded port", ExcludedPortItem as Codec, "validateExcludedPort", EXCLUDED],
];

for (const [label, codec, method, samples] of FIELDS) {
	describe(`${label}: the form and the daemon agree`, () => {
		const validator = common[method] as Validator;
		test.each(samples)("on %p", (sample) => {
			expect(validator(sample)).toEqual(daemonVerdict(codec, sample));
		});

		test("and the samples cover both accepted and refused inputs", () => {
			const verdicts = samples.map((s) => daemonVerdict(codec, s) === true);
			expect(verdicts).toContain(true);
			expect(verdicts).toContain(false);
		});
	});
}
