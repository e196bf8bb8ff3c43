/** Build dist/ when it is missing or older than any source file; true when it built. */
export function ensureDist(): boolean;
