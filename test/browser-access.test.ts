import { loadConfig } from '../lib/config';
import {
  appOrigins,
  CLOUDFRONT_DEFAULT_ORIGIN,
  presignedUrlOrigin,
  presignedUrlOrigins,
  resultsCorsRule,
  S3_SIGNING_ENVIRONMENT,
  uploadsCorsRule,
} from '../lib/browser-access';

describe('browser access to the data buckets', () => {
  const { environments } = loadConfig();

  test('the app origin is exactly the configured app domain, over HTTPS', () => {
    expect(appOrigins({ domain: { hostedZoneId: 'Z1', hostedZoneName: 'bodyscript.example', appDomainName: 'app.bodyscript.example', apiDomainName: 'api.bodyscript.example' } })).toEqual([
      'https://app.bodyscript.example',
    ]);
  });

  test('without a domain the app is served from a CloudFront default name, which the data stacks cannot know', () => {
    expect(appOrigins({ domain: undefined })).toEqual([CLOUDFRONT_DEFAULT_ORIGIN]);
    expect(CLOUDFRONT_DEFAULT_ORIGIN).toBe('https://*.cloudfront.net');
  });

  test('an uploads bucket accepts presigned PUTs only, with the content type and the SDK checksum headers', () => {
    const rule = uploadsCorsRule(['https://app.bodyscript.example']);
    expect(rule.allowedMethods).toEqual(['PUT']);
    expect(rule.allowedOrigins).toEqual(['https://app.bodyscript.example']);
    expect(rule.allowedHeaders).toEqual(expect.arrayContaining(['Content-Type', 'x-amz-checksum-*', 'x-amz-sdk-checksum-algorithm']));
    // S3 accepts at most one wildcard per allowed header.
    for (const header of rule.allowedHeaders ?? []) expect(header.split('*').length).toBeLessThanOrEqual(2);
    expect(rule.exposedHeaders).toContain('ETag');
  });

  test('a results bucket accepts presigned GETs and HEADs only, with a byte range for the video player', () => {
    const rule = resultsCorsRule(['https://app.bodyscript.example']);
    expect(rule.allowedMethods).toEqual(['GET', 'HEAD']);
    expect(rule.allowedHeaders).toEqual(['Range']);
    expect(rule.exposedHeaders).toEqual(expect.arrayContaining(['Content-Range', 'Accept-Ranges']));
  });

  test('boto3 is told to sign us-east-1 URLs for the regional host (its default there is the global s3.amazonaws.com)', () => {
    expect(S3_SIGNING_ENVIRONMENT).toEqual({ AWS_S3_US_EAST_1_REGIONAL_ENDPOINT: 'regional' });
  });

  test('a presigned URL names the virtual-hosted regional host of its bucket', () => {
    expect(presignedUrlOrigin('bodyscript-staging-uploads-111111111111-us-east-1', 'us-east-1')).toBe('https://bodyscript-staging-uploads-111111111111-us-east-1.s3.us-east-1.amazonaws.com');
  });

  test.each([
    ['staging', '111111111111'],
    ['production', '222222222222'],
  ] as const)('%s: exactly the uploads and results buckets of both regions are presigned hosts', (env, account) => {
    expect(presignedUrlOrigins(environments[env])).toEqual([
      `https://bodyscript-${env}-uploads-${account}-us-east-1.s3.us-east-1.amazonaws.com`,
      `https://bodyscript-${env}-results-${account}-us-east-1.s3.us-east-1.amazonaws.com`,
      `https://bodyscript-${env}-uploads-${account}-us-west-2.s3.us-west-2.amazonaws.com`,
      `https://bodyscript-${env}-results-${account}-us-west-2.s3.us-west-2.amazonaws.com`,
    ]);
  });
});
