// Signatures of an ADB file as apk-tools v3 writes and checks them (adb.c,
// adb_trust_write_signatures): a SIG block after the ADB block holding version 0, the hash
// algorithm (SHA-512), the key's id and the signature. The key signs, with SHA-512, the schema id,
// those 18 header bytes and the SHA-512 of the ADB block. The id is the first 16 bytes of the
// SHA-512 of the public key in OpenSSL's i2d_PublicKey form (the EC point; PKCS#1 for RSA). apk
// trusts the file when one signature verifies with a key in /etc/apk/keys.
import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { BLOCK, block } from "./adb";

const SIGN_VERSION = 0;
const SHA512 = 4; // APK_DIGEST_SHA512
const HEADER = 18;

function publicKeyBytes(key: KeyObject): Buffer {
	const pub = key.type === "private" ? createPublicKey(key) : key;
	if (pub.asymmetricKeyType === "rsa") return pub.export({ type: "pkcs1", format: "der" });
	if (pub.asymmetricKeyType === "ec") {
		const jwk = pub.export({ format: "jwk" });
		if (!jwk.x || !jwk.y) throw new Error("apk signing key: an EC key without a point");
		return Buffer.concat([
			Buffer.from([4]),
			Buffer.from(jwk.x, "base64url"),
			Buffer.from(jwk.y, "base64url"),
		]);
	}
	throw new Error(`apk signing key: ${pub.asymmetricKeyType} keys are not used by apk (EC or RSA)`);
}

export function keyId(key: KeyObject): Buffer {
	return createHash("sha512").update(publicKeyBytes(key)).digest().subarray(0, 16);
}

function signedBytes(schema: number, header: Uint8Array, adb: Uint8Array): Buffer {
	const schemaBytes = Buffer.alloc(4);
	schemaBytes.writeUInt32LE(schema);
	return Buffer.concat([schemaBytes, header, createHash("sha512").update(adb).digest()]);
}

/** The SIG block of the ADB block `adb` of a file of `schema`, signed with a private key. */
export function signatureBlock(schema: number, adb: Uint8Array, privateKey: KeyObject): Uint8Array {
	const header = Buffer.concat([Buffer.from([SIGN_VERSION, SHA512]), keyId(privateKey)]);
	const signature = sign("sha512", signedBytes(schema, header, adb), privateKey);
	return block(BLOCK.sig, Buffer.concat([header, signature]));
}

/** Whether a SIG block's payload is a valid signature of `adb` by `publicKey`. */
export function verifySignature(
	schema: number,
	adb: Uint8Array,
	payload: Uint8Array,
	publicKey: KeyObject,
): boolean {
	if (payload.length <= HEADER || payload[0] !== SIGN_VERSION || payload[1] !== SHA512) return false;
	const header = payload.subarray(0, HEADER);
	if (!keyId(publicKey).equals(header.subarray(2))) return false;
	return verify("sha512", signedBytes(schema, header, adb), publicKey, payload.subarray(HEADER));
}
