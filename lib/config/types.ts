import type { z } from 'zod';
import type { environmentConfigSchema, projectConfigSchema } from './schema';

/** What an environment file may contain before validation. */
export type EnvironmentConfigInput = z.input<typeof environmentConfigSchema>;
/** What the project file may contain before validation. */
export type ProjectConfigInput = z.input<typeof projectConfigSchema>;
