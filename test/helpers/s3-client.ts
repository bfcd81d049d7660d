/**
 * Just enough of an S3 client for tests to look into a bucket as a user would: AWS Signature V4
 * signed (or deliberately unsigned) requests over HTTPS, the server verified against a given CA.
 */
import * as crypto from 'node:crypto';
import * as https from 'node:https';

export interface S3Credentials {
  accessKey: string;
  secretKey: string;
}

export interface S3Endpoint {
  host: string;
  port: number;
  /** PEM of the CA the server's certificate must chain to. */
  ca: string;
  region: string;
}

export interface S3Response {
  status: number;
  body: Buffer;
}

const sha256 = (data: string): string => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key: crypto.BinaryLike, data: string): Buffer => crypto.createHmac('sha256', key).update(data).digest();
/** RFC 3986, as SigV4 wants it: encodeURIComponent leaves !'()* unescaped. */
const uriEncode = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Sorted, RFC 3986 encoded: SigV4's canonical form, also sent as is. */
const canonicalQuery = (query: Record<string, string>): string =>
  Object.keys(query).sort().map((k) => `${uriEncode(k)}=${uriEncode(query[k])}`).join('&');

/** The headers of a SigV4-signed request with an empty body (all this client sends). */
export function signV4(method: string, path: string, query: Record<string, string>, host: string, region: string, cred: S3Credentials, now = new Date()): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const scope = `${amzDate.slice(0, 8)}/${region}/s3/aws4_request`;
  const payloadHash = sha256('');
  const headers: Record<string, string> = { host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate };
  const names = Object.keys(headers).sort();
  const canonicalRequest = [
    method,
    path.split('/').map(uriEncode).join('/'),
    canonicalQuery(query),
    ...names.map((n) => `${n}:${headers[n]}`),
    '',
    names.join(';'),
    payloadHash,
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const signingKey = [region, 's3', 'aws4_request'].reduce<Buffer>((key, part) => hmac(key, part), hmac(`AWS4${cred.secretKey}`, amzDate.slice(0, 8)));
  const signature = hmac(signingKey, stringToSign).toString('hex');
  return { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${cred.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

/** One request; `cred` undefined sends it unsigned (anonymous). */
export function s3Request(ep: S3Endpoint, cred: S3Credentials | undefined, method: string, path: string, query: Record<string, string> = {}): Promise<S3Response> {
  const host = `${ep.host}:${ep.port}`;
  const headers = cred ? signV4(method, path, query, host, ep.region, cred) : { host };
  const search = canonicalQuery(query);
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: ep.host, port: ep.port, method, path: search ? `${path}?${search}` : path, headers, ca: ep.ca, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`S3 ${method} ${path}: no answer from ${host} within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

const xmlValues = (xml: string, tag: string): string[] =>
  [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&'));

/** Every key under prefix (ListObjectsV2, following continuation tokens). */
export async function listKeys(ep: S3Endpoint, cred: S3Credentials, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const query: Record<string, string> = { 'list-type': '2', prefix, ...(token ? { 'continuation-token': token } : {}) };
    const res = await s3Request(ep, cred, 'GET', `/${bucket}`, query);
    const xml = res.body.toString('utf8');
    if (res.status !== 200) throw new Error(`listing s3://${bucket}/${prefix}: HTTP ${res.status} ${xml.slice(0, 300)}`);
    keys.push(...xmlValues(xml, 'Key'));
    token = xmlValues(xml, 'IsTruncated')[0] === 'true' ? xmlValues(xml, 'NextContinuationToken')[0] : undefined;
  } while (token);
  return keys;
}
