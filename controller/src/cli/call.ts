// Placeholder until its issue lands: refuses to run rather than pretend.
export async function callCommand(_args: string[]): Promise<number> {
	console.error("portrig: 'call' is not implemented yet");
	return 2;
}
