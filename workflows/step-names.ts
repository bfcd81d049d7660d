/** Names of steps more than one workflow runs: operators read them in the Web UI, the same everywhere. */

export const APP_ROLE_STEP = 'create the app role and database (not superuser; owns database app)';
export const POOLER_AUTH_STEP = 'create the pooler auth_query function';
