/**
 * Top self-time functions and areas of V8 CPU profiles (`node --cpu-prof` output, e.g. the ingestor's and the
 * tracker's from `npm run bench`, saved under bench/results/profiles/).
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [more files] [--top 20]
 */
import { formatProfile, summarizeProfileFile } from "./lib/profile.js";

const args = process.argv.slice(2);
const topAt = args.indexOf("--top");
const top = topAt >= 0 ? Number(args[topAt + 1]) : 15;
const files = args.filter((arg, i) => arg !== "--top" && (topAt < 0 || i !== topAt + 1));
if (files.length === 0) {
  process.stderr.write("usage: profile-summary.ts <file.cpuprofile> [...] [--top N]\n");
  process.exit(2);
}
for (const file of files) console.log(formatProfile(file, await summarizeProfileFile(file, top)));
