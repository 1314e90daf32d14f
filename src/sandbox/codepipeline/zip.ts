/**
 * Writes a directory as a zip file, as CodePipeline stores an artifact in its artifact bucket (a `.zip` of the
 * artifact's files). Deflated entries, UTF-8 names, Unix permissions kept (so a build script stays executable
 * after `unzip`), symbolic links as links; zip32 limits (65,535 entries, 4 GiB) refused with a clear error.
 *
 * @example
 * await zipDirectory('/tmp/artifacts/SourceArtifact', '/tmp/SourceArtifact.zip');
 */
import { lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

const ZIP32_MAX = 0xffffffff;
const MAX_ENTRIES = 0xffff;

/** MS-DOS date and time of `date` (local fields, as zip tools write them; 1980 is the format's epoch). */
function dosTime(date: Date): { time: number; date: number } {
  const year = Math.max(1980, date.getFullYear());
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

/** Every file and symbolic link under `root`, in a stable order. */
async function entriesOf(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() || entry.isSymbolicLink()) found.push(join(entry.parentPath, entry.name));
  }
  return found.sort();
}

/** Zips every file (and symbolic link) under `dir` into `file`; resolves with the number of entries. */
export async function zipDirectory(dir: string, file: string): Promise<number> {
  const paths = await entriesOf(dir);
  if (paths.length > MAX_ENTRIES) {
    throw new Error(`cannot zip ${dir}: ${paths.length} files, a zip holds at most ${MAX_ENTRIES}`);
  }
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const path of paths) {
    const stats = await lstat(path);
    const link = stats.isSymbolicLink();
    const data = link ? Buffer.from(await readlink(path)) : await readFile(path);
    const compressed = link ? data : deflateRawSync(data);
    const method = link ? 0 : 8;
    const name = Buffer.from(relative(dir, path).split(sep).join('/'), 'utf8');
    const crc = crc32(data);
    const { time, date } = dosTime(stats.mtime);
    if (data.length > ZIP32_MAX || offset + compressed.length + 30 + name.length > ZIP32_MAX) {
      throw new Error(`cannot zip ${dir}: more than 4 GiB, beyond what a zip32 artifact holds`);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(0x0314, 4); // made by: Unix, zip 2.0 (so the external attributes carry the mode)
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(0x0800, 8);
    header.writeUInt16LE(method, 10);
    header.writeUInt16LE(time, 12);
    header.writeUInt16LE(date, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(compressed.length, 20);
    header.writeUInt32LE(data.length, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE(((stats.mode & 0xffff) << 16) >>> 0, 38);
    header.writeUInt32LE(offset, 42);
    parts.push(local, name, compressed);
    central.push(header, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralSize = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(paths.length, 8);
  end.writeUInt16LE(paths.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  await writeFile(file, Buffer.concat([...parts, ...central, end]));
  return paths.length;
}
