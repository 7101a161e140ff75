/**
 * Writes tests/fixtures/event-hubs-capture: Event Hubs Capture files of a small generated stream (see
 * CAPTURE_FIXTURE). Run after a change to the generator or the Capture writer, then commit the result:
 *   node --conditions=source --import tsx tests/tools/make-capture-fixture.ts
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { generateStream } from "@adpipe/core";
import { CAPTURE_FIXTURE, captureTree, writeCaptureTree } from "../support/capture-files.js";
import { REPO_ROOT } from "../support/paths.js";

const root = join(REPO_ROOT, CAPTURE_FIXTURE.directory);
const tree = await captureTree([...generateStream(CAPTURE_FIXTURE.stream)], CAPTURE_FIXTURE.tree);
rmSync(root, { recursive: true, force: true });
writeCaptureTree(root, tree);
console.log(`wrote ${tree.files.size} Capture files (${tree.captured.length} events) under ${root}`);
