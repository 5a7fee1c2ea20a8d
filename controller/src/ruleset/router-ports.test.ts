import { describe, expect, test } from "bun:test";
import { parseProcNet, uniquePorts } from "./router-ports";

// Lines as Linux prints them (x86-64): 0.0.0.0:22 and 127.0.0.1:53 listening, one connection.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1235 1 0000000000000000 100 0 0 10 0
   2: 0101A8C0:0016 0A01A8C0:D431 01 00000000:00000000 02:000A7B2E 00000000     0        0 1236 4 0000000000000000 20 4 29 10 -1
`;
// [::]:443 listening, [::1]:8080 listening, ::ffff:127.0.0.1:9000 listening.
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
`;
// 0.0.0.0:53 bound, 192.168.1.1:67 bound, a connected socket (state 01) left out.
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 10 2 0 0
  101: 0101A8C0:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 11 2 0 0
  102: 0101A8C0:9C40 0201A8C0:0035 01 00000000:00000000 00:00000000 00000000     0        0 12 2 0 0
`;

describe("router ports from /proc/net", () => {
	test("TCP listeners on non-loopback addresses count; loopback ones and connections do not", () => {
		expect(parseProcNet("tcp", TCP)).toEqual([{ proto: "tcp", port: 22 }]);
		expect(parseProcNet("tcp6", TCP6)).toEqual([{ proto: "tcp", port: 443 }]);
	});

	test("bound unconnected UDP sockets count, connected ones do not", () => {
		expect(parseProcNet("udp", UDP)).toEqual([
			{ proto: "udp", port: 53 },
			{ proto: "udp", port: 67 },
		]);
	});

	test("ports are listed once, sorted by protocol then port", () => {
		expect(
			uniquePorts([
				{ proto: "udp", port: 53 },
				{ proto: "tcp", port: 80 },
				{ proto: "tcp", port: 22 },
				{ proto: "tcp", port: 80 },
			]),
		).toEqual([
			{ proto: "tcp", port: 22 },
			{ proto: "tcp", port: 80 },
			{ proto: "udp", port: 53 },
		]);
	});
});
