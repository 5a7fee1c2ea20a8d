import { describe, expect, test } from "bun:test";
import { SerialCommandError, SerialConsole } from "./serial";

/** A real shell on pipes stands in for the guest's console. */
function shell() {
	const proc = Bun.spawn(["sh"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
	const stdin = proc.stdin as import("bun").FileSink;
	const serial = new SerialConsole(proc.stdout as ReadableStream<Uint8Array>, async (text) => {
		stdin.write(text);
		await stdin.flush();
	});
	return { proc, serial, stdin };
}

describe("SerialConsole", () => {
	test("run returns what a command printed and its exit code", async () => {
		const { proc, serial } = shell();
		try {
			expect(await serial.run("echo hello; echo world")).toEqual({ code: 0, output: "hello\nworld\n" });
			expect((await serial.run("(exit 3)")).code).toBe(3);
		} finally {
			proc.kill();
		}
	});

	test("state persists between commands, as on a console", async () => {
		const { proc, serial } = shell();
		try {
			await serial.check("cd /tmp && x=42");
			expect(await serial.check('echo "$PWD $x"')).toBe("/tmp 42\n");
		} finally {
			proc.kill();
		}
	});

	test("a text that looks like another command's marker does not end a command", async () => {
		const { proc, serial } = shell();
		try {
			expect((await serial.run("echo '@@portrig-''done-2 7'; echo after")).output).toBe(
				"@@portrig-done-2 7\nafter\n",
			);
			expect((await serial.run("true")).code).toBe(0);
		} finally {
			proc.kill();
		}
	});

	test("check throws with the command, its exit code and its output", async () => {
		const { proc, serial } = shell();
		try {
			const e = await serial.check("echo broken; false").catch((x) => x);
			expect(e).toBeInstanceOf(SerialCommandError);
			expect(e.message).toContain("'echo broken; false' exited 1: broken");
		} finally {
			proc.kill();
		}
	});

	test("waitFor sees text printed without a command and times out naming the pattern", async () => {
		const { proc, serial, stdin } = shell();
		try {
			stdin.write("sleep 0.2; echo 'guest-init: ready on 6.1'\n");
			await stdin.flush();
			expect((await serial.waitFor(/ready on (\S+)/, 10_000))[1]).toBe("6.1");
			await expect(serial.waitFor(/never printed/, 200)).rejects.toThrow("/never printed/");
		} finally {
			proc.kill();
		}
	});

	test("a console that closes fails the command waiting on it", async () => {
		const { proc, serial } = shell();
		await expect(serial.run("exit 0")).rejects.toThrow("console closed");
		await proc.exited;
	});
});
