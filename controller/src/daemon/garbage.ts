// Every config change builds a new parsed document and ruleset while the old ones are still
// referenced: at 10,000 forwards that is tens of MB of garbage per change, and JavaScriptCore
// lets the heap grow to several times its live size before it collects. On a 256 MB router that
// matters more than the few ms of a collection, so after a change (once its reply is on its way)
// the heap is collected whenever it has doubled since the last collection.
/** Below this much growth a collection is not worth its pause. */
const SLACK_BYTES = 16 << 20;

let liveAfterLast = 0;
let scheduled = false;

/** Collects the heap soon (after pending replies are written) if it has grown past twice its live size. */
export function collectGarbageSoon(): void {
	if (scheduled) return;
	scheduled = true;
	setImmediate(() => {
		scheduled = false;
		if (heapUsed() < 2 * liveAfterLast + SLACK_BYTES) return;
		Bun.gc(true);
		liveAfterLast = heapUsed();
	});
}

const heapUsed = () => process.memoryUsage().heapUsed;
