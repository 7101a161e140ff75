// Test and diagnostic helpers, kept out of the production barrel: `@adpipe/spend-store/testing`.
export {
  type AdvertiserSlice,
  buildSlices,
  type SliceBucket,
  type SliceEvent,
  unpackEvents,
} from "./slice-decoder.js";
