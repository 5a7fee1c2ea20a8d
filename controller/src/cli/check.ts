// Placeholder until its issue lands: refuses to run rather than pretend.
export async function checkCommand(_args: string[]): Promise<number> {
	console.error("portrig: 'check' is not implemented yet");
	return 2;
}
