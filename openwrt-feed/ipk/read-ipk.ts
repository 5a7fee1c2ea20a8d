// Opens an ipk as opkg-lede does (gunzip the outer tar, find ./control.tar.gz and ./data.tar.gz
// by name, gunzip and read each), for the tests that check what `make package` built.
import { readTar, type TarEntry } from "./tar-reader";

export type Ipk = {
	/** Outer members in archive order. */
	members: string[];
	debianBinary: string;
	control: TarEntry[];
	data: TarEntry[];
	/** Bytes of the uncompressed data.tar. */
	dataTarSize: number;
};

function member(entries: TarEntry[], name: string): Uint8Array<ArrayBuffer> {
	const found = entries.find((e) => e.name.replace(/^\.\//, "") === name);
	if (!found) throw new Error(`ipk: no ${name}`);
	return found.data;
}

export function readIpk(bytes: Uint8Array<ArrayBuffer>): Ipk {
	const outer = readTar(Bun.gunzipSync(bytes));
	const dataTar = Bun.gunzipSync(member(outer, "data.tar.gz"));
	return {
		members: outer.map((e) => e.name),
		debianBinary: new TextDecoder().decode(member(outer, "debian-binary")),
		control: readTar(Bun.gunzipSync(member(outer, "control.tar.gz"))),
		data: readTar(dataTar),
		dataTarSize: dataTar.length,
	};
}

/** "Field: value" lines; a line starting with a space continues the previous field. */
export function controlFields(text: string): Map<string, string> {
	const fields = new Map<string, string>();
	let last = "";
	for (const line of text.split("\n")) {
		if (line === "") continue;
		if (line.startsWith(" ")) fields.set(last, `${fields.get(last)}\n${line}`);
		else {
			const colon = line.indexOf(":");
			if (colon < 1) throw new Error(`control: bad line '${line}'`);
			last = line.slice(0, colon);
			fields.set(last, line.slice(colon + 1).trimStart());
		}
	}
	return fields;
}

export function entryText(entries: TarEntry[], name: string): string {
	const found = entries.find((e) => e.name === `./${name}`);
	if (!found) throw new Error(`no ./${name} in the archive`);
	return new TextDecoder().decode(found.data);
}
