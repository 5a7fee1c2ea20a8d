// Placeholder until its issue lands: refuses to run rather than pretend.
export async function daemonCommand(_args: string[]): Promise<number> {
	console.error("portrig: 'daemon' is not implemented yet");
	return 2;
}
