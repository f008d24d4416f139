import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Client } from 'minio';
import { PermanentError, TransientError } from './errors.ts';

export interface S3Settings {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

export class ObjectNotFoundError extends PermanentError {
  constructor(bucket: string, key: string) {
    super(`object not found: ${bucket}/${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

export class ObjectTooLargeError extends PermanentError {
  constructor(bucket: string, key: string, size: number, limit: number) {
    super(`object ${bucket}/${key} is ${size} bytes, over the ${limit}-byte limit`);
    this.name = 'ObjectTooLargeError';
  }
}

export interface PutOptions {
  /** User metadata, stored as `x-amz-meta-*`. */
  metadata?: Record<string, string>;
  /** The body's SHA-256 in hex, when the caller already computed it (it is what the PUT is signed with). */
  sha256?: string;
}

export interface ObjectInfo {
  size: number;
  etag: string;
  contentType: string | undefined;
  metadata: Record<string, string>;
}

export interface ObjectStoreOptions {
  /**
   * Abandon a request to storage once its connection has been idle this long (no byte either
   * way): connecting, waiting for the answer, or in the middle of a body. Unset: no limit (the
   * client's default). When set, the client's own retry is off too: the caller decides what to retry.
   */
  requestTimeoutMs?: number;
}

/** A storage request abandoned after `requestTimeoutMs` without progress (transient: storage stalled). */
export class ObjectStorageTimeoutError extends TransientError {
  readonly code = 'RequestTimeout';
  constructor(ms: number) {
    super(`no answer from object storage within ${ms} ms`);
    this.name = 'ObjectStorageTimeoutError';
  }
}

/** The client's transport with a socket idle timeout that destroys the request (Node only emits 'timeout'). */
function transportWithTimeout(base: typeof http | typeof https, ms: number): Pick<typeof http, 'request'> {
  return {
    request: ((options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void) => {
      const req = base.request(options, callback);
      req.setTimeout(ms, () => req.destroy(new ObjectStorageTimeoutError(ms)));
      return req;
    }) as typeof http.request,
  };
}

// Objects up to this size go up as a single PUT. s3rver (local runs) lacks the multipart
// listing the client uses above its part size, and nothing we store comes near it.
const SINGLE_PUT_LIMIT = 512 * 1024 * 1024;

/** S3 user metadata travels as `x-amz-meta-*` headers (as the client's putObject prefixes it). */
const USER_METADATA_PREFIX = 'x-amz-meta-';

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchBucket';
}

/** Everything other than "not found" (connection refused, timeouts, 5xx) is worth retrying. */
function wrap(error: unknown, what: string): Error {
  if (error instanceof PermanentError || error instanceof TransientError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TransientError(`object storage ${what} failed: ${message}`, { cause: error });
}

/**
 * The one place that talks to object storage (MinIO in production, s3rver locally), through
 * the `minio` client. Object storage is the system of record; see docs/data-layout.md.
 */
export class ObjectStore {
  readonly client: Client;

  constructor(settings: S3Settings, options: ObjectStoreOptions = {}) {
    const url = new URL(settings.endpoint);
    const useSSL = url.protocol === 'https:';
    const timeout = options.requestTimeoutMs;
    this.client = new Client({
      ...(timeout !== undefined
        ? { transport: transportWithTimeout(useSSL ? https : http, timeout), retryOptions: { disableRetry: true } }
        : {}),
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: settings.accessKey,
      secretKey: settings.secretKey,
      region: settings.region,
      pathStyle: true,
      partSize: SINGLE_PUT_LIMIT,
    });
  }

  async ensureBuckets(buckets: string[]): Promise<void> {
    for (const bucket of buckets) {
      try {
        if (!(await this.client.bucketExists(bucket))) await this.client.makeBucket(bucket);
      } catch (error) {
        // Two services creating the same bucket at once: the loser sees it already exists.
        const code = (error as { code?: string }).code;
        if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw wrap(error, `create bucket ${bucket}`);
      }
    }
  }

  /**
   * Stores `body` with one signed PUT.
   *
   * Over http the request is signed with the body's SHA-256 (a server that checks it, as MinIO
   * does, refuses a body damaged on the way rather than storing it): `options.sha256` when the
   * caller already has it, else computed here. We call the client's request layer rather than
   * `putObject` because `putObject` copies the buffer and, over http, computes an MD5 it never
   * sends on top of that SHA-256: for an 8 MB DICOM instance that was ~20 ms of a C-STORE's time.
   * Over https the client's own `putObject` (UNSIGNED-PAYLOAD with Content-MD5) is used unchanged.
   */
  async put(bucket: string, key: string, body: Buffer, contentType: string, options: PutOptions = {}): Promise<void> {
    const headers: Record<string, string | number> = { 'Content-Type': contentType };
    for (const [name, value] of Object.entries(options.metadata ?? {})) {
      headers[name.toLowerCase().startsWith(USER_METADATA_PREFIX) ? name : USER_METADATA_PREFIX + name] = value;
    }
    try {
      if (!this.client.enableSHA256) {
        await this.client.putObject(bucket, key, body, body.length, headers);
        return;
      }
      headers['Content-Length'] = body.length;
      const payloadSha256 = options.sha256 ?? createHash('sha256').update(body).digest('hex');
      const response = await this.client.makeRequestStreamAsync({ method: 'PUT', bucketName: bucket, objectName: key, headers }, body, payloadSha256, [200], '');
      response.resume();
      await finished(response);
    } catch (error) {
      throw wrap(error, `put ${bucket}/${key}`);
    }
  }

  async putJson(bucket: string, key: string, value: unknown): Promise<void> {
    await this.put(bucket, key, Buffer.from(JSON.stringify(value)), 'application/json');
  }

  async stat(bucket: string, key: string): Promise<ObjectInfo | null> {
    try {
      const s = await this.client.statObject(bucket, key);
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(s.metaData ?? {})) metadata[k.toLowerCase()] = String(v);
      return { size: s.size, etag: s.etag, contentType: metadata['content-type'], metadata };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw wrap(error, `stat ${bucket}/${key}`);
    }
  }

  /**
   * Reads a whole object in one request, refusing one larger than `maxBytes`: at once when the
   * response's Content-Length says so, otherwise as soon as the bytes read pass the limit.
   */
  async get(bucket: string, key: string, maxBytes = 256 * 1024 * 1024): Promise<Buffer> {
    const stream = await this.getStream(bucket, key);
    const declared = Number((stream as Readable & { headers?: Record<string, string | undefined> }).headers?.['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      stream.destroy();
      throw new ObjectTooLargeError(bucket, key, declared, maxBytes);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of stream) {
        total += (chunk as Buffer).length;
        if (total > maxBytes) {
          stream.destroy();
          throw new ObjectTooLargeError(bucket, key, total, maxBytes);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      throw wrap(error, `read ${bucket}/${key}`);
    }
    return Buffer.concat(chunks, total);
  }

  async getJson(bucket: string, key: string, maxBytes = 16 * 1024 * 1024): Promise<unknown> {
    const body = await this.get(bucket, key, maxBytes);
    try {
      return JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new PermanentError(`object ${bucket}/${key} is not valid JSON`, { cause: error });
    }
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    try {
      return await this.client.getObject(bucket, key);
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(bucket, key);
      throw wrap(error, `get ${bucket}/${key}`);
    }
  }

  /**
   * Every key under `prefix`. Listing uses ListObjects (V1, marker pages), not V2: s3rver pages V2
   * listings with DES-encrypted continuation tokens, which Node 20's OpenSSL 3 refuses, so any V2
   * listing past 1,000 keys failed there with a 500. MinIO and S3 serve both.
   */
  list(bucket: string, prefix: string): Promise<string[]> {
    return this.listing(bucket, prefix, true, (item) => item.name);
  }

  /** The next level of "folders" under `prefix` (delimiter `/`), e.g. `reports/<studyKey>/`. */
  listPrefixes(bucket: string, prefix: string): Promise<string[]> {
    return this.listing(bucket, prefix, false, (item) => item.prefix);
  }

  private async listing(bucket: string, prefix: string, recursive: boolean, pick: (item: { name?: string; prefix?: string }) => string | undefined): Promise<string[]> {
    try {
      const out: string[] = [];
      for await (const item of this.client.listObjects(bucket, prefix, recursive)) {
        const value = pick(item);
        if (value) out.push(value);
      }
      return out;
    } catch (error) {
      throw wrap(error, `list ${bucket}/${prefix}`);
    }
  }



  async remove(bucket: string, key: string): Promise<void> {
    try {
      await this.client.removeObject(bucket, key);
    } catch (error) {
      throw wrap(error, `remove ${bucket}/${key}`);
    }
  }

  /** A short-lived URL a browser can fetch directly from object storage. */
  async presignedGet(bucket: string, key: string, expirySeconds: number): Promise<string> {
    try {
      return await this.client.presignedGetObject(bucket, key, expirySeconds);
    } catch (error) {
      throw wrap(error, `presign ${bucket}/${key}`);
    }
  }

  /** Whether storage answers at all (readiness). */
  async ping(bucket: string): Promise<boolean> {
    try {
      return await this.client.bucketExists(bucket);
    } catch {
      return false;
    }
  }
}
