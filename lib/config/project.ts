import type { ProjectConfigInput } from './types';

/**
 * Project-wide settings. The GitHub deploy roles live in the production account:
 * bootstrap the staging account with `--trust <this account>` so that the
 * staging deploy role can assume its CDK bootstrap roles (see the README).
 */
export const project: ProjectConfigInput = {
  github: {
    owner: 'bodyscript',
    repository: 'bodyscript-infrastructure',
    account: '222222222222',
    region: 'us-east-1',
  },
};
