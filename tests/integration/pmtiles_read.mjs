// Reads a PMTiles archive with the official `pmtiles` npm decoder (tests/node/package.json) and
// prints what it finds, for tests/integration/test_pmtiles_node.cpp to compare with our XYZ folder.
// Usage: node pmtiles_read.mjs NODE_DIR ARCHIVE SAMPLE_Z/X/Y SAMPLE_OUT
//   NODE_DIR: folder holding node_modules/pmtiles (the build's `npm ci`).
// Output lines: `header KEY VALUE`, `tile Z X Y LENGTH SHA256` (every tile found by walking the
// root and leaf directories, each fetched again with getZxy), `count N`; the sample tile's bytes,
// as getZxy returns them, go to SAMPLE_OUT.
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { open, writeFile } from "node:fs/promises";
import path from "node:path";

const [nodeDir, archive, sample, sampleOut] = process.argv.slice(2);
if (!sampleOut) {
  console.error("usage: node pmtiles_read.mjs NODE_DIR ARCHIVE Z/X/Y SAMPLE_OUT");
  process.exit(2);
}
// The package is resolved from NODE_DIR (the build folder), not from beside this script.
const { PMTiles, tileIdToZxy } = createRequire(path.join(path.resolve(nodeDir), "package.json"))("pmtiles");

// A Source over a Node file handle: the package's FileSource wants a browser File.
class NodeFileSource {
  constructor(handle, key) {
    this.handle = handle;
    this.key = key;
  }
  getKey() {
    return this.key;
  }
  async getBytes(offset, length) {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buf, 0, length, offset);
    const data = buf.buffer.slice(buf.byteOffset, buf.byteOffset + bytesRead);
    return { data };
  }
}

const handle = await open(archive, "r");
try {
  const source = new NodeFileSource(handle, archive);
  const p = new PMTiles(source);
  const h = await p.getHeader();
  for (const k of ["specVersion", "tileType", "tileCompression", "internalCompression", "clustered", "minZoom",
                   "maxZoom", "minLon", "minLat", "maxLon", "maxLat", "centerZoom", "centerLon", "centerLat",
                   "numAddressedTiles", "numTileEntries", "numTileContents", "leafDirectoryLength"])
    console.log(`header ${k} ${h[k]}`);
  const meta = await p.getMetadata();
  console.log(`header metadataName ${meta && meta.name}`);

  // Every tile id the directories address (run-length entries expanded, leaves followed).
  const ids = [];
  const walk = async (offset, length, depth) => {
    if (depth > 3) throw new Error("directory nesting deeper than the spec allows");
    const entries = await p.cache.getDirectory(source, offset, length, h);
    for (const e of entries) {
      if (e.runLength === 0) await walk(h.leafDirectoryOffset + e.offset, e.length, depth + 1);
      else for (let i = 0; i < e.runLength; ++i) ids.push(e.tileId + i);
    }
  };
  await walk(h.rootDirectoryOffset, h.rootDirectoryLength, 0);

  for (const id of ids) {
    const [z, x, y] = tileIdToZxy(id);
    const r = await p.getZxy(z, x, y);
    if (!r) throw new Error(`tile ${z}/${x}/${y} is in a directory but getZxy does not find it`);
    const bytes = new Uint8Array(r.data);
    console.log(`tile ${z} ${x} ${y} ${bytes.length} ${createHash("sha256").update(bytes).digest("hex")}`);
  }
  console.log(`count ${ids.length}`);

  const [sz, sx, sy] = sample.split("/").map(Number);
  const r = await p.getZxy(sz, sx, sy);
  if (!r) throw new Error(`sample tile ${sample} not found`);
  await writeFile(sampleOut, new Uint8Array(r.data));
} finally {
  await handle.close();
}
