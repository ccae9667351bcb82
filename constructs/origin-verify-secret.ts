import { RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { guardSecretResourcePolicy } from '../lib/secret-policy-guard';

/**
 * Properties of an OriginVerifySecret.
 */
export interface OriginVerifySecretProps {
  /** Secret name (see `originVerifySecretName()` in lib/naming.ts); the standby reads its replica by this name. */
  readonly secretName: string;
  /** Header the value is sent in, for the description. */
  readonly headerName: string;
  /** Key that encrypts the secret in its own region. */
  readonly encryptionKey: kms.IKey;
  /** Region of the standby load balancer, which checks the same value, and the key of the replica there. */
  readonly replica: { readonly region: string; readonly encryptionKey: kms.IKey };
}

/**
 * The value CloudFront sends in the origin-verify header to the api load
 * balancers: a random 48-character string, replicated to the standby region
 * (its load balancer reads the replica by name, because CloudFront sends one
 * header to both origins), retained when its stack is deleted.
 *
 * It is rotated by OriginVerifyRotation (CloudFront and every region's
 * listener rule together, with an overlap window); the listener rules read it
 * through OriginVerifyRule, never as a dynamic reference in a template.
 *
 * The secret is this construct's `Default` child, so its logical ID is the one
 * pinned by test/stateful-resources.test.ts for a secret named `OriginVerifySecret`.
 */
export class OriginVerifySecret extends Construct {
  public readonly secret: secretsmanager.Secret;
  /** Key that encrypts the secret in its own region. */
  public readonly encryptionKey: kms.IKey;
  /** The value, as a dynamic reference that CloudFormation resolves at deploy time (never in the template). */
  public readonly headerValue: string;

  constructor(scope: Construct, id: string, props: OriginVerifySecretProps) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Default', {
      secretName: props.secretName,
      description: `Value of the ${props.headerName} header CloudFront sends to the api load balancers`,
      encryptionKey: props.encryptionKey,
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      replicaRegions: [{ region: props.replica.region, encryptionKey: props.replica.encryptionKey }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Nobody but the break-glass role deletes it or rewrites its policy (CloudFormation
    // may rewrite the policy: it applies it); a rewritten policy could hand the header
    // value to another account (security review L8, H5).
    guardSecretResourcePolicy(this.secret, { denyDeletion: true });
    this.encryptionKey = props.encryptionKey;
    this.headerValue = this.secret.secretValue.unsafeUnwrap();
  }
}
