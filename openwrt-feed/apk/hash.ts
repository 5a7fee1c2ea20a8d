/** SHA-256, the digest apk v3 uses for files, packages and the unique id. */
export function sha256(data: Uint8Array): Uint8Array<ArrayBuffer> {
	return Uint8Array.from(new Bun.CryptoHasher("sha256").update(data).digest());
}
