#!/usr/bin/env node
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * The smallest useful CDK app: one stack with one bucket. The synth benchmark
 * runs it exactly like the BodyScript app, so the difference between the two is
 * what BodyScript's own stacks (and its compliance checks) cost.
 */
const app = new App();
const stack = new Stack(app, 'BenchOneBucket', { env: { account: '111111111111', region: 'us-east-1' } });
new s3.Bucket(stack, 'Bucket', { enforceSSL: true });
app.synth();
