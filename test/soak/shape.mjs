// The shape of a streamed reply, shared by the soak's upstream (which sends it) and its load
// (which checks that every byte arrived).
export const STREAM_CHUNKS = 16;
export const CHUNK_BYTES = 1024;
export const CHUNK_GAP_MS = 5;
