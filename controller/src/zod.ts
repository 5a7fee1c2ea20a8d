// zod for the whole daemon: zod/mini, whose schemas take 1 MB less of an idle daemon's memory
// than classic zod's (docs/platform.md), with the English messages classic zod loads by itself
// (without them every problem reads "Invalid input"). Import z from here, not from zod.
import * as z from "zod/mini";

z.config(z.locales.en());

export { z };
