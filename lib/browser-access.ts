import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { EnvironmentConfig } from './config';
import { bucketName } from './naming';

/**
 * What the web app does with the data buckets directly from the browser, and
 * what the buckets and the Content Security Policy must allow for it.
 *
 * The api signs two kinds of URLs (its task role may do nothing else on the
 * buckets): a PUT of a new upload into the uploads bucket, and a GET of a
 * result from the results bucket. The browser calls S3 with them from the
 * app's origin, so each bucket answers the CORS preflight (S3 refuses it with
 * 403 when the bucket has no CORS rule, RESTOPTIONSobject) for the app's
 * origin only, in both regions: after a failover the standby api signs URLs of
 * the us-west-2 replicas.
 */

/**
 * The page's origin(s) the buckets answer CORS for. With a domain, exactly the
 * app's name. Without one the app is served from the distribution's
 * `*.cloudfront.net` name, which is chosen by CloudFront when the services
 * stack is created: the data stacks are deployed before it and cannot name it
 * (a reference would make the stacks a cycle, and the replicas are in another
 * region). Those environments accept any CloudFront default domain, a stated
 * cost of `noDomainReason`: a presigned URL is itself the credential (no
 * cookie or ambient credential reaches S3), so CORS only decides which pages
 * may read the answer.
 */
export function appOrigins(config: Pick<EnvironmentConfig, 'domain'>): string[] {
  return config.domain ? [`https://${config.domain.appDomainName}`] : [CLOUDFRONT_DEFAULT_ORIGIN];
}

/** Any distribution's default name: the origin of an environment without a domain. */
export const CLOUDFRONT_DEFAULT_ORIGIN = 'https://*.cloudfront.net';

/**
 * Headers a browser may send with a presigned upload: the content type the
 * URL may be signed for (not CORS-safelisted for video types, so it is in the
 * preflight), an integrity digest, and the flexible checksums the AWS SDKs
 * add to uploads (`x-amz-checksum-<algorithm>` with the algorithm named in
 * `x-amz-sdk-checksum-algorithm`). S3 allows one `*` per allowed header.
 */
export const UPLOAD_REQUEST_HEADERS = ['Content-Type', 'Content-MD5', 'x-amz-checksum-*', 'x-amz-sdk-checksum-algorithm'];

/** Headers a browser may send when it reads a result: a byte range, for a video player that seeks. */
export const DOWNLOAD_REQUEST_HEADERS = ['Range'];

/**
 * How long a browser may cache a preflight answer. Browsers cap it themselves
 * (Chromium at 2 hours); 50 minutes keeps one preflight per upload session.
 */
export const PREFLIGHT_MAX_AGE = Duration.minutes(50);

/** The CORS rule of an uploads bucket (primary or replica): presigned PUT from the app's origin. */
export function uploadsCorsRule(origins: readonly string[]): s3.CorsRule {
  return {
    id: 'PresignedUploadsFromTheApp',
    allowedOrigins: [...origins],
    allowedMethods: [s3.HttpMethods.PUT],
    allowedHeaders: UPLOAD_REQUEST_HEADERS,
    // The app checks what S3 stored (and a multipart upload needs each part's ETag).
    exposedHeaders: ['ETag', 'x-amz-version-id'],
    maxAge: PREFLIGHT_MAX_AGE.toSeconds(),
  };
}

/** The CORS rule of a results bucket (primary or replica): presigned GET and HEAD from the app's origin. */
export function resultsCorsRule(origins: readonly string[]): s3.CorsRule {
  return {
    id: 'PresignedDownloadsFromTheApp',
    allowedOrigins: [...origins],
    allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.HEAD],
    allowedHeaders: DOWNLOAD_REQUEST_HEADERS,
    exposedHeaders: ['Accept-Ranges', 'Content-Length', 'Content-Range', 'ETag'],
    maxAge: PREFLIGHT_MAX_AGE.toSeconds(),
  };
}

/**
 * Environment variables that make boto3 (the api is Python) sign S3 URLs for
 * the host the CSP allows. In us-east-1 botocore signs for the legacy global
 * endpoint `<bucket>.s3.amazonaws.com` unless told to use the regional one;
 * in every other region it signs `<bucket>.s3.<region>.amazonaws.com` anyway.
 * Virtual-hosted style is botocore's default for DNS-compatible bucket names,
 * which every BodyScript bucket name is (lib/naming.ts).
 */
export const S3_SIGNING_ENVIRONMENT: Readonly<Record<string, string>> = { AWS_S3_US_EAST_1_REGIONAL_ENDPOINT: 'regional' };

/** The virtual-hosted, regional host of a bucket: what a presigned URL of it names. */
export function presignedUrlOrigin(bucket: string, region: string): string {
  return `https://${bucket}.s3.${region}.amazonaws.com`;
}

/**
 * Every host a presigned URL of the environment can name, for the CSP: the
 * uploads and results buckets of the primary region and their replicas in the
 * standby region (the standby api signs those after a failover). Exactly these
 * four; no wildcard over `*.amazonaws.com`, which would let an injected script
 * send data to any bucket.
 */
export function presignedUrlOrigins(config: Pick<EnvironmentConfig, 'name' | 'primary' | 'standby'>): string[] {
  return [config.primary, config.standby].flatMap((where) =>
    (['uploads', 'results'] as const).map((purpose) => presignedUrlOrigin(bucketName(config.name, purpose, where.account, where.region), where.region)),
  );
}
